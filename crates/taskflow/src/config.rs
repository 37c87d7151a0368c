//! Settings, layered: built-in defaults < config file (`--config`, TOML) < environment
//! (`TASKFLOW_<NAME>`, or `TASKFLOW_<NAME>_FILE` naming a file that holds the value) < flags.
//! A bad setting is reported in one line naming it and where it came from; the program then
//! exits with status 2. Secrets never appear in `Debug` output or in `config check`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use taskflow_core::user::Password;

use crate::cli::GlobalArgs;

#[derive(Debug)]
pub struct ConfigError {
    setting: String,
    problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid setting {}: {}", self.setting, self.problem)
    }
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Env(String),
    Flag(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Env(var) => f.write_str(var),
            Origin::Flag(flag) => f.write_str(flag),
        }
    }
}

/// A raw value and its origin, on its way to being parsed.
struct Raw {
    key: &'static str,
    value: String,
    origin: Origin,
}

impl Raw {
    fn invalid(&self, problem: impl Into<String>) -> ConfigError {
        let setting = match &self.origin {
            Origin::Env(var) => var.clone(),
            Origin::Flag(flag) => (*flag).to_owned(),
            Origin::File(path) => format!("{} (in {})", self.key, path.display()),
            Origin::Default => self.key.to_owned(),
        };
        ConfigError {
            setting,
            problem: problem.into(),
        }
    }
}

/// Every key the config file may hold.
const KEYS: &[&str] = &[
    "data_dir",
    "database_url",
    "database_password",
    "listen",
    "shutdown_timeout",
    "log_format",
    "admin_password",
    "metrics_listen",
    "cookie_secure",
    "session_ttl",
    "max_upload_bytes",
    "min_free_bytes",
    "project_quota_bytes",
    "trash_retention_days",
    "gc_interval",
    "gc_grace",
    "backup_dir",
];

struct Layers {
    file: Option<(PathBuf, toml::Table)>,
}

impl Layers {
    fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let Some(path) = path else {
            return Ok(Self { file: None });
        };
        let problem = |p: String| ConfigError {
            setting: "--config".to_owned(),
            problem: p,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| problem(format!("cannot read {}: {e}", path.display())))?;
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            problem(format!("{}: {}", path.display(), e.message()))
        })?;
        if let Some(unknown) = table.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(ConfigError {
                setting: format!("{unknown} (in {})", path.display()),
                problem: format!("unknown setting; known settings are {}", KEYS.join(", ")),
            });
        }
        Ok(Self {
            file: Some((path.to_owned(), table)),
        })
    }

    /// The winning value of `key`: its flag, else `TASKFLOW_<KEY>` or `TASKFLOW_<KEY>_FILE`,
    /// else the config file.
    fn get(
        &self,
        key: &'static str,
        flag: (&'static str, Option<String>),
    ) -> Result<Option<Raw>, ConfigError> {
        if let Some(value) = flag.1 {
            return Ok(Some(Raw {
                key,
                value,
                origin: Origin::Flag(flag.0),
            }));
        }
        let var = format!("TASKFLOW_{}", key.to_ascii_uppercase());
        let file_var = format!("{var}_FILE");
        match (std::env::var(&var).ok(), std::env::var_os(&file_var)) {
            (Some(_), Some(_)) => {
                return Err(ConfigError {
                    setting: var.clone(),
                    problem: format!("both {var} and {file_var} are set; use one"),
                });
            }
            (Some(value), None) => {
                return Ok(Some(Raw {
                    key,
                    value,
                    origin: Origin::Env(var),
                }));
            }
            (None, Some(path)) => {
                let path = PathBuf::from(path);
                let text = std::fs::read_to_string(&path).map_err(|e| ConfigError {
                    setting: file_var.clone(),
                    problem: format!("cannot read {}: {e}", path.display()),
                })?;
                let value = text.trim_end_matches(['\n', '\r']).to_owned();
                return Ok(Some(Raw {
                    key,
                    value,
                    origin: Origin::Env(file_var),
                }));
            }
            (None, None) => {}
        }
        let Some((path, table)) = &self.file else {
            return Ok(None);
        };
        let Some(value) = table.get(key) else {
            return Ok(None);
        };
        let origin = Origin::File(path.clone());
        let value = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => {
                let raw = Raw {
                    key,
                    value: String::new(),
                    origin,
                };
                return Err(raw.invalid("must be a string or a number"));
            }
        };
        Ok(Some(Raw { key, value, origin }))
    }
}

