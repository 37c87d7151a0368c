//! Settings, layered: built-in defaults < config file (`--config`, TOML) < environment
//! (`TASKFLOW_<NAME>`, or `TASKFLOW_<NAME>_FILE` naming a file that holds the value) < flags.
//! A bad setting is reported in one line naming it and where it came from; the program then
//! exits with status 2. Secrets never appear in `Debug` output or in `config check`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use taskflow_core::user::Password;

mod args;
mod declared;
mod parse;

pub use args::GlobalArgs;
pub use declared::{BuiltIn, SETTINGS, Setting};
use parse::*;

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
        if let Some(unknown) = table.keys().find(|k| Setting::named(k).is_none()) {
            let known: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
            return Err(ConfigError {
                setting: format!("{unknown} (in {})", path.display()),
                problem: format!("unknown setting; known settings are {}", known.join(", ")),
            });
        }
        Ok(Self {
            file: Some((path.to_owned(), table)),
        })
    }

    /// The winning value of a setting: its flag, else `TASKFLOW_<KEY>` or
    /// `TASKFLOW_<KEY>_FILE`, else the config file.
    fn get(&self, setting: &Setting, flag: Option<String>) -> Result<Option<Raw>, ConfigError> {
        let key = setting.key;
        if let (Some(value), Some(name)) = (flag, setting.flag) {
            return Ok(Some(Raw {
                key,
                value,
                origin: Origin::Flag(name),
            }));
        }
        let var = setting.env();
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
    /// How long a request waits for the database before answering 503.
    pub database_timeout: Duration,
    pub listen: SocketAddr,
    /// How long requests in flight may take to finish after SIGTERM.
    pub shutdown_timeout: Duration,
    /// See `taskflow_server::ConnectionLimits`.
    pub header_timeout: Duration,
    pub max_connections: usize,
    pub max_client_connections: usize,
    pub body_min_rate: u64,
    pub log_format: Option<String>,
    /// The first administrator's password on an empty database; generated when unset.
    pub admin_password: Option<Password>,
    /// A separate address for `/metrics` (and the health checks), without credentials.
    pub metrics_listen: Option<SocketAddr>,
    /// The bearer token `/metrics` on `listen` asks for; without it (and without
    /// `metrics_listen`) metrics are off.
    pub metrics_token: Option<String>,
    /// Per-project series name projects by key (else by id).
    pub metrics_project_keys: bool,
    /// Mark the session cookie `Secure`: set it when Taskflow is served over HTTPS.
    pub cookie_secure: bool,
    /// How long a browser login lasts.
    pub session_ttl: Duration,
    /// How long a browser login may go unused.
    pub session_idle: Duration,
    /// Only administrators add people to projects.
    pub members_by_administrators: bool,
    /// Peers whose `X-Forwarded-For` names the client (a reverse proxy, an ingress).
    pub trusted_proxies: Vec<ipnet::IpNet>,
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
    /// Attachments in an object store instead of the data volume (`s3_bucket` set).
    pub s3: Option<taskflow_blobs::S3Config>,
    /// Bound PostgreSQL statements by the database timeout (a server's request work); not a
    /// setting: `serve` turns it on for itself.
    pub statement_limits: bool,
    /// Each setting's effective value as `config check` shows it, and where it came from.
    shown: Vec<Shown>,
}

/// A setting's value as `config check` shows it.
#[derive(Debug, Clone)]
struct Shown {
    key: &'static str,
    value: String,
    origin: Origin,
}

/// Takes each setting's winning value through its parser, remembering how to show it.
struct Resolver<'a> {
    layers: Layers,
    args: &'a GlobalArgs,
    shown: Vec<Shown>,
}

impl Resolver<'_> {
    /// `key`'s value: the winning layer's, or the built-in default, through `parse` (whose
    /// error names the problem); `None` when unset without a default. `show` renders a value
    /// for `config check` (secrets are never rendered).
    fn get<T>(
        &mut self,
        key: &'static str,
        parse: impl Fn(&str) -> Result<T, String>,
        show: impl FnOnce(&T) -> String,
    ) -> Result<Option<T>, ConfigError> {
        let setting = Setting::named(key).expect("every setting read is declared");
        let (value, origin) = match self.layers.get(setting, self.args.value(key))? {
            Some(raw) => (
                Some(parse(&raw.value).map_err(|p| raw.invalid(p))?),
                raw.origin,
            ),
            None => match setting.default {
                BuiltIn::Value(text) => (
                    Some(parse(text).expect("built-in defaults are valid")),
                    Origin::Default,
                ),
                BuiltIn::Unset(_) => (None, Origin::Default),
            },
        };
        let text = match &value {
            Some(_) if setting.secret => "<redacted>".to_owned(),
            Some(value) => show(value),
            None => format!("<{}>", setting.default.text()),
        };
        self.shown.push(Shown {
            key,
            value: text,
            origin,
        });
        Ok(value)
    }

    /// Replaces how `key` is shown, for a value that depends on others.
    fn show_as(&mut self, key: &str, value: String) {
        if let Some(shown) = self.shown.iter_mut().find(|s| s.key == key) {
            shown.value = value;
        }
    }
}

