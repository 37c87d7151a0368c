//! Logging in from the web UI: a session cookie, CSRF protection, slowed-down guessing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use taskflow_core::text::DisplayName;
use taskflow_core::user::{NewUser, Password, Username};
use taskflow_server::AppState;
use taskflow_server::api::LoginThrottle;
use taskflow_testkit::{TestStore, both_backends};

use crate::{call, state};

async fn alice(store: &TestStore) {
    store
        .create_user(NewUser {
            username: Username::parse("alice").unwrap(),
            display_name: DisplayName::parse("Alice").unwrap(),
            password_hash: Password::parse("correct horse battery").unwrap().hash(),
            is_admin: false,
        })
        .await
        .unwrap();
}

fn login(username: &str, password: &str) -> Request<Body> {
    Request::post("/api/v1/auth/login")
        .header("content-type", "application/json")
        .body(Body::from(format!(
            r#"{{"username":"{username}","password":"{password}"}}"#
        )))
        .unwrap()
}

fn with_cookie(
    method: &str,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
    body: Option<&str>,
) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("cookie", format!("theme=dark; {cookie}"));
    if let Some(csrf) = csrf {
        b = b.header("x-csrf-token", csrf);
    }
    match body {
        Some(body) => b
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

async fn login_sets_a_safe_cookie_and_csrf_guards_writes(store: TestStore) {
    alice(&store).await;
    let (status, headers, body) =
        call(state(&store), login("Alice", "correct horse battery")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let set_cookie = headers["set-cookie"].to_str().unwrap().to_owned();
    for attribute in [
        "taskflow_session=tf_",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=",
    ] {
        assert!(
            set_cookie.contains(attribute),
            "{set_cookie} lacks {attribute}"
        );
    }
    assert!(
        !set_cookie.contains("Secure"),
        "Secure only when configured"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();
    assert_eq!(body["user"]["username"], "alice");

    // Reads need only the cookie.
    let (status, _, me) = call(
        state(&store),
        with_cookie("GET", "/api/v1/me", &cookie, None, None),
    )
    .await;
    assert_eq!(
        (status, me["username"].as_str()),
        (StatusCode::OK, Some("alice"))
    );
    let (_, _, session) = call(
        state(&store),
        with_cookie("GET", "/api/v1/auth/session", &cookie, None, None),
    )
    .await;
    assert_eq!(session["csrf_token"], csrf.as_str());

    // Writes need the CSRF token too; without it nothing happens.
    let project = r#"{"key":"OPS","name":"Ops"}"#;
    for bad in [None, Some("wrong")] {
        let (status, _, body) = call(
            state(&store),
            with_cookie("POST", "/api/v1/projects", &cookie, bad, Some(project)),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"]["code"], "csrf");
    }
    assert!(store.list_projects(None, true).await.unwrap().is_empty());
    let (status, _, _) = call(
        state(&store),
        with_cookie(
            "POST",
            "/api/v1/projects",
            &cookie,
            Some(&csrf),
            Some(project),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // Logging out ends the session.
    let (status, headers, _) = call(
        state(&store),
        with_cookie("POST", "/api/v1/auth/logout", &cookie, Some(&csrf), None),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, _, _) = call(
        state(&store),
        with_cookie("GET", "/api/v1/me", &cookie, None, None),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Configured for HTTPS, the cookie is Secure.
    let mut secure = state(&store);
    secure.auth.cookie_secure = true;
    let (_, headers, _) = call(secure, login("alice", "correct horse battery")).await;
    assert!(headers["set-cookie"].to_str().unwrap().contains("; Secure"));
}

async fn wrong_credentials_are_401_and_indistinguishable(store: TestStore) {
    alice(&store).await;
    let (s1, _, wrong_password) = call(state(&store), login("alice", "wrong password!")).await;
    let (s2, _, no_such_user) = call(state(&store), login("mallory", "wrong password!")).await;
    assert_eq!(
        (s1, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        wrong_password, no_such_user,
        "the answer does not reveal which usernames exist"
    );
    let (status, _, _) = call(state(&store), login("al ice", "x")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn repeated_failures_are_slowed_then_refused(store: TestStore) {
    alice(&store).await;
    let mut st: AppState = state(&store);
    st.throttle = Arc::new(LoginThrottle::new(
        2,
        Duration::from_millis(200),
        Duration::from_millis(400),
        5,
        Duration::from_secs(60),
    ));
    for _ in 0..2 {
        assert_eq!(
            call(st.clone(), login("alice", "guess guess")).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    // Past the free attempts, each answer waits.
    let started = Instant::now();
    assert_eq!(
        call(st.clone(), login("alice", "guess guess")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "not slowed: {:?}",
        started.elapsed()
    );
    for _ in 0..2 {
        call(st.clone(), login("alice", "guess guess")).await;
    }
    // Past the limit, even the right password is refused for a while.
    let (status, headers, body) = call(st.clone(), login("alice", "correct horse battery")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(headers.contains_key("retry-after"));
    // Other accounts are not affected.
    let (status, _, _) = call(st.clone(), login("bob", "whatever pw")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Failed logins under ever-new names must not grow the throttle's memory without bound.
async fn throttle_forgets_expired_failures(store: TestStore) {
    let throttle = Arc::new(
        LoginThrottle::new(
            5,
            Duration::from_millis(1),
            Duration::from_millis(1),
            100,
            Duration::from_millis(200),
        )
        .prune_above(3),
    );
    let mut st: AppState = state(&store);
    st.throttle = throttle.clone();
    for name in ["ann", "ben", "cat"] {
        assert_eq!(
            call(st.clone(), login(name, "wrong password")).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(throttle.tracked_keys(), 3);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        call(st.clone(), login("dan", "wrong password")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        throttle.tracked_keys(),
        1,
        "expired failures are dropped once the map is full"
    );
}

both_backends!(
    throttle_forgets_expired_failures,
    login_sets_a_safe_cookie_and_csrf_guards_writes,
    wrong_credentials_are_401_and_indistinguishable,
    repeated_failures_are_slowed_then_refused,
);
