use std::path::PathBuf;

use taskflow_core::text::DisplayName;
use taskflow_core::user::{NewUser, Password, User, UserPatch, Username};
use taskflow_core::{Store, StoreError};

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
    let (password, generated) = password_from(password_file.as_ref())?;
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
        print_generated(&password);
    }
    store.close().await;
    Ok(())
}

/// The password from `--password-file`, or a generated one (true) to print once.
fn password_from(file: Option<&PathBuf>) -> Result<(Password, bool), CommandError> {
    match file {
        Some(path) => Ok((read_password_file(path)?, false)),
        None => Ok((Password::generate(), true)),
    }
}

fn print_generated(password: &Password) {
    println!("password: {}", password.expose());
    println!("(shown only this once; change it after logging in)");
}

fn parse_username(name: &str) -> Result<Username, CommandError> {
    Username::parse(name).map_err(|e| CommandError::usage(e.to_string()))
}

/// The user with this name, or an error naming it.
pub async fn named(store: &dyn Store, name: &Username) -> Result<User, CommandError> {
    match store.user_by_username(name).await {
        Ok(user) => Ok(user),
        Err(StoreError::NotFound { .. }) => Err(CommandError::new(format!(
            "no user named '{name}'; `taskflow user list` shows who there is"
        ))),
        Err(e) => Err(e.into()),
    }
}

pub async fn list(settings: &Settings, json: bool) -> CommandResult {
    let store = connect_migrated(settings).await?;
    let users = store.list_users().await?;
    store.close().await;
    if json {
        let out =
            serde_json::to_string_pretty(&users).map_err(|e| CommandError::new(e.to_string()))?;
        println!("{out}");
        return Ok(());
    }
    let width = users
        .iter()
        .map(|u| u.username.as_str().len())
        .max()
        .unwrap_or(0)
        .max("USERNAME".len());
    println!(
        "{:<width$}  {:<13}  {:<8}  {:<10}  NAME",
        "USERNAME", "ROLE", "STATE", "CREATED"
    );
    for user in &users {
        let role = if user.is_admin {
            "administrator"
        } else {
            "user"
        };
        let state = if user.is_disabled {
            "disabled"
        } else {
            "enabled"
        };
        let created = user.created_at.to_string();
        println!(
            "{:<width$}  {role:<13}  {state:<8}  {:<10}  {}",
            user.username.as_str(),
            created.get(..10).unwrap_or(&created),
            user.display_name.as_str()
        );
    }
    Ok(())
}

/// Applies `patch` to the named user; returns the user as they were.
async fn change(
    settings: &Settings,
    username: &Username,
    patch: UserPatch,
) -> Result<User, CommandError> {
    let store = connect_migrated(settings).await?;
    let user = named(store.as_ref(), username).await?;
    store.update_user(user.id, patch).await?;
    store.close().await;
    Ok(user)
}

pub async fn set_password(
    settings: &Settings,
    username: &str,
    password_file: Option<PathBuf>,
) -> CommandResult {
    let username = parse_username(username)?;
    let (password, generated) = password_from(password_file.as_ref())?;
    let patch = UserPatch {
        password_hash: Some(password.hash()),
        ..UserPatch::default()
    };
    change(settings, &username, patch).await?;
    println!("set the password of {username}; their sessions have ended");
    if generated {
        print_generated(&password);
    }
    Ok(())
}

pub async fn set_disabled(settings: &Settings, username: &str, disabled: bool) -> CommandResult {
    let username = parse_username(username)?;
    let patch = UserPatch {
        is_disabled: Some(disabled),
        ..UserPatch::default()
    };
    let before = change(settings, &username, patch).await?;
    match (disabled, before.is_disabled) {
        (true, _) => println!(
            "disabled {username}: their sessions have ended and their API tokens are refused"
        ),
        (false, true) => println!("enabled {username}"),
        (false, false) => println!("{username} was already enabled"),
    }
    Ok(())
}

pub async fn unlock(
    settings: &Settings,
    username: Option<&str>,
    address: Option<std::net::IpAddr>,
) -> CommandResult {
    // Counts are kept under the name as typed at login, trimmed and lowercased.
    let name = username.map(|n| n.trim().to_lowercase());
    let address = address.map(|a| a.to_string());
    let whom = match (&name, &address) {
        (Some(name), Some(address)) => format!("{name} at {address}"),
        (Some(name), None) => name.clone(),
        (None, Some(address)) => address.clone(),
        (None, None) => return Err(CommandError::usage("name --username, --address or both")),
    };
    let store = connect_migrated(settings).await?;
    let cleared = store
        .clear_login_failures(name.as_deref(), address.as_deref())
        .await?;
    store.close().await;
    if cleared == 0 {
        println!("{whom} had no failed logins counted");
    } else {
        println!(
            "cleared {cleared} failed-login count(s) for {whom}; logins are no longer delayed or refused"
        );
    }
    Ok(())
}
