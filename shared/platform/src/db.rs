//! Database access: one pool per service, migrations embedded in the binary and applied at
//! start, and creation of a missing database for the local runner.

use std::time::Duration;

use anyhow::Context;
use sqlx::{
    Connection, PgConnection, PgExecutor, PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::config::DatabaseUrl;

/// One round trip: the database answers a query.
pub async fn ping(db: impl PgExecutor<'_>) -> sqlx::Result<()> {
    sqlx::query_scalar!("SELECT 1 AS one").fetch_one(db).await.map(drop)
}

/// Connects to `url` and applies `migrator` (in the URL's schema, created if missing), failing
/// with one clear line if the database is unreachable instead of retrying forever.
pub async fn connect_and_migrate(
    url: &DatabaseUrl,
    max_connections: u32,
    migrator: &Migrator,
) -> anyhow::Result<PgPool> {
    let pool = connect(url, max_connections).await?;
    ensure_schema(&pool, url).await?;
    migrator
        .run(&pool)
        .await
        .with_context(|| format!("cannot migrate database {url}"))?;
    Ok(pool)
}

/// A pool of at most `max_connections` to `url`, failing with one clear line if the database
/// is unreachable instead of retrying forever.
pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = url.expose().parse().context("invalid database URL")?;
    // One direct connection first: its error says why (refused, no such database, bad
    // password), where the pool would only report a time-out.
    PgConnection::connect_with(&options)
        .await
        .with_context(|| format!("cannot connect to database {url}"))?
        .close()
        .await?;
    PgPoolOptions::new()
        .max_connections(max_connections)
        // While the database is down, a request waits this long for a connection before its
        // 503: short enough to fail fast, long enough to ride out a burst that has every
        // connection busy.
        .acquire_timeout(Duration::from_secs(2))
        .connect_with(options)
        .await
        .with_context(|| format!("cannot connect to database {url}"))
}

/// Creates the database named in `url` if it does not exist yet, connecting to the server's
/// `postgres` database to do so. Returns whether it was created.
///
/// An existing database is only connected to: a deployment's role, which owns its database
/// but may not create databases (or even connect to `postgres`), gets through.
pub async fn ensure_database(url: &DatabaseUrl) -> anyhow::Result<bool> {
    let name = url.database().context("database URL names no database")?;
    match PgConnection::connect(url.expose()).await {
        Ok(conn) => {
            conn.close().await?;
            return Ok(false);
        }
        Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some(UNDEFINED_DATABASE) => {}
        Err(error) => return Err(error).with_context(|| format!("cannot connect to database {url}")),
    }
    let maintenance = url.with_database("postgres");
    let mut conn = PgConnection::connect(maintenance.expose())
        .await
        .with_context(|| format!("cannot connect to PostgreSQL at {maintenance}"))?;
    // Identifiers cannot be bound as parameters; quote it the way PostgreSQL does.
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    match sqlx::raw_sql(&format!("CREATE DATABASE {quoted}"))
        .execute(&mut conn)
        .await
    {
        Ok(_) => Ok(true),
        // Someone else created it meanwhile.
        Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some(DUPLICATE_DATABASE) => Ok(false),
        Err(error) => Err(error).with_context(|| format!("cannot create database {name}")),
    }
}

/// Creates the schema named in `url` ([`DatabaseUrl::with_schema`]) if it does not exist yet;
/// a URL without one has nothing to create.
async fn ensure_schema(pool: &PgPool, url: &DatabaseUrl) -> anyhow::Result<()> {
    let Some(schema) = url.schema() else { return Ok(()) };
    let statement = format!("CREATE SCHEMA IF NOT EXISTS \"{}\"", schema.replace('"', "\"\""));
    sqlx::raw_sql(&statement)
        .execute(pool)
        .await
        .with_context(|| format!("cannot create schema {schema} in {url}"))?;
    Ok(())
}

/// SQLSTATE `invalid_catalog_name`: no database of that name.
const UNDEFINED_DATABASE: &str = "3D000";
/// SQLSTATE `duplicate_database`.
const DUPLICATE_DATABASE: &str = "42P04";

/// Drops the database named in `url` if it exists, disconnecting whoever uses it.
pub async fn drop_database(url: &DatabaseUrl) -> anyhow::Result<()> {
    let name = url.database().context("database URL names no database")?;
    let maintenance = url.with_database("postgres");
    let mut conn = PgConnection::connect(maintenance.expose())
        .await
        .with_context(|| format!("cannot connect to PostgreSQL at {maintenance}"))?;
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .with_context(|| format!("cannot drop database {name}"))?;
    Ok(())
}

/// True when `error` says the database cannot be used right now — down, restarting, the
/// connection lost, or no pooled connection free within the acquire time-out — rather than
/// that the statement itself failed. Such a failure is a 503 to retry, not a 500.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        // Class 08: connection exceptions; 57P0x: the server is shutting down or starting.
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
        _ => false,
    }
}

/// True when `error` is a violation of the named unique or check constraint.
pub fn is_constraint_violation(error: &sqlx::Error, constraint: &str) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.constraint() == Some(constraint))
}
