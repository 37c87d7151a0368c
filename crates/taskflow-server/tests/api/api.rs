use axum::body::Body;
use axum::http::{Request, StatusCode};
use taskflow_core::project::Role;
use taskflow_testkit::{TestStore, both_backends};

use crate::{call, caller, request, state};

async fn requests_without_valid_tokens_are_401(store: TestStore) {
    let alice = caller(&store, "alice", false).await;
    for token in [None, Some("tf_notarealtokenatall"), Some("garbage")] {
        let (status, _, body) =
            call(state(&store), request("GET", "/api/v1/me", token, None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    // A token that is well formed but unknown is invalid, not malformed; only a header that is
    // not `Bearer <token>` is malformed.
    let unknown = format!("tf_{}", "a".repeat(40));
    for token in [unknown.as_str(), "garbage"] {
        let (_, _, body) = call(
            state(&store),
            request("GET", "/api/v1/me", Some(token), None),
        )
        .await;
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("invalid, expired or revoked"),
            "{token}: {message}"
        );
    }
    let (status, _, body) = call(
        state(&store),
        Request::builder()
            .uri("/api/v1/me")
            .header("authorization", "Token abc")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("malformed"),
        "{body}"
    );
    let (status, _, body) = call(
        state(&store),
        request("GET", "/api/v1/me", Some(&alice.token), None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["username"], "alice");
    assert!(
        body.get("password_hash").is_none(),
        "the hash never leaves the server"
    );
    // A revoked token stops working at once.
    let tokens = store.tokens(alice.user.id).await.unwrap();
    store
        .revoke_token(alice.user.id, tokens[0].id)
        .await
        .unwrap();
    let (status, _, _) = call(
        state(&store),
        request("GET", "/api/v1/me", Some(&alice.token), None),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A request naming a user or label thousands of times is refused before any lookup.
async fn huge_name_lists_are_refused_quickly(store: TestStore) {
    let alice = caller(&store, "alice", false).await;
    let t = Some(alice.token.as_str());
    let (status, _, body) = call(
        state(&store),
        request(
            "POST",
            "/api/v1/projects",
            t,
            Some(r#"{"key": "OPS", "name": "Ops"}"#),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for field in ["assignees", "labels"] {
        let names = vec!["\"alice\""; 150_000].join(",");
        let body = format!(r#"{{"title": "t", "{field}": [{names}]}}"#);
        let (status, _, answer) = call(
            state(&store),
            request("POST", "/api/v1/projects/OPS/tasks", t, Some(&body)),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {answer}"
        );
        assert_eq!(answer["error"]["details"]["fields"][0]["field"], field);
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("at most 100"),
            "{answer}"
        );
    }
    let (_, _, page) = call(
        state(&store),
        request("GET", "/api/v1/projects/OPS/tasks", t, None),
    )
    .await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        0,
        "nothing was created"
    );
}

async fn bad_bodies_get_clear_errors_and_change_nothing(store: TestStore) {
    let alice = caller(&store, "alice", false).await;
    let t = Some(alice.token.as_str());
    let (status, _, body) = call(
        state(&store),
        request(
            "POST",
            "/api/v1/projects",
            t,
            Some(r#"{"key": "OPS", "name": }"#),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "malformed_json");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("column"),
        "{body}"
    );

    let (status, _, body) = call(
        state(&store),
        request(
            "POST",
            "/api/v1/projects",
            t,
            Some(r#"{"key": "OPS", "name": "Ops", "colour": 1}"#),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{body}"
    );

    let (status, _, body) = call(
        state(&store),
        request(
            "POST",
            "/api/v1/projects",
            t,
            Some(r#"{"key": "ops-1", "name": ""}"#),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["key", "name"], "every bad field is listed");

    let mut no_type = request("POST", "/api/v1/projects", t, None);
    *no_type.body_mut() = axum::body::Body::from(r#"{"key":"OPS","name":"Ops"}"#);
    let (status, _, _) = call(state(&store), no_type).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    assert!(
        store.list_projects(None, true).await.unwrap().is_empty(),
        "nothing was created"
    );
    let (status, _, body) = call(
        state(&store),
        request(
            "POST",
            "/api/v1/projects",
            t,
            Some(r#"{"key": "OPS", "name": "Ops"}"#),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _, body) = call(
        state(&store),
        request(
            "POST",
            "/api/v1/projects",
            t,
            Some(r#"{"key": "OPS", "name": "Again"}"#),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "conflict");
}

async fn tasks_carry_etags_and_refuse_stale_updates(store: TestStore) {
    let alice = caller(&store, "alice", false).await;
    let t = Some(alice.token.as_str());
    call(
        state(&store),
        request(
            "POST",
            "/api/v1/projects",
            t,
            Some(r#"{"key": "OPS", "name": "Ops"}"#),
        ),
    )
    .await;
    let (status, headers, body) = call(state(&store), request("POST", "/api/v1/projects/OPS/tasks", t, Some(r#"{"title": "Rotate keys", "priority": "high", "due_date": "2026-12-04", "assignees": ["alice"]}"#))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["key"], "OPS-1");
    assert_eq!(headers["etag"], "\"1\"");
    assert_eq!(
        body["due_date"], "2026-12-04",
        "dates read back as they are written"
    );

    let (status, headers, body) = call(
        state(&store),
        request("GET", "/api/v1/tasks/OPS-1", t, None),
    )
    .await;
    assert_eq!(
        (status, body["title"].as_str()),
        (StatusCode::OK, Some("Rotate keys"))
    );
    assert_eq!(headers["etag"], "\"1\"");

    let mut update = request(
        "PATCH",
        "/api/v1/tasks/OPS-1",
        t,
        Some(r#"{"status": "in_progress", "due_date": null}"#),
    );
    update
        .headers_mut()
        .insert("if-match", "\"1\"".parse().unwrap());
    let (status, headers, body) = call(state(&store), update).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            headers["etag"].to_str().unwrap(),
            body["status"].as_str(),
            &body["due_date"]
        ),
        ("\"2\"", Some("In progress"), &serde_json::Value::Null)
    );

    let mut stale = request(
        "PATCH",
        "/api/v1/tasks/OPS-1",
        t,
        Some(r#"{"title": "Lost update"}"#),
    );
    stale
        .headers_mut()
        .insert("if-match", "\"1\"".parse().unwrap());
    let (status, _, body) = call(state(&store), stale).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(body["error"]["details"]["current_version"], 2);
    let (_, _, body) = call(
        state(&store),
        request("GET", "/api/v1/tasks/OPS-1", t, None),
    )
    .await;
    assert_eq!(
        body["title"], "Rotate keys",
        "the stale update wrote nothing"
    );

    let (status, _, body) = call(
        state(&store),
        request(
            "PATCH",
            "/api/v1/tasks/OPS-1",
            t,
            Some(r#"{"status": "blocked", "labels": ["nope"]}"#),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["error"]["details"]["fields"].as_array().unwrap().len(),
        2,
        "{body}"
    );

    let mut delete = request("DELETE", "/api/v1/tasks/OPS-1", t, None);
    delete
        .headers_mut()
        .insert("if-match", "\"2\"".parse().unwrap());
    let (status, _, _) = call(state(&store), delete).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = call(
        state(&store),
        request("GET", "/api/v1/tasks/OPS-1", t, None),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn task_lists_filter_and_paginate(store: TestStore) {
    let alice = caller(&store, "alice", false).await;
    let t = Some(alice.token.as_str());
    call(
        state(&store),
        request(
            "POST",
            "/api/v1/projects",
            t,
            Some(r#"{"key": "OPS", "name": "Ops"}"#),
        ),
    )
    .await;
    for i in 0..5 {
        let status = if i % 2 == 0 { "todo" } else { "done" };
        let body = format!(r#"{{"title": "task {i} deploy", "status": "{status}"}}"#);
        let (s, _, _) = call(
            state(&store),
            request("POST", "/api/v1/projects/OPS/tasks", t, Some(&body)),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (status, _, page) = call(
        state(&store),
        request(
            "GET",
            "/api/v1/projects/OPS/tasks?status=todo&limit=2",
            t,
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let keys: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["OPS-1", "OPS-3"]);
    let next = page["next"].as_str().unwrap().to_owned();
    let (_, _, page) = call(
        state(&store),
        request(
            "GET",
            &format!("/api/v1/projects/OPS/tasks?status=todo&limit=2&after={next}"),
            t,
            None,
        ),
    )
    .await;
    assert_eq!(page["items"][0]["key"], "OPS-5");
    assert!(page["next"].is_null());
    let (_, _, page) = call(
        state(&store),
        request(
            "GET",
            "/api/v1/projects/OPS/tasks?q=task%203&sort=updated",
            t,
            None,
        ),
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);

    let (status, _, body) = call(
        state(&store),
        request("GET", "/api/v1/projects/OPS/tasks?colour=red", t, None),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _, body) = call(
        state(&store),
        request(
            "GET",
            "/api/v1/projects/OPS/tasks?status=blocked&limit=0&sort=random",
            t,
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["details"]["fields"].as_array().unwrap().len(),
        3,
        "{body}"
    );
    let (status, _, _) = call(
        state(&store),
        request("GET", "/api/v1/projects/OPS/tasks?after=garbage", t, None),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn roles_are_enforced_and_hidden_projects_are_404(store: TestStore) {
    let owner = caller(&store, "olivia", false).await;
    let viewer = caller(&store, "victor", false).await;
    let stranger = caller(&store, "sam", false).await;
    let admin = caller(&store, "root", true).await;
    call(
        state(&store),
        request(
            "POST",
            "/api/v1/projects",
            Some(&owner.token),
            Some(r#"{"key": "OPS", "name": "Ops"}"#),
        ),
    )
    .await;
    call(
        state(&store),
        request(
            "POST",
            "/api/v1/projects/OPS/tasks",
            Some(&owner.token),
            Some(r#"{"title": "secret"}"#),
        ),
    )
    .await;
    let project = store
        .project_by_key(&taskflow_core::project::ProjectKey::parse("OPS").unwrap())
        .await
        .unwrap();
    store
        .set_member(owner.user.id, project.id, viewer.user.id, Role::Viewer)
        .await
        .unwrap();

    for path in [
        "/api/v1/projects/OPS",
        "/api/v1/projects/OPS/tasks",
        "/api/v1/tasks/OPS-1",
        "/api/v1/tasks/OPS-99",
        "/api/v1/projects/NOPE",
    ] {
        let (status, _, body) = call(
            state(&store),
            request("GET", path, Some(&stranger.token), None),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (_, _, list) = call(
        state(&store),
        request("GET", "/api/v1/projects", Some(&stranger.token), None),
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    let (status, _, _) = call(
        state(&store),
        request("GET", "/api/v1/tasks/OPS-1", Some(&viewer.token), None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = call(
        state(&store),
        request(
            "POST",
            "/api/v1/projects/OPS/tasks",
            Some(&viewer.token),
            Some(r#"{"title": "mine"}"#),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, _) = call(
        state(&store),
        request(
            "PATCH",
            "/api/v1/tasks/OPS-1",
            Some(&viewer.token),
            Some(r#"{"title": "x"}"#),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = call(
        state(&store),
        request("DELETE", "/api/v1/tasks/OPS-1", Some(&stranger.token), None),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _, _) = call(
        state(&store),
        request(
            "PATCH",
            "/api/v1/tasks/OPS-1",
            Some(&admin.token),
            Some(r#"{"title": "by admin"}"#),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, list) = call(
        state(&store),
        request("GET", "/api/v1/projects", Some(&admin.token), None),
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

/// `estimate`: minutes in create, update and every answer; `null` clears it; anything outside
/// 1 to 600000 minutes is refused by name and changes nothing; each change is in the activity.
async fn estimates_are_minutes_in_and_out(store: TestStore) {
    let alice = caller(&store, "alice", false).await;
    crate::project_with(&store, alice.user.id, "OPS").await;
    let send = |method: &'static str, path: &'static str, body: Option<String>| {
        let st = state(&store);
        let token = alice.token.clone();
        async move { call(st, request(method, path, Some(&token), body.as_deref())).await }
    };
    let tasks = "/api/v1/projects/OPS/tasks";
    let (status, _, body) = send(
        "POST",
        tasks,
        Some(r#"{"title": "Plan", "estimate": 90}"#.into()),
    )
    .await;
    assert_eq!(
        (status, &body["estimate"]),
        (StatusCode::CREATED, &serde_json::json!(90)),
        "{body}"
    );
    let (_, _, body) = send("POST", tasks, Some(r#"{"title": "Unplanned"}"#.into())).await;
    assert_eq!(
        body["estimate"],
        serde_json::Value::Null,
        "none unless given"
    );

    let patch = |estimate: &str| {
        send(
            "PATCH",
            "/api/v1/tasks/OPS-1",
            Some(format!(r#"{{"estimate": {estimate}}}"#)),
        )
    };
    for bad in ["0", "-5", "600001", "\"2h\"", "1.5"] {
        let (status, _, body) = patch(bad).await;
        assert!(status.is_client_error(), "{bad}: {status} {body}");
        assert!(
            body.to_string().contains("estimate"),
            "{bad}: the field is named: {body}"
        );
    }
    let (_, headers, body) = send("GET", "/api/v1/tasks/OPS-1", None).await;
    assert_eq!(
        (body["estimate"].as_i64(), headers["etag"].to_str().unwrap()),
        (Some(90), "\"1\""),
        "nothing changed"
    );

    let (status, _, body) = patch("600000").await;
    assert_eq!(
        (status, body["estimate"].as_i64()),
        (StatusCode::OK, Some(600_000)),
        "{body}"
    );
    let (_, _, list) = send("GET", tasks, None).await;
    let estimates: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["estimate"].clone())
        .collect();
    assert_eq!(
        estimates,
        vec![serde_json::json!(600000), serde_json::Value::Null]
    );

    let (status, _, body) = patch("null").await;
    assert_eq!(
        (status, &body["estimate"]),
        (StatusCode::OK, &serde_json::Value::Null)
    );
    let (_, _, activity) = send("GET", "/api/v1/tasks/OPS-1/activity", None).await;
    let changes: Vec<_> = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["field"] == "estimate")
        .map(|e| (e["old_value"].clone(), e["new_value"].clone()))
        .collect();
    assert_eq!(changes.len(), 2, "{activity}");
    assert!(changes.contains(&(serde_json::json!("90"), serde_json::json!("600000"))));
    assert!(changes.contains(&(serde_json::json!("600000"), serde_json::Value::Null)));
}

both_backends!(
    huge_name_lists_are_refused_quickly,
    requests_without_valid_tokens_are_401,
    bad_bodies_get_clear_errors_and_change_nothing,
    tasks_carry_etags_and_refuse_stale_updates,
    task_lists_filter_and_paginate,
    roles_are_enforced_and_hidden_projects_are_404,
    estimates_are_minutes_in_and_out,
);
