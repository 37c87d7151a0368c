//! Settings: flags > `TASKFLOW_<NAME>` > `TASKFLOW_<NAME>_FILE` > defaults. A bad setting is
//! reported in one line naming it, and the program exits with status 2.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::cli::GlobalArgs;

#[derive(Debug)]
pub struct ConfigError {
    setting: &'static str,
    problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid setting {}: {}", self.setting, self.problem)
    }
}

fn invalid(setting: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        problem: problem.into(),
    }
}

/// Where the database lives. `Debug` and `Display` hide any password in the URL.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    fn parse(setting: &'static str, url: &str) -> Result<Self, ConfigError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(invalid(setting, "sqlite:// URL has no file path"));
            }
            Ok(Self::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else {
            Err(invalid(
                setting,
                "expected a sqlite://PATH or postgres://USER@HOST/DB URL",
            ))
        }
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
    pub log_format: Option<String>,
}

/// Settings only `serve` uses.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub listen: std::net::SocketAddr,
    pub shutdown_timeout: std::time::Duration,
    /// The first administrator's password on an empty database; generated when unset.
    pub admin_password: Option<taskflow_core::user::Password>,
}

impl ServeSettings {
    pub fn resolve(args: &crate::cli::ServeArgs) -> Result<Self, ConfigError> {
        let listen = match &args.listen {
            Some(v) => ("--listen", v.clone()),
            None => (
                "TASKFLOW_LISTEN",
                from_env("TASKFLOW_LISTEN")?.unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
            ),
        };
        let listen = listen.1.parse().map_err(|_| {
            invalid(
                listen.0,
                format!("{:?} is not an address like 127.0.0.1:8080", listen.1),
            )
        })?;
        let timeout = match &args.shutdown_timeout {
            Some(v) => ("--shutdown-timeout", v.clone()),
            None => (
                "TASKFLOW_SHUTDOWN_TIMEOUT",
                from_env("TASKFLOW_SHUTDOWN_TIMEOUT")?.unwrap_or_else(|| "25s".to_owned()),
            ),
        };
        let shutdown_timeout = humantime::parse_duration(&timeout.1)
            .map_err(|e| invalid(timeout.0, format!("{:?}: {e}", timeout.1)))?;
        let admin_password = from_env("TASKFLOW_ADMIN_PASSWORD")?
            .map(taskflow_core::user::Password::parse)
            .transpose()
            .map_err(|e| invalid("TASKFLOW_ADMIN_PASSWORD", e.message))?;
        Ok(Self {
            listen,
            shutdown_timeout,
            admin_password,
        })
    }
}

/// Reads `TASKFLOW_<name>` or the file named by `TASKFLOW_<name>_FILE` (not both).
fn from_env(setting: &'static str) -> Result<Option<String>, ConfigError> {
    let file_var = format!("{setting}_FILE");
    let direct = std::env::var(setting).ok();
    let file = std::env::var_os(&file_var);
    match (direct, file) {
        (Some(_), Some(_)) => Err(invalid(
            setting,
            format!("both {setting} and {file_var} are set; use one"),
        )),
        (Some(v), None) => Ok(Some(v)),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(Path::new(&path)).map_err(|e| {
                invalid(
                    setting,
                    format!("cannot read {file_var}={}: {e}", Path::new(&path).display()),
                )
            })?;
            Ok(Some(text.trim_end_matches(['\n', '\r']).to_owned()))
        }
        (None, None) => Ok(None),
    }
}

impl Settings {
    pub fn resolve(args: &GlobalArgs) -> Result<Self, ConfigError> {
        let data_dir = match &args.data_dir {
            Some(dir) => dir.clone(),
            None => from_env("TASKFLOW_DATA_DIR")?
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("./taskflow-data")),
        };
        if data_dir.as_os_str().is_empty() {
            return Err(invalid("TASKFLOW_DATA_DIR", "must not be empty"));
        }
        let database_url = match &args.database_url {
            Some(url) => DatabaseUrl::parse("--database-url", url)?,
            None => match from_env("TASKFLOW_DATABASE_URL")? {
                Some(url) => DatabaseUrl::parse("TASKFLOW_DATABASE_URL", &url)?,
                None => DatabaseUrl::Sqlite(data_dir.join("taskflow.db")),
            },
        };
        let log_format = from_env("TASKFLOW_LOG_FORMAT")?;
        if let Some(f) = log_format
            .as_deref()
            .filter(|f| !matches!(*f, "text" | "json"))
        {
            return Err(invalid(
                "TASKFLOW_LOG_FORMAT",
                format!("{f:?} is not text or json"),
            ));
        }
        Ok(Self {
            data_dir,
            database_url,
            log_format,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let url = DatabaseUrl::parse("x", "postgres://tf:s3cret@db:5432/taskflow").unwrap();
        assert_eq!(url.to_string(), "postgres://tf:***@db:5432/taskflow");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert!(matches!(url, DatabaseUrl::Postgres(u) if u.contains("s3cret")));
    }

    #[test]
    fn urls_are_checked() {
        assert!(DatabaseUrl::parse("x", "mysql://db").is_err());
        assert!(DatabaseUrl::parse("x", "sqlite://").is_err());
        assert_eq!(
            DatabaseUrl::parse("x", "sqlite://data/t.db").unwrap(),
            DatabaseUrl::Sqlite("data/t.db".into())
        );
    }
}
