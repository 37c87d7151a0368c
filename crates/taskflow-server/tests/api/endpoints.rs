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
    let roles: Vec<(&str, &str)> = members["items"]
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
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
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
    let kinds: Vec<&str> = log["items"]
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
    assert!(log["items"].as_array().unwrap().len() > kinds.len());
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
    assert_eq!(task["key"], "OPS-1");
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
    let trashed = &trash["items"][0];
    assert_eq!(
        (&trashed["type"], &trashed["project"], &trashed["task"]),
        (&"task".into(), &"OPS".into(), &"OPS-1".into()),
        "{trash}"
    );
    assert_eq!(trash["next"], Value::Null);
    assert_eq!(
        trashed["deleted_by"]["username"], "edith",
        "who deleted it: {trash}"
    );
    let id = trashed["id"].as_i64().unwrap();
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
        as_(&store, &admin, "GET", "/api/v1/users", None).await.1["items"]
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
    assert_eq!(tokens["items"].as_array().unwrap().len(), 2);
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
    assert_eq!(trash["items"][0]["type"], "project");
    assert_eq!(trash["items"][0]["task"], Value::Null);
    let id = trash["items"][0]["id"].as_i64().unwrap();
    assert!(
        as_(&store, &stranger, "GET", "/api/v1/trash", None).await.1["items"]
            .as_array()
            .unwrap()
            .is_empty(),
        "others see nothing"
    );
    assert!(
        as_(&store, &editor, "GET", "/api/v1/trash", None).await.1["items"]
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
    assert_eq!(tokens["items"].as_array().unwrap().len(), 2);
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

/// Answers speak the language of requests: tasks are written with usernames, label names and a
/// parent key, and read back the same way (with display names and colours); comments,
/// attachments, activity and the trash name people by username and tasks by key; every list is
/// `{items, next}`.
async fn answers_name_things_as_requests_do(store: TestStore) {
    let (owner, editor, _viewer) = team(&store).await;
    let post = async |path: &str, body: &str| {
        let (status, answer) = as_(&store, &editor, "POST", path, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{path}: {answer}");
        answer
    };
    post(
        "/api/v1/projects/OPS/labels",
        r##"{"name":"bug","colour":"#d73a4a"}"##,
    )
    .await;
    post("/api/v1/projects/OPS/tasks", r#"{"title":"parent"}"#).await;
    let task = post(
        "/api/v1/projects/OPS/tasks",
        r#"{"title":"child","assignees":["olivia","edith"],"labels":["bug"],"parent":"OPS-1","due_date":"2026-12-24"}"#,
    )
    .await;
    let person = |username: &str, display_name: &str| serde_json::json!({"username": username, "display_name": display_name});
    assert_eq!(task["key"], "OPS-2");
    assert_eq!(task["parent"], "OPS-1");
    assert_eq!(task["due_date"], "2026-12-24");
    assert_eq!(
        task["assignees"],
        serde_json::json!([person("olivia", "olivia"), person("edith", "edith")])
    );
    assert_eq!(
        task["labels"],
        serde_json::json!([{"name": "bug", "colour": "#d73a4a"}])
    );
    assert_eq!(task["created_by"], person("edith", "edith"));
    for field in ["id", "project_id", "parent_id", "deleted_at"] {
        assert!(
            task.get(field).is_none(),
            "{field} is not part of a task's answer: {task}"
        );
    }
    let (_, read) = as_(&store, &owner, "GET", "/api/v1/tasks/OPS-2", None).await;
    assert_eq!(read, task, "reading answers what writing did");

    let comment = post("/api/v1/tasks/OPS-2/comments", r#"{"body":"on it"}"#).await;
    assert_eq!(
        (&comment["task"], &comment["author"]),
        (&"OPS-2".into(), &person("edith", "edith"))
    );
    let (status, attachment, _) = {
        let request = axum::http::Request::post("/api/v1/tasks/OPS-2/attachments?name=notes.txt")
            .header("authorization", format!("Bearer {}", editor.token))
            .header("content-type", "text/plain")
            .body(axum::body::Body::from("notes"))
            .unwrap();
        let (status, _, body) = crate::call(state(&store), request).await;
        (status, body, ())
    };
    assert_eq!(status, StatusCode::CREATED, "{attachment}");
    assert_eq!(attachment["task"], "OPS-2");
    assert_eq!(attachment["uploaded_by"], person("edith", "edith"));

    let (_, activity) = as_(
        &store,
        &owner,
        "GET",
        "/api/v1/projects/OPS/activity?limit=2",
        None,
    )
    .await;
    let newest = &activity["items"][0];
    assert_eq!(
        (&newest["task"], &newest["actor"]),
        (&"OPS-2".into(), &person("edith", "edith")),
        "{activity}"
    );
    let before = activity["next"]
        .as_str()
        .expect("a full page says where the next starts");
    let (_, older) = as_(
        &store,
        &owner,
        "GET",
        &format!("/api/v1/projects/OPS/activity?limit=2&before={before}"),
        None,
    )
    .await;
    assert_ne!(older["items"][0]["id"], newest["id"]);
    let (_, everything) = as_(
        &store,
        &owner,
        "GET",
        "/api/v1/projects/OPS/activity?limit=200",
        None,
    )
    .await;
    assert_eq!(everything["next"], Value::Null, "the last page says so");

    // Every list, one shape.
    for path in [
        "/api/v1/projects",
        "/api/v1/projects/OPS/tasks",
        "/api/v1/projects/OPS/members",
        "/api/v1/projects/OPS/labels",
        "/api/v1/projects/OPS/activity",
        "/api/v1/projects/OPS/trash",
        "/api/v1/tasks/OPS-2/comments",
        "/api/v1/tasks/OPS-2/attachments",
        "/api/v1/tasks/OPS-2/activity",
        "/api/v1/trash",
        "/api/v1/me/tokens",
    ] {
        let (status, list) = as_(&store, &owner, "GET", path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {list}");
        let keys: Vec<&String> = list
            .as_object()
            .unwrap_or_else(|| panic!("{path}: {list}"))
            .keys()
            .collect();
        assert_eq!(keys, ["items", "next"], "{path}: {list}");
        assert!(list["items"].is_array(), "{path}: {list}");
    }
    let (_, members) = as_(&store, &owner, "GET", "/api/v1/projects/OPS/members", None).await;
    assert_eq!(members["items"][0]["display_name"], "edith", "{members}");
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
        // An unknown parameter does not hide the bad values of the others.
        (
            "/api/v1/projects/OPS/tasks?colour=red&limit=lots&shape=round",
            vec!["limit", "colour", "shape"],
        ),
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
    // A parent that would make a cycle names `parent` too.
    let (status, parent) = as_(
        &store,
        &owner,
        "POST",
        "/api/v1/projects/OPS/tasks",
        Some(r#"{"title":"parent"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{parent}");
    let parent_key = parent["key"].as_str().unwrap().to_owned();
    let (status, child) = as_(
        &store,
        &owner,
        "POST",
        "/api/v1/projects/OPS/tasks",
        Some(&format!(r#"{{"title":"child","parent":"{parent_key}"}}"#)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{child}");
    let (status, body) = as_(
        &store,
        &owner,
        "PATCH",
        &format!("/api/v1/tasks/{parent_key}"),
        Some(&format!(
            r#"{{"parent":"{}"}}"#,
            child["key"].as_str().unwrap()
        )),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["error"]["details"]["fields"][0]["field"], "parent",
        "{body}"
    );
}

both_backends!(
    answers_name_things_as_requests_do,
    every_error_names_its_field,
    trashed_projects_come_back_through_the_account_trash,
    administrators_manage_anyones_tokens,
    members_and_labels,
    board_moves_comments_and_activity,
    trash_restore_and_purge,
    users_and_tokens
);
