//! Configuration shared by every service. Each service flattens [`ServiceConfig`] into its own
//! `clap` parser, naming its address and database variables with [`ServiceDefaults`]; every
//! option is a flag or an environment variable with a working local default, parsed once at
//! start and logged with secrets redacted.

use std::{fmt, marker::PhantomData, net::SocketAddr, time::Duration};

use clap::{Args, ValueEnum};
use shop_contracts::IdentityKey;
use shop_messaging::runtime::MessagingConfig;
use sqlx::{PgPool, migrate::Migrator};

/// Development-only signing key. Anyone can read it here, and mint any identity with it, so
/// the services and the gateway refuse to start with it unless `SHOP_DEVELOPMENT` is on
/// (`shop up` turns it on for what it starts).
pub const DEV_IDENTITY_KEY: &str = "dev-only-identity-key-change-me-0123456789";

/// Refuses the public development key outside development mode (see [`DEV_IDENTITY_KEY`]).
pub fn check_identity_key(key: &IdentityKey, development: bool) -> anyhow::Result<()> {
    if !key.has_secret(DEV_IDENTITY_KEY) {
        return Ok(());
    }
    anyhow::ensure!(
        development,
        "IDENTITY_KEY is not set (or is the public development key): set it to a secret of at least \
         32 bytes shared by the gateway and the services, or set SHOP_DEVELOPMENT=true on a developer's machine"
    );
    // Asked for (SHOP_DEVELOPMENT), and `shop up` says so once in its summary: not a warning
    // from every process.
    tracing::debug!("development mode: the public identity key is accepted");
    Ok(())
}

/// The options every service has under names of its own: where it listens and which
/// database is its own. A service's `Config` implements this and flattens
/// `ServiceConfig<Self>`.
pub trait ServiceDefaults {
    /// The variable of the address to serve HTTP on (`USER_LISTEN_ADDR`), and its default.
    const LISTEN_ADDR_VAR: &'static str;
    const LISTEN_ADDR: &'static str;
    /// The variable of the service's own database (`USER_DATABASE_URL`), and its default.
    const DATABASE_URL_VAR: &'static str;
    const DATABASE_URL: &'static str;
}

/// What every service is configured with; `S` names its address and database variables.
#[derive(Debug, Clone, Args)]
pub struct ServiceConfig<S: ServiceDefaults> {
    /// Address to serve HTTP on.
    #[arg(long, env = S::LISTEN_ADDR_VAR, default_value = S::LISTEN_ADDR)]
    pub listen_addr: SocketAddr,

    /// The service's own database.
    #[arg(long, env = S::DATABASE_URL_VAR, default_value = S::DATABASE_URL)]
    pub database_url: DatabaseUrl,

    /// Secret (at least 32 bytes) shared with the gateway that signs identity tokens.
    #[arg(long, env = "IDENTITY_KEY", default_value = DEV_IDENTITY_KEY, hide_env_values = true,
          value_parser = parse_identity_key)]
    pub identity_key: IdentityKey,

    /// Development mode: allows the public development identity key. Never in production.
    #[arg(long, env = "SHOP_DEVELOPMENT", default_value_t = false)]
    pub development: bool,

    /// Log output: human-readable `pretty` or one JSON object per line.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// Maximum number of pooled database connections.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,

    /// Seconds to let in-flight requests finish after SIGTERM / Ctrl-C.
    #[arg(long, env = "SHUTDOWN_GRACE_SECONDS", default_value_t = 10)]
    pub shutdown_grace_seconds: u64,

    #[command(flatten)]
    pub messaging: MessagingConfig,

    #[arg(skip)]
    defaults: PhantomData<S>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

pub fn parse_identity_key(value: &str) -> Result<IdentityKey, String> {
    IdentityKey::new(value).map_err(|e| e.to_string())
}

impl<S: ServiceDefaults> ServiceConfig<S> {
    /// Connects to the service's database and applies its migrations.
    pub async fn connect_database(&self, migrator: &Migrator) -> anyhow::Result<PgPool> {
        crate::db::connect_and_migrate(&self.database_url, self.database_max_connections, migrator).await
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_seconds)
    }
}

/// A PostgreSQL URL whose `Debug`/`Display` hide the password, so it can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

