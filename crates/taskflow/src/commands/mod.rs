mod backup;
mod dev;
mod migrate;
mod serve;
mod storage;
mod token;
mod user;

use std::io::IsTerminal;
use std::sync::Arc;

use taskflow_core::{Store, StoreError};
use taskflow_store::PgStore;
use taskflow_store::SqliteStore;

use crate::cli::{Command, ConfigCommand, DevCommand, TokenCommand, UserCommand};
use crate::config::{DatabaseUrl, Settings};

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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
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

/// Connects to the configured database; for SQLite, creates the data directory (and the
/// database file's directory) first.
pub async fn connect(settings: &Settings) -> Result<Arc<dyn Store>, CommandError> {
    if let DatabaseUrl::Sqlite(path) = &settings.database_url {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        for dir in [Some(settings.data_dir.as_path()), parent]
            .into_iter()
            .flatten()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| CommandError::new(format!("cannot create {}: {e}", dir.display())))?;
        }
    }
    connect_existing(settings).await
}

/// Connects to the configured database, creating no directory.
pub async fn connect_existing(settings: &Settings) -> Result<Arc<dyn Store>, CommandError> {
    match &settings.database_url {
        DatabaseUrl::Sqlite(path) => {
            let store = SqliteStore::open(path).await.map_err(|e| {
                CommandError::new(format!("cannot open {}: {e}", settings.database_url))
            })?;
            Ok(Arc::new(store))
        }
        DatabaseUrl::Postgres(url) => {
            let store = PgStore::connect(url).await.map_err(|e| {
                CommandError::new(format!("cannot connect to {}: {e}", settings.database_url))
            })?;
            Ok(Arc::new(store))
        }
    }
}

/// Connects and checks the schema is current, so commands never write to a half-made database.
pub async fn connect_migrated(settings: &Settings) -> Result<Arc<dyn Store>, CommandError> {
    let store = connect(settings).await?;
    let current = store.schema_version().await?;
    let latest = store.latest_schema_version();
    match current {
        Some(v) if v == latest => Ok(store),
        Some(v) if v > latest => Err(CommandError::new(format!(
            "the database schema (version {v}) is newer than this taskflow knows (version {latest}); upgrade taskflow"
        ))),
        _ => Err(CommandError::new(format!(
            "the database at {} is not migrated; run `taskflow migrate` first",
            settings.database_url
        ))),
    }
}
