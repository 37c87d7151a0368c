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

/// A login from `address`, as the server sees the peer, with optional `X-Forwarded-For`.
fn login_from(
    address: &str,
    forwarded: Option<&str>,
    username: &str,
    password: &str,
) -> Request<Body> {
    let mut request = login(username, password);
    let peer: std::net::SocketAddr = format!("{address}:40000").parse().unwrap();
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    if let Some(forwarded) = forwarded {
        request
            .headers_mut()
            .insert("x-forwarded-for", forwarded.parse().unwrap());
    }
    request
}

/// The status of one login attempt.
async fn attempt(
    st: &AppState,
    address: &str,
    forwarded: Option<&str>,
    username: &str,
    password: &str,
) -> StatusCode {
    call(
        st.clone(),
        login_from(address, forwarded, username, password),
    )
    .await
    .0
}

/// No delays, a small limit: only the counting is under test.
fn strict(store: &TestStore, user_limit: u32) -> AppState {
    let mut st = state(store);
    st.throttle = Arc::new(LoginThrottle::new(
        u32::MAX,
        Duration::ZERO,
        Duration::ZERO,
        user_limit,
        Duration::from_secs(60),
    ));
    st
}

/// Attempts are counted before the password is checked: of 60 concurrent wrong passwords,
/// exactly the limit are checked and the rest refused.
async fn concurrent_guesses_are_counted_before_hashing(store: TestStore) {
    alice(&store).await;
    let st = strict(&store, 20);
    let guesses = (0..60).map(|i| {
        let st = st.clone();
        tokio::spawn(async move {
            call(st, login("alice", &format!("guess number {i}")))
                .await
                .0
        })
    });
    let mut answers = std::collections::BTreeMap::new();
    for guess in guesses {
        *answers.entry(guess.await.unwrap().as_u16()).or_insert(0) += 1;
    }
    assert_eq!(
        answers,
        [(401, 20), (429, 40)].into_iter().collect(),
        "only the limit's worth of passwords may be checked"
    );
}

/// Guessing alice's password from one address locks alice out there only: from her own
/// address she still signs in, and so does every other name at the attacker's address until
/// the address's own limit.
async fn a_lock_is_per_name_and_address(store: TestStore) {
    alice(&store).await;
    let st = strict(&store, 5);
    for _ in 0..5 {
        let status = attempt(&st, "10.0.0.66", None, "alice", "guess guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, headers, body) = call(
        st.clone(),
        login_from("10.0.0.66", None, "alice", "correct horse battery"),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(headers["retry-after"], "60");
    assert_eq!(body["error"]["code"], "too_many_attempts");
    let (status, _, body) = call(
        st.clone(),
        login_from("10.0.0.7", None, "Alice", "correct horse battery"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "alice at her own address: {body}");

    // The address may fail five times the name limit under any names (the refused attempt
    // counted too: six so far), then is refused.
    for i in 0..18 {
        let status = attempt(&st, "10.0.0.66", None, &format!("user{i}"), "guess guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "name {i}");
    }
    let status = attempt(&st, "10.0.0.66", None, "zed", "guess guess").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the 25th failure at the address"
    );
    let status = attempt(&st, "10.0.0.66", None, "yan", "guess guess").await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "past the address's limit"
    );
    let status = attempt(&st, "10.0.0.7", None, "alice", "correct horse battery").await;
    assert_eq!(status, StatusCode::OK, "other addresses are unaffected");

    // `taskflow user unlock alice` clears her counts at every address.
    assert_eq!(
        store
            .clear_login_failures(Some("alice"), None)
            .await
            .unwrap(),
        1
    );
    let status = attempt(&st, "10.0.0.66", None, "alice", "correct horse battery").await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the address itself is still over its limit"
    );
    assert!(
        store
            .clear_login_failures(None, Some("10.0.0.66"))
            .await
            .unwrap()
            >= 1
    );
    let status = attempt(&st, "10.0.0.66", None, "alice", "correct horse battery").await;
    assert_eq!(status, StatusCode::OK);
}

/// Behind a trusted proxy the client is the right-most forwarded address that is not a proxy;
/// from any other peer `X-Forwarded-For` is ignored, so clients cannot pick their address.
async fn forwarded_addresses_count_only_from_trusted_proxies(store: TestStore) {
    alice(&store).await;
    let mut st = strict(&store, 3);
    for _ in 0..3 {
        // An untrusted peer claiming to be someone else is counted as itself.
        call(
            st.clone(),
            login_from("192.0.2.9", Some("10.0.0.7"), "alice", "guess guess"),
        )
        .await;
    }
    let status = attempt(
        &st,
        "192.0.2.9",
        Some("10.0.0.8"),
        "alice",
        "correct horse battery",
    )
    .await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "X-Forwarded-For from an untrusted peer is ignored"
    );

    st.auth.trusted_proxies = vec![
        "127.0.0.0/8".parse().unwrap(),
        "10.1.0.0/16".parse().unwrap(),
    ];
    for _ in 0..3 {
        // The client lies about its own address, left of what the proxies appended.
        call(
            st.clone(),
            login_from(
                "127.0.0.1",
                Some("10.0.0.7, 203.0.113.5, 10.1.2.3"),
                "alice",
                "guess guess",
            ),
        )
        .await;
    }
    let status = attempt(
        &st,
        "127.0.0.1",
        Some("10.0.0.7, 203.0.113.5, 10.1.2.3"),
        "alice",
        "correct horse battery",
    )
    .await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "counted at 203.0.113.5"
    );
    let (status, _, body) = call(
        st.clone(),
        login_from(
            "127.0.0.1",
            Some("10.0.0.7"),
            "alice",
            "correct horse battery",
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a different client behind the proxy: {body}"
    );
}

