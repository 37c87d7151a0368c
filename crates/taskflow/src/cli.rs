use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "taskflow",
    version,
    about = "A self-hosted task tracker that never loses its data"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Settings every command takes. Each also comes from `TASKFLOW_<NAME>` or
/// `TASKFLOW_<NAME>_FILE`; a flag wins over the environment.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// A TOML file of settings (keys as in TASKFLOW_<KEY>, lower-case); the environment and
    /// flags override it
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Root of everything on disk [env: TASKFLOW_DATA_DIR] [default: ./taskflow-data]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://… [env: TASKFLOW_DATABASE_URL] [default: sqlite://<data-dir>/taskflow.db]
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Address `serve` listens on [env: TASKFLOW_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,
    /// How long `serve` lets requests in flight finish after SIGTERM
    /// [env: TASKFLOW_SHUTDOWN_TIMEOUT] [default: 25s]
    #[arg(long, global = true, value_name = "DURATION")]
    pub shutdown_timeout: Option<String>,
    /// A separate address for /metrics [env: TASKFLOW_METRICS_LISTEN] [default: on --listen]
    #[arg(long, global = true, value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    /// Mark the session cookie Secure (HTTPS only) [env: TASKFLOW_COOKIE_SECURE] [default: false]
    #[arg(long, global = true, value_name = "BOOL")]
    pub cookie_secure: Option<String>,
    /// How long a browser login lasts [env: TASKFLOW_SESSION_TTL] [default: 14d]
    #[arg(long, global = true, value_name = "DURATION")]
    pub session_ttl: Option<String>,
    /// The largest attachment accepted, e.g. 100MiB [env: TASKFLOW_MAX_UPLOAD_BYTES] [default: 100MiB]
    #[arg(long, global = true, value_name = "SIZE")]
    pub max_upload_bytes: Option<String>,
    /// Free space the data volume keeps; below it uploads get 507 and /readyz fails
    /// [env: TASKFLOW_MIN_FREE_BYTES] [default: 256MiB]
    #[arg(long, global = true, value_name = "SIZE")]
    pub min_free_bytes: Option<String>,
    /// The most attachment bytes one project may hold, trash included
    /// [env: TASKFLOW_PROJECT_QUOTA_BYTES] [default: no quota]
    #[arg(long, global = true, value_name = "SIZE")]
    pub project_quota_bytes: Option<String>,
    /// Days trashed items are kept before gc purges them [env: TASKFLOW_TRASH_RETENTION_DAYS] [default: 30]
    #[arg(long, global = true, value_name = "DAYS")]
    pub trash_retention_days: Option<String>,
    /// How often `serve` runs gc; "off" disables it [env: TASKFLOW_GC_INTERVAL] [default: 1h]
    #[arg(long, global = true, value_name = "DURATION")]
    pub gc_interval: Option<String>,
    /// How long an unreferenced file is kept before gc may remove it
    /// [env: TASKFLOW_GC_GRACE] [default: 1h]
    #[arg(long, global = true, value_name = "DURATION")]
    pub gc_grace: Option<String>,
    /// Where backups are written and found (the last one is reported by `storage` and on
    /// /metrics) [env: TASKFLOW_BACKUP_DIR] [default: none]
    #[arg(long, global = true, value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
    /// text or json [env: TASKFLOW_LOG_FORMAT] [default: text on a terminal, else json]
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database (under a lock, safe with several replicas), then serve HTTP
    Serve,
    /// Check the configuration and print the effective settings, secrets redacted
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Apply database migrations and exit
    Migrate,
    /// Manage users
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Remove files no attachment refers to, abandoned uploads, expired trash and sessions
    Gc {
        /// Report what would be removed; change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Report disk usage: database, attachments (per project), the data volume
    Storage {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Check the installation (data directory, free space, filesystem, database) and print a
    /// fix for every problem; exits non-zero when a check fails
    Doctor,
    /// Back up the database and attachments into one archive; list, prune and verify archives
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Restore an archive into the configured database and data directory (all or nothing)
    Restore {
        /// The archive (taskflow-….tar.zst)
        archive: PathBuf,
        /// Replace what the target holds
        #[arg(long)]
        force: bool,
    },
    /// Development helpers
    #[command(subcommand, hide = true)]
    Dev(DevCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate every setting and print the effective values and where each came from
    Check,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; prints a generated password once unless --password-file is given
    Create {
        #[arg(long)]
        username: String,
        /// Shown in the UI [default: the username]
        #[arg(long)]
        display_name: Option<String>,
        /// Make the user an administrator
        #[arg(long)]
        admin: bool,
        /// Read the password from this file (first line)
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token and print it once (it is stored hashed)
    Create {
        #[arg(long)]
        username: String,
        /// A name to recognise the token by
        #[arg(long, default_value = "cli")]
        name: String,
        /// Lifetime, e.g. 30d, 12h, 90min [default: never expires]
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        expires_in: Option<std::time::Duration>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Write one consistent archive (database + attachments + manifest); prints its path
    Create {
        /// Directory to write it in [default: TASKFLOW_BACKUP_DIR]
        #[arg(long, value_name = "DIR")]
        output: Option<PathBuf>,
    },
    /// List the archives in a directory, newest first
    List {
        /// [default: TASKFLOW_BACKUP_DIR]
        dir: Option<PathBuf>,
    },
    /// Delete archives that the retention options do not keep
    Prune {
        /// [default: TASKFLOW_BACKUP_DIR]
        dir: Option<PathBuf>,
        /// Keep the newest N archives
        #[arg(long, value_name = "N", default_value_t = 0)]
        keep_last: usize,
        /// Keep the newest archive of each of the last D days that have one
        #[arg(long, value_name = "D", default_value_t = 0)]
        keep_daily: usize,
        /// Keep the newest archive of each of the last W weeks that have one
        #[arg(long, value_name = "W", default_value_t = 0)]
        keep_weekly: usize,
        /// Keep the newest archive of each of the last M months that have one
        #[arg(long, value_name = "M", default_value_t = 0)]
        keep_monthly: usize,
        /// Show what would be deleted; delete nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Check an archive completely: every digest, and a restore into a scratch database
    Verify {
        /// The archive (taskflow-….tar.zst)
        archive: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Fill a project with demo tasks (each with labels, an assignee and activity)
    Seed {
        /// Project key to create or fill
        #[arg(long, default_value = "DEMO")]
        project: String,
        /// How many tasks to create
        #[arg(long, default_value_t = 100)]
        tasks: u64,
    },
}
