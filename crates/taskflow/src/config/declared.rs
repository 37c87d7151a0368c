//! Every setting, declared once: its key, flag, environment variable, help line, value name,
//! built-in value and whether it is a secret. `--help`, `config check`, the config file's keys
//! and the table in docs/configuration.md all come from `SETTINGS`.

/// A setting's built-in value.
#[derive(Debug, Clone, Copy)]
pub enum BuiltIn {
    /// This text, parsed as if it had been given.
    Value(&'static str),
    /// No value; the text says what happens then.
    Unset(&'static str),
}

impl BuiltIn {
    pub(super) fn text(self) -> &'static str {
        match self {
            BuiltIn::Value(text) | BuiltIn::Unset(text) => text,
        }
    }
}

/// One setting, declared once: its key (in the config file; `TASKFLOW_<KEY>` and
/// `TASKFLOW_<KEY>_FILE` in the environment), its flag, its default and what it means. The
/// table drives the flags and `--help`, the config file's known keys, `config check`, and a test
/// that `docs/configuration.md` lists exactly these settings.
#[derive(Debug)]
pub struct Setting {
    pub key: &'static str,
    /// `None` for secrets: a command line is visible to every user of the machine.
    pub flag: Option<&'static str>,
    pub value_name: &'static str,
    pub default: BuiltIn,
    pub help: &'static str,
    /// Never shown, only whether it was given.
    pub secret: bool,
}

impl Setting {
    const fn new(
        key: &'static str,
        flag: &'static str,
        value_name: &'static str,
        default: BuiltIn,
        help: &'static str,
    ) -> Self {
        Self {
            key,
            flag: Some(flag),
            value_name,
            default,
            help,
            secret: false,
        }
    }

    const fn secret(key: &'static str, default: BuiltIn, help: &'static str) -> Self {
        Self {
            key,
            flag: None,
            value_name: "",
            default,
            help,
            secret: true,
        }
    }

    pub fn named(key: &str) -> Option<&'static Setting> {
        SETTINGS.iter().find(|s| s.key == key)
    }

    /// `TASKFLOW_<KEY>`.
    pub fn env(&self) -> String {
        format!("TASKFLOW_{}", self.key.to_ascii_uppercase())
    }

    /// The flag's line in `--help`.
    pub fn help_line(&self) -> String {
        format!(
            "{} [env: {}] [default: {}]",
            self.help,
            self.env(),
            self.default.text()
        )
    }
}

use BuiltIn::{Unset, Value};

