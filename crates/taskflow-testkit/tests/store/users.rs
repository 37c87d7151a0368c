use taskflow_core::StoreError;
use taskflow_core::Timestamp;
use taskflow_core::text::{DisplayName, TokenName};
use taskflow_core::user::{NewToken, NewUser, TokenSecret, UserPatch, Username};
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
    store.delete_session(&secret.hash()).await.unwrap();
    assert!(
        store
            .authenticate_session(&secret.hash(), now)
            .await
            .is_err()
    );
    assert!(matches!(
        store.delete_session(&secret.hash()).await,
        Err(StoreError::NotFound { .. })
    ));
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

both_backends!(
    sessions_authenticate_until_expired_or_ended,
    create_and_read_users,
    users_are_found_by_many_names_at_once,
    duplicate_username_is_a_conflict,
    update_user_fields,
    tokens_authenticate_until_expired_or_revoked,
    token_for_unknown_user_is_refused,
);