/// Where the database lives. `Debug` and `Display` hide any password in the URL.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    fn parse(url: &str) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err("sqlite:// URL has no file path".to_owned());
            }
            Ok(Self::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else {
            Err("expected a sqlite://PATH or postgres://USER@HOST/DB URL".to_owned())
        }
    }
}

impl DatabaseUrl {
    /// The URL with `password` (percent-encoded) in its user information.
    fn with_password(self, password: &str) -> Result<Self, String> {
        let Self::Postgres(url) = self else {
            return Err("only a postgres:// database has a password".to_owned());
        };
        let (scheme, rest) = url.split_once("://").expect("a postgres URL has a scheme");
        let Some((user, host)) = rest.split_once('@') else {
            return Err("the database URL names no user to give the password to".to_owned());
        };
        if user.contains(':') {
            return Err("the database URL already holds a password".to_owned());
        }
        let encoded: String = password
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        Ok(Self::Postgres(format!(
            "{scheme}://{user}:{encoded}@{host}"
        )))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Self::Postgres(url) => f.write_str(&redact_password(url)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    pub listen: SocketAddr,
    /// How long requests in flight may take to finish after SIGTERM.
    pub shutdown_timeout: Duration,
    pub log_format: Option<String>,
    /// The first administrator's password on an empty database; generated when unset.
    pub admin_password: Option<Password>,
    /// A separate address for `/metrics`; unset, metrics are served on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// Mark the session cookie `Secure`: set it when Taskflow is served over HTTPS.
    pub cookie_secure: bool,
    /// How long a browser login lasts.
    pub session_ttl: Duration,
    pub max_upload_bytes: u64,
    pub min_free_bytes: u64,
    pub project_quota_bytes: Option<u64>,
    pub trash_retention_days: u32,
    /// How often `serve` collects garbage; `None` when off.
    pub gc_interval: Option<Duration>,
    /// Unreferenced blobs younger than this are kept (an upload may be about to commit).
    pub gc_grace: Duration,
    /// Where backups go and are looked for.
    pub backup_dir: Option<PathBuf>,
    /// Where each setting came from, in `KEYS` order, for `config check`.
    pub origins: Vec<(&'static str, Origin)>,
}

impl Settings {
    pub fn resolve(args: &GlobalArgs) -> Result<Self, ConfigError> {
        let layers = Layers::load(args.config.as_deref())?;
        let mut origins = Vec::new();
        let mut take = |key: &'static str,
                        flag: &'static str,
                        value: Option<String>|
         -> Result<Option<Raw>, ConfigError> {
            let raw = layers.get(key, (flag, value))?;
            origins.push((
                key,
                raw.as_ref().map_or(Origin::Default, |r| r.origin.clone()),
            ));
            Ok(raw)
        };

        let data_dir = match take(
            "data_dir",
            "--data-dir",
            args.data_dir.as_ref().map(|p| p.display().to_string()),
        )? {
            Some(raw) if raw.value.is_empty() => return Err(raw.invalid("must not be empty")),
            Some(raw) => PathBuf::from(raw.value),
            None => PathBuf::from("./taskflow-data"),
        };
        let database_url = match take("database_url", "--database-url", args.database_url.clone())?
        {
            Some(raw) => DatabaseUrl::parse(&raw.value).map_err(|p| raw.invalid(p))?,
            None => DatabaseUrl::Sqlite(data_dir.join("taskflow.db")),
        };
        // No flag: command lines are visible to every user of the machine. Kubernetes passes it
        // as TASKFLOW_DATABASE_PASSWORD_FILE from a Secret, beside a URL without a password.
        let database_url = match take("database_password", "(no flag)", None)? {
            Some(raw) => database_url
                .with_password(&raw.value)
                .map_err(|p| raw.invalid(p))?,
            None => database_url,
        };
        let listen = match take("listen", "--listen", args.listen.clone())? {
            Some(raw) => raw.value.parse().map_err(|_| {
                raw.invalid(format!(
                    "{:?} is not an address like 127.0.0.1:8080",
                    raw.value
                ))
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let shutdown_timeout = match take(
            "shutdown_timeout",
            "--shutdown-timeout",
            args.shutdown_timeout.clone(),
        )? {
            Some(raw) => humantime::parse_duration(&raw.value)
                .map_err(|e| raw.invalid(format!("{:?}: {e}", raw.value)))?,
            None => Duration::from_secs(25),
        };
        let log_format = match take("log_format", "--log-format", args.log_format.clone())? {
            Some(raw) if matches!(raw.value.as_str(), "text" | "json") => Some(raw.value),
            Some(raw) => return Err(raw.invalid(format!("{:?} is not text or json", raw.value))),
            None => None,
        };
        // No flag: a password on a command line is visible to every user of the machine.
        let admin_password = match take("admin_password", "(no flag)", None)? {
            Some(raw) => {
                Some(Password::parse(raw.value.clone()).map_err(|e| raw.invalid(e.message))?)
            }
            None => None,
        };
        let metrics_listen = match take(
            "metrics_listen",
            "--metrics-listen",
            args.metrics_listen.clone(),
        )? {
            Some(raw) => Some(raw.value.parse().map_err(|_| {
                raw.invalid(format!(
                    "{:?} is not an address like 0.0.0.0:9090",
                    raw.value
                ))
            })?),
            None => None,
        };
        let cookie_secure = match take(
            "cookie_secure",
            "--cookie-secure",
            args.cookie_secure.clone(),
        )? {
            Some(raw) => match raw.value.as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                other => return Err(raw.invalid(format!("{other:?} is not true or false"))),
            },
            None => false,
        };
        let session_ttl = match take("session_ttl", "--session-ttl", args.session_ttl.clone())? {
            Some(raw) => match humantime::parse_duration(&raw.value) {
                Ok(d) if d >= Duration::from_secs(60) => d,
                Ok(_) => return Err(raw.invalid("must be at least 1 minute")),
                Err(e) => return Err(raw.invalid(format!("{:?}: {e}", raw.value))),
            },
            None => Duration::from_secs(14 * 24 * 3600),
        };
        let size = |raw: &Raw| parse_size(&raw.value).map_err(|p| raw.invalid(p));
        let max_upload_bytes = match take(
            "max_upload_bytes",
            "--max-upload-bytes",
            args.max_upload_bytes.clone(),
        )? {
            Some(raw) => match size(&raw)? {
                0 => return Err(raw.invalid("must be more than 0")),
                n => n,
            },
            None => 100 << 20,
        };
        let min_free_bytes = match take(
            "min_free_bytes",
            "--min-free-bytes",
            args.min_free_bytes.clone(),
        )? {
            Some(raw) => size(&raw)?,
            None => 256 << 20,
        };
        let project_quota_bytes = match take(
            "project_quota_bytes",
            "--project-quota-bytes",
            args.project_quota_bytes.clone(),
        )? {
            Some(raw) => Some(size(&raw)?),
            None => None,
        };
        let trash_retention_days = match take(
            "trash_retention_days",
            "--trash-retention-days",
            args.trash_retention_days.clone(),
        )? {
            Some(raw) => match raw.value.trim().parse::<u32>() {
                Ok(days) if (1..=36_500).contains(&days) => days,
                _ => {
                    return Err(raw.invalid(format!(
                        "{:?} is not a number of days from 1 to 36500",
                        raw.value
                    )));
                }
            },
            None => 30,
        };
        let gc_interval = match take("gc_interval", "--gc-interval", args.gc_interval.clone())? {
            Some(raw) if matches!(raw.value.trim(), "off" | "0") => None,
            Some(raw) => match humantime::parse_duration(raw.value.trim()) {
                Ok(d) if d >= Duration::from_secs(1) => Some(d),
                Ok(_) => return Err(raw.invalid("must be at least 1 second, or off")),
                Err(e) => return Err(raw.invalid(format!("{:?}: {e}", raw.value))),
            },
            None => Some(Duration::from_secs(3600)),
        };
        let gc_grace = match take("gc_grace", "--gc-grace", args.gc_grace.clone())? {
            Some(raw) => humantime::parse_duration(raw.value.trim())
                .map_err(|e| raw.invalid(format!("{:?}: {e}", raw.value)))?,
            None => Duration::from_secs(3600),
        };
        let backup_dir = match take(
            "backup_dir",
            "--backup-dir",
            args.backup_dir.as_ref().map(|p| p.display().to_string()),
        )? {
            Some(raw) if raw.value.is_empty() => return Err(raw.invalid("must not be empty")),
            Some(raw) => Some(PathBuf::from(raw.value)),
            None => None,
        };
        Ok(Self {
            backup_dir,
            max_upload_bytes,
            min_free_bytes,
            project_quota_bytes,
            trash_retention_days,
            gc_interval,
            gc_grace,
            data_dir,
            database_url,
            listen,
            shutdown_timeout,
            log_format,
            admin_password,
            metrics_listen,
            cookie_secure,
            session_ttl,
            origins,
        })
    }

    /// The effective settings, one per line, with where each came from; secrets redacted.
    pub fn describe(&self) -> String {
        let value = |key: &str| -> String {
            match key {
                "data_dir" => self.data_dir.display().to_string(),
                "database_url" => self.database_url.to_string(),
                "database_password" => {
                    let given = self
                        .origins
                        .iter()
                        .any(|(k, o)| *k == "database_password" && *o != Origin::Default);
                    if given {
                        "<redacted, in database_url>"
                    } else {
                        "<none>"
                    }
                    .to_owned()
                }
                "listen" => self.listen.to_string(),
                "shutdown_timeout" => humantime::format_duration(self.shutdown_timeout).to_string(),
                "log_format" => self
                    .log_format
                    .clone()
                    .unwrap_or_else(|| "text on a terminal, else json".to_owned()),
                "admin_password" => match self.admin_password {
                    Some(_) => "<redacted>".to_owned(),
                    None => "<generated on first start>".to_owned(),
                },
                "metrics_listen" => self
                    .metrics_listen
                    .map_or_else(|| "<on listen>".to_owned(), |a| a.to_string()),
                "cookie_secure" => self.cookie_secure.to_string(),
                "session_ttl" => humantime::format_duration(self.session_ttl).to_string(),
                "max_upload_bytes" => self.max_upload_bytes.to_string(),
                "min_free_bytes" => self.min_free_bytes.to_string(),
                "project_quota_bytes" => self
                    .project_quota_bytes
                    .map_or_else(|| "<no quota>".to_owned(), |q| q.to_string()),
                "trash_retention_days" => self.trash_retention_days.to_string(),
                "gc_interval" => self.gc_interval.map_or_else(
                    || "off".to_owned(),
                    |d| humantime::format_duration(d).to_string(),
                ),
                "gc_grace" => humantime::format_duration(self.gc_grace).to_string(),
                "backup_dir" => self
                    .backup_dir
                    .as_ref()
                    .map_or_else(|| "<none>".to_owned(), |d| d.display().to_string()),
                _ => String::new(),
            }
        };
        self.origins
            .iter()
            .map(|(key, origin)| format!("{key} = {:?}  # {origin}\n", value(key)))
            .collect()
    }
}

/// A size in bytes: `1048576`, `512KiB`, `100MiB`, `2GiB`, `1.5GB` (decimal units), `10 MB`.
fn parse_size(value: &str) -> Result<u64, String> {
    let value = value.trim();
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        _ => return Err(format!("{value:?} is not a size like 100MiB or 1048576")),
    };
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{value:?} is not a size like 100MiB or 1048576"))?;
    let bytes = number * multiplier as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("{value:?} is out of range"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("100MiB"), Ok(100 << 20));
        assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("0"), Ok(0));
        for bad in ["", "-1", "ten", "5 parsecs", "1e9"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_never_show() {
        let url = DatabaseUrl::parse("postgres://tf:s3cret@db:5432/taskflow").unwrap();
        assert_eq!(url.to_string(), "postgres://tf:***@db:5432/taskflow");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert!(matches!(url, DatabaseUrl::Postgres(u) if u.contains("s3cret")));
    }

    #[test]
    fn a_separate_password_joins_the_url() {
        let url = DatabaseUrl::parse("postgres://tf@db:5432/taskflow").unwrap();
        assert_eq!(
            url.with_password("p@ss:w/rd").unwrap(),
            DatabaseUrl::Postgres("postgres://tf:p%40ss%3Aw%2Frd@db:5432/taskflow".to_owned())
        );
        let with = DatabaseUrl::parse("postgres://tf:x@db/taskflow").unwrap();
        assert!(with.with_password("y").is_err());
        let sqlite = DatabaseUrl::parse("sqlite://t.db").unwrap();
        assert!(sqlite.with_password("y").is_err());
    }

    #[test]
    fn urls_are_checked() {
        assert!(DatabaseUrl::parse("mysql://db").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/t.db").unwrap(),
            DatabaseUrl::Sqlite("data/t.db".into())
        );
    }
}
