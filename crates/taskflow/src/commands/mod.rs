mod backup;
mod dev;
mod migrate;
mod serve;
mod storage;
mod token;
mod user;

// Opening what commands work on: the data directory, the database, the blob store, archives.
mod open;
pub use open::{
    archive, claim_installation, connect_existing, connect_migrated, create_and_connect,
    create_private_dir, existing_data_dir, open_blobs, shelf,
};

use std::io::IsTerminal;

use taskflow_core::StoreError;

use crate::cli::{Command, ConfigCommand, DevCommand, TokenCommand, UserCommand};
use crate::config::Settings;

/// A command's failure: what to tell the operator, and the exit status.
#[derive(Debug)]
pub struct CommandError {
    pub status: u8,
    pub message: String,
}

impl CommandError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            status: 1,
            message: message.into(),
        }
    }

    /// A usage mistake, like a bad setting: exit status 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            status: 2,
            message: message.into(),
        }
    }
}

impl From<StoreError> for CommandError {
    fn from(err: StoreError) -> Self {
        Self::new(err.to_string())
    }
}

pub type CommandResult = Result<(), CommandError>;

/// Turns an operation's failure into the command's, saying what failed.
pub fn failed(what: &str) -> impl FnOnce(taskflow_ops::OpsError) -> CommandError + '_ {
    move |e| CommandError::new(format!("{what}: {e}"))
}

pub fn init_tracing(settings: &Settings, command: &Command) {
    // The server reports what it does; one-shot commands speak only when something is wrong.
    let default = if matches!(command, Command::Serve) {
        "info"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TASKFLOW_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let json = match settings.log_format.as_deref() {
        Some("json") => true,
        Some(_) => false,
        None => !std::io::stderr().is_terminal(),
    };
    // Colour codes only for a person at a terminal, never into a file or a pipe.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

pub async fn run(command: Command, settings: Settings) -> CommandResult {
    match command {
        Command::Serve => serve::run(&settings).await,
        Command::Config(ConfigCommand::Check) => {
            print!("{}", settings.describe());
            Ok(())
        }
        Command::Migrate => migrate::run(&settings).await,
        Command::User(UserCommand::Create {
            username,
            display_name,
            admin,
            password_file,
        }) => user::create(&settings, &username, display_name, admin, password_file).await,
        Command::User(UserCommand::List { json }) => user::list(&settings, json).await,
        Command::User(UserCommand::SetPassword {
            username,
            password_file,
        }) => user::set_password(&settings, &username, password_file).await,
        Command::User(UserCommand::Disable { username }) => {
            user::set_disabled(&settings, &username, true).await
        }
        Command::User(UserCommand::Enable { username }) => {
            user::set_disabled(&settings, &username, false).await
        }
        Command::User(UserCommand::Unlock { username, address }) => {
            user::unlock(&settings, username.as_deref(), address).await
        }
        Command::Token(TokenCommand::Create {
            username,
            name,
            expires_in,
        }) => token::create(&settings, &username, &name, expires_in).await,
        Command::Gc { dry_run } => storage::gc(&settings, dry_run).await,
        Command::Storage { json } => storage::storage(&settings, json).await,
        Command::Doctor => storage::doctor(&settings).await,
        Command::Backup(command) => backup::run(command, &settings).await,
        Command::Restore { archive, force } => backup::restore(&settings, &archive, force).await,
        Command::Dev(DevCommand::Seed { project, tasks }) => {
            dev::seed(&settings, &project, tasks).await
        }
    }
}
