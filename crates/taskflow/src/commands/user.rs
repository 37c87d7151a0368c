use std::path::PathBuf;

use taskflow_core::text::DisplayName;
use taskflow_core::user::{NewUser, Password, Username};

use crate::commands::{CommandError, CommandResult, connect_migrated};
use crate::config::Settings;

/// The first line of a password file, without its line ending.
pub fn read_password_file(path: &PathBuf) -> Result<Password, CommandError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CommandError::new(format!("cannot read {}: {e}", path.display())))?;
    let line = text.lines().next().unwrap_or_default();
    Password::parse(line).map_err(|e| CommandError::new(format!("{}: {e}", path.display())))
}

pub async fn create(
    settings: &Settings,
    username: &str,
    display_name: Option<String>,
    admin: bool,
    password_file: Option<PathBuf>,
) -> CommandResult {
    let username = Username::parse(username).map_err(|e| CommandError::usage(e.to_string()))?;
    let display_name = DisplayName::parse(display_name.unwrap_or_else(|| username.to_string()))
        .map_err(|e| CommandError::usage(e.to_string()))?;
    let (password, generated) = match &password_file {
        Some(path) => (read_password_file(path)?, false),
        None => (Password::generate(), true),
    };
    let store = connect_migrated(settings).await?;
    let user = store
        .create_user(NewUser {
            username,
            display_name,
            password_hash: password.hash(),
            is_admin: admin,
        })
        .await?;
    let role = if user.is_admin {
        "administrator"
    } else {
        "user"
    };
    println!("created {role} {}", user.username);
    if generated {
        println!("password: {}", password.expose());
        println!("(shown only this once; change it after logging in)");
    }
    store.close().await;
    Ok(())
}