pub const SETTINGS: &[Setting] = &[
    Setting::new(
        "data_dir",
        "--data-dir",
        "DIR",
        Value("./taskflow-data"),
        "Root of everything on disk",
    ),
    Setting::new(
        "database_url",
        "--database-url",
        "URL",
        Unset("sqlite://<data-dir>/taskflow.db"),
        "sqlite://PATH or postgres://…",
    ),
    Setting::secret(
        "database_password",
        Unset("none"),
        "A PostgreSQL password added to the database URL",
    ),
    Setting::new(
        "database_timeout",
        "--database-timeout",
        "DURATION",
        Value("5s"),
        "How long a request waits for the database (a connection, SQLite's write lock) before answering 503",
    ),
    Setting::new(
        "listen",
        "--listen",
        "ADDR",
        Value("127.0.0.1:8080"),
        "Address `serve` listens on",
    ),
    Setting::new(
        "shutdown_timeout",
        "--shutdown-timeout",
        "DURATION",
        Value("25s"),
        "How long `serve` lets requests in flight finish after SIGTERM",
    ),
    Setting::new(
        "header_timeout",
        "--header-timeout",
        "DURATION",
        Value("20s"),
        "How long a connection may take to send a complete request head, from opening or its last answer; idle connections close after it",
    ),
    Setting::new(
        "body_min_rate",
        "--body-min-rate",
        "SIZE",
        Value("1KiB"),
        "Bytes a second a request body must average after the header timeout, or its connection closes; 0 turns it off",
    ),
    Setting::new(
        "max_connections",
        "--max-connections",
        "N",
        Value("1024"),
        "Connections served at once; more wait to be accepted",
    ),
    Setting::new(
        "max_client_connections",
        "--max-client-connections",
        "N",
        Value("256"),
        "Connections one address may hold at once (trusted proxies excepted); more are answered 503",
    ),
    Setting::new(
        "log_format",
        "--log-format",
        "FORMAT",
        Unset("text on a terminal, else json"),
        "text or json",
    ),
    Setting::secret(
        "admin_password",
        Unset("generated on first start"),
        "The first administrator's password on an empty database",
    ),
    Setting::new(
        "metrics_listen",
        "--metrics-listen",
        "ADDR",
        Unset("none"),
        "A separate address serving /metrics, /healthz and /readyz without credentials",
    ),
    Setting::secret(
        "metrics_token",
        Unset("none: /metrics is off on the main port"),
        "A bearer token /metrics on the main port asks for",
    ),
    Setting::new(
        "metrics_project_keys",
        "--metrics-project-keys",
        "BOOL",
        Value("false"),
        "Name projects by their keys in the per-project metrics (else by number)",
    ),
    Setting::new(
        "cookie_secure",
        "--cookie-secure",
        "BOOL",
        Value("false"),
        "Mark the session cookie Secure (HTTPS only)",
    ),
    Setting::new(
        "session_ttl",
        "--session-ttl",
        "DURATION",
        Value("30d"),
        "How long a browser login lasts at most, used or not",
    ),
    Setting::new(
        "session_idle_timeout",
        "--session-idle-timeout",
        "TIME",
        Value("14d"),
        "How long a browser login may go unused before it ends",
    ),
    Setting::new(
        "members_added_by",
        "--members-added-by",
        "WHO",
        Value("owners"),
        "Who adds people to a project: owners (of that project) or administrators; owners change and remove members either way",
    ),
    Setting::new(
        "trusted_proxies",
        "--trusted-proxies",
        "CIDRS",
        Unset("none: X-Forwarded-For is ignored"),
        "Comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For names the client",
    ),
    Setting::new(
        "max_upload_bytes",
        "--max-upload-bytes",
        "SIZE",
        Value("100MiB"),
        "The largest attachment accepted, e.g. 100MiB",
    ),
    Setting::new(
        "min_free_bytes",
        "--min-free-bytes",
        "SIZE",
        Value("256MiB"),
        "Free space the data volume keeps; below it uploads get 507 and /readyz fails",
    ),
    Setting::new(
        "project_quota_bytes",
        "--project-quota-bytes",
        "SIZE",
        Unset("no quota"),
        "The most attachment bytes one project may hold, trash included",
    ),
    Setting::new(
        "trash_retention_days",
        "--trash-retention-days",
        "DAYS",
        Value("30"),
        "Days trashed items are kept before gc purges them",
    ),
    Setting::new(
        "gc_interval",
        "--gc-interval",
        "DURATION",
        Value("1h"),
        "How often `serve` runs gc; \"off\" disables it",
    ),
    Setting::new(
        "gc_grace",
        "--gc-grace",
        "DURATION",
        Value("1h"),
        "How long an unreferenced file is kept before gc may remove it",
    ),
    Setting::new(
        "backup_dir",
        "--backup-dir",
        "DIR",
        Unset("none"),
        "Where backups are written and found, a directory or s3://bucket/prefix (the last one is reported by `storage` and on /metrics)",
    ),
    Setting::new(
        "s3_bucket",
        "--s3-bucket",
        "BUCKET[/PREFIX]",
        Unset("none: attachments on the data volume"),
        "Keep attachments in this S3-compatible bucket (optionally under a prefix) instead of the data volume",
    ),
    Setting::new(
        "s3_prefix",
        "--s3-prefix",
        "PREFIX",
        Unset("none: the bucket's root"),
        "Key prefix for everything Taskflow stores in the bucket, e.g. teams/ops",
    ),
    Setting::new(
        "s3_endpoint",
        "--s3-endpoint",
        "URL",
        Unset("AWS S3 in s3_region"),
        "The object store's address, e.g. http://garage:3900 or https://minio.example.org",
    ),
    Setting::new(
        "s3_region",
        "--s3-region",
        "REGION",
        Value("us-east-1"),
        "The region requests are signed for (Garage: garage, R2: auto)",
    ),
    Setting::new(
        "s3_path_style",
        "--s3-path-style",
        "BOOL",
        Unset("true with s3_endpoint, else false"),
        "Address the bucket in the path (endpoint/bucket/key) rather than as a host name",
    ),
    Setting::new(
        "s3_connect_timeout",
        "--s3-connect-timeout",
        "TIME",
        Value("3s"),
        "How long to wait for a connection to the object store",
    ),
    Setting::new(
        "s3_timeout",
        "--s3-timeout",
        "DURATION",
        Value("10s"),
        "The longest the object store may go without answering; a hung store is a 503 after it",
    ),
    Setting::secret(
        "s3_access_key_id",
        Unset("from the AWS environment"),
        "The object store's access key id",
    ),
    Setting::secret(
        "s3_secret_access_key",
        Unset("from the AWS environment"),
        "The object store's secret access key",
    ),
];
