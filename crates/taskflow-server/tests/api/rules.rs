//! The same rules everywhere: changing one's own password needs the current one, sign-in forms
//! take only tokens this installation issued, a refused member addition says nothing about who
//! exists, HSTS behind TLS, idle sessions end, signing in ends the browser's old session, new
//! passwords are long and not common, attachment files are the owner's alone.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use taskflow_core::Timestamp;
use taskflow_core::user::{Password, UserPatch, Username};
use taskflow_server::AppState;
use taskflow_testkit::{TestStore, both_backends};

use crate::pages::{encoded, session_for, visit_state as visit};
use crate::{call, caller, request, state};

/// A user who signs in with `password`.
async fn person(store: &TestStore, name: &str, admin: bool, password: &str) -> crate::Caller {
    let who = caller(store, name, admin).await;
    store
        .update_user(
            who.user.id,
            UserPatch {
                password_hash: Some(Password::parse(password).unwrap().hash()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    who
}

/// The sign-in form posted with `cookie` and the form token `token`, as `name`, whose password
/// (set by `person`) is "<name>'s long password".
async fn sign_in(store: &TestStore, cookie: &str, token: &str, name: &str) -> crate::pages::Answer {
    let form = format!(
        "csrf={}&username={name}&password={}",
        encoded(token),
        encoded(&format!("{name}'s long password"))
    );
    visit(state(store), "POST", "/login", Some(cookie), Some(&form)).await
}

async fn password_hash(store: &TestStore, name: &str) -> String {
    store
        .user_by_username(&Username::parse(name).unwrap())
        .await
        .unwrap()
        .password_hash
        .as_str()
        .to_owned()
}

/// An administrator changes someone else's password on the administration page, but their own
/// only on the account page, with the current one.
async fn changing_ones_own_password_needs_the_current_one_everywhere(store: TestStore) {
    let admin = person(&store, "ada", true, "the current password").await;
    person(&store, "bert", false, "bert's own password").await;
    let (cookie, csrf) = session_for(&store, admin.user.id).await;
    let before = password_hash(&store, "ada").await;
    let own = visit(
        state(&store),
        "POST",
        "/admin/users",
        Some(&cookie),
        Some(&format!(
            "csrf={csrf}&username=ada&action=password&password=a+brand+new+password"
        )),
    )
    .await;
    assert_eq!(own.status, StatusCode::CONFLICT, "{}", own.body);
    assert!(own.body.contains("account page"), "{}", own.body);
    assert_eq!(password_hash(&store, "ada").await, before, "unchanged");
    let page = visit(state(&store), "GET", "/admin/users", Some(&cookie), None).await;
    assert!(
        page.body
            .contains(r#"<a href="/account">Change your password</a>"#),
        "{}",
        page.body
    );
    let before = password_hash(&store, "bert").await;
    let other = visit(
        state(&store),
        "POST",
        "/admin/users",
        Some(&cookie),
        Some(&format!(
            "csrf={csrf}&username=bert&action=password&password=a+reset+for+bert"
        )),
    )
    .await;
    assert_eq!(other.status, StatusCode::SEE_OTHER, "{}", other.body);
    assert_ne!(password_hash(&store, "bert").await, before);
    // The API agrees: without the current password, no change.
    let (status, _, body) = call(
        state(&store),
        request(
            "PATCH",
            "/api/v1/users/ada",
            Some(&admin.token),
            Some(r#"{"password": "a brand new password"}"#),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

/// The sign-in form's token must be one this installation signed and not yet expired, in the
/// cookie and the form alike: a value someone planted, or one altered, is refused.
async fn sign_in_forms_take_only_tokens_this_installation_issued(store: TestStore) {
    person(&store, "cleo", false, "cleo's long password").await;
    let form = visit(state(&store), "GET", "/login", None, None).await;
    let token = form.cookie("taskflow_login").expect("a sign-in cookie");
    let cookie_line = form.set_cookie("taskflow_login").unwrap();
    assert!(cookie_line.contains("Path=/;") && cookie_line.contains("HttpOnly"));
    assert!(!cookie_line.contains("Secure"), "plain HTTP: {cookie_line}");
    let (nonce, rest) = token.split_once('.').unwrap();
    let (expiry, mac) = rest.split_once('.').unwrap();
    let later: i64 = expiry.parse::<i64>().unwrap() + 86_400;
    for planted in [
        "chosen-by-someone-else".to_owned(),
        format!("{nonce}.{later}.{mac}"),
        format!("{nonce}x.{expiry}.{mac}"),
        format!("{nonce}.{expiry}.{}", "0".repeat(mac.len())),
    ] {
        let refused = visit(
            state(&store),
            "POST",
            "/login",
            Some(&format!("taskflow_login={planted}")),
            Some(&format!(
                "csrf={}&username=cleo&password=cleo%27s+long+password",
                encoded(&planted)
            )),
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{planted}");
        assert!(refused.cookie("taskflow_session").is_none());
    }
    let signed_in = sign_in(&store, &format!("taskflow_login={token}"), &token, "cleo").await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    assert!(signed_in.cookie("taskflow_session").is_some());
    // A second server of the installation (another state on the same database) takes it too.
    let mut secure = state(&store);
    secure.auth.cookie_secure = true;
    let form = visit(secure.clone(), "GET", "/login", None, None).await;
    let line = form
        .set_cookie("__Host-taskflow_login")
        .expect("a __Host- cookie over HTTPS");
    assert!(
        line.contains("; Secure") && line.contains("Path=/;"),
        "{line}"
    );
    assert!(form.set_cookie("taskflow_login").is_none());
}

/// With `TASKFLOW_MEMBERS_ADDED_BY=administrators`, an owner's addition of someone who is not a
/// member reads the same whether that person exists or not; an administrator adds anyone, and
/// the owner still changes existing members' roles. With the default, owners add people.
async fn a_refused_member_addition_says_nothing_about_who_exists(store: TestStore) {
    let owner = person(&store, "olga", false, "olga's long password").await;
    person(&store, "pete", false, "pete's long password").await;
    person(&store, "quin", false, "quin's long password").await;
    let admin = person(&store, "root", true, "root's long password").await;
    crate::project_with(&store, owner.user.id, "OPS").await;
    let (cookie, csrf) = session_for(&store, owner.user.id).await;
    let mut restricted = state(&store);
    restricted.auth.members_by_administrators = true;
    let add = |st: AppState, name: &'static str| {
        let (cookie, csrf) = (cookie.clone(), csrf.clone());
        async move {
            visit(
                st,
                "POST",
                "/p/OPS/members",
                Some(&cookie),
                Some(&format!("csrf={csrf}&username={name}&role=editor")),
            )
            .await
        }
    };
    let known = add(restricted.clone(), "pete").await;
    let unknown = add(restricted.clone(), "nobody").await;
    assert_eq!(
        known.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        known.body
    );
    assert_eq!(unknown.status, known.status);
    let words = |body: &str, name: &str| {
        body.split(r#"id="member-problem">"#)
            .nth(1)
            .expect("the page says why")
            .split("</p>")
            .next()
            .unwrap()
            .replace(name, "NAME")
    };
    assert_eq!(
        words(&known.body, "pete"),
        words(&unknown.body, "nobody"),
        "the same words for someone who exists and someone who does not"
    );
    assert!(
        known.body.contains("Only an administrator"),
        "{}",
        known.body
    );
    for name in ["pete", "nobody"] {
        let (status, _, body) = call(
            restricted.clone(),
            request(
                "PUT",
                &format!("/api/v1/projects/OPS/members/{name}"),
                Some(&owner.token),
                Some(r#"{"role": "editor"}"#),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {body}");
    }
    // An administrator adds; the owner then changes the member's role.
    let (status, _, body) = call(
        restricted.clone(),
        request(
            "PUT",
            "/api/v1/projects/OPS/members/pete",
            Some(&admin.token),
            Some(r#"{"role": "viewer"}"#),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = call(
        restricted,
        request(
            "PUT",
            "/api/v1/projects/OPS/members/pete",
            Some(&owner.token),
            Some(r#"{"role": "editor"}"#),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // By default owners add people who exist.
    let added = add(state(&store), "quin").await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
}

/// `Strict-Transport-Security` on every answer when cookies are secure (served over HTTPS),
/// and never otherwise.
async fn hsts_comes_with_secure_cookies(store: TestStore) {
    for path in ["/healthz", "/login", "/api/v1/projects", "/no/such/page"] {
        let plain = visit(state(&store), "GET", path, None, None).await;
        assert!(
            plain.headers.get("strict-transport-security").is_none(),
            "{path}"
        );
        let mut secure = state(&store);
        secure.auth.cookie_secure = true;
        let tls = visit(secure, "GET", path, None, None).await;
        assert_eq!(
            tls.headers
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap()),
            Some("max-age=31536000"),
            "{path}"
        );
    }
}

/// A session unused for `TASKFLOW_SESSION_IDLE_TIMEOUT` ends, and is gone from the database.
async fn an_idle_session_ends(store: TestStore) {
    let who = caller(&store, "ivy", false).await;
    let (cookie, _) = session_for(&store, who.user.id).await;
    let mut st = state(&store);
    st.auth.session_idle = std::time::Duration::from_secs(1);
    let page = visit(st.clone(), "GET", "/projects", Some(&cookie), None).await;
    assert_eq!(page.status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let idle = visit(st.clone(), "GET", "/projects", Some(&cookie), None).await;
    assert_eq!(
        (idle.status, idle.location()),
        (StatusCode::SEE_OTHER, "/login?next=%2Fprojects")
    );
    let secret = cookie.strip_prefix("taskflow_session=").unwrap();
    let secret = taskflow_core::user::TokenSecret::parse(secret).unwrap();
    assert!(
        store
            .authenticate_session(&secret.hash(), Timestamp::now())
            .await
            .is_err(),
        "the idle session was ended"
    );
}

/// Signing in ends the session the browser held before, whoever it was.
async fn signing_in_ends_the_browsers_old_session(store: TestStore) {
    let first = caller(&store, "jill", false).await;
    person(&store, "kurt", false, "kurt's long password").await;
    let (old, _) = session_for(&store, first.user.id).await;
    let form = visit(state(&store), "GET", "/login", Some(&old), None).await;
    assert_eq!(form.status, StatusCode::SEE_OTHER, "signed in already");
    let form = visit(state(&store), "GET", "/login", None, None).await;
    let token = form.cookie("taskflow_login").unwrap();
    let cookies = format!("{old}; taskflow_login={token}");
    let signed_in = sign_in(&store, &cookies, &token, "kurt").await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    let old_page = visit(state(&store), "GET", "/projects", Some(&old), None).await;
    assert_eq!(
        old_page.status,
        StatusCode::SEE_OTHER,
        "the old session ended"
    );
}

/// New passwords have 12 characters or more and are not common, wherever they are set.
async fn new_passwords_are_long_and_not_common(store: TestStore) {
    let admin = caller(&store, "lena", true).await;
    for (password, words) in [
        ("elevenchars", "at least 12 characters"),
        ("password1234", "most common"),
        ("Qwerty123456", "most common"),
    ] {
        let body = format!(r#"{{"username": "newbie", "password": "{password}"}}"#);
        let (status, _, answer) = call(
            state(&store),
            request("POST", "/api/v1/users", Some(&admin.token), Some(&body)),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{password}: {answer}"
        );
        assert!(answer.to_string().contains(words), "{password}: {answer}");
    }
    let (status, _, answer) = call(
        state(&store),
        request(
            "POST",
            "/api/v1/users",
            Some(&admin.token),
            Some(r#"{"username": "newbie", "password": "three unrelated words"}"#),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

/// Uploaded files, their directories and uploads in progress are readable by Taskflow's user
/// alone, as the database and backups are.
async fn attachment_files_are_the_owners_alone(store: TestStore) {
    use std::os::unix::fs::PermissionsExt;
    let owner = caller(&store, "mona", false).await;
    let project = crate::project_with(&store, owner.user.id, "OPS").await;
    store
        .create_task(
            owner.user.id,
            project,
            taskflow_core::task::NewTask::titled(
                taskflow_core::text::TaskTitle::parse("files").unwrap(),
            ),
        )
        .await
        .unwrap();
    let st = state(&store);
    st.blobs.prepare().await.unwrap();
    let upload = Request::post("/api/v1/tasks/OPS-1/attachments?name=a.txt")
        .header("authorization", format!("Bearer {}", owner.token))
        .header("content-type", "text/plain")
        .body(Body::from("private"))
        .unwrap();
    let (status, _, body) = call(st, upload).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let sha = body["sha256"].as_str().unwrap();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let blobs = store.data_dir.join("blobs");
    assert_eq!(mode(&blobs.join(&sha[..2]).join(sha)), 0o600);
    assert_eq!(mode(&blobs.join(&sha[..2])), 0o700);
    assert_eq!(mode(&blobs), 0o700);
    assert_eq!(mode(&store.data_dir.join("tmp")), 0o700);
}

both_backends!(
    changing_ones_own_password_needs_the_current_one_everywhere,
    sign_in_forms_take_only_tokens_this_installation_issued,
    a_refused_member_addition_says_nothing_about_who_exists,
    hsts_comes_with_secure_cookies,
    an_idle_session_ends,
    signing_in_ends_the_browsers_old_session,
    new_passwords_are_long_and_not_common,
    attachment_files_are_the_owners_alone,
);
