//! Members, labels, board moves, comments, activity, trash, users and tokens over HTTP.

use axum::http::StatusCode;
use serde_json::Value;
use taskflow_testkit::{TestStore, both_backends};

use crate::{Caller, call, caller, request, state};

/// Sends a request as `who`; returns status and JSON body.
async fn as_(
    store: &TestStore,
    who: &Caller,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let (status, _, json) = call(state(store), request(method, path, Some(&who.token), body)).await;
    (status, json)
}

/// An owner with project OPS, an editor and a viewer in it.
async fn team(store: &TestStore) -> (Caller, Caller, Caller) {
    let owner = caller(store, "olivia", false).await;
    let editor = caller(store, "edith", false).await;
    let viewer = caller(store, "victor", false).await;
    assert_eq!(
        as_(
            store,
            &owner,
            "POST",
            "/api/v1/projects",
            Some(r#"{"key":"OPS","name":"Ops"}"#)
        )
        .await
        .0,
        StatusCode::CREATED
    );
    for (who, role) in [("edith", "editor"), ("victor", "viewer")] {
        let (status, body) = as_(
            store,
            &owner,
            "PUT",
            &format!("/api/v1/projects/OPS/members/{who}"),
            Some(&format!(r#"{{"role":"{role}"}}"#)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    (owner, editor, viewer)
}

async fn members_and_labels(store: TestStore) {
    let (owner, editor, viewer) = team(&store).await;
    let (_, members) = as_(&store, &viewer, "GET", "/api/v1/projects/OPS/members", None).await;
    let roles: Vec<(&str, &str)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["username"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [
            ("edith", "editor"),
            ("olivia", "owner"),
            ("victor", "viewer")
        ]
    );
    assert_eq!(
        as_(
            &store,
            &editor,
            "PUT",
            "/api/v1/projects/OPS/members/victor",
            Some(r#"{"role":"owner"}"#)
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        as_(
            &store,
            &owner,
            "DELETE",
            "/api/v1/projects/OPS/members/olivia",
            None
        )
        .await
        .0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        as_(
            &store,
            &owner,
            "PUT",
            "/api/v1/projects/OPS/members/victor",
            Some(r#"{"role":"god"}"#)
        )
        .await
        .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let (status, label) = as_(
        &store,
        &editor,
        "POST",
        "/api/v1/projects/OPS/labels",
        Some(r##"{"name":"bug","colour":"#D73A4A"}"##),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(label["colour"], "#d73a4a");
    assert_eq!(
        as_(
            &store,
            &viewer,
            "POST",
            "/api/v1/projects/OPS/labels",
            Some(r##"{"name":"ux","colour":"#000000"}"##)
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        as_(
            &store,
            &editor,
            "POST",
            "/api/v1/projects/OPS/labels",
            Some(r##"{"name":"bug","colour":"#000000"}"##)
        )
        .await
        .0,
        StatusCode::CONFLICT
    );
    let id = label["id"].as_i64().unwrap();
    let (status, renamed) = as_(
        &store,
        &editor,
        "PATCH",
        &format!("/api/v1/projects/OPS/labels/{id}"),
        Some(r#"{"name":"defect"}"#),
    )
    .await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (StatusCode::OK, Some("defect"))
    );
    // A label is only reachable through its own project.
    as_(
        &store,
        &owner,
        "POST",
        "/api/v1/projects",
        Some(r#"{"key":"WEB","name":"Web"}"#),
    )
    .await;
    assert_eq!(
        as_(
            &store,
            &owner,
            "DELETE",
            &format!("/api/v1/projects/WEB/labels/{id}"),
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        as_(
            &store,
            &editor,
            "DELETE",
            &format!("/api/v1/projects/OPS/labels/{id}"),
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
}

async fn board_moves_comments_and_activity(store: TestStore) {
    let (owner, editor, viewer) = team(&store).await;
    for title in ["a", "b"] {
        as_(
            &store,
            &editor,
            "POST",
            "/api/v1/projects/OPS/tasks",
            Some(&format!(r#"{{"title":"{title}"}}"#)),
        )
        .await;
    }
    let (status, moved) = as_(
        &store,
        &editor,
        "POST",
        "/api/v1/tasks/OPS-2/move",
        Some(r#"{"status":"todo","position":"top"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    let (_, page) = as_(&store, &viewer, "GET", "/api/v1/projects/OPS/tasks", None).await;
    let keys: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["OPS-2", "OPS-1"]);
    let (status, moved) = as_(
        &store,
        &editor,
        "POST",
        "/api/v1/tasks/OPS-1/move",
        Some(r#"{"status":"done","after":"OPS-2"}"#),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "OPS-2 is not in the done column: {moved}"
    );
    assert_eq!(
        as_(
            &store,
            &editor,
            "POST",
            "/api/v1/tasks/OPS-1/move",
            Some(r#"{"status":"done"}"#)
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        as_(
            &store,
            &viewer,
            "POST",
            "/api/v1/tasks/OPS-1/move",
            Some(r#"{"status":"todo"}"#)
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );

    let (status, comment) = as_(
        &store,
        &editor,
        "POST",
        "/api/v1/tasks/OPS-1/comments",
        Some(r#"{"body":"Looks good"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = comment["id"].as_i64().unwrap();
    assert_eq!(
        as_(
            &store,
            &viewer,
            "POST",
            "/api/v1/tasks/OPS-1/comments",
            Some(r#"{"body":"me too"}"#)
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        as_(
            &store,
            &editor,
            "POST",
            "/api/v1/tasks/OPS-1/comments",
            Some(r#"{"body":""}"#)
        )
        .await
        .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (status, edited) = as_(
        &store,
        &editor,
        "PATCH",
        &format!("/api/v1/comments/{id}"),
        Some(r#"{"body":"Looks great"}"#),
    )
    .await;
    assert_eq!(
        (status, edited["body"].as_str()),
        (StatusCode::OK, Some("Looks great"))
    );
    assert_eq!(
        as_(
            &store,
            &viewer,
            "PATCH",
            &format!("/api/v1/comments/{id}"),
            Some(r#"{"body":"x"}"#)
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (_, list) = as_(&store, &viewer, "GET", "/api/v1/tasks/OPS-1/comments", None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        as_(
            &store,
            &owner,
            "DELETE",
            &format!("/api/v1/comments/{id}"),
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );

    let (status, log) = as_(
        &store,
        &viewer,
        "GET",
        "/api/v1/tasks/OPS-1/activity?limit=10",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "trashed",
            "comment_edited",
            "comment_added",
            "task_moved",
            "task_created"
        ]
    );
    assert_eq!(
        as_(
            &store,
            &viewer,
            "GET",
            "/api/v1/tasks/OPS-1/activity?limit=0",
            None
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    let (status, log) = as_(
        &store,
        &viewer,
        "GET",
        "/api/v1/projects/OPS/activity",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(log.as_array().unwrap().len() > kinds.len());
}

async fn trash_restore_and_purge(store: TestStore) {
    let (owner, editor, viewer) = team(&store).await;
    let (_, task) = as_(
        &store,
        &editor,
        "POST",
        "/api/v1/projects/OPS/tasks",
        Some(r#"{"title":"doomed"}"#),
    )
    .await;
    let id = task["id"].as_i64().unwrap();
    assert_eq!(
        as_(&store, &editor, "DELETE", "/api/v1/tasks/OPS-1", None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        as_(&store, &viewer, "GET", "/api/v1/projects/OPS/trash", None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (_, trash) = as_(&store, &editor, "GET", "/api/v1/projects/OPS/trash", None).await;
    assert_eq!(
        trash[0]["item"],
        serde_json::json!({"type": "task", "id": id})
    );
    let item = format!(r#"{{"type":"task","id":{id}}}"#);
    assert_eq!(
        as_(
            &store,
            &editor,
            "POST",
            "/api/v1/projects/OPS/trash/restore",
            Some(&item)
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        as_(&store, &viewer, "GET", "/api/v1/tasks/OPS-1", None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        as_(
            &store,
            &editor,
            "POST",
            "/api/v1/projects/OPS/trash/restore",
            Some(&item)
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );

    as_(&store, &editor, "DELETE", "/api/v1/tasks/OPS-1", None).await;
    assert_eq!(
        as_(
            &store,
            &editor,
            "POST",
            "/api/v1/projects/OPS/trash/purge",
            Some(&item)
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (status, counts) = as_(
        &store,
        &owner,
        "POST",
        "/api/v1/projects/OPS/trash/purge",
        Some(&item),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(counts["tasks"], 1);
    assert_eq!(
        as_(
            &store,
            &owner,
            "POST",
            "/api/v1/projects/OPS/trash/purge",
            Some(r#"{"type":"folder","id":1}"#)
        )
        .await
        .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Owners archive, rename and trash the project itself.
    assert_eq!(
        as_(
            &store,
            &editor,
            "PATCH",
            "/api/v1/projects/OPS",
            Some(r#"{"archived":true}"#)
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (status, project) = as_(
        &store,
        &owner,
        "PATCH",
        "/api/v1/projects/OPS",
        Some(r#"{"name":"Operations","archived":true}"#),
    )
    .await;
    assert_eq!(
        (
            status,
            project["name"].as_str(),
            project["archived"].as_bool()
        ),
        (StatusCode::OK, Some("Operations"), Some(true))
    );
    assert_eq!(
        as_(&store, &owner, "DELETE", "/api/v1/projects/OPS", None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        as_(&store, &owner, "GET", "/api/v1/projects/OPS", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

async fn users_and_tokens(store: TestStore) {
    let admin = caller(&store, "root", true).await;
    let alice = caller(&store, "alice", false).await;
    let body = r#"{"username":"bob","password":"long enough password"}"#;
    assert_eq!(
        as_(&store, &alice, "POST", "/api/v1/users", Some(body))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (status, bob) = as_(&store, &admin, "POST", "/api/v1/users", Some(body)).await;
    assert_eq!(
        (status, bob["username"].as_str()),
        (StatusCode::CREATED, Some("bob"))
    );
    assert_eq!(
        as_(&store, &admin, "POST", "/api/v1/users", Some(body))
            .await
            .0,
        StatusCode::CONFLICT
    );
    let (status, err) = as_(
        &store,
        &admin,
        "POST",
        "/api/v1/users",
        Some(r#"{"username":"x","password":"short"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        err["error"]["details"]["fields"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        as_(&store, &alice, "GET", "/api/v1/users", None).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        as_(&store, &admin, "GET", "/api/v1/users", None)
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        as_(
            &store,
            &alice,
            "PATCH",
            "/api/v1/users/alice",
            Some(r#"{"is_admin":true}"#)
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        as_(
            &store,
            &alice,
            "PATCH",
            "/api/v1/users/bob",
            Some(r#"{"display_name":"B"}"#)
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (status, me) = as_(
        &store,
        &alice,
        "PATCH",
        "/api/v1/users/alice",
        Some(r#"{"display_name":"Alice A."}"#),
    )
    .await;
    assert_eq!(
        (status, me["display_name"].as_str()),
        (StatusCode::OK, Some("Alice A."))
    );

    let (status, created) = as_(
        &store,
        &alice,
        "POST",
        "/api/v1/me/tokens",
        Some(r#"{"name":"laptop","expires_in_days":30}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = created["secret"].as_str().unwrap().to_owned();
    let laptop = Caller {
        user: alice.user.clone(),
        token: secret,
    };
    assert_eq!(
        as_(&store, &laptop, "GET", "/api/v1/me", None).await.1["username"],
        "alice"
    );
    let (_, tokens) = as_(&store, &laptop, "GET", "/api/v1/me/tokens", None).await;
    assert_eq!(tokens.as_array().unwrap().len(), 2);
    assert!(
        tokens.to_string().find("secret").is_none(),
        "listed tokens never show a secret"
    );
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        as_(
            &store,
            &admin,
            "DELETE",
            &format!("/api/v1/me/tokens/{id}"),
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND,
        "only the owner revokes"
    );
    assert_eq!(
        as_(
            &store,
            &alice,
            "DELETE",
            &format!("/api/v1/me/tokens/{id}"),
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        as_(&store, &laptop, "GET", "/api/v1/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Disabling a user locks out their tokens.
    as_(
        &store,
        &admin,
        "PATCH",
        "/api/v1/users/alice",
        Some(r#"{"is_disabled":true}"#),
    )
    .await;
    assert_eq!(
        as_(&store, &alice, "GET", "/api/v1/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn trashed_projects_come_back_through_the_account_trash(store: TestStore) {
    let (owner, editor, _viewer) = team(&store).await;
    let stranger = caller(&store, "sam", false).await;
    as_(
        &store,
        &editor,
        "POST",
        "/api/v1/projects/OPS/tasks",
        Some(r#"{"title":"keep me"}"#),
    )
    .await;
    assert_eq!(
        as_(&store, &owner, "DELETE", "/api/v1/projects/OPS", None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (_, trash) = as_(&store, &owner, "GET", "/api/v1/trash", None).await;
    assert_eq!(trash[0]["item"]["type"], "project");
    let id = trash[0]["item"]["id"].as_i64().unwrap();
    assert!(
        as_(&store, &stranger, "GET", "/api/v1/trash", None)
            .await
            .1
            .as_array()
            .unwrap()
            .is_empty(),
        "others see nothing"
    );
    assert!(
        as_(&store, &editor, "GET", "/api/v1/trash", None)
            .await
            .1
            .as_array()
            .unwrap()
            .is_empty(),
        "only owners see it here"
    );
    let item = format!(r#"{{"type":"project","id":{id}}}"#);
    assert_eq!(
        as_(
            &store,
            &stranger,
            "POST",
            "/api/v1/trash/restore",
            Some(&item)
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        as_(
            &store,
            &editor,
            "POST",
            "/api/v1/trash/restore",
            Some(&item)
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        as_(&store, &owner, "POST", "/api/v1/trash/restore", Some(&item))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (status, task) = as_(&store, &editor, "GET", "/api/v1/tasks/OPS-1", None).await;
    assert_eq!(
        (status, task["title"].as_str()),
        (StatusCode::OK, Some("keep me")),
        "everything in it is back"
    );
    // Purged for good, it is gone.
    as_(&store, &owner, "DELETE", "/api/v1/projects/OPS", None).await;
    let (status, counts) = as_(&store, &owner, "POST", "/api/v1/trash/purge", Some(&item)).await;
    assert_eq!(
        (
            status,
            counts["projects"].as_u64(),
            counts["tasks"].as_u64()
        ),
        (StatusCode::OK, Some(1), Some(1))
    );
    assert_eq!(
        as_(&store, &owner, "POST", "/api/v1/trash/restore", Some(&item))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

async fn administrators_manage_anyones_tokens(store: TestStore) {
    let admin = caller(&store, "root", true).await;
    let alice = caller(&store, "alice", false).await;
    let (status, created) = as_(
        &store,
        &admin,
        "POST",
        "/api/v1/users/alice/tokens",
        Some(r#"{"name":"deploy bot"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let bot = Caller {
        user: alice.user.clone(),
        token: created["secret"].as_str().unwrap().to_owned(),
    };
    assert_eq!(
        as_(&store, &bot, "GET", "/api/v1/me", None).await.1["username"],
        "alice"
    );
    let (_, tokens) = as_(&store, &admin, "GET", "/api/v1/users/alice/tokens", None).await;
    assert_eq!(tokens.as_array().unwrap().len(), 2);
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        as_(
            &store,
            &admin,
            "DELETE",
            &format!("/api/v1/users/alice/tokens/{id}"),
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        as_(&store, &bot, "GET", "/api/v1/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        as_(&store, &admin, "GET", "/api/v1/users/nobody/tokens", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

/// Every bad query parameter is a 400 `bad_query` and every bad body a 422 `invalid`; each
/// entry of `details.fields` names the parameter or field that is wrong.
async fn every_error_names_its_field(store: TestStore) {
    let (owner, _, _) = team(&store).await;
    let query_cases = [
        ("/api/v1/projects/OPS/tasks?sort=colour", vec!["sort"]),
        (
            "/api/v1/projects/OPS/tasks?status=todo,asleep",
            vec!["status"],
        ),
        (
            "/api/v1/projects/OPS/tasks?assignee=nobody",
            vec!["assignee"],
        ),
        ("/api/v1/projects/OPS/tasks?label=nothing", vec!["label"]),
        (
            "/api/v1/projects/OPS/tasks?due_before=tomorrow&due_after=2026-13-01",
            vec!["due_before", "due_after"],
        ),
        ("/api/v1/projects/OPS/tasks?parent=OPS-999", vec!["parent"]),
        ("/api/v1/projects/OPS/tasks?limit=lots", vec!["limit"]),
        ("/api/v1/projects/OPS/tasks?limit=0", vec!["limit"]),
        (
            "/api/v1/projects/OPS/tasks?after=not-a-cursor",
            vec!["after"],
        ),
        ("/api/v1/projects/OPS/tasks?colour=red", vec!["colour"]),
        ("/api/v1/projects/OPS/activity?limit=1000", vec!["limit"]),
        (
            "/api/v1/projects/OPS/activity?before=yesterday",
            vec!["before"],
        ),
    ];
    for (path, fields) in query_cases {
        let (status, body) = as_(&store, &owner, "GET", path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"]["code"], "bad_query", "{path}: {body}");
        let named: Vec<&str> = body["error"]["details"]["fields"]
            .as_array()
            .unwrap_or_else(|| panic!("{path}: no fields in {body}"))
            .iter()
            .map(|f| {
                f["field"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{path}: an unnamed field in {body}"))
            })
            .collect();
        assert_eq!(named, fields, "{path}: {body}");
    }
    let body_cases = [
        (r#"{"title":5}"#, "title"),
        (r#"{"title":"x","colour":"red"}"#, "colour"),
        (r#"{"description":"no title"}"#, "title"),
        (r#"{"title":"x","labels":[1]}"#, "labels[0]"),
        (r#"["a list"]"#, "body"),
    ];
    for (json, field) in body_cases {
        let (status, body) = as_(
            &store,
            &owner,
            "POST",
            "/api/v1/projects/OPS/tasks",
            Some(json),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{json}: {body}");
        assert_eq!(
            body["error"]["details"]["fields"][0]["field"], field,
            "{json}: {body}"
        );
    }
}

both_backends!(
    every_error_names_its_field,
    trashed_projects_come_back_through_the_account_trash,
    administrators_manage_anyones_tokens,
    members_and_labels,
    board_moves_comments_and_activity,
    trash_restore_and_purge,
    users_and_tokens
);