/// The connection option that sets the schema, URL-encoded: `options=-c search_path=…`.
const SCHEMA_OPTION: &str = "options=-csearch_path%3D";

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The same server with another database name (the path of the URL).
    pub fn with_database(&self, name: &str) -> Self {
        let (base, query) = match self.0.split_once('?') {
            Some((base, query)) => (base, Some(query)),
            None => (self.0.as_str(), None),
        };
        let authority_end = base.find("://").map_or(0, |i| i + 3);
        let server = match base[authority_end..].find('/') {
            Some(slash) => &base[..authority_end + slash],
            None => base,
        };
        let mut url = format!("{server}/{name}");
        if let Some(query) = query {
            url.push('?');
            url.push_str(query);
        }
        Self(url)
    }

    /// The same database, with every connection's tables in `schema` (its `search_path`):
    /// how the monolith stages keep each module's tables apart in one database.
    pub fn with_schema(&self, schema: &str) -> Self {
        let separator = if self.0.contains('?') { '&' } else { '?' };
        Self(format!("{}{separator}{SCHEMA_OPTION}{schema}", self.0))
    }

    /// The schema set by [`DatabaseUrl::with_schema`], if any.
    pub fn schema(&self) -> Option<&str> {
        let (_, query) = self.0.split_once('?')?;
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(SCHEMA_OPTION))
            .filter(|schema| !schema.is_empty())
    }

    /// The database name, if the URL has one.
    pub fn database(&self) -> Option<&str> {
        let base = self.0.split('?').next().unwrap_or_default();
        let after_scheme = base.split_once("://").map_or(base, |(_, rest)| rest);
        after_scheme
            .split_once('/')
            .map(|(_, db)| db)
            .filter(|db| !db.is_empty())
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(Self(s.to_owned()))
        } else {
            Err("must be a postgres:// URL".into())
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return f.write_str(&self.0);
        };
        match rest.split_once('@') {
            Some((credentials, host)) => match credentials.split_once(':') {
                Some((user, _password)) => write!(f, "{scheme}://{user}:***@{host}"),
                None => f.write_str(&self.0),
            },
            None => f.write_str(&self.0),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Base URL of another service (`http://host:port`), kept without a trailing slash so paths
/// can be appended. Logged as the plain URL.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceUrl(String);

impl ServiceUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL of `path` (which starts with `/`) on that service.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

impl std::str::FromStr for ServiceUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s.strip_prefix("http://").or_else(|| s.strip_prefix("https://"));
        match rest {
            Some(authority)
                if !authority.is_empty() && !authority.contains('@') && !authority.contains(char::is_whitespace) =>
            {
                Ok(Self(s.trim_end_matches('/').to_owned()))
            }
            _ => Err("must be an http:// or https:// URL without credentials".into()),
        }
    }
}

impl fmt::Display for ServiceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ServiceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0)
    }
}

/// A credential from the configuration (an API key, say) that `Debug` never prints.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self(value.to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> DatabaseUrl {
        s.parse().unwrap()
    }

    #[test]
    fn passwords_never_reach_the_logs() {
        let u = url("postgres://shop:s3cret@db:5432/users");
        assert_eq!(u.to_string(), "postgres://shop:***@db:5432/users");
        assert!(!format!("{u:?}").contains("s3cret"));
        assert_eq!(
            url("postgres://postgres@127.0.0.1/x").to_string(),
            "postgres://postgres@127.0.0.1/x"
        );
    }

    #[test]
    fn database_name_can_be_swapped() {
        let u = url("postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable");
        assert_eq!(u.database(), Some("postgres"));
        let users = u.with_database("users");
        assert_eq!(
            users.expose(),
            "postgres://postgres@127.0.0.1:5432/users?sslmode=disable"
        );
        assert_eq!(
            url("postgres://h").with_database("orders").expose(),
            "postgres://h/orders"
        );
        assert_eq!(url("postgres://h").database(), None);
    }

    #[test]
    fn service_urls_are_http_without_credentials() {
        let url: ServiceUrl = "http://127.0.0.1:8082/".parse().unwrap();
        assert_eq!(url.join("/internal/x"), "http://127.0.0.1:8082/internal/x");
        assert_eq!(format!("{url:?}"), "\"http://127.0.0.1:8082\"");
        for bad in ["127.0.0.1:8082", "ftp://x", "http://", "http://user:pw@host"] {
            assert!(bad.parse::<ServiceUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_schema_rides_in_the_connection_options() {
        let u = url("postgres://postgres@127.0.0.1:5432/shop");
        assert_eq!(u.schema(), None);
        let orders = u.with_schema("orders");
        assert_eq!(orders.schema(), Some("orders"));
        assert_eq!(orders.database(), Some("shop"));
        assert_eq!(
            url("postgres://h/shop?sslmode=disable").with_schema("users").expose(),
            "postgres://h/shop?sslmode=disable&options=-csearch_path%3Dusers"
        );
    }

    #[test]
    fn the_public_development_key_is_refused_outside_development_mode() {
        let dev = IdentityKey::new(DEV_IDENTITY_KEY).unwrap();
        let error = check_identity_key(&dev, false).unwrap_err().to_string();
        assert!(error.contains("SHOP_DEVELOPMENT"), "{error}");
        assert!(check_identity_key(&dev, true).is_ok());
        let real = IdentityKey::new("a-real-secret-of-enough-bytes-0123456789").unwrap();
        assert!(check_identity_key(&real, false).is_ok());
    }

    #[test]
    fn only_postgres_urls_are_accepted() {
        assert!("mysql://h/db".parse::<DatabaseUrl>().is_err());
    }
}
