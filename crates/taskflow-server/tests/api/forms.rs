//! The pages that change things, in-process: each page × role, each form refusing a post
//! without its CSRF field (and changing nothing), each form working without JavaScript
//! (POST → 303 → GET shows the change), quick add with its errors inline, a conflicting edit
//! caught, and the vendored files held to their manifest.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sha2::{Digest, Sha256};
use taskflow_core::project::Role;
use taskflow_core::task::{NewTask, TaskKey};
use taskflow_core::text::TaskTitle;
use taskflow_core::user::Username;
use taskflow_core::{ProjectId, UserId};
use taskflow_testkit::{TestStore, both_backends};

use crate::pages::{Answer, assert_no_inline_code, encoded, session_for, visit};

/// Someone with a browser session (cookie and CSRF token) and an API token.
struct Person {
    id: UserId,
    cookie: String,
    csrf: String,
    token: String,
}

async fn person(store: &TestStore, name: &str) -> Person {
    let (user, token) = store.user_with_token(name, false).await;
    let (cookie, csrf) = session_for(store, user.id).await;
    Person {
        id: user.id,
        cookie,
        csrf,
        token: token.expose().to_owned(),
    }
}

/// A project OPS with a label `bug`, an owner, an editor, a viewer and someone outside it,
/// and a task OPS-1 with a comment by the editor.
struct Team {
    project: ProjectId,
    owner: Person,
    editor: Person,
    viewer: Person,
    stranger: Person,
    comment: i64,
}

async fn team(store: &TestStore) -> Team {
    let owner = person(store, "olivia").await;
    let editor = person(store, "edgar").await;
    let viewer = person(store, "victor").await;
    let stranger = person(store, "sam").await;
    let project = crate::project_with(store, owner.id, "OPS").await;
    for (who, role) in [(&editor, Role::Editor), (&viewer, Role::Viewer)] {
        store
            .set_member(owner.id, project, who.id, role)
            .await
            .unwrap();
    }
    store
        .create_label(
            project,
            taskflow_core::project::NewLabel {
                name: taskflow_core::text::LabelName::parse("bug").unwrap(),
                colour: taskflow_core::project::Colour::parse("#d73a4a").unwrap(),
            },
        )
        .await
        .unwrap();
    let task = store
        .create_task(
            owner.id,
            project,
            NewTask::titled(TaskTitle::parse("Fix the login page").unwrap()),
        )
        .await
        .unwrap();
    let comment = store
        .add_comment(
            editor.id,
            task.id,
            taskflow_core::text::CommentBody::parse("Looking at it").unwrap(),
        )
        .await
        .unwrap();
    Team {
        project,
        owner,
        editor,
        viewer,
        stranger,
        comment: comment.id.0,
    }
}

async fn task(store: &TestStore, key: &str) -> taskflow_core::task::Task {
    store
        .task_by_key(&TaskKey::parse(key).unwrap())
        .await
        .unwrap()
}

async fn post(store: &TestStore, who: &Person, path: &str, fields: &str) -> Answer {
    let body = format!("csrf={}&{fields}", encoded(&who.csrf));
    visit(store, "POST", path, Some(&who.cookie), Some(&body)).await
}

async fn get(store: &TestStore, who: &Person, path: &str) -> Answer {
    visit(store, "GET", path, Some(&who.cookie), None).await
}

