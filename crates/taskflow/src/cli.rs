use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::GlobalArgs;

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
        /// The archive (taskflow-….tar.zst, a file or s3://bucket/prefix/taskflow-….tar.zst)
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
    /// List users: name, role, whether enabled, when created
    List {
        /// Print JSON, one array of users
        #[arg(long)]
        json: bool,
    },
    /// Set a user's password (generated and printed once unless --password-file is given);
    /// ends every session of the user
    SetPassword {
        #[arg(long)]
        username: String,
        /// Read the password from this file (first line)
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Disable a user: their sessions end and their API tokens are refused
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled user again
    Enable {
        #[arg(long)]
        username: String,
    },
    /// Clear failed-login counts, so a locked-out name or address may log in again
    #[command(group = clap::ArgGroup::new("whom").required(true).multiple(true).args(["username", "address"]))]
    Unlock {
        /// The name, at every address
        #[arg(long)]
        username: Option<String>,
        /// The client address, under every name (with --username: that name there only)
        #[arg(long, value_name = "IP")]
        address: Option<std::net::IpAddr>,
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
        /// Directory, or s3://bucket/prefix, to write it in [default: TASKFLOW_BACKUP_DIR]
        #[arg(long, value_name = "DIR")]
        output: Option<PathBuf>,
    },
    /// List the archives in a directory (or s3://bucket/prefix), newest first
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
        /// The archive (taskflow-….tar.zst, a file or s3://bucket/prefix/taskflow-….tar.zst)
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