impl Settings {
    pub fn resolve(args: &GlobalArgs) -> Result<Self, ConfigError> {
        let mut r = Resolver {
            layers: Layers::load(args.config.as_deref())?,
            args,
            shown: Vec::new(),
        };
        let data_dir = r
            .get("data_dir", path, |p| p.display().to_string())?
            .expect("has a default");
        let database_url = r
            .get("database_url", DatabaseUrl::parse, ToString::to_string)?
            .unwrap_or_else(|| DatabaseUrl::Sqlite(data_dir.join("taskflow.db")));
        // Kubernetes passes the password as TASKFLOW_DATABASE_PASSWORD_FILE from a Secret,
        // beside a URL without one.
        let database_url = r
            .get(
                "database_password",
                |password| database_url.clone().with_password(password),
                |_| String::new(),
            )?
            .unwrap_or(database_url);
        r.show_as("database_url", database_url.to_string());
        let database_timeout = r
            .get("database_timeout", wait, show_duration)?
            .expect("has a default");
        let listen = r
            .get("listen", address("127.0.0.1:8080"), ToString::to_string)?
            .expect("has a default");
        let shutdown_timeout = r
            .get("shutdown_timeout", duration, show_duration)?
            .expect("has a default");
        let header_timeout = r
            .get(
                "header_timeout",
                |v| match duration(v)? {
                    d if d >= Duration::from_secs(1) => Ok(d),
                    _ => Err("must be at least 1 second".to_owned()),
                },
                show_duration,
            )?
            .expect("has a default");
        let max_connections = r
            .get("max_connections", connection_count, ToString::to_string)?
            .expect("has a default");
        let max_client_connections = r
            .get(
                "max_client_connections",
                connection_count,
                ToString::to_string,
            )?
            .expect("has a default");
        let body_min_rate = r
            .get("body_min_rate", parse_size, ToString::to_string)?
            .expect("has a default");
        let log_format = r.get(
            "log_format",
            |v| match v {
                "text" | "json" => Ok(v.to_owned()),
                _ => Err(format!("{v:?} is not text or json")),
            },
            Clone::clone,
        )?;
        let admin_password = r.get(
            "admin_password",
            |v| Password::parse(v).map_err(|e| e.message),
            |_| String::new(),
        )?;
        let metrics_listen = r.get(
            "metrics_listen",
            address("0.0.0.0:9090"),
            ToString::to_string,
        )?;
        let metrics_token = r.get(
            "metrics_token",
            |v| match v.trim() {
                t if t.len() >= 16 && t.bytes().all(|b| b.is_ascii_graphic()) => Ok(t.to_owned()),
                _ => Err("must be at least 16 visible characters (a random string)".to_owned()),
            },
            |_| String::new(),
        )?;
        let metrics_project_keys = r
            .get("metrics_project_keys", boolean, ToString::to_string)?
            .expect("has a default");
        let cookie_secure = r
            .get(
                "cookie_secure",
                |v| match v {
                    "true" | "1" | "yes" => Ok(true),
                    "false" | "0" | "no" => Ok(false),
                    other => Err(format!("{other:?} is not true or false")),
                },
                ToString::to_string,
            )?
            .expect("has a default");
        let session_ttl = r
            .get(
                "session_ttl",
                |v| match duration(v)? {
                    d if d >= Duration::from_secs(60) => Ok(d),
                    _ => Err("must be at least 1 minute".to_owned()),
                },
                show_duration,
            )?
            .expect("has a default");
        let session_idle = r
            .get(
                "session_idle_timeout",
                |v| match duration(v)? {
                    d if d >= Duration::from_secs(60) => Ok(d),
                    _ => Err("must be at least 1 minute".to_owned()),
                },
                show_duration,
            )?
            .expect("has a default");
        let members_by_administrators = r
            .get(
                "members_added_by",
                |v| match v.trim() {
                    "owners" => Ok(false),
                    "administrators" => Ok(true),
                    other => Err(format!("{other:?} is not owners or administrators")),
                },
                |by_admins| {
                    if *by_admins {
                        "administrators"
                    } else {
                        "owners"
                    }
                    .to_owned()
                },
            )?
            .expect("has a default");
        let trusted_proxies = r
            .get("trusted_proxies", parse_networks, |nets| {
                nets.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            })?
            .unwrap_or_default();
        let max_upload_bytes = r
            .get(
                "max_upload_bytes",
                |v| match parse_size(v)? {
                    0 => Err("must be more than 0".to_owned()),
                    n => Ok(n),
                },
                ToString::to_string,
            )?
            .expect("has a default");
        let min_free_bytes = r
            .get("min_free_bytes", parse_size, ToString::to_string)?
            .expect("has a default");
        let project_quota_bytes = r.get("project_quota_bytes", parse_size, ToString::to_string)?;
        let trash_retention_days = r
            .get(
                "trash_retention_days",
                |v| match v.trim().parse::<u32>() {
                    Ok(days) if (1..=36_500).contains(&days) => Ok(days),
                    _ => Err(format!("{v:?} is not a number of days from 1 to 36500")),
                },
                ToString::to_string,
            )?
            .expect("has a default");
        let gc_interval = r
            .get(
                "gc_interval",
                |v| match v.trim() {
                    "off" | "0" => Ok(None),
                    _ => match duration(v)? {
                        d if d >= Duration::from_secs(1) => Ok(Some(d)),
                        _ => Err("must be at least 1 second, or off".to_owned()),
                    },
                },
                |d| d.as_ref().map_or_else(|| "off".to_owned(), show_duration),
            )?
            .expect("has a default");
        let gc_grace = r
            .get("gc_grace", duration, show_duration)?
            .expect("has a default");
        let backup_dir = r.get("backup_dir", backup_location, |p| p.display().to_string())?;
        let s3 = s3_settings(&mut r)?;
        Ok(Self {
            data_dir,
            database_url,
            database_timeout,
            listen,
            shutdown_timeout,
            header_timeout,
            max_connections,
            max_client_connections,
            body_min_rate,
            log_format,
            admin_password,
            metrics_listen,
            metrics_token,
            metrics_project_keys,
            cookie_secure,
            session_ttl,
            session_idle,
            members_by_administrators,
            trusted_proxies,
            max_upload_bytes,
            min_free_bytes,
            project_quota_bytes,
            trash_retention_days,
            gc_interval,
            gc_grace,
            backup_dir,
            s3,
            statement_limits: false,
            shown: r.shown,
        })
    }

