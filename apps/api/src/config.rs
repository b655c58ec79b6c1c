//! The service's configuration, read once from the environment at startup.
//! Every variable is listed in the repository's `.env.example`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use env_config::{ConfigError, Vars};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// JSON lines when stderr is not a terminal, text otherwise.
    Auto,
    Json,
    Text,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    pub database_max_connections: u32,
    /// Apply pending migrations at startup (the Kubernetes migration Job runs
    /// them instead and sets this to false).
    pub migrate_on_start: bool,
    /// The built front end (`apps/web/dist`), served when present.
    pub web_dist: Option<PathBuf>,
    pub log_format: LogFormat,
    /// A tracing filter such as `info` or `notes_api=debug,info`.
    pub log_filter: String,
    /// How long in-flight requests get to finish after SIGTERM.
    pub shutdown_grace: Duration,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(&Vars::from_process())
    }

    pub fn from_vars(vars: &Vars) -> Result<Config, ConfigError> {
        let host: IpAddr = vars.parse_or("HOST", IpAddr::from([127, 0, 0, 1]))?;
        let port: u16 = vars.parse_or("PORT", 8080)?;
        let data_dir: PathBuf = vars.parse_or("DATA_DIR", PathBuf::from("data"))?;
        let database_url = match vars.get("DATABASE_URL") {
            Some(url) => {
                let url = url.trim().to_owned();
                if !(url.starts_with("sqlite:")
                    || url.starts_with("postgres://")
                    || url.starts_with("postgresql://"))
                {
                    return Err(ConfigError::Invalid {
                        name: "DATABASE_URL".to_owned(),
                        // The URL may hold a password: never echo it.
                        value: "<redacted>".to_owned(),
                        reason: "expected a sqlite:, postgres:// or postgresql:// URL".to_owned(),
                    });
                }
                url
            }
            None => format!("sqlite://{}?mode=rwc", data_dir.join("notes.db").display()),
        };
        let database_max_connections =
            vars.parse_checked("DATABASE_MAX_CONNECTIONS", 5u32, |n| {
                (1..=100)
                    .contains(n)
                    .then_some(())
                    .ok_or_else(|| "must be between 1 and 100".to_owned())
            })?;
        let migrate_on_start = vars.parse_or("MIGRATE_ON_START", true)?;
        let web_dist = match vars.get("WEB_DIST") {
            Some(dir) => Some(PathBuf::from(dir)),
            None => Some(PathBuf::from("apps/web/dist")).filter(|d| d.is_dir()),
        };
        let log_format = match vars.one_of("LOG_FORMAT", &["auto", "json", "text"], "auto")? {
            "json" => LogFormat::Json,
            "text" => LogFormat::Text,
            _ => LogFormat::Auto,
        };
        let log_filter = vars.get("RUST_LOG").unwrap_or("info").to_owned();
        let shutdown_grace_secs = vars.parse_checked("SHUTDOWN_GRACE_SECONDS", 25u64, |n| {
            (*n <= 600)
                .then_some(())
                .ok_or_else(|| "must be at most 600".to_owned())
        })?;
        Ok(Config {
            listen: SocketAddr::new(host, port),
            database_url,
            database_max_connections,
            migrate_on_start,
            web_dist,
            log_format,
            log_filter,
            shutdown_grace: Duration::from_secs(shutdown_grace_secs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(&Vars::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn defaults_are_a_local_sqlite_file() {
        let c = config(&[("DATA_DIR", "/var/lib/notes")]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite:///var/lib/notes/notes.db?mode=rwc");
        assert_eq!(c.log_format, LogFormat::Auto);
        assert!(c.migrate_on_start);
    }

    #[test]
    fn bad_values_name_the_variable_and_hide_urls() {
        let err = config(&[("PORT", "http")]).unwrap_err().to_string();
        assert!(err.starts_with("PORT=\"http\" is invalid"), "{err}");
        let err = config(&[("DATABASE_URL", "mysql://u:hunter2@h/db")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("DATABASE_URL="), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = config(&[("LOG_FORMAT", "xml")]).unwrap_err().to_string();
        assert!(err.contains("expected one of: auto, json, text"), "{err}");
        let err = config(&[("DATABASE_MAX_CONNECTIONS", "0")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("between 1 and 100"), "{err}");
    }
}
