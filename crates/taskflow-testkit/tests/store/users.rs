use taskflow_core::StoreError;
use taskflow_core::Timestamp;
use taskflow_core::text::{DisplayName, TokenName};
use taskflow_core::user::{
    LoginAttempt, LoginCounts, NewToken, NewUser, TokenSecret, UserPatch, Username,
};
use taskflow_testkit::{TestStore, both_backends};

use crate::{password_hash, user};

async fn create_and_read_users(store: TestStore) {
    assert_eq!(store.count_users().await.unwrap(), 0);
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    assert_eq!(store.user(alice.id).await.unwrap(), alice);
    assert_eq!(
        store
            .user_by_username(&Username::parse("BOB").unwrap())
            .await
            .unwrap(),
        bob
    );
    let names: Vec<_> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username.to_string())
        .collect();
    assert_eq!(names, ["alice", "bob"]);
    assert_eq!(store.count_users().await.unwrap(), 2);
    assert!(alice.password_hash.verify("correct horse battery"));
    assert!(matches!(
        store.user(taskflow_core::UserId(999)).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn users_are_found_by_many_names_at_once(store: TestStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    user(&store, "carol").await;
    let names = ["bob", "nobody", "alice", "bob"].map(|n| Username::parse(n).unwrap());
    let mut found = store.users_named(&names).await.unwrap();
    found.sort_by_key(|u| u.id);
    assert_eq!(found, [alice, bob]);
    assert!(store.users_named(&[]).await.unwrap().is_empty());
}

async fn duplicate_username_is_a_conflict(store: TestStore) {
    let alice = user(&store, "alice").await;
    let err = store
        .create_user(NewUser {
            username: Username::parse("Alice").unwrap(),
            display_name: DisplayName::parse("Other").unwrap(),
            password_hash: password_hash(),
            is_admin: true,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("alice")),
        "{err:?}"
    );
    assert_eq!(store.count_users().await.unwrap(), 1);
    assert_eq!(store.user(alice.id).await.unwrap(), alice);
}

async fn update_user_fields(store: TestStore) {
    let alice = user(&store, "alice").await;
    let updated = store
        .update_user(
            alice.id,
            UserPatch {
                display_name: Some(DisplayName::parse("Alice A.").unwrap()),
                is_admin: Some(true),
                is_disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.display_name.as_str(), "Alice A.");
    assert!(updated.is_admin && updated.is_disabled);
    assert_eq!(updated.password_hash, alice.password_hash);
    assert!(updated.updated_at >= alice.updated_at);
    assert_eq!(store.user(alice.id).await.unwrap(), updated);
}

async fn tokens_authenticate_until_expired_or_revoked(store: TestStore) {
    let alice = user(&store, "alice").await;
    let now = Timestamp::now();
    let secret = TokenSecret::generate();
    let token = store
        .create_token(NewToken {
            user_id: alice.id,
            name: TokenName::parse("laptop").unwrap(),
            hash: secret.hash(),
            expires_at: Some(now.saturating_add(std::time::Duration::from_secs(3600))),
        })
        .await
        .unwrap();
    assert_eq!(token.last_used_at, None);
    let (who, used) = store.authenticate_token(&secret.hash(), now).await.unwrap();
    assert_eq!(who.id, alice.id);
    assert_eq!(used.last_used_at, Some(now));
    assert_eq!(
        store.tokens(alice.id).await.unwrap()[0].last_used_at,
        Some(now)
    );

    let later = now.saturating_add(std::time::Duration::from_secs(7200));
    assert!(matches!(
        store.authenticate_token(&secret.hash(), later).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .authenticate_token(&TokenSecret::generate().hash(), now)
            .await,
        Err(StoreError::NotFound { .. })
    ));

    store
        .update_user(
            alice.id,
            UserPatch {
                is_disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        store.authenticate_token(&secret.hash(), now).await.is_err(),
        "disabled users cannot authenticate"
    );
    store
        .update_user(
            alice.id,
            UserPatch {
                is_disabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    store.revoke_token(alice.id, token.id).await.unwrap();
    assert!(store.tokens(alice.id).await.unwrap().is_empty());
    assert!(store.authenticate_token(&secret.hash(), now).await.is_err());
    assert!(matches!(
        store.revoke_token(alice.id, token.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn token_for_unknown_user_is_refused(store: TestStore) {
    let err = store
        .create_token(NewToken {
            user_id: taskflow_core::UserId(4242),
            name: TokenName::parse("x").unwrap(),
            hash: TokenSecret::generate().hash(),
            expires_at: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { entity: "user" }));
}

async fn sessions_authenticate_until_expired_or_ended(store: TestStore) {
    use taskflow_core::user::{NewSession, csrf_token};
    let alice = user(&store, "alice").await;
    let now = Timestamp::now();
    let secret = TokenSecret::generate();
    let csrf = csrf_token();
    let session = store
        .create_session(NewSession {
            user_id: alice.id,
            hash: secret.hash(),
            csrf_token: csrf.clone(),
            expires_at: now.saturating_add(std::time::Duration::from_secs(3600)),
        })
        .await
        .unwrap();
    assert_eq!(
        (session.user_id, session.csrf_token.as_str()),
        (alice.id, csrf.as_str())
    );
    let (who, found) = store
        .authenticate_session(&secret.hash(), now)
        .await
        .unwrap();
    assert_eq!((who.id, found.id), (alice.id, session.id));
    // Each use answers with the use before it, so a caller can tell how long it sat idle.
    let second = now.saturating_add(std::time::Duration::from_secs(120));
    let (_, seen) = store
        .authenticate_session(&secret.hash(), second)
        .await
        .unwrap();
    assert!(seen.last_seen_at < second, "the first use, not this one");
    let third = now.saturating_add(std::time::Duration::from_secs(300));
    let (_, seen) = store
        .authenticate_session(&secret.hash(), third)
        .await
        .unwrap();
    assert!(
        seen.last_seen_at >= second.saturating_sub(std::time::Duration::from_secs(1))
            && seen.last_seen_at < third,
        "the second use"
    );
    // A session token is not an API token, and the reverse.
    assert!(store.authenticate_token(&secret.hash(), now).await.is_err());
    let later = now.saturating_add(std::time::Duration::from_secs(7200));
    assert!(matches!(
        store.authenticate_session(&secret.hash(), later).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.delete_expired_sessions(now).await.unwrap(), 0);
    store
        .update_user(
            alice.id,
            UserPatch {
                is_disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        store
            .authenticate_session(&secret.hash(), now)
            .await
            .is_err(),
        "disabled users are signed out"
    );
    store
        .update_user(
            alice.id,
            UserPatch {
                is_disabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        store
            .authenticate_session(&secret.hash(), now)
            .await
            .is_err(),
        "disabling ended the session; enabling the user does not bring it back"
    );
    assert!(matches!(
        store.delete_session(&secret.hash()).await,
        Err(StoreError::NotFound { .. })
    ));
    // A new password ends every session but the one kept.
    let session = async || {
        let secret = TokenSecret::generate();
        store
            .create_session(NewSession {
                user_id: alice.id,
                hash: secret.hash(),
                csrf_token: csrf_token(),
                expires_at: now.saturating_add(std::time::Duration::from_secs(3600)),
            })
            .await
            .unwrap();
        secret
    };
    let (kept, ended) = (session().await, session().await);
    store
        .update_user(
            alice.id,
            UserPatch {
                password_hash: Some(password_hash()),
                keep_session: Some(kept.hash()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(store.authenticate_session(&kept.hash(), now).await.is_ok());
    assert!(
        store
            .authenticate_session(&ended.hash(), now)
            .await
            .is_err()
    );
    store.delete_session(&kept.hash()).await.unwrap();
    assert!(store.authenticate_session(&kept.hash(), now).await.is_err());
    // Expired sessions are swept.
    let old = TokenSecret::generate();
    store
        .create_session(NewSession {
            user_id: alice.id,
            hash: old.hash(),
            csrf_token: csrf_token(),
            expires_at: now,
        })
        .await
        .unwrap();
    assert_eq!(store.delete_expired_sessions(later).await.unwrap(), 1);
}

/// Login attempts are counted per name at an address and per address, within a window; an
/// attempt past the limit is counted but does not extend the lock; a success clears the
/// name's count and takes itself back from the address's.
async fn login_attempts_are_counted_in_a_window(store: TestStore) {
    let start = Timestamp::now();
    let minute = std::time::Duration::from_secs(60);
    let attempt = |name: &str, address: Option<&str>, at: Timestamp| LoginAttempt {
        username: name.to_owned(),
        address: address.map(str::to_owned),
        at,
        window: minute,
        user_limit: 3,
        address_limit: 10,
    };
    let at = |seconds: u64| start.saturating_add(std::time::Duration::from_secs(seconds));
    let mut seen = Vec::new();
    for s in 0..5 {
        let counts = store
            .count_login_attempt(&attempt("alice", Some("10.0.0.1"), at(s * 10)))
            .await
            .unwrap();
        seen.push((counts.user, counts.address));
    }
    assert_eq!(
        seen,
        [1, 2, 3, 4, 5].map(|n| (n, Some(n))),
        "every attempt is counted, past the limit too"
    );
    // The window runs from the third (last counted within the limit) failure at 20 s: the
    // attempts at 30 s and 40 s did not move it. At 81 s it has passed.
    let counts = store
        .count_login_attempt(&attempt("alice", Some("10.0.0.1"), at(81)))
        .await
        .unwrap();
    assert_eq!(counts.user, 1, "the name's window passed");
    assert_eq!(counts.address, Some(6), "the address's window did not");
    // Without an address only the name is counted, apart from the name at any address.
    let counts = store
        .count_login_attempt(&attempt("alice", None, at(82)))
        .await
        .unwrap();
    assert_eq!(
        counts,
        LoginCounts {
            user: 1,
            address: None
        }
    );

    store
        .login_succeeded("alice", Some("10.0.0.1"))
        .await
        .unwrap();
    let counts = store
        .count_login_attempt(&attempt("alice", Some("10.0.0.1"), at(83)))
        .await
        .unwrap();
    assert_eq!(
        counts,
        LoginCounts {
            user: 1,
            address: Some(6)
        },
        "a success forgets the name there and takes itself back from the address"
    );

    store
        .count_login_attempt(&attempt("bob", Some("10.0.0.2"), at(84)))
        .await
        .unwrap();
    assert_eq!(
        store
            .clear_login_failures(Some("alice"), None)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .clear_login_failures(None, Some("10.0.0.2"))
            .await
            .unwrap(),
        2
    );
    // What is left: the address 10.0.0.1's own count, last failed at 83 s.
    assert_eq!(
        store.delete_expired_login_failures(at(83)).await.unwrap(),
        0
    );
    assert_eq!(
        store.delete_expired_login_failures(at(84)).await.unwrap(),
        1
    );
}

both_backends!(
    sessions_authenticate_until_expired_or_ended,
    create_and_read_users,
    users_are_found_by_many_names_at_once,
    duplicate_username_is_a_conflict,
    update_user_fields,
    tokens_authenticate_until_expired_or_revoked,
    token_for_unknown_user_is_refused,
    login_attempts_are_counted_in_a_window,
);
