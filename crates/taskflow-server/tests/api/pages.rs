//! The web pages, in-process: signed-out visitors are sent to sign in, every page carries the
//! strict policy and no inline code, every form works without JavaScript (POST → 303 → GET)
//! and refuses a post without its CSRF field, and stored text is escaped.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use taskflow_core::Timestamp;
use taskflow_core::user::{NewSession, TokenSecret, csrf_token};
use taskflow_testkit::{TestStore, both_backends};
use tower::ServiceExt;

use crate::state;

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn location(&self) -> &str {
        self.headers["location"].to_str().unwrap()
    }

    /// The value of the cookie `name` this answer sets.
    pub(crate) fn cookie(&self, name: &str) -> Option<String> {
        let whole = self.set_cookie(name)?;
        let pair = whole.split(';').next()?;
        Some(pair.split_once('=')?.1.to_owned())
    }

    /// The `Set-Cookie` header setting `name`, whole (with its attributes).
    pub(crate) fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    /// The value of the hidden field `name` in the page.
    pub(crate) fn field(&self, name: &str) -> String {
        let at = self
            .body
            .find(&format!(r#"name="{name}""#))
            .unwrap_or_else(|| panic!("no {name} field in {}", self.body));
        let tag = self.body[at..].split('>').next().unwrap();
        let value = tag
            .split(r#"value=""#)
            .nth(1)
            .unwrap_or_else(|| panic!("{name} has no value: {tag}"));
        value.split('"').next().unwrap().to_owned()
    }
}

pub(crate) async fn visit(
    store: &TestStore,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> Answer {
    visit_state(state(store), method, path, cookie, form).await
}

/// `visit`, with a server state of the test's making (other settings).
pub(crate) async fn visit_state(
    state: taskflow_server::AppState,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> Answer {
    visit_with(state, method, path, cookie, form, &[]).await
}

/// `visit_state`, with more request headers (as a page's script sends them).
pub(crate) async fn visit_with(
    state: taskflow_server::AppState,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
    headers: &[(&str, &str)],
) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let request = match form {
        Some(form) => request
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = taskflow_server::app(state).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A signed-in browser: its cookie header and its CSRF token.
async fn signed_in(store: &TestStore, name: &str, admin: bool) -> (String, String) {
    let (user, _) = store.user_with_token(name, admin).await;
    session_for(store, user.id).await
}

/// A new browser session for `user`: its cookie header and its CSRF token.
pub(crate) async fn session_for(
    store: &TestStore,
    user: taskflow_core::UserId,
) -> (String, String) {
    let secret = TokenSecret::generate();
    let session = store
        .create_session(NewSession {
            user_id: user,
            hash: secret.hash(),
            csrf_token: csrf_token(),
            expires_at: Timestamp::now().saturating_add(std::time::Duration::from_secs(3600)),
        })
        .await
        .unwrap();
    (
        format!("taskflow_session={}", secret.expose()),
        session.csrf_token,
    )
}

pub(crate) fn encoded(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// What no page may contain: script of its own, inline styles or event handlers.
pub(crate) fn assert_no_inline_code(page: &Answer) {
    assert_eq!(
        page.headers["content-security-policy"],
        taskflow_server::web::CSP
    );
    assert_eq!(
        taskflow_server::web::CSP,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    let body = page.body.to_lowercase();
    // Scripts only from this server's assets, with nothing between the tags.
    for script in body.split("<script").skip(1) {
        let (tag, rest) = script.split_once('>').expect("a closed tag");
        assert!(
            tag.trim_start().starts_with("src=\"/assets/"),
            "a script not from /assets/: <script{tag}>"
        );
        assert!(
            rest.starts_with("</script>"),
            "inline script in {}",
            page.body
        );
    }
    assert!(!body.contains("<style"), "a style element in {}", page.body);
    // Inside tags (text that merely mentions them is escaped and harmless).
    for tag in body
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
    {
        assert!(!tag.contains("style="), "an inline style in <{tag}>");
        assert!(!tag.contains("javascript:"), "a javascript: URL in <{tag}>");
        let handler = tag
            .split_whitespace()
            .any(|attribute| attribute.starts_with("on") && attribute.contains('='));
        assert!(!handler, "an event handler in <{tag}>");
    }
}

async fn signed_out_visitors_are_sent_to_sign_in(store: TestStore) {
    let home = visit(&store, "GET", "/", None, None).await;
    assert_eq!(
        (home.status, home.location()),
        (StatusCode::SEE_OTHER, "/login")
    );
    let projects = visit(&store, "GET", "/projects?archived=1", None, None).await;
    assert_eq!(projects.status, StatusCode::SEE_OTHER);
    assert_eq!(
        projects.location(),
        "/login?next=%2Fprojects%3Farchived%3D1"
    );
    let stale = visit(
        &store,
        "GET",
        "/projects",
        Some("taskflow_session=tf_notasessionatall0000000000000000000000000"),
        None,
    )
    .await;
    assert_eq!(
        stale.status,
        StatusCode::SEE_OTHER,
        "an unknown session signs nobody in"
    );
    // The API keeps answering JSON 401.
    let api = visit(&store, "GET", "/api/v1/projects", None, None).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
}

async fn signing_in_works_without_javascript(store: TestStore) {
    store.user_with_token("alice", false).await;
    let alice = store
        .user_by_username(&taskflow_core::user::Username::parse("alice").unwrap())
        .await
        .unwrap();
    store
        .update_user(
            alice.id,
            taskflow_core::user::UserPatch {
                password_hash: Some(
                    taskflow_core::user::Password::parse("correct horse battery")
                        .unwrap()
                        .hash(),
                ),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let form = visit(
        &store,
        "GET",
        "/login?next=%2Fprojects%3Farchived%3D1",
        None,
        None,
    )
    .await;
    assert_eq!(form.status, StatusCode::OK);
    assert_no_inline_code(&form);
    let token = form
        .cookie("taskflow_login")
        .expect("a sign-in token cookie");
    assert_eq!(form.field("csrf"), token);
    assert_eq!(form.field("next"), "/projects?archived=1");
    let cookie = format!("taskflow_login={token}");

    // Without the form's token, or from a browser without the cookie: refused.
    for (cookie, csrf) in [(Some(cookie.as_str()), ""), (None, token.as_str())] {
        let refused = visit(
            &store,
            "POST",
            "/login",
            cookie,
            Some(&format!(
                "csrf={csrf}&username=alice&password=correct+horse+battery"
            )),
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        assert!(refused.cookie("taskflow_session").is_none());
    }
    let wrong = visit(
        &store,
        "POST",
        "/login",
        Some(&cookie),
        Some(&format!(
            "csrf={token}&next=%2F&username=alice&password=guess+guess"
        )),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.body.contains("Wrong username or password."),
        "{}",
        wrong.body
    );
    assert_eq!(wrong.field("username"), "alice", "the name stays typed");
    assert_no_inline_code(&wrong);

    let right = visit(
        &store,
        "POST",
        "/login",
        Some(&cookie),
        Some(&format!(
            "csrf={token}&next={}&username=alice&password=correct+horse+battery",
            encoded("/projects?archived=1")
        )),
    )
    .await;
    assert_eq!(
        (right.status, right.location()),
        (StatusCode::SEE_OTHER, "/projects?archived=1")
    );
    let session = right.cookie("taskflow_session").expect("a session cookie");
    let page = visit(
        &store,
        "GET",
        "/projects",
        Some(&format!("taskflow_session={session}")),
        None,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<h1>Projects</h1>"), "{}", page.body);

    // Elsewhere is never a place to be sent back to.
    let away = visit(
        &store,
        "POST",
        "/login",
        Some(&cookie),
        Some(&format!(
            "csrf={token}&next={}&username=alice&password=correct+horse+battery",
            encoded("//evil.example/")
        )),
    )
    .await;
    assert_eq!(away.location(), "/projects");

    // Signing out needs the form's token, and ends the session.
    let session_cookie = format!("taskflow_session={session}");
    let refused = visit(
        &store,
        "POST",
        "/logout",
        Some(&session_cookie),
        Some("csrf=wrong"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let csrf = page.field("csrf");
    let out = visit(
        &store,
        "POST",
        "/logout",
        Some(&session_cookie),
        Some(&format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(
        (out.status, out.location()),
        (StatusCode::SEE_OTHER, "/login")
    );
    let after = visit(&store, "GET", "/projects", Some(&session_cookie), None).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "signed out");
}

async fn projects_are_listed_and_created_by_form(store: TestStore) {
    let (cookie, csrf) = signed_in(&store, "olivia", false).await;
    let (other, _) = signed_in(&store, "sam", false).await;
    let empty = visit(&store, "GET", "/projects", Some(&cookie), None).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_no_inline_code(&empty);
    assert!(empty.body.contains("No projects yet"), "{}", empty.body);

    let refused = visit(
        &store,
        "POST",
        "/projects",
        Some(&cookie),
        Some("key=OPS&name=Operations"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        store.list_projects(None, true).await.unwrap().is_empty(),
        "a post without its token changes nothing"
    );

    let created = visit(
        &store,
        "POST",
        "/projects",
        Some(&cookie),
        Some(&format!("csrf={csrf}&key=ops&name=Operations")),
    )
    .await;
    assert_eq!(
        (created.status, created.location()),
        (StatusCode::SEE_OTHER, "/projects")
    );
    let listed = visit(&store, "GET", "/projects", Some(&cookie), None).await;
    assert!(
        listed
            .body
            .contains(r#"<a href="/p/OPS"><span class="key">OPS</span> Operations</a>"#),
        "{}",
        listed.body
    );
    let stranger = visit(&store, "GET", "/projects", Some(&other), None).await;
    assert!(
        !stranger.body.contains("Operations"),
        "another user's project is not listed"
    );

    for (form, status, words) in [
        (
            "key=O&name=Tiny",
            StatusCode::UNPROCESSABLE_ENTITY,
            "2 to 10",
        ),
        ("key=OPS&name=Again", StatusCode::CONFLICT, "OPS"),
    ] {
        let answer = visit(
            &store,
            "POST",
            "/projects",
            Some(&cookie),
            Some(&format!("csrf={csrf}&{form}")),
        )
        .await;
        assert_eq!(answer.status, status, "{}", answer.body);
        assert!(
            answer.body.contains(r#"class="problem""#) && answer.body.contains(words),
            "{}",
            answer.body
        );
        assert_no_inline_code(&answer);
    }

    // Archived projects are hidden unless asked for.
    let ops = store
        .project_by_key(&taskflow_core::project::ProjectKey::parse("OPS").unwrap())
        .await
        .unwrap();
    let olivia = store
        .user_by_username(&taskflow_core::user::Username::parse("olivia").unwrap())
        .await
        .unwrap();
    store
        .update_project(
            olivia.id,
            ops.id,
            taskflow_core::project::ProjectPatch {
                archived: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let hidden = visit(&store, "GET", "/projects", Some(&cookie), None).await;
    assert!(!hidden.body.contains("Operations"), "{}", hidden.body);
    let shown = visit(&store, "GET", "/projects?archived=1", Some(&cookie), None).await;
    assert!(
        shown.body.contains("Operations")
            && shown
                .body
                .contains(r#"<span class="badge">archived</span>"#),
        "{}",
        shown.body
    );
}

async fn stored_text_is_escaped(store: TestStore) {
    let (cookie, csrf) = signed_in(&store, "olivia", false).await;
    for name in [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        r#"<a href="javascript:alert(1)">x</a>"#,
        "<svg onload=alert(1)>",
        r#"<div hx-get="/logout">x</div>"#,
    ] {
        let key = format!("X{}", name.len());
        let created = visit(
            &store,
            "POST",
            "/projects",
            Some(&cookie),
            Some(&format!("csrf={csrf}&key={key}&name={}", encoded(name))),
        )
        .await;
        assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    }
    let page = visit(&store, "GET", "/projects", Some(&cookie), None).await;
    assert_no_inline_code(&page);
    for raw in [
        "<script>",
        "<img",
        "<svg onload",
        "<a href=\"javascript",
        "<div hx-get",
    ] {
        assert!(
            !page.body.contains(raw),
            "{raw} reached the page: {}",
            page.body
        );
    }
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || page.body.contains("&lt;script&gt;"),
        "{}",
        page.body
    );
}

async fn the_colour_scheme_is_kept_in_a_cookie(store: TestStore) {
    let (cookie, csrf) = signed_in(&store, "olivia", false).await;
    // Only a form of this site's changes it: not a link, an image in a task, or another site.
    let by_link = visit(
        &store,
        "GET",
        "/theme?set=dark&next=%2F",
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(by_link.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(by_link.cookie("taskflow_theme"), None);
    let forged = visit(
        &store,
        "POST",
        "/theme",
        Some(&cookie),
        Some("csrf=wrong&set=dark&to=%2Fprojects"),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(forged.cookie("taskflow_theme"), None);
    let page = visit(&store, "GET", "/projects", Some(&cookie), None).await;
    assert!(
        page.body
            .contains(r#"<form class="theme" method="post" action="/theme""#)
            && page.body.contains(r#"name="set" value="dark""#),
        "the switch is a form: {}",
        page.body
    );
    let set = visit(
        &store,
        "POST",
        "/theme",
        Some(&cookie),
        Some(&format!("csrf={csrf}&set=dark&to=%2Fprojects")),
    )
    .await;
    assert_eq!(
        (set.status, set.location()),
        (StatusCode::SEE_OTHER, "/projects")
    );
    assert_eq!(set.cookie("taskflow_theme").as_deref(), Some("dark"));
    let dark = visit(
        &store,
        "GET",
        "/projects",
        Some(&format!("{cookie}; taskflow_theme=dark")),
        None,
    )
    .await;
    assert!(
        dark.body.contains(r#"<html lang="en" data-theme="dark">"#),
        "{}",
        dark.body
    );
    let system = visit(&store, "GET", "/projects", Some(&cookie), None).await;
    assert!(
        system.body.contains(r#"<html lang="en">"#),
        "no choice: the system's"
    );
    // The stylesheet is served under its content's version, kept for a year.
    let href = system
        .body
        .split(r#"<link rel="stylesheet" href=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let css = visit(&store, "GET", &href, None, None).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
    assert_eq!(
        css.headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(css.body.contains("prefers-color-scheme: dark"));
    let stale = visit(&store, "GET", "/assets/000000000000/app.css", None, None).await;
    assert_eq!(stale.status, StatusCode::NOT_FOUND);
}

/// A project's task list: members of every role see it, others get 404 and signed-out visitors
/// are sent to sign in; the URL is the view (the API's filters), paged with a next link, and
/// stored titles are escaped.
async fn the_task_list_is_a_page_of_the_url(store: TestStore) {
    let (owner_cookie, _) = signed_in(&store, "olivia", false).await;
    let olivia = store
        .user_by_username(&taskflow_core::user::Username::parse("olivia").unwrap())
        .await
        .unwrap();
    let project = crate::project_with(&store, olivia.id, "OPS").await;
    let mut cookies = vec![("owner", owner_cookie.clone())];
    for (name, role) in [
        ("edith", taskflow_core::project::Role::Editor),
        ("victor", taskflow_core::project::Role::Viewer),
    ] {
        let (cookie, _) = signed_in(&store, name, false).await;
        let user = store
            .user_by_username(&taskflow_core::user::Username::parse(name).unwrap())
            .await
            .unwrap();
        store
            .set_member(olivia.id, project, user.id, role)
            .await
            .unwrap();
        cookies.push((name, cookie));
    }
    let (stranger, _) = signed_in(&store, "sam", false).await;
    for i in 1..=3 {
        let title = if i == 2 {
            "<script>alert(2)</script> done".to_owned()
        } else {
            format!("task number {i}")
        };
        let new = taskflow_core::task::NewTask {
            title: taskflow_core::text::TaskTitle::parse(title).unwrap(),
            description: taskflow_core::text::Markdown::default(),
            status: if i == 2 {
                Some(taskflow_testkit::status_id(store.store.as_ref(), project, "Done").await)
            } else {
                None
            },
            priority: taskflow_core::task::Priority::None,
            due_date: None,
            estimate: None,
            assignees: vec![olivia.id],
            labels: vec![],
            parent_id: None,
        };
        store.create_task(olivia.id, project, new).await.unwrap();
    }

    for (who, cookie) in &cookies {
        let page = visit(&store, "GET", "/p/OPS/list", Some(cookie), None).await;
        assert_eq!(page.status, StatusCode::OK, "{who}: {}", page.body);
        assert_no_inline_code(&page);
        assert!(
            page.body.contains("task number 3") && page.body.contains("OPS-1"),
            "{who}: {}",
            page.body
        );
        assert!(
            !page.body.contains("<script>alert"),
            "{who}: a stored title ran: {}",
            page.body
        );
    }
    let hidden = visit(&store, "GET", "/p/OPS/list", Some(&stranger), None).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.body);
    assert!(!hidden.body.contains("task number"), "{}", hidden.body);
    let missing = visit(&store, "GET", "/p/NOPE/list", Some(&owner_cookie), None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let main = |page: &Answer| {
        page.body
            .split("<main")
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        main(&hidden),
        main(&missing),
        "a hidden project looks like a missing one"
    );
    let out = visit(&store, "GET", "/p/OPS/list?status=done", None, None).await;
    assert_eq!(
        out.location(),
        "/login?next=%2Fp%2FOPS%2Flist%3Fstatus%3Ddone"
    );

    let done = visit(
        &store,
        "GET",
        "/p/OPS/list?status=done",
        Some(&owner_cookie),
        None,
    )
    .await;
    assert!(
        done.body.contains("OPS-2") && !done.body.contains("task number 1"),
        "{}",
        done.body
    );
    assert!(done.body.contains("Tasks, filtered"), "{}", done.body);
    let first = visit(
        &store,
        "GET",
        "/p/OPS/list?status=todo&limit=1",
        Some(&owner_cookie),
        None,
    )
    .await;
    assert!(
        first.body.contains("task number 1") && !first.body.contains("task number 3"),
        "{}",
        first.body
    );
    let next = first
        .body
        .split(r#"<a rel="next" href=""#)
        .nth(1)
        .expect("a next link")
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(
        next.starts_with("/p/OPS/list?status=todo&limit=1&after="),
        "{next}"
    );
    let second = visit(&store, "GET", &next, Some(&owner_cookie), None).await;
    assert!(
        second.body.contains("task number 3") && !second.body.contains("task number 1"),
        "{}",
        second.body
    );
    assert!(
        !second.body.contains(r#"rel="next""#),
        "the last page has no next link"
    );
    // The filter form sends every field; the blank ones mean "any".
    let blank = visit(
        &store,
        "GET",
        "/p/OPS/list?q=&status=&assignee=&label=&due_after=&due_before=&sort=",
        Some(&owner_cookie),
        None,
    )
    .await;
    assert_eq!(blank.status, StatusCode::OK, "{}", blank.body);
    assert!(
        blank.body.contains("task number 1") && blank.body.contains("OPS-2"),
        "{}",
        blank.body
    );
    assert!(!blank.body.contains("Tasks, filtered"), "{}", blank.body);
    let chosen = visit(
        &store,
        "GET",
        "/p/OPS/list?status=done&assignee=olivia&parent=none",
        Some(&owner_cookie),
        None,
    )
    .await;
    assert!(
        chosen
            .body
            .contains(r#"<option value="Done" selected>Done</option>"#),
        "{}",
        chosen.body
    );
    assert!(
        chosen
            .body
            .contains(r#"<option value="olivia" selected>olivia</option>"#),
        "{}",
        chosen.body
    );
    assert!(
        chosen.body.contains(r#"value="none" checked"#),
        "{}",
        chosen.body
    );
    assert!(
        chosen.body.contains("OPS-2") && !chosen.body.contains("task number 1"),
        "{}",
        chosen.body
    );
    let bad = visit(
        &store,
        "GET",
        "/p/OPS/list?sort=colour",
        Some(&owner_cookie),
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("sort"), "{}", bad.body);
}

/// The task page shows a task's fields, its Markdown description and comments rendered safely,
/// its subtasks and attachments; members of any role see it, others get 404.
async fn the_task_page_renders_markdown_safely(store: TestStore) {
    let (owner_cookie, _) = signed_in(&store, "olivia", false).await;
    let (viewer_cookie, _) = signed_in(&store, "victor", false).await;
    let (stranger, _) = signed_in(&store, "sam", false).await;
    let olivia = store
        .user_by_username(&taskflow_core::user::Username::parse("olivia").unwrap())
        .await
        .unwrap();
    let victor = store
        .user_by_username(&taskflow_core::user::Username::parse("victor").unwrap())
        .await
        .unwrap();
    let project = crate::project_with(&store, olivia.id, "OPS").await;
    store
        .set_member(
            olivia.id,
            project,
            victor.id,
            taskflow_core::project::Role::Viewer,
        )
        .await
        .unwrap();
    let new = |title: &str, description: &str, parent| taskflow_core::task::NewTask {
        title: taskflow_core::text::TaskTitle::parse(title).unwrap(),
        description: taskflow_core::text::Markdown::parse(description).unwrap(),
        status: None,
        priority: taskflow_core::task::Priority::High,
        due_date: None,
        estimate: None,
        assignees: vec![olivia.id],
        labels: vec![],
        parent_id: parent,
    };
    let payloads = "# Plan\n\n- [x] **bold** step\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))\n\n<svg onload=alert(1)>\n\n<div hx-get=\"/logout\">x</div>";
    let parent = store
        .create_task(olivia.id, project, new("<b>Ship</b> it", payloads, None))
        .await
        .unwrap();
    store
        .create_task(olivia.id, project, new("A subtask", "", Some(parent.id)))
        .await
        .unwrap();
    store
        .add_comment(
            olivia.id,
            parent.id,
            taskflow_core::text::CommentBody::parse("Looks *good* <script>alert(3)</script>")
                .unwrap(),
        )
        .await
        .unwrap();

    for cookie in [&owner_cookie, &viewer_cookie] {
        let page = visit(&store, "GET", "/t/OPS-1", Some(cookie), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_no_inline_code(&page);
        for part in [
            "<h1>Plan</h1>",
            "<strong>bold</strong>",
            "checked",
            "<em>good</em>",
            "&#60;b&#62;Ship&#60;/b&#62; it",
            "A subtask",
            r#"href="/t/OPS-2""#,
            "high",
        ] {
            assert!(
                page.body.contains(part),
                "{part} missing from {}",
                page.body
            );
        }
        let lower = page.body.to_lowercase();
        for raw in [
            "<script>",
            "<img",
            "<svg onload",
            "javascript:",
            "<div hx-get",
            "<b>ship",
        ] {
            assert!(
                !lower.contains(raw),
                "{raw} reached the page: {}",
                page.body
            );
        }
    }
    let hidden = visit(&store, "GET", "/t/OPS-1", Some(&stranger), None).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert!(!hidden.body.contains("Plan"), "{}", hidden.body);
    let out = visit(&store, "GET", "/t/OPS-1", None, None).await;
    assert_eq!(out.location(), "/login?next=%2Ft%2FOPS-1");
    let list = visit(&store, "GET", "/p/OPS/list", Some(&owner_cookie), None).await;
    assert!(
        list.body.contains(r#"<a href="/t/OPS-1">"#),
        "the list links to task pages"
    );
}

/// "My tasks" lists what is assigned to the viewer across projects, soonest due first, done
/// ones on request; signed-out visitors are sent to sign in.
async fn my_tasks_span_projects(store: TestStore) {
    use taskflow_core::task::NewTask;
    let (cookie, _) = signed_in(&store, "olivia", false).await;
    let olivia = store
        .user_by_username(&taskflow_core::user::Username::parse("olivia").unwrap())
        .await
        .unwrap();
    let ops = crate::project_with(&store, olivia.id, "OPS").await;
    let web = crate::project_with(&store, olivia.id, "WEB").await;
    let titled =
        |title: &str| NewTask::titled(taskflow_core::text::TaskTitle::parse(title).unwrap());
    let mine = |title: &str, due: Option<time::Date>, status| NewTask {
        assignees: vec![olivia.id],
        due_date: due,
        estimate: None,
        status,
        ..titled(title)
    };
    store
        .create_task(
            olivia.id,
            ops,
            mine("ops later", Some(time::macros::date!(2027 - 01 - 05)), None),
        )
        .await
        .unwrap();
    store
        .create_task(
            olivia.id,
            web,
            mine(
                "web sooner",
                Some(time::macros::date!(2026 - 12 - 20)),
                None,
            ),
        )
        .await
        .unwrap();
    store
        .create_task(
            olivia.id,
            web,
            mine(
                "web done",
                None,
                Some(taskflow_testkit::status_id(store.store.as_ref(), web, "Done").await),
            ),
        )
        .await
        .unwrap();
    store
        .create_task(olivia.id, ops, titled("unassigned"))
        .await
        .unwrap();

    let page = visit(&store, "GET", "/my", Some(&cookie), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_no_inline_code(&page);
    let sooner = page.body.find("web sooner").expect("web sooner listed");
    let later = page.body.find("ops later").expect("ops later listed");
    assert!(sooner < later, "soonest due first");
    assert!(
        !page.body.contains("web done") && !page.body.contains("unassigned"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(r#"<a href="/my" aria-current="page">"#),
        "{}",
        page.body
    );
    let all = visit(&store, "GET", "/my?done=1", Some(&cookie), None).await;
    assert!(all.body.contains("web done"), "{}", all.body);
    let out = visit(&store, "GET", "/my", None, None).await;
    assert_eq!(out.location(), "/login?next=%2Fmy");
}

/// The board: a column per status; editors move cards with the "Move…" form (POST → 303 →
/// the board), viewers see no such form, a stale version moves nothing and says why, and a
/// post without its token is refused.
async fn the_board_moves_cards_without_javascript(store: TestStore) {
    use taskflow_core::task::NewTask;
    let (owner_cookie, csrf) = signed_in(&store, "olivia", false).await;
    let (viewer_cookie, viewer_csrf) = signed_in(&store, "victor", false).await;
    let (stranger, _) = signed_in(&store, "sam", false).await;
    let olivia = store
        .user_by_username(&taskflow_core::user::Username::parse("olivia").unwrap())
        .await
        .unwrap();
    let victor = store
        .user_by_username(&taskflow_core::user::Username::parse("victor").unwrap())
        .await
        .unwrap();
    let project = crate::project_with(&store, olivia.id, "OPS").await;
    store
        .set_member(
            olivia.id,
            project,
            victor.id,
            taskflow_core::project::Role::Viewer,
        )
        .await
        .unwrap();
    let [todo, doing, done] =
        taskflow_testkit::default_statuses(store.store.as_ref(), project).await;
    for (title, status) in [
        ("first card", todo),
        ("second card", todo),
        ("busy card", doing),
    ] {
        let new = NewTask {
            status: Some(status),
            ..NewTask::titled(taskflow_core::text::TaskTitle::parse(title).unwrap())
        };
        store.create_task(olivia.id, project, new).await.unwrap();
    }
    let column = |page: &Answer, id: taskflow_core::StatusId| -> String {
        let start = page
            .body
            .find(&format!(r#"id="col-{id}""#))
            .unwrap_or_else(|| panic!("no column {id}"));
        page.body[start..]
            .split("</section>")
            .next()
            .unwrap()
            .to_owned()
    };

    let board = visit(&store, "GET", "/p/OPS", Some(&owner_cookie), None).await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.body);
    assert_no_inline_code(&board);
    assert!(
        column(&board, todo).contains("first card") && column(&board, todo).contains("second card")
    );
    assert!(column(&board, doing).contains("busy card"));
    assert!(
        board.body.contains(r#"action="/p/OPS/move""#),
        "an owner can move cards"
    );
    let seen = visit(&store, "GET", "/p/OPS", Some(&viewer_cookie), None).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(
        !seen.body.contains(r#"action="/p/OPS/move""#),
        "a viewer gets no move form"
    );
    assert_eq!(
        visit(&store, "GET", "/p/OPS", Some(&stranger), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        visit(&store, "GET", "/p/OPS", None, None).await.location(),
        "/login?next=%2Fp%2FOPS"
    );

    let first = store
        .task_by_key(&taskflow_core::task::TaskKey::parse("OPS-1").unwrap())
        .await
        .unwrap();
    let form = |csrf: &str, version: i64| {
        format!("csrf={csrf}&task=OPS-1&status=done&position=top&version={version}")
    };
    let refused = visit(
        &store,
        "POST",
        "/p/OPS/move",
        Some(&owner_cookie),
        Some(&form("wrong", first.version)),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let forbidden = visit(
        &store,
        "POST",
        "/p/OPS/move",
        Some(&viewer_cookie),
        Some(&form(&viewer_csrf, first.version)),
    )
    .await;
    assert_eq!(
        forbidden.status,
        StatusCode::FORBIDDEN,
        "a viewer cannot move"
    );
    let stale = visit(
        &store,
        "POST",
        "/p/OPS/move",
        Some(&owner_cookie),
        Some(&form(&csrf, first.version - 1)),
    )
    .await;
    assert_eq!(
        (stale.status, stale.location()),
        (StatusCode::SEE_OTHER, "/p/OPS?moved=conflict#card-OPS-1")
    );
    let notice = visit(
        &store,
        "GET",
        "/p/OPS?moved=conflict",
        Some(&owner_cookie),
        None,
    )
    .await;
    assert!(
        notice
            .body
            .contains("Someone else changed that task meanwhile"),
        "{}",
        notice.body
    );
    assert_eq!(
        store.task(first.id).await.unwrap().status.id,
        todo,
        "nothing moved"
    );

    let moved = visit(
        &store,
        "POST",
        "/p/OPS/move",
        Some(&owner_cookie),
        Some(&form(&csrf, first.version)),
    )
    .await;
    assert_eq!(
        (moved.status, moved.location()),
        (StatusCode::SEE_OTHER, "/p/OPS#card-OPS-1")
    );
    assert_eq!(store.task(first.id).await.unwrap().status.id, done);
    let after = visit(&store, "GET", "/p/OPS", Some(&owner_cookie), None).await;
    assert!(
        column(&after, done).contains("first card") && !column(&after, todo).contains("first card")
    );
    let elsewhere = visit(
        &store,
        "POST",
        "/p/WEB/move",
        Some(&owner_cookie),
        Some(&form(&csrf, first.version + 1)),
    )
    .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "a task is moved only on its own board"
    );
}

/// Only sanitised Markdown is ever written into a page unescaped: every `|safe` in the
/// templates applies to a `SanitizedHtml` field, named `…_html` by convention.
#[test]
fn only_sanitized_html_is_emitted_raw() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut raw = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, _) in text.match_indices("|safe") {
            let before = &text[..i];
            let name = before
                .rsplit(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
                .next()
                .unwrap();
            assert!(
                name.ends_with("_html"),
                "{}: `{name}|safe` is not sanitised HTML",
                path.display()
            );
            raw += 1;
        }
        assert!(
            !text.contains("|escape(\"none\")") && !text.contains("|e(\"none\")"),
            "{}",
            path.display()
        );
    }
    assert!(raw > 0, "the check looked at the templates");
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web/task.rs"),
    )
    .unwrap();
    assert!(
        source.contains("description_html: SanitizedHtml")
            && source.contains("body_html: SanitizedHtml")
            && source.contains("preview_html: Option<SanitizedHtml>"),
        "the raw fields are SanitizedHtml"
    );
}

/// Targets that a browser would take to another site, or that smuggle a header; each redirect
/// that takes a target from the request (the colour scheme's `next`, sign-in's `next` when
/// already signed in and after signing in, the `Referer` a form posted after its session ended
/// returns to) sends them to the projects instead.
const ELSEWHERE: &[&str] = &[
    "/\t/evil.example/",
    "/%09/evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "/\\/evil.example/",
    "/%2F/evil.example/",
    "/%2f%2fevil.example/",
    "/%5Cevil.example/",
    "/%5C/evil.example/",
    "%2F%2Fevil.example/",
    "https://evil.example/",
    "http:evil.example",
    "//%09evil.example",
    "evil.example",
    "javascript:alert(1)",
    "/%0d%0aSet-Cookie:%20x=1",
    "/\r\nSet-Cookie: x=1",
    " /projects",
    "/ok\u{7f}",
];

async fn redirect_targets_never_leave_the_site(store: TestStore) {
    let (cookie, csrf) = signed_in(&store, "rita", false).await;
    // The sign-in form's token, for the pages seen signed out.
    let form = visit(&store, "GET", "/login", None, None).await;
    let login_token = form.cookie("taskflow_login").unwrap();
    let login_cookie = format!("taskflow_login={login_token}");
    for target in ELSEWHERE {
        let next = encoded(target);
        let theme = visit(
            &store,
            "POST",
            "/theme",
            Some(&cookie),
            Some(&format!("csrf={csrf}&set=dark&to={next}")),
        )
        .await;
        assert_eq!(theme.location(), "/projects", "theme, next={target:?}");
        let theme = visit(
            &store,
            "POST",
            "/theme",
            Some(&login_cookie),
            Some(&format!("csrf={login_token}&set=dark&to={next}")),
        )
        .await;
        assert_eq!(
            theme.location(),
            "/projects",
            "theme signed out, next={target:?}"
        );
        let again = visit(
            &store,
            "GET",
            &format!("/login?next={next}"),
            Some(&cookie),
            None,
        )
        .await;
        assert_eq!(again.location(), "/projects", "login, next={target:?}");
        let page = visit(&store, "GET", &format!("/login?next={next}"), None, None).await;
        assert_eq!(
            page.field("next"),
            "/projects",
            "the sign-in form, next={target:?}"
        );
        // A form posted after the session ended goes to sign in, and back only to this site.
        let Ok(referer) =
            axum::http::HeaderValue::from_str(&format!("http://taskflow.test{target}"))
        else {
            continue;
        };
        let request = Request::post("/projects")
            .header("host", "taskflow.test")
            .header("referer", referer)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("csrf=x&key=AB&name=A"))
            .unwrap();
        let response = taskflow_server::app(state(&store))
            .oneshot(request)
            .await
            .unwrap();
        assert_eq!(
            response.headers()["location"],
            "/login?next=%2Fprojects",
            "referer {target:?}"
        );
    }
    // A page of this site is where it leads.
    for target in ["/p/OPS/list?status=done&q=a%20b", "/t/OPS-1#comments", "/"] {
        let theme = visit(
            &store,
            "POST",
            "/theme",
            Some(&cookie),
            Some(&format!("csrf={csrf}&set=dark&to={}", encoded(target))),
        )
        .await;
        assert_eq!(theme.location(), target);
    }
}

/// The sidebar lists the projects the person is a member of, the one they are in marked, and
/// none of anyone else's; requests that are not for a whole page do not look them up.
async fn the_sidebar_lists_the_person_s_projects(store: TestStore) {
    let (ada, _) = store.user_with_token("ada", false).await;
    let (bob, _) = store.user_with_token("bob", false).await;
    crate::project_with(&store, ada.id, "OPS").await;
    crate::project_with(&store, bob.id, "WEB").await;
    let (cookie, _) = session_for(&store, ada.id).await;
    let page = |path: &'static str, accept: &'static str| {
        let store = &store;
        let cookie = cookie.clone();
        async move {
            visit_with(
                crate::state(store),
                "GET",
                path,
                Some(&cookie),
                None,
                &[("accept", accept)],
            )
            .await
        }
    };
    let html = "text/html,application/xhtml+xml,*/*;q=0.8";
    let list = page("/p/OPS/list", html).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body
            .contains(r#"<a href="/p/OPS" aria-current="true"><span class="side-key">OPS</span>"#),
        "{}",
        list.body
    );
    assert!(
        !list.body.contains("/p/WEB"),
        "someone else's project is not listed"
    );
    let projects = page("/projects", html).await;
    assert!(
        projects
            .body
            .contains(r#"<a href="/p/OPS"><span class="side-key">OPS</span>"#)
    );
    let (cara, _) = store.user_with_token("cara", false).await;
    let (cara_cookie, _) = session_for(&store, cara.id).await;
    let none = visit_with(
        crate::state(&store),
        "GET",
        "/projects",
        Some(&cara_cookie),
        None,
        &[("accept", html)],
    )
    .await;
    assert!(
        none.body
            .contains(r#"<li class="side-none"><a href="/projects">Create a project</a></li>"#)
    );
    // Not a whole page (no HTML asked for): no lookup, and no list at all rather than none.
    let plain = page("/projects", "*/*").await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(!plain.body.contains("side-projects") && !plain.body.contains("Create a project"));
}

both_backends!(
    the_sidebar_lists_the_person_s_projects,
    redirect_targets_never_leave_the_site,
    signed_out_visitors_are_sent_to_sign_in,
    signing_in_works_without_javascript,
    projects_are_listed_and_created_by_form,
    stored_text_is_escaped,
    the_colour_scheme_is_kept_in_a_cookie,
    the_task_list_is_a_page_of_the_url,
    the_task_page_renders_markdown_safely,
    my_tasks_span_projects,
    the_board_moves_cards_without_javascript,
);