async fn every_page_answers_each_role(store: TestStore) {
    let team = team(&store).await;
    let comment_edit = format!("/t/OPS-1/comments/{}/edit", team.comment);
    // (page, whether a viewer may open it)
    let pages = [
        ("/projects", true),
        ("/my", true),
        ("/p/OPS", true),
        ("/p/OPS/list", true),
        ("/p/OPS/list?q=login&status=todo", true),
        ("/p/OPS/cards?status=todo", true),
        ("/p/OPS/card/OPS-1", true),
        ("/p/OPS/workflow", true),
        ("/t/OPS-1", true),
        ("/t/OPS-1/edit", false),
        (comment_edit.as_str(), false),
    ];
    for (path, viewers) in pages {
        for who in [&team.owner, &team.editor] {
            let page = get(&store, who, path).await;
            assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
            assert_no_inline_code(&page);
        }
        let seen = get(&store, &team.viewer, path).await;
        let expected = if viewers {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(seen.status, expected, "{path} for a viewer: {}", seen.body);
        assert_no_inline_code(&seen);
        if !path.starts_with("/projects") && !path.starts_with("/my") {
            let hidden = get(&store, &team.stranger, path).await;
            assert_eq!(
                hidden.status,
                StatusCode::NOT_FOUND,
                "{path} for a non-member"
            );
            assert!(!hidden.body.contains("Fix the login page"), "{path}");
        }
        let out = visit(&store, "GET", path, None, None).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER, "{path} signed out");
        assert_eq!(
            out.location(),
            format!("/login?next={}", encoded(path)),
            "{path}"
        );
    }
    // What a viewer does not get: forms that would change the project.
    let board = get(&store, &team.viewer, "/p/OPS").await;
    assert!(!board.body.contains(r#"action="/p/OPS/tasks""#));
    assert!(!board.body.contains("data-editable"));
    let page = get(&store, &team.viewer, "/t/OPS-1").await;
    for action in ["/t/OPS-1/edit", "/t/OPS-1/comments", "/t/OPS-1/delete"] {
        assert!(
            !page.body.contains(&format!(r#"action="{action}""#)),
            "{action} offered to a viewer"
        );
    }
    // The editor may change their own comment, not someone else's; the owner may change any.
    let mine = get(&store, &team.editor, "/t/OPS-1").await;
    assert!(mine.body.contains(&comment_edit));
    let other = person(&store, "erin").await;
    store
        .set_member(team.owner.id, team.project, other.id, Role::Editor)
        .await
        .unwrap();
    let theirs = get(&store, &other, "/t/OPS-1").await;
    assert!(!theirs.body.contains(&comment_edit));
    assert_eq!(
        get(&store, &other, &comment_edit).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(
        get(&store, &team.owner, "/t/OPS-1")
            .await
            .body
            .contains(&comment_edit)
    );
}

async fn every_form_refuses_a_post_without_its_csrf_field(store: TestStore) {
    let team = team(&store).await;
    let before = task(&store, "OPS-1").await;
    let comment_edit = format!("/t/OPS-1/comments/{}/edit", team.comment);
    let comment_delete = format!("/t/OPS-1/comments/{}/delete", team.comment);
    let forms = [
        ("/projects", "key=NEW&name=New".to_owned()),
        ("/p/OPS/tasks", "line=Sneaky".to_owned()),
        (
            "/p/OPS/move",
            format!("task=OPS-1&status=done&version={}", before.version),
        ),
        (
            "/t/OPS-1/edit",
            format!(
                "title=Sneaky&status=done&priority=high&version={}",
                before.version
            ),
        ),
        ("/t/OPS-1/subtasks", "line=Sneaky".to_owned()),
        ("/t/OPS-1/comments", "body=Sneaky".to_owned()),
        (comment_edit.as_str(), "body=Sneaky".to_owned()),
        (comment_delete.as_str(), String::new()),
        ("/t/OPS-1/delete", String::new()),
        ("/p/OPS/members", "username=sam&role=owner".to_owned()),
        ("/p/OPS/labels", "name=sneaky&colour=%23000000".to_owned()),
        ("/p/OPS/workflow", "name=Sneaky".to_owned()),
        (
            "/t/OPS-1/check",
            "index=0&checked=true&version=1".to_owned(),
        ),
        (
            "/t/OPS-1/set",
            format!(
                "field=title&in=task&value=Sneaky&version={}",
                before.version
            ),
        ),
        ("/p/OPS/settings", "action=trash".to_owned()),
        ("/trash/restore", "type=task&id=1".to_owned()),
        ("/trash/purge", "type=task&id=1".to_owned()),
        ("/account", "action=everywhere".to_owned()),
        ("/settings/tokens", "name=sneaky".to_owned()),
        ("/settings/tokens/1/revoke", String::new()),
        ("/logout", String::new()),
    ];
    for (path, fields) in &forms {
        for csrf in [None, Some("wrong")] {
            let body = match csrf {
                Some(token) => format!("csrf={token}&{fields}"),
                None => fields.clone(),
            };
            let refused = visit(&store, "POST", path, Some(&team.owner.cookie), Some(&body)).await;
            assert_eq!(
                refused.status,
                StatusCode::FORBIDDEN,
                "{path}: {}",
                refused.body
            );
            assert!(refused.body.contains("This form has expired"), "{path}");
            assert_no_inline_code(&refused);
        }
    }
    let after = task(&store, "OPS-1").await;
    assert_eq!(after.version, before.version, "nothing changed the task");
    let listed = store
        .list_tasks(
            team.project,
            &taskflow_core::task::TaskQuery::new(Default::default()),
        )
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1, "no task was added");
    let comments = store.comments(after.id).await.unwrap();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].body.as_str(), "Looking at it");
    assert_eq!(
        get(&store, &team.owner, "/projects").await.status,
        StatusCode::OK,
        "the session was not ended"
    );
}

async fn quick_add_makes_a_task_or_says_why_not(store: TestStore) {
    let team = team(&store).await;
    // The example line, from the board.
    let added = post(
        &store,
        &team.editor,
        "/p/OPS/tasks",
        &format!(
            "back=board&line={}",
            encoded("Fix login #bug @olivia due:2026-12-24 !high")
        ),
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(added.location(), "/p/OPS#card-OPS-2");
    let made = task(&store, "OPS-2").await;
    assert_eq!(made.title.as_str(), "Fix login");
    assert_eq!(made.priority, taskflow_core::task::Priority::High);
    assert_eq!(made.due_date.unwrap().to_string(), "2026-12-24");
    assert_eq!(made.assignees, vec![team.owner.id]);
    assert_eq!(made.labels.len(), 1);
    let board = get(&store, &team.editor, "/p/OPS").await;
    assert!(board.body.contains("Fix login") && board.body.contains("bug"));

    // From the list, back to the list.
    let listed = post(
        &store,
        &team.editor,
        "/p/OPS/tasks",
        "back=list&line=Write+notes",
    )
    .await;
    assert_eq!(listed.location(), "/p/OPS/list#task-OPS-3");
    assert!(
        get(&store, &team.editor, "/p/OPS/list")
            .await
            .body
            .contains(r#"id="task-OPS-3""#)
    );

    // Lines that cannot be used come back in their field, with every reason, and add nothing.
    for (back, line, reasons) in [
        (
            "board",
            "Fix due:2026-13-01 !soon",
            vec![
                "“due:2026-13-01” is not a date",
                "“!soon” is not a priority",
            ],
        ),
        ("list", "#bug @olivia", vec!["The task needs a title"]),
        (
            "board",
            "Tidy #nope",
            vec!["There is no label &#34;nope&#34; in OPS."],
        ),
        (
            "board",
            "Tidy @nobody",
            vec!["No user is named &#34;nobody&#34;."],
        ),
        // Every problem of a line at once, people by name (never an internal id).
        (
            "board",
            "Tidy #nope @sam due:2026-13-01",
            vec![
                "There is no label &#34;nope&#34; in OPS.",
                "The user sam is not a member of OPS.",
                "“due:2026-13-01” is not a date",
            ],
        ),
    ] {
        let refused = post(
            &store,
            &team.editor,
            "/p/OPS/tasks",
            &format!("back={back}&line={}", encoded(line)),
        )
        .await;
        // Back to the page, the line in its address: a reload or a bookmark opens the page.
        assert_eq!(
            refused.status,
            StatusCode::SEE_OTHER,
            "{line}: {}",
            refused.body
        );
        let page = if back == "list" {
            "/p/OPS/list?"
        } else {
            "/p/OPS?"
        };
        assert!(
            refused.location().starts_with(page) && refused.location().ends_with("#quick-line"),
            "{}",
            refused.location()
        );
        let again = refused.location().split('#').next().unwrap().to_owned();
        let refused = get(&store, &team.editor, &again).await;
        assert_eq!(refused.status, StatusCode::OK, "{again}");
        assert_no_inline_code(&refused);
        let typed = refused.field("line");
        assert_eq!(typed, line.replace('"', "&#34;"), "the line is kept");
        assert!(refused.body.contains(r#"aria-invalid="true""#));
        for reason in reasons {
            assert!(
                refused.body.contains(reason),
                "{line}: {reason} not in {}",
                refused.body
            );
        }
        let heading = if back == "list" {
            r#"<a href="/p/OPS/list" aria-current="page">List</a>"#
        } else {
            r#"<a href="/p/OPS" aria-current="page">Board</a>"#
        };
        assert!(refused.body.contains(heading), "back on the {back}");
    }
    let all = store
        .list_tasks(
            team.project,
            &taskflow_core::task::TaskQuery::new(Default::default()),
        )
        .await
        .unwrap();
    assert_eq!(all.items.len(), 3, "nothing was added by a refused line");

    // The line outlives a trip to create the label it named: back at its address, it is fine.
    let refused = post(
        &store,
        &team.editor,
        "/p/OPS/tasks",
        "back=board&line=Tidy+%23chores",
    )
    .await;
    let again = refused.location().split('#').next().unwrap().to_owned();
    assert!(
        get(&store, &team.editor, &again)
            .await
            .body
            .contains("There is no label")
    );
    let made = post(
        &store,
        &team.editor,
        "/p/OPS/labels",
        "name=chores&colour=%23112233",
    )
    .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER);
    let back = get(&store, &team.editor, &again).await;
    assert_eq!(back.field("line"), "Tidy #chores");
    assert!(!back.body.contains("There is no label"), "{}", back.body);
    assert!(!back.body.contains(r#"aria-invalid="true""#));
    // A viewer given such an address sees the page, without the line.
    let seen = get(&store, &team.viewer, &again).await;
    assert_eq!(seen.status, StatusCode::OK);
    // A form's own address, reloaded or bookmarked, opens the page it is on.
    for (form, page) in [
        ("/p/OPS/tasks", "/p/OPS"),
        ("/p/OPS/move", "/p/OPS"),
        ("/t/OPS-1/comments", "/t/OPS-1"),
        ("/t/OPS-1/subtasks", "/t/OPS-1"),
        ("/t/OPS-1/attachments", "/t/OPS-1"),
        ("/t/OPS-1/delete", "/t/OPS-1"),
    ] {
        let opened = get(&store, &team.editor, form).await;
        assert_eq!(
            (opened.status, opened.location()),
            (StatusCode::SEE_OTHER, page),
            "{form}"
        );
    }

    // A viewer cannot add; neither can someone outside the project.
    let viewer = post(&store, &team.viewer, "/p/OPS/tasks", "line=Mine").await;
    assert_eq!(viewer.status, StatusCode::FORBIDDEN);
    let stranger = post(&store, &team.stranger, "/p/OPS/tasks", "line=Mine").await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);
}

async fn the_task_form_saves_every_field_and_catches_conflicts(store: TestStore) {
    let team = team(&store).await;
    let parent = store
        .create_task(
            team.owner.id,
            team.project,
            NewTask::titled(TaskTitle::parse("The release").unwrap()),
        )
        .await
        .unwrap();
    let form = get(&store, &team.editor, "/t/OPS-1/edit").await;
    assert_eq!(form.status, StatusCode::OK);
    let version = form.field("version");
    assert_eq!(form.field("title"), "Fix the login page");

    // A preview renders the description and saves nothing.
    let fields = |version: &str, title: &str| {
        format!(
            "version={version}&title={}&description={}&status=in_progress&priority=urgent&due_date=2027-01-15&assignee=olivia&assignee=edgar&label=bug&parent={}",
            encoded(title),
            encoded("**Steps**\r\n\r\n<script>alert(1)</script>"),
            parent.key()
        )
    };
    let preview = post(
        &store,
        &team.editor,
        "/t/OPS-1/edit",
        &format!("{}&action=preview", fields(&version, "Fix login")),
    )
    .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert_no_inline_code(&preview);
    assert!(preview.body.contains("<strong>Steps</strong>"));
    assert!(!preview.body.contains("<script>alert"));
    assert_eq!(preview.field("title"), "Fix login", "what was typed stays");
    assert_eq!(
        task(&store, "OPS-1").await.title.as_str(),
        "Fix the login page"
    );

    // Saving: POST → 303 → the task page shows every field.
    let saved = post(
        &store,
        &team.editor,
        "/t/OPS-1/edit",
        &format!("{}&action=save", fields(&version, "Fix login")),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), "/t/OPS-1?done=saved");
    let now = task(&store, "OPS-1").await;
    assert_eq!(now.title.as_str(), "Fix login");
    assert_eq!(
        now.description.as_str(),
        "**Steps**\n\n<script>alert(1)</script>"
    );
    assert_eq!(now.status.name.as_str(), "In progress");
    assert_eq!(now.priority, taskflow_core::task::Priority::Urgent);
    assert_eq!(now.due_date.unwrap().to_string(), "2027-01-15");
    assert_eq!(now.assignees.len(), 2);
    assert_eq!(now.labels.len(), 1);
    assert_eq!(now.parent_id, Some(parent.id));
    let page = get(&store, &team.editor, "/t/OPS-1?done=saved").await;
    for part in [
        "Fix login",
        "Saved.",
        "urgent",
        "2027-01-15",
        "In progress",
        "edgar",
        "bug",
    ] {
        assert!(page.body.contains(part), "{part} not on the page");
    }
    assert!(
        get(&store, &team.editor, &format!("/t/{}", parent.key()))
            .await
            .body
            .contains("Fix login"),
        "a subtask of its parent now"
    );

    // The same form sent again is a conflict: nothing is overwritten, the typed values stay,
    // the page says so and offers to reload.
    let stale = post(
        &store,
        &team.owner,
        "/t/OPS-1/edit",
        &format!("{}&action=save", fields(&version, "Someone else's title")),
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_no_inline_code(&stale);
    assert!(
        stale
            .body
            .contains("Someone else changed this task while you were editing it.")
    );
    assert!(
        stale
            .body
            .contains(r#"<a href="/t/OPS-1/edit">Reload the task</a>"#)
    );
    assert_eq!(stale.field("title"), "Someone else&#39;s title");
    assert_eq!(stale.field("version"), now.version.to_string());
    assert_eq!(task(&store, "OPS-1").await.title.as_str(), "Fix login");

    // Invalid values are named, and nothing is saved.
    let invalid = post(
        &store,
        &team.editor,
        "/t/OPS-1/edit",
        &format!(
            "version={}&title=&status=todo&priority=none&due_date=soon&parent=OPS-999",
            now.version
        ),
    )
    .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.body.contains("Nothing was saved"));
    assert!(
        invalid.body.contains("is not a date like 2026-12-31"),
        "{}",
        invalid.body
    );
    assert!(invalid.body.contains("is not a task of this project"));
    assert_eq!(task(&store, "OPS-1").await.version, now.version);

    // Viewers and strangers cannot post it.
    let viewer = post(
        &store,
        &team.viewer,
        "/t/OPS-1/edit",
        &fields(&now.version.to_string(), "x"),
    )
    .await;
    assert_eq!(viewer.status, StatusCode::FORBIDDEN);
    let stranger = post(
        &store,
        &team.stranger,
        "/t/OPS-1/edit",
        &fields(&now.version.to_string(), "x"),
    )
    .await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);
}

async fn comments_follow_the_api_rules(store: TestStore) {
    let team = team(&store).await;
    let added = post(
        &store,
        &team.editor,
        "/t/OPS-1/comments",
        &format!(
            "body={}",
            encoded("Found it: **the cookie**\r\n\r\n<img src=x onerror=alert(1)>")
        ),
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert!(added.location().starts_with("/t/OPS-1#comment-"));
    let id: i64 = added
        .location()
        .rsplit('-')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let page = get(&store, &team.viewer, "/t/OPS-1").await;
    assert!(page.body.contains("<strong>the cookie</strong>"));
    assert!(!page.body.contains("<img"));
    assert_no_inline_code(&page);

    let empty = post(&store, &team.editor, "/t/OPS-1/comments", "body=").await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains(r#"id="comment-problem""#));

    let edit = format!("/t/OPS-1/comments/{id}/edit");
    let edited = post(&store, &team.editor, &edit, "body=Found+it+twice").await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER);
    assert!(
        get(&store, &team.editor, "/t/OPS-1")
            .await
            .body
            .contains("Found it twice")
    );
    assert!(
        get(&store, &team.editor, "/t/OPS-1")
            .await
            .body
            .contains("· edited")
    );

    let other = person(&store, "erin").await;
    store
        .set_member(team.owner.id, team.project, other.id, Role::Editor)
        .await
        .unwrap();
    let not_theirs = post(&store, &other, &edit, "body=Mine+now").await;
    assert_eq!(not_theirs.status, StatusCode::FORBIDDEN);
    let not_viewers = post(&store, &team.viewer, "/t/OPS-1/comments", "body=Hello").await;
    assert_eq!(not_viewers.status, StatusCode::FORBIDDEN);
    // A comment is changed only under its own task.
    store
        .create_task(
            team.owner.id,
            team.project,
            NewTask::titled(TaskTitle::parse("Other").unwrap()),
        )
        .await
        .unwrap();
    let elsewhere = post(
        &store,
        &team.owner,
        &format!("/t/OPS-2/comments/{id}/delete"),
        "",
    )
    .await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);

    let deleted = post(
        &store,
        &team.owner,
        &format!("/t/OPS-1/comments/{id}/delete"),
        "",
    )
    .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    let after = get(&store, &team.owner, "/t/OPS-1?done=comment-deleted").await;
    assert!(!after.body.contains("Found it twice"));
    assert!(after.body.contains("The comment was deleted."));
    let history = get(&store, &team.owner, "/t/OPS-1").await;
    assert!(
        history.body.contains("edgar commented."),
        "{}",
        history.body
    );
}

async fn subtasks_attachments_and_the_trash_by_form(store: TestStore) {
    let team = team(&store).await;
    let added = post(
        &store,
        &team.editor,
        "/t/OPS-1/subtasks",
        &format!("line={}", encoded("Check the cookie flags @edgar !low")),
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(added.location(), "/t/OPS-1#subtasks");
    let sub = task(&store, "OPS-2").await;
    assert_eq!(sub.parent_id, Some(task(&store, "OPS-1").await.id));
    assert_eq!(sub.assignees, vec![team.editor.id]);
    assert!(
        get(&store, &team.editor, "/t/OPS-1")
            .await
            .body
            .contains("Check the cookie flags")
    );
    let refused = post(&store, &team.editor, "/t/OPS-1/subtasks", "line=%21high").await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert_eq!(refused.location(), "/t/OPS-1?subtask=%21high#quick-line");
    let again = get(&store, &team.editor, "/t/OPS-1?subtask=%21high").await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.body.contains("The task needs a title"));
    assert_eq!(again.field("line"), "!high");

    // An attachment uploaded through the API, deleted by its uploader from the page.
    let upload = Request::builder()
        .method("POST")
        .uri("/api/v1/tasks/OPS-1/attachments?name=notes.txt")
        .header("authorization", format!("Bearer {}", team.editor.token))
        .header("content-type", "text/plain")
        .body(Body::from("some notes"))
        .unwrap();
    let (status, body) = crate::send(crate::state(&store), upload).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let attachment: serde_json::Value = serde_json::from_str(&body).unwrap();
    let page = get(&store, &team.editor, "/t/OPS-1").await;
    assert!(page.body.contains("notes.txt"));
    assert!(page.body.contains(attachment["sha256"].as_str().unwrap()));
    assert!(
        page.body.contains(r#"data-task="OPS-1""#),
        "the upload form"
    );
    let delete = format!("/t/OPS-1/attachments/{}/delete", attachment["id"]);
    let viewer = post(&store, &team.viewer, &delete, "").await;
    assert_eq!(viewer.status, StatusCode::FORBIDDEN);
    let gone = post(&store, &team.editor, &delete, "").await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    let after = get(&store, &team.editor, gone.location()).await;
    let listed = after
        .body
        .split(r#"id="attachments""#)
        .nth(1)
        .unwrap()
        .split("</section>")
        .next()
        .unwrap();
    assert!(!listed.contains("notes.txt"), "{listed}");
    assert!(after.body.contains("in the project&#39;s trash"));

    // The task to the trash with its subtask; a stale page's delete is refused.
    let current = task(&store, "OPS-1").await;
    let stale = post(
        &store,
        &team.editor,
        "/t/OPS-1/delete",
        &format!("version={}", current.version - 1),
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let trashed = post(
        &store,
        &team.editor,
        "/t/OPS-1/delete",
        &format!("version={}", current.version),
    )
    .await;
    assert_eq!(trashed.status, StatusCode::SEE_OTHER);
    assert_eq!(trashed.location(), "/p/OPS?deleted=OPS-1");
    let board = get(&store, &team.editor, trashed.location()).await;
    assert!(
        board
            .body
            .contains("OPS-1 and its subtasks are in the project")
    );
    assert!(!board.body.contains("Fix the login page"));
    let trash = store.trash(Some(team.project)).await.unwrap();
    assert!(!trash.is_empty());
    assert_eq!(
        get(&store, &team.editor, "/t/OPS-1").await.status,
        StatusCode::NOT_FOUND
    );
}

async fn the_board_loads_more_and_refreshes_one_card(store: TestStore) {
    let team = team(&store).await;
    for n in 0..55 {
        store
            .create_task(
                team.owner.id,
                team.project,
                NewTask::titled(TaskTitle::parse(format!("card {n}")).unwrap()),
            )
            .await
            .unwrap();
    }
    let board = get(&store, &team.owner, "/p/OPS").await;
    assert_eq!(board.body.matches(r#"class="card-item""#).count(), 50);
    let more = board
        .body
        .split(r#"hx-get=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a load-more link")
        .replace("&#38;", "&");
    assert!(
        more.starts_with("/p/OPS/cards?status=To+do&after="),
        "{more}"
    );
    assert!(
        board
            .body
            .contains(r#"href="/p/OPS/list?status=To+do&#38;after="#),
        "the same without JavaScript"
    );
    let rest = get(&store, &team.owner, &more).await;
    assert_eq!(rest.status, StatusCode::OK);
    assert_no_inline_code(&rest);
    assert_eq!(rest.body.matches(r#"class="card-item""#).count(), 6);
    assert!(!rest.body.contains("hx-get"), "no more after the last page");
    assert!(rest.body.contains(r#"action="/p/OPS/move""#));
    let bad = get(
        &store,
        &team.owner,
        "/p/OPS/cards?status=todo&after=nonsense",
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = get(&store, &team.owner, "/p/OPS/cards?status=later").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let one = get(&store, &team.owner, "/p/OPS/card/OPS-1").await;
    assert_eq!(one.body.matches(r#"class="card-item""#).count(), 1);
    assert!(one.body.contains(&format!(
        r#"data-version="{}""#,
        task(&store, "OPS-1").await.version
    )));
    let other = crate::project_with(&store, team.owner.id, "DEV").await;
    let _ = other;
    assert_eq!(
        get(&store, &team.owner, "/p/DEV/card/OPS-1").await.status,
        StatusCode::NOT_FOUND
    );
}

async fn the_assets_are_the_vendored_files(store: TestStore) {
    let team = team(&store).await;
    let board = get(&store, &team.owner, "/p/OPS").await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let mut served = 0;
    for src in board
        .body
        .split(r#"<script src=""#)
        .skip(1)
        .chain(board.body.split(r#"<link rel="stylesheet" href=""#).skip(1))
    {
        let url = src.split('"').next().unwrap();
        if !url.starts_with("/assets/") {
            assert_eq!(url, "/p/OPS/labels.css", "the project's label colours");
            continue;
        }
        let name = url.rsplit('/').next().unwrap();
        let path = if name.starts_with("app.") {
            dir.join(name)
        } else {
            dir.join("vendor").join(name)
        };
        let file = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let answer = visit(&store, "GET", url, None, None).await;
        assert_eq!(answer.status, StatusCode::OK, "{url}");
        assert_eq!(
            answer.headers["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(answer.headers["x-content-type-options"], "nosniff");
        assert_eq!(answer.body.as_bytes(), file.as_slice(), "{url} is {name}");
        let digest = hex::encode(Sha256::digest(&file));
        assert!(url.contains(&digest[..12]), "{url} names its content");
        served += 1;
    }
    assert_eq!(
        served, 4,
        "the board loads the stylesheet, app.js, htmx and SortableJS"
    );
    assert_eq!(
        visit(
            &store,
            "GET",
            "/assets/000000000000/htmx.min.js",
            None,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

async fn the_trash_restores_in_order_and_purges_after_confirming(store: TestStore) {
    let team = team(&store).await;
    let parent = task(&store, "OPS-1").await;
    let child = store
        .create_task(
            team.owner.id,
            team.project,
            NewTask {
                parent_id: Some(parent.id),
                ..NewTask::titled(TaskTitle::parse("Check the cookie flags").unwrap())
            },
        )
        .await
        .unwrap();
    // The subtask first, then its parent: both are in the trash on their own.
    store
        .delete_task(team.editor.id, child.id, None)
        .await
        .unwrap();
    store
        .delete_task(team.editor.id, parent.id, None)
        .await
        .unwrap();

    for path in ["/p/OPS/trash", "/trash"] {
        let out = visit(&store, "GET", path, None, None).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER, "{path}");
        let hidden = get(&store, &team.stranger, path).await;
        let expected = if path == "/trash" {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(hidden.status, expected, "{path} for a non-member");
        assert!(!hidden.body.contains("Check the cookie flags"), "{path}");
    }
    assert_eq!(
        get(&store, &team.viewer, "/p/OPS/trash").await.status,
        StatusCode::FORBIDDEN
    );
    let page = get(&store, &team.editor, "/p/OPS/trash").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_no_inline_code(&page);
    assert!(
        page.body.contains("Check the cookie flags") && page.body.contains("Fix the login page")
    );
    assert!(page.body.contains("Purged on"));
    assert_eq!(page.body.matches("by edgar").count(), 2, "who deleted each");
    let purge_day =
        (taskflow_core::Timestamp::now().datetime().date() + time::Duration::days(30)).to_string();
    assert!(
        page.body.contains(&purge_day),
        "purged after the 30 days of retention"
    );
    assert!(
        page.body.contains("action=\"/trash/restore\""),
        "editors restore"
    );
    assert!(!page.body.contains("/trash/purge?"), "only owners purge");
    // The account's trash holds what the viewer owns: the editor owns nothing.
    assert!(
        !get(&store, &team.editor, "/trash")
            .await
            .body
            .contains("Fix the login page")
    );
    let mine = get(&store, &team.owner, "/trash").await;
    assert!(mine.body.contains("Fix the login page") && mine.body.contains("in OPS"));
    assert_no_inline_code(&mine);

    // The subtask waits for its parent, and the page says why.
    let restore = |id: i64| format!("type=task&id={id}&back=%2Fp%2FOPS%2Ftrash");
    let waits = post(&store, &team.editor, "/trash/restore", &restore(child.id.0)).await;
    assert_eq!(waits.status, StatusCode::CONFLICT, "{}", waits.body);
    assert!(
        waits
            .body
            .contains("Restore its parent task from the trash first."),
        "{}",
        waits.body
    );
    let refused = visit(
        &store,
        "POST",
        "/trash/restore",
        Some(&team.editor.cookie),
        Some(&restore(parent.id.0)),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "no CSRF field");
    let viewer = post(
        &store,
        &team.viewer,
        "/trash/restore",
        &restore(parent.id.0),
    )
    .await;
    assert_eq!(viewer.status, StatusCode::FORBIDDEN);
    let back = post(
        &store,
        &team.editor,
        "/trash/restore",
        &restore(parent.id.0),
    )
    .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert_eq!(back.location(), "/p/OPS/trash?done=restored");
    assert!(get(&store, &team.editor, "/t/OPS-1").await.status == StatusCode::OK);
    let back = post(&store, &team.editor, "/trash/restore", &restore(child.id.0)).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert!(
        get(&store, &team.editor, "/t/OPS-1")
            .await
            .body
            .contains("Check the cookie flags")
    );

    // Purging asks first, on a page of its own, and only an owner may.
    store
        .delete_task(team.editor.id, child.id, None)
        .await
        .unwrap();
    let confirm = format!(
        "/trash/purge?type=task&id={}&back=%2Fp%2FOPS%2Ftrash",
        child.id.0
    );
    assert_eq!(
        get(&store, &team.editor, &confirm).await.status,
        StatusCode::FORBIDDEN
    );
    let asked = get(&store, &team.owner, &confirm).await;
    assert_eq!(asked.status, StatusCode::OK);
    assert_no_inline_code(&asked);
    assert!(asked.body.contains("Purge for good?") && asked.body.contains("cannot be restored"));
    let form = format!("type=task&id={}&back=%2Fp%2FOPS%2Ftrash", child.id.0);
    let by_editor = post(&store, &team.editor, "/trash/purge", &form).await;
    assert_eq!(by_editor.status, StatusCode::FORBIDDEN);
    let no_csrf = visit(
        &store,
        "POST",
        "/trash/purge",
        Some(&team.owner.cookie),
        Some(&form),
    )
    .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    assert!(
        !store.trash(Some(team.project)).await.unwrap().is_empty(),
        "nothing purged yet"
    );
    let purged = post(&store, &team.owner, "/trash/purge", &form).await;
    assert_eq!(purged.status, StatusCode::SEE_OTHER);
    assert_eq!(purged.location(), "/p/OPS/trash?done=purged");
    assert!(store.trash(Some(team.project)).await.unwrap().is_empty());
    let after = get(&store, &team.owner, purged.location()).await;
    assert!(after.body.contains("Purged for good.") && after.body.contains("The trash is empty."));
    let again = post(&store, &team.owner, "/trash/purge", &form).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    // `back` only ever leads to a trash page.
    store
        .delete_task(team.editor.id, parent.id, None)
        .await
        .unwrap();
    let elsewhere = post(
        &store,
        &team.owner,
        "/trash/restore",
        &format!(
            "type=task&id={}&back=https%3A%2F%2Fexample.com",
            parent.id.0
        ),
    )
    .await;
    assert_eq!(elsewhere.location(), "/trash?done=restored");
}

async fn members_and_labels_are_managed_by_form(store: TestStore) {
    let team = team(&store).await;
    let newcomer = person(&store, "nina").await;
    for path in ["/p/OPS/members", "/p/OPS/labels", "/p/OPS/labels.css"] {
        for who in [&team.owner, &team.editor, &team.viewer] {
            let page = get(&store, who, path).await;
            assert_eq!(page.status, StatusCode::OK, "{path}");
            if !path.ends_with(".css") {
                assert_no_inline_code(&page);
            }
        }
        assert_eq!(
            get(&store, &team.stranger, path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
        assert_eq!(
            visit(&store, "GET", path, None, None).await.status,
            StatusCode::SEE_OTHER
        );
    }
    // Owners manage members; the page shows the forms only to them.
    assert!(
        get(&store, &team.owner, "/p/OPS/members")
            .await
            .body
            .contains("Add someone")
    );
    assert!(
        !get(&store, &team.editor, "/p/OPS/members")
            .await
            .body
            .contains("Add someone")
    );
    let added = post(
        &store,
        &team.owner,
        "/p/OPS/members",
        "username=%40nina&role=viewer",
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(
        store.member_role(team.project, newcomer.id).await.unwrap(),
        Some(Role::Viewer)
    );
    assert_eq!(
        get(&store, &newcomer, "/p/OPS").await.status,
        StatusCode::OK
    );
    let promoted = post(
        &store,
        &team.owner,
        "/p/OPS/members",
        "username=nina&role=editor",
    )
    .await;
    assert_eq!(promoted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        store.member_role(team.project, newcomer.id).await.unwrap(),
        Some(Role::Editor)
    );
    let by_editor = post(
        &store,
        &team.editor,
        "/p/OPS/members",
        "username=nina&role=owner",
    )
    .await;
    assert_eq!(by_editor.status, StatusCode::FORBIDDEN);
    let nobody = post(
        &store,
        &team.owner,
        "/p/OPS/members",
        "username=nobody&role=editor",
    )
    .await;
    assert_eq!(nobody.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        nobody
            .body
            .contains("There is no user named &#34;nobody&#34;."),
        "{}",
        nobody.body
    );
    assert!(
        nobody
            .body
            .contains(r#"id="new-username" name="username" value="nobody""#),
        "what was typed stays"
    );
    // The last owner stays: the conflict is said next to the list.
    let last = post(
        &store,
        &team.owner,
        "/p/OPS/members",
        "username=olivia&role=editor",
    )
    .await;
    assert_eq!(last.status, StatusCode::CONFLICT, "{}", last.body);
    assert!(last.body.contains(r#"id="member-problem""#));
    assert_eq!(
        store
            .member_role(team.project, team.owner.id)
            .await
            .unwrap(),
        Some(Role::Owner)
    );
    let removed = post(
        &store,
        &team.owner,
        "/p/OPS/members",
        "username=nina&action=remove",
    )
    .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        store.member_role(team.project, newcomer.id).await.unwrap(),
        None
    );
    assert_eq!(
        get(&store, &newcomer, "/p/OPS").await.status,
        StatusCode::NOT_FOUND
    );
    let no_csrf = visit(
        &store,
        "POST",
        "/p/OPS/members",
        Some(&team.owner.cookie),
        Some("username=nina&role=editor"),
    )
    .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    assert_eq!(
        store.member_role(team.project, newcomer.id).await.unwrap(),
        None
    );

    // Editors manage labels; colours come from the project's stylesheet, never style=.
    let created = post(
        &store,
        &team.editor,
        "/p/OPS/labels",
        "name=urgent+fix&colour=%23FF8800",
    )
    .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let page = get(&store, &team.editor, "/p/OPS/labels").await;
    assert_no_inline_code(&page);
    assert!(
        page.body.contains(r#"class="label c-ff8800""#),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("/p/OPS/list?label=urgent+fix"),
        "one click to filter by it"
    );
    let css = get(&store, &team.viewer, "/p/OPS/labels.css").await;
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
    assert!(
        css.body.contains(".c-ff8800 { --label: #ff8800; }") && css.body.contains(".c-d73a4a"),
        "{}",
        css.body
    );
    let taken = post(
        &store,
        &team.editor,
        "/p/OPS/labels",
        "name=bug&colour=%23000000",
    )
    .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    let bad = post(&store, &team.editor, "/p/OPS/labels", "name=x&colour=red").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("hex colour"), "{}", bad.body);
    assert_eq!(
        post(
            &store,
            &team.viewer,
            "/p/OPS/labels",
            "name=mine&colour=%23000000"
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let labels = store.labels(team.project).await.unwrap();
    let fix = labels
        .iter()
        .find(|l| l.name.as_str() == "urgent fix")
        .unwrap();
    let renamed = post(
        &store,
        &team.editor,
        "/p/OPS/labels",
        &format!("id={}&name=hotfix&colour=%23112233", fix.id.0),
    )
    .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER);
    let labels = store.labels(team.project).await.unwrap();
    let fix = labels.iter().find(|l| l.id == fix.id).unwrap();
    assert_eq!(
        (fix.name.as_str(), fix.colour.as_str()),
        ("hotfix", "#112233")
    );
    // A label on a task shows on the board and the list as a filter link.
    let first = task(&store, "OPS-1").await;
    store
        .update_task(
            team.owner.id,
            first.id,
            taskflow_core::task::TaskPatch {
                labels: Some(vec![fix.id]),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    // On a card a label is a chip (the card is the one thing to focus); elsewhere a filter.
    let board = get(&store, &team.viewer, "/p/OPS").await;
    assert!(
        board
            .body
            .contains(r#"<span class="label c-112233">hotfix</span>"#),
        "{}",
        board.body
    );
    for path in ["/p/OPS/list", "/t/OPS-1"] {
        let page = get(&store, &team.viewer, path).await;
        assert!(
            page.body
                .contains(r#"class="label c-112233" href="/p/OPS/list?label=hotfix""#),
            "{path}: {}",
            page.body
        );
    }
    let filtered = get(&store, &team.viewer, "/p/OPS/list?label=hotfix").await;
    assert!(filtered.body.contains("Fix the login page"));
    let deleted = post(
        &store,
        &team.editor,
        "/p/OPS/labels",
        &format!("id={}&action=delete", fix.id.0),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert!(
        task(&store, "OPS-1").await.labels.is_empty(),
        "the label came off the task"
    );
    let other = crate::project_with(&store, team.owner.id, "DEV").await;
    let _ = other;
    let elsewhere = post(
        &store,
        &team.owner,
        "/p/DEV/labels",
        &format!("id={}&action=delete", labels[0].id.0),
    )
    .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "a label is changed only in its own project"
    );
}

async fn project_settings_and_activity(store: TestStore) {
    let team = team(&store).await;
    for (path, editors) in [("/p/OPS/settings", false), ("/p/OPS/activity", true)] {
        let page = get(&store, &team.owner, path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_no_inline_code(&page);
        let expected = if editors {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(
            get(&store, &team.editor, path).await.status,
            expected,
            "{path}"
        );
        assert_eq!(
            get(&store, &team.stranger, path).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            visit(&store, "GET", path, None, None).await.status,
            StatusCode::SEE_OTHER
        );
    }
    assert!(
        get(&store, &team.owner, "/p/OPS")
            .await
            .body
            .contains(r#"href="/p/OPS/settings""#)
    );
    assert!(
        !get(&store, &team.editor, "/p/OPS")
            .await
            .body
            .contains(r#"href="/p/OPS/settings""#)
    );

    let saved = post(
        &store,
        &team.owner,
        "/p/OPS/settings",
        "action=save&name=Operations+team&description=The+%2Aops%2A+work",
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert!(
        get(&store, &team.editor, "/p/OPS")
            .await
            .body
            .contains("Operations team")
    );
    let empty = post(
        &store,
        &team.owner,
        "/p/OPS/settings",
        "action=save&name=&description=",
    )
    .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_no_inline_code(&empty);
    assert_eq!(
        post(&store, &team.editor, "/p/OPS/settings", "action=archive")
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Archived: read-only for everyone, with the banner, until unarchived.
    let archived = post(&store, &team.owner, "/p/OPS/settings", "action=archive").await;
    assert_eq!(archived.status, StatusCode::SEE_OTHER);
    let board = get(&store, &team.editor, "/p/OPS").await;
    assert!(board.body.contains("archived: read-only"));
    assert!(
        !board.body.contains("data-editable") && !board.body.contains(r#"action="/p/OPS/tasks""#)
    );
    let refused = post(&store, &team.editor, "/p/OPS/tasks", "line=Sneaky").await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        get(&store, &team.owner, "/p/OPS/settings")
            .await
            .body
            .contains("Unarchive OPS")
    );
    let back = post(&store, &team.owner, "/p/OPS/settings", "action=unarchive").await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert!(
        get(&store, &team.editor, "/p/OPS")
            .await
            .body
            .contains("data-editable")
    );

    // The activity page names who changed what, newest first, a page at a time.
    let activity = get(&store, &team.editor, "/p/OPS/activity").await;
    assert!(
        activity.body.contains("olivia created the task."),
        "{}",
        activity.body
    );
    assert!(activity.body.contains("edgar commented."));
    assert!(activity.body.contains(r#"href="/t/OPS-1""#));
    for n in 0..60 {
        store
            .create_task(
                team.owner.id,
                team.project,
                NewTask::titled(TaskTitle::parse(format!("t{n}")).unwrap()),
            )
            .await
            .unwrap();
    }
    let first = get(&store, &team.editor, "/p/OPS/activity").await;
    let older = first
        .body
        .split(r#"<a rel="next" href=""#)
        .nth(1)
        .expect("an older link")
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let rest = get(&store, &team.editor, &older).await;
    assert_eq!(rest.status, StatusCode::OK);
    assert!(rest.body.contains("olivia created the task."));
    assert_eq!(
        get(&store, &team.editor, "/p/OPS/activity?before=soon")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    // To the trash, from where its owner restores it.
    let trashed = post(&store, &team.owner, "/p/OPS/settings", "action=trash").await;
    assert_eq!(trashed.location(), "/trash?done=trashed");
    assert_eq!(
        get(&store, &team.editor, "/p/OPS").await.status,
        StatusCode::NOT_FOUND
    );
    let trash = get(&store, &team.owner, "/trash?done=trashed").await;
    assert!(trash.body.contains("The project is in the trash"));
    assert!(trash.body.contains(r#"name="type" value="project""#));
    let restored = post(
        &store,
        &team.owner,
        "/trash/restore",
        &format!("type=project&id={}&back=%2Ftrash", team.project.0),
    )
    .await;
    assert_eq!(restored.location(), "/trash?done=restored");
    assert!(
        get(&store, &team.editor, "/p/OPS")
            .await
            .body
            .contains("Operations team"),
        "the project is back with its tasks"
    );
}

async fn the_account_page_changes_name_password_sessions_and_tokens(store: TestStore) {
    use taskflow_core::text::DisplayName;
    use taskflow_core::user::{NewUser, Password, Username};
    let user = store
        .create_user(NewUser {
            username: Username::parse("anna").unwrap(),
            display_name: DisplayName::parse("Anna").unwrap(),
            password_hash: Password::parse("the old password").unwrap().hash(),
            is_admin: false,
        })
        .await
        .unwrap();
    let (cookie, csrf) = session_for(&store, user.id).await;
    let (other_cookie, _) = session_for(&store, user.id).await;
    let me = Person {
        id: user.id,
        cookie,
        csrf,
        token: String::new(),
    };
    for path in ["/account", "/settings/tokens"] {
        let page = get(&store, &me, path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_no_inline_code(&page);
        assert_eq!(
            visit(&store, "GET", path, None, None).await.status,
            StatusCode::SEE_OTHER
        );
    }
    let named = post(&store, &me, "/account", "action=name&display_name=Anna+K.").await;
    assert_eq!(named.location(), "/account?done=name");
    assert!(
        get(&store, &me, "/account?done=name")
            .await
            .body
            .contains("Anna K.")
    );
    let unnamed = post(&store, &me, "/account", "action=name&display_name=").await;
    assert_eq!(unnamed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unnamed.body.contains(r#"id="name-problem""#));

    let wrong = post(&store, &me, "/account", "action=password&current_password=guess&new_password=a+new+password&repeat_password=a+new+password").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong.body.contains("That is not your current password."),
        "{}",
        wrong.body
    );
    let mismatch = post(&store, &me, "/account", "action=password&current_password=the+old+password&new_password=a+new+password&repeat_password=another").await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        mismatch
            .body
            .contains("The two new passwords are not the same.")
    );
    assert_eq!(
        visit(&store, "GET", "/projects", Some(&other_cookie), None)
            .await
            .status,
        StatusCode::OK,
        "nothing changed yet"
    );
    let changed = post(&store, &me, "/account", "action=password&current_password=the+old+password&new_password=a+new+password&repeat_password=a+new+password").await;
    assert_eq!(changed.location(), "/account?done=password");
    assert_eq!(
        get(&store, &me, "/projects").await.status,
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        visit(&store, "GET", "/projects", Some(&other_cookie), None)
            .await
            .status,
        StatusCode::SEE_OTHER,
        "the other session ended"
    );

    // A token: its secret shown once, usable against the API, then revoked.
    let created = post(
        &store,
        &me,
        "/settings/tokens",
        "name=ci+pipeline&expires_in_days=30",
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_no_inline_code(&created);
    let secret = created
        .body
        .split(r#"id="token-secret" value=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert!(created.body.contains("shown only this once"));
    let call = |secret: &str| {
        Request::builder()
            .uri("/api/v1/me")
            .header("authorization", format!("Bearer {secret}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, body) = crate::send(crate::state(&store), call(&secret)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("anna"));
    let listed = get(&store, &me, "/settings/tokens").await;
    assert!(listed.body.contains("ci pipeline"));
    assert!(
        !listed.body.contains(&secret),
        "the secret is never shown again"
    );
    let unnamed = post(&store, &me, "/settings/tokens", "name=&expires_in_days=").await;
    assert_eq!(unnamed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let id = store.tokens(user.id).await.unwrap()[0].id.0;
    let revoked = post(&store, &me, &format!("/settings/tokens/{id}/revoke"), "").await;
    assert_eq!(revoked.location(), "/settings/tokens?done=revoked");
    let (status, _) = crate::send(crate::state(&store), call(&secret)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Signing out everywhere ends this session too.
    let (third, _) = session_for(&store, user.id).await;
    let out = post(&store, &me, "/account", "action=everywhere").await;
    assert_eq!(out.location(), "/login");
    assert_eq!(out.cookie("taskflow_session").as_deref(), Some(""));
    for cookie in [&me.cookie, &third] {
        assert_eq!(
            visit(&store, "GET", "/projects", Some(cookie), None)
                .await
                .status,
            StatusCode::SEE_OTHER
        );
    }
}

async fn administrators_manage_users_tokens_and_see_storage(store: TestStore) {
    let team = team(&store).await;
    let (admin, _) = store.user_with_token("root", true).await;
    let (cookie, csrf) = session_for(&store, admin.id).await;
    let root = Person {
        id: admin.id,
        cookie,
        csrf,
        token: String::new(),
    };
    for path in ["/admin/users", "/admin/tokens", "/admin/storage"] {
        let page = get(&store, &root, path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert_no_inline_code(&page);
        assert_eq!(
            get(&store, &team.owner, path).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
        assert_eq!(
            visit(&store, "GET", path, None, None).await.status,
            StatusCode::SEE_OTHER
        );
    }
    assert!(
        get(&store, &root, "/projects")
            .await
            .body
            .contains(r#"href="/admin/users""#)
    );
    assert!(
        !get(&store, &team.owner, "/projects")
            .await
            .body
            .contains(r#"href="/admin/users""#)
    );

    // Create, then a duplicate is refused in words with what was typed kept.
    let made = post(
        &store,
        &root,
        "/admin/users",
        "action=create&username=zoe&display_name=Zo%C3%AB&password=a+long+password",
    )
    .await;
    assert_eq!(made.location(), "/admin/users?done=create&who=zoe");
    let notice = get(&store, &root, made.location()).await;
    assert!(
        notice.body.contains("Created the account zoe.")
            && !notice.body.contains("Saved the changes"),
        "{}",
        notice.body
    );
    let zoe = store
        .user_by_username(&Username::parse("zoe").unwrap())
        .await
        .unwrap();
    assert_eq!(zoe.display_name.as_str(), "Zoë");
    assert!(!zoe.is_admin);
    let again = post(
        &store,
        &root,
        "/admin/users",
        "action=create&username=zoe&password=a+long+password",
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(
        again
            .body
            .contains(r#"id="new-username" name="username" value="zoe""#)
    );
    let short = post(
        &store,
        &root,
        "/admin/users",
        "action=create&username=yan&password=short",
    )
    .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        post(
            &store,
            &team.owner,
            "/admin/users",
            "action=create&username=evil&password=a+long+password"
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    // Disable: the user's sessions end at once; enable; make administrator; reset a password.
    let (zoe_cookie, _) = session_for(&store, zoe.id).await;
    assert_eq!(
        visit(&store, "GET", "/projects", Some(&zoe_cookie), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        post(&store, &root, "/admin/users", "action=disable&username=zoe")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        visit(&store, "GET", "/projects", Some(&zoe_cookie), None)
            .await
            .location(),
        "/login?next=%2Fprojects"
    );
    assert!(
        get(&store, &root, "/admin/users")
            .await
            .body
            .contains("disabled")
    );
    assert_eq!(
        post(&store, &root, "/admin/users", "action=enable&username=zoe")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        post(&store, &root, "/admin/users", "action=admin&username=zoe")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let zoe = store
        .user_by_username(&Username::parse("zoe").unwrap())
        .await
        .unwrap();
    assert!(zoe.is_admin && !zoe.is_disabled);
    let before = zoe.password_hash.as_str().to_owned();
    assert_eq!(
        post(
            &store,
            &root,
            "/admin/users",
            "action=password&username=zoe&password=another+long+one"
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    let zoe = store
        .user_by_username(&Username::parse("zoe").unwrap())
        .await
        .unwrap();
    assert_ne!(zoe.password_hash.as_str(), before);
    // An administrator cannot lock themselves out.
    let myself = post(
        &store,
        &root,
        "/admin/users",
        "action=disable&username=root",
    )
    .await;
    assert_eq!(myself.status, StatusCode::CONFLICT);
    assert!(myself.body.contains("You cannot disable yourself"));

    // Everyone's tokens, revocable.
    let tokens = get(&store, &root, "/admin/tokens").await;
    assert!(tokens.body.contains("@edgar") && tokens.body.contains("@olivia"));
    let edgar_token = store.tokens(team.editor.id).await.unwrap()[0].id.0;
    let revoked = post(
        &store,
        &root,
        &format!("/admin/tokens/edgar/{edgar_token}/revoke"),
        "",
    )
    .await;
    assert_eq!(revoked.location(), "/admin/tokens?done=revoked");
    assert!(store.tokens(team.editor.id).await.unwrap().is_empty());
    let request = Request::builder()
        .uri("/api/v1/me")
        .header("authorization", format!("Bearer {}", team.editor.token))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        crate::send(crate::state(&store), request).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Storage, with a bar per project holding attachments.
    let upload = Request::builder()
        .method("POST")
        .uri("/api/v1/tasks/OPS-1/attachments?name=notes.txt")
        .header("authorization", format!("Bearer {}", team.owner.token))
        .body(Body::from("some notes"))
        .unwrap();
    assert_eq!(
        crate::send(crate::state(&store), upload).await.0,
        StatusCode::CREATED
    );
    let storage = get(&store, &root, "/admin/storage").await;
    for part in [
        "Database",
        "Volume",
        "Last backup",
        "1 file(s)",
        r#"<a href="/p/OPS">OPS</a>"#,
        "<meter",
    ] {
        assert!(
            storage.body.contains(part),
            "{part} not in {}",
            storage.body
        );
    }
}

async fn every_link_from_home_leads_somewhere(store: TestStore) {
    let team = team(&store).await;
    let (admin, _) = store.user_with_token("root", true).await;
    let (cookie, _) = session_for(&store, admin.id).await;
    // Something of everything: a subtask, a label on a task, a comment, an attachment, trash.
    let first = task(&store, "OPS-1").await;
    store
        .create_task(
            team.owner.id,
            team.project,
            NewTask {
                parent_id: Some(first.id),
                ..NewTask::titled(TaskTitle::parse("A subtask").unwrap())
            },
        )
        .await
        .unwrap();
    let doomed = store
        .create_task(
            team.owner.id,
            team.project,
            NewTask::titled(TaskTitle::parse("Doomed").unwrap()),
        )
        .await
        .unwrap();
    store
        .delete_task(team.owner.id, doomed.id, None)
        .await
        .unwrap();
    let label = store.labels(team.project).await.unwrap()[0].id;
    store
        .update_task(
            team.owner.id,
            first.id,
            taskflow_core::task::TaskPatch {
                labels: Some(vec![label]),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let mut queue = std::collections::VecDeque::from(["/".to_owned()]);
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) || seen.len() > 400 {
            continue;
        }
        let page = visit(&store, "GET", &path, Some(&cookie), None).await;
        assert!(
            page.status != StatusCode::NOT_FOUND
                && !page.status.is_server_error()
                && page.status != StatusCode::FORBIDDEN,
            "{path} answered {}: {}",
            page.status,
            page.body
        );
        if page.status == StatusCode::SEE_OTHER {
            let to = page.location().to_owned();
            if !to.starts_with("/theme") {
                queue.push_back(to);
            }
            continue;
        }
        for link in page.body.split(r#"href=""#).skip(1) {
            let href = link
                .split('"')
                .next()
                .unwrap()
                .replace("&#38;", "&")
                .replace("&amp;", "&");
            let href = href.split('#').next().unwrap().to_owned();
            // Pages only: not the API, assets or the colour-scheme switch (which sets a cookie).
            if href.starts_with('/')
                && !href.starts_with("//")
                && !href.starts_with("/api/")
                && !href.starts_with("/assets/")
                && !href.starts_with("/theme")
                && !href.is_empty()
            {
                queue.push_back(href);
            }
        }
    }
    for needed in [
        "/projects",
        "/p/OPS",
        "/p/OPS/list",
        "/p/OPS/trash",
        "/p/OPS/labels",
        "/p/OPS/members",
        "/p/OPS/activity",
        "/p/OPS/settings",
        "/t/OPS-1",
        "/t/OPS-1/edit",
        "/trash",
        "/my",
        "/account",
        "/settings/tokens",
        "/admin/users",
        "/admin/tokens",
        "/admin/storage",
        "/shortcuts",
    ] {
        assert!(
            seen.contains(needed),
            "{needed} is not reachable from /: {seen:?}"
        );
    }
}

async fn a_form_posted_after_the_session_ended_comes_back_to_its_page(store: TestStore) {
    let team = team(&store).await;
    let request = Request::builder()
        .method("POST")
        .uri("/t/OPS-1/comments")
        .header("host", "tasks.example")
        .header("referer", "http://tasks.example/t/OPS-1?done=saved")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("csrf=x&body=hello"))
        .unwrap();
    let response = tower::ServiceExt::oneshot(taskflow_server::app(crate::state(&store)), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        "/login?next=%2Ft%2FOPS-1%3Fdone%3Dsaved"
    );
    // Another site's page is not a place to come back to.
    let request = Request::builder()
        .method("POST")
        .uri("/t/OPS-1/comments")
        .header("host", "tasks.example")
        .header("referer", "http://elsewhere.example/t/OPS-1")
        .body(Body::from("csrf=x&body=hello"))
        .unwrap();
    let response = tower::ServiceExt::oneshot(taskflow_server::app(crate::state(&store)), request)
        .await
        .unwrap();
    assert_eq!(response.headers()["location"], "/login?next=%2Fprojects");
    assert!(
        store
            .comments(task(&store, "OPS-1").await.id)
            .await
            .unwrap()
            .len()
            == 1,
        "nothing was added"
    );
    let _ = team;
}

/// A multipart body: the fields in order, the last one the file.
fn multipart(csrf: &str, file_name: &str, content: &str) -> String {
    format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/plain\r\n\r\n{content}\r\n--XyZ--\r\n"
    )
}

async fn send_upload(
    state: taskflow_server::AppState,
    who: &Person,
    body: String,
) -> (StatusCode, String, Option<String>) {
    let request = Request::builder()
        .method("POST")
        .uri("/t/OPS-1/attachments")
        .header("cookie", &who.cookie)
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(Body::from(body))
        .unwrap();
    let response = tower::ServiceExt::oneshot(taskflow_server::app(state), request)
        .await
        .unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (
        status,
        String::from_utf8_lossy(&body).into_owned(),
        location,
    )
}

async fn uploads_work_without_javascript(store: TestStore) {
    let team = team(&store).await;
    let task_id = task(&store, "OPS-1").await.id;
    let page = get(&store, &team.editor, "/t/OPS-1").await;
    assert!(
        page.body
            .contains(r#"action="/t/OPS-1/attachments" enctype="multipart/form-data""#)
    );
    let (status, body, location) = send_upload(
        crate::state(&store),
        &team.editor,
        multipart(&team.editor.csrf, "plan.txt", "the plan"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(
        location.as_deref(),
        Some("/t/OPS-1?done=uploaded#attachments")
    );
    let stored = store.attachments(task_id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].file_name.as_str(), "plan.txt");
    assert_eq!(
        stored[0].sha256.as_str(),
        hex::encode(Sha256::digest(b"the plan"))
    );
    let shown = get(&store, &team.editor, "/t/OPS-1?done=uploaded").await;
    assert!(shown.body.contains("The file is stored.") && shown.body.contains("plan.txt"));

    // Refused: a wrong token, a viewer, no file chosen, a file over the limit. Nothing is stored.
    let (status, _, _) = send_upload(
        crate::state(&store),
        &team.editor,
        multipart("wrong", "x.txt", "x"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = send_upload(
        crate::state(&store),
        &team.viewer,
        multipart(&team.viewer.csrf, "x.txt", "x"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body, _) = send_upload(
        crate::state(&store),
        &team.editor,
        multipart(&team.editor.csrf, "", ""),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("Choose a file"), "{body}");
    let mut small = crate::state(&store);
    small.storage.max_upload_bytes = 4;
    let (status, body, _) = send_upload(
        small,
        &team.editor,
        multipart(&team.editor.csrf, "big.txt", "more than four bytes"),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        body.contains("That is too large") && body.contains("at most 4 bytes"),
        "{body}"
    );
    assert_eq!(
        store.attachments(task_id).await.unwrap().len(),
        1,
        "only the first file"
    );
}

/// Every vendored file is listed in the manifest with its package, version, licence and
/// SHA-256, and the manifest lists nothing that is not there.
#[test]
fn the_vendored_files_match_their_manifest() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/vendor");
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let mut listed = Vec::new();
    for line in manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, package, version, licence, sha256] = cols[..] else {
            panic!("a manifest line has five columns: {line}");
        };
        assert!(package.starts_with("npm:"), "{line}");
        assert!(version.split('.').count() == 3, "{line}");
        let bytes = std::fs::read(dir.join(file)).unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            sha256,
            "{file} is not the listed file"
        );
        let licence_file = licence.split('(').nth(1).unwrap().trim_end_matches(')');
        assert!(
            dir.join(licence_file).is_file(),
            "{file}'s licence {licence_file}"
        );
        assert!(
            !String::from_utf8_lossy(&bytes).contains("sourceMappingURL"),
            "{file}"
        );
        listed.push(file.to_owned());
    }
    assert!(
        listed.contains(&"htmx.min.js".to_owned())
            && listed.contains(&"Sortable.min.js".to_owned())
            && listed.contains(&"icons.svg".to_owned())
    );
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".js") || name.ends_with(".svg") {
            assert!(listed.contains(&name), "{name} is not in the manifest");
        }
    }
    // The versions the brief asks for: htmx 2.0.x, SortableJS 1.15.x.
    assert!(manifest.contains("\t2.0.") && manifest.contains("\t1.15."));
}

/// The estimate on the pages: quick add's `~2h`, the card and the column's total, the task
/// page, the edit form (read back as typed, refused in words when it is not an estimate) and
/// the activity sentence.
async fn estimates_on_the_board_the_task_page_and_the_form(store: TestStore) {
    let team = team(&store).await;
    let board = get(&store, &team.editor, "/p/OPS").await;
    assert!(
        !board.body.contains(r#"class="estimate""#),
        "no total without estimates"
    );
    for line in ["Plan the release ~2h", "Write the notes ~1d"] {
        let added = post(
            &store,
            &team.editor,
            "/p/OPS/tasks",
            &format!("back=board&line={}", encoded(line)),
        )
        .await;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    }
    assert_eq!(
        task(&store, "OPS-2").await.estimate.map(|e| e.minutes()),
        Some(120)
    );
    assert_eq!(
        task(&store, "OPS-3").await.estimate.map(|e| e.minutes()),
        Some(480)
    );
    let refused = post(
        &store,
        &team.editor,
        "/p/OPS/tasks",
        &format!("back=board&line={}", encoded("Later ~soon")),
    )
    .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    let refused = get(
        &store,
        &team.editor,
        refused.location().split('#').next().unwrap(),
    )
    .await;
    assert!(
        refused.body.contains("is not an estimate"),
        "{}",
        refused.body
    );

    let board = get(&store, &team.editor, "/p/OPS").await;
    let [todo, doing, _] =
        taskflow_testkit::default_statuses(store.store.as_ref(), team.project).await;
    let todo = &board.body[board.body.find(&format!(r#"id="col-{todo}""#)).unwrap()..];
    let heading = &todo[..todo.find("</h2>").unwrap()];
    assert!(
        heading.contains(r#"<span class="estimate""#) && heading.contains(">1d 2h</span>"),
        "{heading}"
    );
    assert!(
        board.body.contains(r#"title="estimated 2h""#),
        "the card says its estimate"
    );
    let doing = &board.body[board.body.find(&format!(r#"id="col-{doing}""#)).unwrap()..];
    assert!(
        !doing[..doing.find("</h2>").unwrap()].contains("estimate"),
        "no total where none has one"
    );

    let page = get(&store, &team.editor, "/t/OPS-2").await;
    assert!(
        page.body
            .contains(r#"data-edit-field="estimate" title="Change the estimate">2h</a>"#),
        "{}",
        page.body
    );
    let form = get(&store, &team.editor, "/t/OPS-2/edit").await;
    assert_eq!(form.field("estimate"), "2h");
    let fields = |version: &str, estimate: &str| {
        format!(
            "version={version}&title=Plan+the+release&description=&status=todo&priority=none&due_date=&parent=&estimate={}&action=save",
            encoded(estimate)
        )
    };
    let version = form.field("version");
    let wrong = post(
        &store,
        &team.editor,
        "/t/OPS-2/edit",
        &fields(&version, "soon"),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("is not an estimate"), "{}", wrong.body);
    assert_eq!(wrong.field("estimate"), "soon", "what was typed stays");
    assert_eq!(
        task(&store, "OPS-2").await.estimate.map(|e| e.minutes()),
        Some(120),
        "nothing changed"
    );
    let saved = post(
        &store,
        &team.editor,
        "/t/OPS-2/edit",
        &fields(&version, "1h 30m"),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        task(&store, "OPS-2").await.estimate.map(|e| e.minutes()),
        Some(90)
    );
    let page = get(&store, &team.editor, "/t/OPS-2").await;
    assert!(
        page.body
            .contains("changed the estimate from “2h” to “1h 30m”"),
        "{}",
        page.body
    );
    let cleared = post(
        &store,
        &team.editor,
        "/t/OPS-2/edit",
        &fields(&task(&store, "OPS-2").await.version.to_string(), ""),
    )
    .await;
    assert_eq!(cleared.status, StatusCode::SEE_OTHER, "{}", cleared.body);
    assert_eq!(
        task(&store, "OPS-2").await.estimate,
        None,
        "an empty field clears it"
    );
}

/// Owners shape the workflow from its page: add a status, rename it and set a limit, move
/// it, and delete it with its tasks going where they say; a refused change redraws the page
/// (which a reload opens), and editors and viewers only look.
async fn owners_shape_the_workflow_from_its_page(store: TestStore) {
    let team = team(&store).await;
    let names = || async { store.workflow(team.project).await.unwrap().names() };
    let page = get(&store, &team.editor, "/p/OPS/workflow").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("To do") && !page.body.contains("New status"));
    assert_eq!(
        post(&store, &team.editor, "/p/OPS/workflow", "name=Review")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let added = post(
        &store,
        &team.owner,
        "/p/OPS/workflow",
        "name=Review&category=started&wip_limit=2",
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(added.location(), "/p/OPS/workflow");
    assert_eq!(names().await, "To do, In progress, Done, Review");
    let review = taskflow_testkit::status_id(store.store.as_ref(), team.project, "Review").await;

    let taken = post(
        &store,
        &team.owner,
        "/p/OPS/workflow",
        "name=to+do&category=started&wip_limit=",
    )
    .await;
    assert_eq!(
        taken.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        taken.body
    );
    assert!(
        taken.body.contains("already has that name"),
        "{}",
        taken.body
    );
    assert!(
        taken
            .body
            .contains(r#"id="new-status" name="name" value="to do""#),
        "the typed name stays: {}",
        taken.body
    );
    let bad_limit = post(
        &store,
        &team.owner,
        "/p/OPS/workflow",
        "name=QA&wip_limit=lots",
    )
    .await;
    assert_eq!(bad_limit.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_limit.body.contains("whole number"),
        "{}",
        bad_limit.body
    );

    let renamed = post(
        &store,
        &team.owner,
        "/p/OPS/workflow",
        &format!("id={review}&name=In+review&category=started&colour=%238250df&wip_limit=1"),
    )
    .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER, "{}", renamed.body);
    let left = post(
        &store,
        &team.owner,
        "/p/OPS/workflow",
        &format!("id={review}&action=left"),
    )
    .await;
    assert_eq!(left.status, StatusCode::SEE_OTHER);
    assert_eq!(names().await, "To do, In progress, In review, Done");

    // Two tasks in review: over its limit of one, which the board says.
    store
        .create_task(
            team.owner.id,
            team.project,
            NewTask::titled(TaskTitle::parse("Second").unwrap()),
        )
        .await
        .unwrap();
    for key in ["OPS-1", "OPS-2"] {
        let moved = post(
            &store,
            &team.owner,
            "/p/OPS/move",
            &format!("task={key}&status=in+review&position=bottom"),
        )
        .await;
        assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    }
    let board = get(&store, &team.viewer, "/p/OPS").await;
    assert!(
        board.body.contains(r#"class="column over-limit""#)
            && board.body.contains("over its limit of 1"),
        "{}",
        board.body
    );
    let page = get(&store, &team.owner, "/p/OPS/workflow").await;
    assert!(page.body.contains("2 tasks · limit 1"), "{}", page.body);
    assert!(
        page.body.contains(r#"<label for="move-"#),
        "delete asks where they go"
    );

    let deleted = post(
        &store,
        &team.owner,
        "/p/OPS/workflow",
        &format!("id={review}&action=delete&move_to=Done"),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert_eq!(names().await, "To do, In progress, Done");
    assert_eq!(task(&store, "OPS-1").await.status.name.as_str(), "Done");
    assert_eq!(task(&store, "OPS-2").await.status.name.as_str(), "Done");
    let activity = get(&store, &team.owner, "/p/OPS/activity").await;
    assert!(
        activity
            .body
            .contains("removed the status “In review” and moved its tasks to “Done”"),
        "{}",
        activity.body
    );
    let done = taskflow_testkit::status_id(store.store.as_ref(), team.project, "Done").await;
    let last = post(
        &store,
        &team.owner,
        "/p/OPS/workflow",
        &format!("id={done}&action=delete&move_to=To+do"),
    )
    .await;
    assert_eq!(last.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        last.body.contains("at least one completed status"),
        "{}",
        last.body
    );
    assert_eq!(names().await, "To do, In progress, Done", "nothing changed");
}

/// Editors tick a description's checklist in place with the version the page showed; a stale
/// version, a viewer and an item that is not there change nothing.
async fn checklists_are_ticked_in_place(store: TestStore) {
    let team = team(&store).await;
    let first = task(&store, "OPS-1").await;
    let ticked = store
        .update_task(
            team.owner.id,
            first.id,
            taskflow_core::task::TaskPatch {
                description: Some(
                    taskflow_core::text::Markdown::parse("Steps:\n\n- [ ] back up\n- [ ] upgrade")
                        .unwrap(),
                ),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let page = get(&store, &team.editor, "/t/OPS-1").await;
    assert!(
        page.body
            .contains(r#"<input type="checkbox" disabled="" data-check="1" aria-label="upgrade">"#)
            && page.body.contains(r#"data-checks="/t/OPS-1/check""#),
        "{}",
        page.body
    );
    let seen = get(&store, &team.viewer, "/t/OPS-1").await;
    assert!(
        seen.body.contains(r#"aria-label="upgrade""#) && !seen.body.contains("data-checks"),
        "a viewer sees the list, read-only"
    );
    let check = |version: i64| format!("index=1&checked=true&version={version}");
    let done = post(
        &store,
        &team.editor,
        "/t/OPS-1/check",
        &check(ticked.version),
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let answer: serde_json::Value = serde_json::from_str(&done.body).unwrap();
    assert_eq!(answer["version"], ticked.version + 1);
    let now = task(&store, "OPS-1").await;
    assert_eq!(
        now.description.as_str(),
        "Steps:\n\n- [ ] back up\n- [x] upgrade"
    );
    let stale = post(
        &store,
        &team.editor,
        "/t/OPS-1/check",
        &check(ticked.version),
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let viewer = post(&store, &team.viewer, "/t/OPS-1/check", &check(now.version)).await;
    assert_eq!(viewer.status, StatusCode::FORBIDDEN);
    let missing = post(
        &store,
        &team.editor,
        "/t/OPS-1/check",
        &format!("index=7&checked=true&version={}", now.version),
    )
    .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        task(&store, "OPS-1").await.version,
        now.version,
        "nothing changed"
    );
}

/// A person's time zone (chosen on the account page, else their browser's) is what "today"
/// means on their cards and the zone of the times pages show.
async fn today_and_times_are_the_persons(store: TestStore) {
    let team = team(&store).await;
    // Kiritimati is UTC+14 and Pago Pago UTC-11, neither with summer time: their dates always
    // differ.
    let kiritimati = (time::OffsetDateTime::now_utc() + time::Duration::hours(14)).date();
    let first = task(&store, "OPS-1").await;
    store
        .update_task(
            team.owner.id,
            first.id,
            taskflow_core::task::TaskPatch {
                due_date: Some(Some(kiritimati)),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let chip = |page: &Answer| -> String {
        let at = page.body.find(r#"<time class="due"#).expect("a due chip");
        page.body[at..].split("</time>").next().unwrap().to_owned()
    };
    let saved = post(
        &store,
        &team.editor,
        "/account",
        "action=zone&time_zone=Pacific%2FKiritimati",
    )
    .await;
    assert_eq!(saved.location(), "/account?done=zone");
    let account = get(&store, &team.editor, "/account?done=zone").await;
    assert!(
        account.body.contains("Your time zone is saved.")
            && account
                .body
                .contains("<option selected>Pacific/Kiritimati</option>"),
        "{}",
        account.body
    );
    let board = get(&store, &team.editor, "/p/OPS").await;
    assert!(chip(&board).contains("Today"), "{}", chip(&board));
    let page = get(&store, &team.editor, "/t/OPS-1").await;
    assert!(
        page.body.contains(" +14</time>"),
        "times in the person's zone: {}",
        page.body
    );

    let saved = post(
        &store,
        &team.editor,
        "/account",
        "action=zone&time_zone=Pacific%2FPago_Pago",
    )
    .await;
    assert_eq!(saved.location(), "/account?done=zone");
    let board = get(&store, &team.editor, "/p/OPS").await;
    assert!(!chip(&board).contains("Today"), "{}", chip(&board));

    // Without a choice, the browser's zone (its script's cookie); without either, UTC.
    let saved = post(&store, &team.editor, "/account", "action=zone&time_zone=").await;
    assert_eq!(saved.location(), "/account?done=zone");
    let browser = visit(
        &store,
        "GET",
        "/p/OPS",
        Some(&format!(
            "{}; taskflow_tz=Pacific/Kiritimati",
            team.editor.cookie
        )),
        None,
    )
    .await;
    assert!(chip(&browser).contains("Today"), "{}", chip(&browser));
    let page = get(&store, &team.editor, "/t/OPS-1").await;
    assert!(page.body.contains(" UTC</time>"), "{}", page.body);
    let bad = post(
        &store,
        &team.editor,
        "/account",
        "action=zone&time_zone=Mars%2FOlympus",
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains("not a time zone this server knows"),
        "{}",
        bad.body
    );
}

/// Every page of a project links to the others the same way, the page itself marked, the
/// trash for editors and the settings for owners.
async fn a_project_s_pages_share_one_navigation(store: TestStore) {
    let team = team(&store).await;
    let nav = |page: &Answer| -> String {
        let at = page
            .body
            .find(r#"<nav class="views" aria-label="Project">"#)
            .expect("the project's navigation");
        page.body[at..].split("</nav>").next().unwrap().to_owned()
    };
    for (path, here) in [
        ("/p/OPS", "Board"),
        ("/p/OPS/list", "List"),
        ("/p/OPS/workflow", "Workflow"),
        ("/p/OPS/labels", "Labels"),
        ("/p/OPS/members", "Members"),
        ("/p/OPS/activity", "Activity"),
        ("/p/OPS/trash", "Trash"),
        ("/p/OPS/settings", "Settings"),
    ] {
        let owner = nav(&get(&store, &team.owner, path).await);
        assert!(
            owner.contains(&format!(
                r#"<a href="{path}" aria-current="page">{here}</a>"#
            )) && owner.contains(r#"href="/p/OPS/trash""#)
                && owner.contains(r#"href="/p/OPS/settings""#),
            "{path}: {owner}"
        );
        let names: Vec<&str> = owner
            .split(['>', '<'])
            .filter(|t| {
                [
                    "Board", "List", "Workflow", "Labels", "Members", "Activity", "Trash",
                    "Settings",
                ]
                .contains(t)
            })
            .collect();
        assert_eq!(
            names,
            [
                "Board", "List", "Workflow", "Labels", "Members", "Activity", "Trash", "Settings"
            ],
            "{path}"
        );
        // Viewers are not shown what they cannot open (and cannot open those two pages).
        if path.ends_with("/trash") || path.ends_with("/settings") {
            continue;
        }
        let viewer = nav(&get(&store, &team.viewer, path).await);
        assert!(
            !viewer.contains("/p/OPS/trash") && !viewer.contains("/p/OPS/settings"),
            "{path} for a viewer: {viewer}"
        );
    }
}

/// One field posted as a page's menu posts it (`X-Taskflow-Fragment`): the item drawn again.
async fn set_field(store: &TestStore, who: &Person, fields: &str) -> Answer {
    let body = format!("csrf={}&{fields}", encoded(&who.csrf));
    crate::pages::visit_with(
        crate::state(store),
        "POST",
        "/t/OPS-1/set",
        Some(&who.cookie),
        Some(&body),
        &[("x-taskflow-fragment", "1")],
    )
    .await
}

/// One field changes in place: its menu names people and labels (never an id), a change
/// answers with the card, the row or the task's parts and the new version, a stale version is
/// 412 with the item as it is now, an unreadable value is 422 with the menu saying why and
/// nothing changed, viewers and strangers cannot, and a plain post goes back to the page.
async fn one_field_changes_in_place(store: TestStore) {
    let team = team(&store).await;
    let first = task(&store, "OPS-1").await;
    let menu = get(&store, &team.editor, "/t/OPS-1/menu/assignees?in=card").await;
    assert_eq!(menu.status, StatusCode::OK, "{}", menu.body);
    assert!(
        menu.body.contains(r#"value="edgar""#)
            && menu.body.contains(r#"action="/t/OPS-1/set""#)
            && menu.body.contains(r#"name="in" value="card""#),
        "{}",
        menu.body
    );
    for (path, status) in [
        ("/t/OPS-1/menu/colour?in=card", StatusCode::BAD_REQUEST),
        ("/t/OPS-9/menu/status?in=card", StatusCode::NOT_FOUND),
    ] {
        assert_eq!(
            get(&store, &team.editor, path).await.status,
            status,
            "{path}"
        );
    }
    assert_eq!(
        get(&store, &team.viewer, "/t/OPS-1/menu/status?in=card")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&store, &team.stranger, "/t/OPS-1/menu/status?in=card")
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // A card: moved to Done, drawn again with its new version.
    let v = first.version;
    let card = set_field(
        &store,
        &team.editor,
        &format!("field=status&in=card&value=done&version={v}"),
    )
    .await;
    assert_eq!(card.status, StatusCode::OK, "{}", card.body);
    assert!(
        card.body
            .starts_with(r#"<li class="card-item closed" id="card-OPS-1""#),
        "{}",
        card.body
    );
    assert!(card.body.contains(r#"data-status="Done""#), "{}", card.body);
    assert_eq!(card.headers["x-task-version"], (v + 1).to_string().as_str());
    let now = task(&store, "OPS-1").await;
    assert_eq!(now.version, v + 1);

    // The same version again is stale: 412, the card as it is now, nothing changed.
    let stale = set_field(
        &store,
        &team.editor,
        &format!("field=priority&in=card&value=high&version={v}"),
    )
    .await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.body
    );
    assert!(
        stale.body.contains(r#"data-status="Done""#),
        "{}",
        stale.body
    );
    assert_eq!(
        stale.headers["x-task-version"],
        (v + 1).to_string().as_str()
    );
    assert_eq!(task(&store, "OPS-1").await.version, v + 1);

    // A row: assignees and labels replaced at once (none clears them).
    let v = v + 1;
    let row = set_field(
        &store,
        &team.editor,
        &format!("field=assignees&in=row&value=edgar&value=olivia&version={v}"),
    )
    .await;
    assert_eq!(row.status, StatusCode::OK, "{}", row.body);
    assert!(
        row.body.starts_with(r#"<tr id="task-OPS-1""#),
        "{}",
        row.body
    );
    let v = v + 1;
    let row = set_field(
        &store,
        &team.editor,
        &format!("field=labels&in=row&value=bug&version={v}"),
    )
    .await;
    assert!(row.body.contains(">bug<"), "{}", row.body);
    let v = v + 1;
    let row = set_field(
        &store,
        &team.editor,
        &format!("field=assignees&in=row&version={v}"),
    )
    .await;
    assert_eq!(row.status, StatusCode::OK);
    assert!(task(&store, "OPS-1").await.assignees.is_empty());
    // A row's due date is a chip, as on the cards (this task is done: never overdue).
    let v = v + 1;
    let row = set_field(
        &store,
        &team.editor,
        &format!("field=due&in=row&value=2030-01-05&version={v}"),
    )
    .await;
    assert!(
        row.body.contains(r#"<time class="due due-later" datetime="2030-01-05" title="due 5 January 2030">Jan 5, 2030</time>"#),
        "{}",
        row.body
    );

    // The task page: a due date as quick add reads it, an estimate, the title, the description.
    let v = v + 1;
    let parts = set_field(
        &store,
        &team.editor,
        &format!("field=due&in=task&value=2027-03-01&version={v}"),
    )
    .await;
    assert_eq!(parts.status, StatusCode::OK, "{}", parts.body);
    assert!(
        parts
            .body
            .starts_with(r#"<div class="task-top" id="task-top""#),
        "{}",
        parts.body
    );
    assert!(
        !parts.body.contains("task-description"),
        "only what changed is drawn"
    );
    let v = v + 1;
    let parts = set_field(
        &store,
        &team.editor,
        &format!("field=estimate&in=task&pick=2h&value=ignored&version={v}"),
    )
    .await;
    assert_eq!(parts.status, StatusCode::OK, "{}", parts.body);
    assert_eq!(
        task(&store, "OPS-1").await.estimate.map(|e| e.minutes()),
        Some(120)
    );
    let v = v + 1;
    let parts = set_field(
        &store,
        &team.editor,
        &format!("field=description&in=task&value=**Now**%0D%0Aplease&version={v}"),
    )
    .await;
    assert!(
        parts.body.contains(r#"id="task-description""#)
            && parts.body.contains("<strong>Now</strong>"),
        "{}",
        parts.body
    );
    assert_eq!(
        task(&store, "OPS-1").await.description.as_str(),
        "**Now**\nplease"
    );

    // Values that cannot be used: said in the menu, which keeps them; nothing changed.
    let v = v + 1;
    for (fields, says) in [
        (
            "field=due&in=task&value=someday",
            "The due date must be a date such as",
        ),
        ("field=title&in=task&value=", "The title must not be empty"),
        ("field=status&in=card&value=Nowhere", "Nowhere"),
        ("field=assignees&in=card&value=sam", "sam is not a member"),
        ("field=estimate&in=task&value=forever", "estimate"),
    ] {
        let refused = set_field(&store, &team.editor, &format!("{fields}&version={v}")).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields}: {}",
            refused.body
        );
        assert!(
            refused.body.contains(r#"class="edit-menu""#) && refused.body.contains(says),
            "{fields}: {}",
            refused.body
        );
        assert!(!refused.body.contains("user 4"), "{}", refused.body);
    }
    let refused = set_field(
        &store,
        &team.editor,
        &format!("field=due&in=task&value=someday&version={v}"),
    )
    .await;
    assert!(
        refused.body.contains(r#"value="someday""#),
        "the menu keeps what was typed"
    );
    assert_eq!(task(&store, "OPS-1").await.version, v);
    let unknown = set_field(
        &store,
        &team.editor,
        &format!("field=colour&in=task&value=red&version={v}"),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);

    // Viewers and strangers cannot; without the script a change goes back to the page.
    let viewer = set_field(
        &store,
        &team.viewer,
        &format!("field=priority&in=card&value=low&version={v}"),
    )
    .await;
    assert_eq!(viewer.status, StatusCode::FORBIDDEN);
    let stranger = set_field(
        &store,
        &team.stranger,
        &format!("field=priority&in=card&value=low&version={v}"),
    )
    .await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);
    let plain = post(
        &store,
        &team.editor,
        "/t/OPS-1/set",
        &format!("field=priority&in=card&value=low&version={v}"),
    )
    .await;
    assert_eq!(plain.status, StatusCode::SEE_OTHER);
    assert_eq!(plain.location(), "/p/OPS#card-OPS-1");
    assert_eq!(
        task(&store, "OPS-1").await.priority,
        taskflow_core::task::Priority::Low
    );
    let opened = get(&store, &team.editor, "/t/OPS-1/set").await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    assert_eq!(opened.location(), "/t/OPS-1");
}

/// Quick add creates the labels a line names when asked (the offer under a refused line, or
/// the page's script), answers a script with the new card or row in place, and completes from
/// the project's labels and members.
async fn quick_add_offers_new_labels_and_answers_in_place(store: TestStore) {
    let team = team(&store).await;
    let line = encoded("Tidy the racks #hardware @edgar");
    let refused = post(
        &store,
        &team.editor,
        "/p/OPS/tasks",
        &format!("line={line}"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    let page = get(&store, &team.editor, refused.location()).await;
    assert!(
        page.body.contains(r#"name="create_labels" value="yes">Create <span class="label">hardware</span> and add the task"#),
        "{}",
        page.body
    );
    // Another problem in the line: nothing offered, creating would not make it good.
    let worse = post(
        &store,
        &team.editor,
        "/p/OPS/tasks",
        &format!("line={}", encoded("Tidy #hardware !hot")),
    )
    .await;
    let page = get(&store, &team.editor, worse.location()).await;
    assert!(
        page.body.contains("quick-problems") && !page.body.contains("create_labels"),
        "{}",
        page.body
    );

    let made = post(
        &store,
        &team.editor,
        "/p/OPS/tasks",
        &format!("line={line}&create_labels=yes"),
    )
    .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    assert_eq!(made.location(), "/p/OPS#card-OPS-2");
    let task2 = task(&store, "OPS-2").await;
    let labels = store.labels(team.project).await.unwrap();
    let hardware = labels
        .iter()
        .find(|l| l.name.as_str() == "hardware")
        .expect("created");
    assert_eq!(task2.labels, vec![hardware.id]);
    assert_eq!(task2.assignees, vec![team.editor.id]);

    // A subtask line may create its labels too.
    let sub = post(
        &store,
        &team.editor,
        "/t/OPS-1/subtasks",
        &format!("line={}&create_labels=yes", encoded("Order rails #parts")),
    )
    .await;
    assert_eq!(sub.status, StatusCode::SEE_OTHER, "{}", sub.body);
    assert_eq!(
        task(&store, "OPS-3").await.parent_id,
        Some(task(&store, "OPS-1").await.id)
    );

    // From the page's script: the card, or the row, or the form again.
    let fragment = |fields: String| {
        let body = format!("csrf={}&{fields}", encoded(&team.editor.csrf));
        let store = &store;
        let cookie = team.editor.cookie.clone();
        async move {
            crate::pages::visit_with(
                crate::state(store),
                "POST",
                "/p/OPS/tasks",
                Some(&cookie),
                Some(&body),
                &[("x-taskflow-fragment", "1")],
            )
            .await
        }
    };
    let card = fragment(format!(
        "line={}&back=board",
        encoded("Check the fans due:+3d")
    ))
    .await;
    assert_eq!(card.status, StatusCode::CREATED, "{}", card.body);
    assert!(
        card.body
            .starts_with(r#"<li class="card-item" id="card-OPS-4""#),
        "{}",
        card.body
    );
    assert_eq!(card.headers["x-task-key"], "OPS-4");
    let row = fragment(format!("line={}&back=list", encoded("Label the cables"))).await;
    assert_eq!(row.status, StatusCode::CREATED, "{}", row.body);
    assert!(
        row.body.starts_with(r#"<tr id="task-OPS-5""#),
        "{}",
        row.body
    );
    let again = fragment(format!("line={}&back=board", encoded("Buy #spares"))).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        again.body.starts_with(r#"<form class="quick""#)
            && again.body.contains(r#"value="Buy #spares""#)
            && again.body.contains("create_labels"),
        "{}",
        again.body
    );

    // A subtask from the task page's script: its line in the list, or the field again.
    let subtask = |line: &str| {
        let body = format!("csrf={}&line={}", encoded(&team.editor.csrf), encoded(line));
        let store = &store;
        let cookie = team.editor.cookie.clone();
        async move {
            crate::pages::visit_with(
                crate::state(store),
                "POST",
                "/t/OPS-1/subtasks",
                Some(&cookie),
                Some(&body),
                &[("x-taskflow-fragment", "1")],
            )
            .await
        }
    };
    let sub = subtask("Fit the rails").await;
    assert_eq!(sub.status, StatusCode::CREATED, "{}", sub.body);
    assert!(
        sub.body
            .starts_with(r#"<li id="subtask-OPS-6"><a href="/t/OPS-6">"#),
        "{}",
        sub.body
    );
    assert_eq!(sub.headers["x-task-key"], "OPS-6");
    let again = subtask("Fit #rails !hot").await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        again
            .body
            .starts_with(r#"<form class="quick" method="post" action="/t/OPS-1/subtasks">"#)
            && again.body.contains(r#"value="Fit #rails !hot""#),
        "{}",
        again.body
    );

    // What completion knows: the labels, and the members with the one asking first.
    let names = get(&store, &team.editor, "/p/OPS/names").await;
    assert_eq!(names.status, StatusCode::OK);
    let names: serde_json::Value = serde_json::from_str(&names.body).unwrap();
    assert_eq!(names["people"][0]["username"], "edgar");
    let labels: Vec<&str> = names["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["bug", "hardware", "parts"]);
    assert_eq!(
        get(&store, &team.viewer, "/p/OPS/names").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&store, &team.stranger, "/p/OPS/names").await.status,
        StatusCode::NOT_FOUND
    );
}

both_backends!(
    quick_add_offers_new_labels_and_answers_in_place,
    one_field_changes_in_place,
    a_project_s_pages_share_one_navigation,
    today_and_times_are_the_persons,
    checklists_are_ticked_in_place,
    owners_shape_the_workflow_from_its_page,
    every_page_answers_each_role,
    every_form_refuses_a_post_without_its_csrf_field,
    quick_add_makes_a_task_or_says_why_not,
    the_task_form_saves_every_field_and_catches_conflicts,
    comments_follow_the_api_rules,
    subtasks_attachments_and_the_trash_by_form,
    the_board_loads_more_and_refreshes_one_card,
    the_assets_are_the_vendored_files,
    the_trash_restores_in_order_and_purges_after_confirming,
    members_and_labels_are_managed_by_form,
    project_settings_and_activity,
    the_account_page_changes_name_password_sessions_and_tokens,
    administrators_manage_users_tokens_and_see_storage,
    every_link_from_home_leads_somewhere,
    a_form_posted_after_the_session_ended_comes_back_to_its_page,
    uploads_work_without_javascript,
    estimates_on_the_board_the_task_page_and_the_form,
);