/// Changing your own password needs the current one; a new password ends every other session
/// (the one that changed it stays), and disabling a user ends all of theirs for good.
async fn password_changes_and_disabling_end_sessions(store: TestStore) {
    alice(&store).await;
    let admin = crate::caller(&store, "root", true).await;
    let sign_in = async |password: &str| {
        let (status, headers, body) = call(state(&store), login("alice", password)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let cookie = headers["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        (cookie, body["csrf_token"].as_str().unwrap().to_owned())
    };
    let signed_in = async |cookie: &str| {
        call(
            state(&store),
            with_cookie("GET", "/api/v1/me", cookie, None, None),
        )
        .await
        .0 == StatusCode::OK
    };
    let (here, csrf) = sign_in("correct horse battery").await;
    let (elsewhere, _) = sign_in("correct horse battery").await;
    let change = |body: &str| {
        with_cookie(
            "PATCH",
            "/api/v1/users/alice",
            &here,
            Some(&csrf),
            Some(body),
        )
    };

    for (body, message) in [
        (
            r#"{"password":"a new long password"}"#,
            "is required to change your own password",
        ),
        (
            r#"{"password":"a new long password","current_password":"not it at all"}"#,
            "that is not your current password",
        ),
    ] {
        let (status, _, answer) = call(state(&store), change(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(
            answer["error"]["details"]["fields"][0]["field"],
            "current_password"
        );
        assert_eq!(answer["error"]["details"]["fields"][0]["message"], message);
    }
    assert!(signed_in(&elsewhere).await, "a refused change ends nothing");
    let (status, _, answer) = call(
        state(&store),
        change(r#"{"password":"a new long password","current_password":"correct horse battery"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(
        signed_in(&here).await,
        "the session that changed the password stays"
    );
    assert!(!signed_in(&elsewhere).await, "every other session ended");
    assert_eq!(
        call(state(&store), login("alice", "correct horse battery"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    // An administrator's reset needs no current password and ends all of alice's sessions.
    let (status, _, _) = call(
        state(&store),
        crate::request(
            "PATCH",
            "/api/v1/users/alice",
            Some(&admin.token),
            Some(r#"{"password":"reset by the admin"}"#),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!signed_in(&here).await);

    let (again, _) = sign_in("reset by the admin").await;
    for body in [r#"{"is_disabled":true}"#, r#"{"is_disabled":false}"#] {
        let (status, _, _) = call(
            state(&store),
            crate::request(
                "PATCH",
                "/api/v1/users/alice",
                Some(&admin.token),
                Some(body),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    assert!(
        !signed_in(&again).await,
        "enabling alice again does not bring back her old session"
    );
}

both_backends!(
    concurrent_guesses_are_counted_before_hashing,
    a_lock_is_per_name_and_address,
    forwarded_addresses_count_only_from_trusted_proxies,
    password_changes_and_disabling_end_sessions,
    login_sets_a_safe_cookie_and_csrf_guards_writes,
    wrong_credentials_are_401_and_indistinguishable,
    repeated_failures_are_slowed_then_refused,
);