    /// The effective settings, one per line, with where each came from; secrets redacted.
    pub fn describe(&self) -> String {
        self.shown
            .iter()
            .map(|s| format!("{} = {:?}  # {}\n", s.key, s.value, s.origin))
            .collect()
    }
}

/// The object store, when `s3_bucket` is set; the other `s3_*` settings without it are a
/// mistake worth stopping for (attachments would silently go to the volume).
fn s3_settings(r: &mut Resolver<'_>) -> Result<Option<taskflow_blobs::S3Config>, ConfigError> {
    use taskflow_blobs::{S3Config, normalise_prefix};
    let location = r.get("s3_bucket", S3Config::location, |(b, p)| format!("{b}/{p}"))?;
    let prefix = r.get("s3_prefix", normalise_prefix, Clone::clone)?;
    let endpoint = r.get(
        "s3_endpoint",
        |v| {
            let v = v.trim().trim_end_matches('/');
            match url::Url::parse(v) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                    Ok(v.to_owned())
                }
                _ => Err(format!("{v:?} is not an http:// or https:// address")),
            }
        },
        Clone::clone,
    )?;
    let region = r
        .get(
            "s3_region",
            |v| match v.trim() {
                "" => Err("must not be empty".to_owned()),
                v => Ok(v.to_owned()),
            },
            Clone::clone,
        )?
        .expect("has a default");
    let path_style = r.get("s3_path_style", boolean, ToString::to_string)?;
    let access_key_id = r.get(
        "s3_access_key_id",
        |v| Ok(v.trim().to_owned()),
        |_| String::new(),
    )?;
    let secret_access_key = r.get(
        "s3_secret_access_key",
        |v| Ok(v.trim().to_owned()),
        |_| String::new(),
    )?;
    let timeouts = taskflow_blobs::S3Timeouts {
        connect: r
            .get("s3_connect_timeout", wait, show_duration)?
            .expect("has a default"),
        response: r
            .get("s3_timeout", wait, show_duration)?
            .expect("has a default"),
    };
    let Some((bucket, bucket_prefix)) = location else {
        let stray = [
            ("s3_prefix", prefix.is_some()),
            ("s3_endpoint", endpoint.is_some()),
            ("s3_path_style", path_style.is_some()),
            ("s3_access_key_id", access_key_id.is_some()),
            ("s3_secret_access_key", secret_access_key.is_some()),
        ];
        if let Some((key, _)) = stray.iter().find(|(_, set)| *set) {
            return Err(ConfigError {
                setting: format!("TASKFLOW_{}", key.to_ascii_uppercase()),
                problem: "set without TASKFLOW_S3_BUCKET: set the bucket to keep attachments in \
                          object storage, or unset this"
                    .to_owned(),
            });
        }
        return Ok(None);
    };
    if access_key_id.is_some() != secret_access_key.is_some() {
        return Err(ConfigError {
            setting: "TASKFLOW_S3_ACCESS_KEY_ID".to_owned(),
            problem: "give both TASKFLOW_S3_ACCESS_KEY_ID and TASKFLOW_S3_SECRET_ACCESS_KEY, or \
                      neither (to use the AWS environment's credentials)"
                .to_owned(),
        });
    }
    let prefix = match (bucket_prefix.is_empty(), prefix) {
        (_, None) => bucket_prefix,
        (true, Some(prefix)) => prefix,
        (false, Some(prefix)) => {
            return Err(ConfigError {
                setting: "TASKFLOW_S3_PREFIX".to_owned(),
                problem: format!(
                    "the prefix is given twice: {bucket}/{bucket_prefix} in TASKFLOW_S3_BUCKET and \
                     {prefix}; use one"
                ),
            });
        }
    };
    r.show_as("s3_bucket", bucket.clone());
    r.show_as("s3_prefix", prefix.clone());
    let path_style = path_style.unwrap_or(endpoint.is_some());
    r.show_as("s3_path_style", path_style.to_string());
    Ok(Some(S3Config {
        endpoint,
        region,
        bucket,
        prefix,
        path_style,
        access_key_id,
        secret_access_key,
        timeouts,
    }))
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

    /// The settings table in docs/configuration.md: (variable, flag / key column).
    fn documented() -> Vec<(String, String)> {
        let docs = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md"),
        )
        .expect("docs/configuration.md");
        docs.lines()
            .filter(|l| l.starts_with("| `TASKFLOW_"))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                (cells[1].trim_matches('`').to_owned(), cells[2].to_owned())
            })
            // The log filter is read by the logger itself, not a setting.
            .filter(|(var, _)| var != "TASKFLOW_LOG")
            .collect()
    }

    #[test]
    fn the_docs_list_exactly_the_declared_settings() {
        let documented = documented();
        let names: Vec<&str> = documented.iter().map(|(v, _)| v.as_str()).collect();
        let declared: Vec<String> = SETTINGS.iter().map(Setting::env).collect();
        assert_eq!(names, declared, "docs/configuration.md's table, in order");
        for (setting, (_, flags)) in SETTINGS.iter().zip(&documented) {
            let expected = match setting.flag {
                Some(flag) => format!("`{flag}` / `{}`", setting.key),
                None => format!("`{}` (no flag", setting.key),
            };
            assert!(
                flags.starts_with(&expected),
                "{}: docs say {flags:?}, expected {expected:?}",
                setting.env()
            );
        }
    }

    #[test]
    fn help_shows_every_flag_with_its_variable_and_default() {
        use clap::CommandFactory;
        let help = crate::cli::Cli::command().render_help().to_string();
        for setting in SETTINGS {
            let var = format!("[env: {}]", setting.env());
            match setting.flag {
                Some(flag) => {
                    let line = help
                        .lines()
                        .find(|l| l.trim_start().starts_with(&format!("{flag} ")))
                        .unwrap_or_else(|| panic!("{flag} missing from --help:\n{help}"));
                    assert!(line.contains(&var), "{line}");
                }
                None => assert!(
                    !help.contains(&var),
                    "a secret has no flag: {}",
                    setting.key
                ),
            }
        }
    }

    #[test]
    fn built_in_defaults_are_valid() {
        // Resolving with nothing set parses every built-in default (it panics if one is not).
        let settings = Settings::resolve(&GlobalArgs::default());
        assert!(settings.is_ok(), "{:?}", settings.err());
    }
}
