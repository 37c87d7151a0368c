use std::time::Duration;

use taskflow_core::Timestamp;
use taskflow_core::text::TokenName;
use taskflow_core::user::{NewToken, TokenSecret, Username};

use crate::commands::{CommandError, CommandResult, connect_migrated};
use crate::config::Settings;

/// Prints only the token on stdout, so `TOKEN=$(taskflow token create …)` works; the rest
/// goes to stderr.
pub async fn create(
    settings: &Settings,
    username: &str,
    name: &str,
    expires_in: Option<Duration>,
) -> CommandResult {
    let username = Username::parse(username).map_err(|e| CommandError::usage(e.to_string()))?;
    let name = TokenName::parse(name).map_err(|e| CommandError::usage(e.to_string()))?;
    let store = connect_migrated(settings).await?;
    let user = crate::commands::user::named(store.as_ref(), &username).await?;
    let secret = TokenSecret::generate();
    let expires_at = expires_in.map(|d| Timestamp::now().saturating_add(d));
    let token = store
        .create_token(NewToken {
            user_id: user.id,
            name,
            hash: secret.hash(),
            expires_at,
        })
        .await?;
    println!("{}", secret.expose());
    match token.expires_at {
        Some(at) => eprintln!(
            "token '{}' for {} expires {at}; it is shown only this once",
            token.name, user.username
        ),
        None => eprintln!(
            "token '{}' for {} does not expire; it is shown only this once",
            token.name, user.username
        ),
    }
    store.close().await;
    Ok(())
}
