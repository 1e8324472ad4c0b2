//! The messaging tables (the outbox with its notify trigger, the inbox), shipped once for
//! every service database that publishes events: each service's migrator adds them to its
//! own migrations.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

/// The SQL, byte for byte what the services applied when each kept a copy: databases record
/// its checksum in `_sqlx_migrations`, so it must never change (add a migration instead).
pub const SQL: &str = include_str!("../migrations/messaging.sql");

/// `service`'s own migrations plus the messaging one at `version`, the version it has always
/// had in that service's database.
///
/// # Panics
///
/// If `service` already has a migration at `version`.
pub fn migrator(service: &Migrator, version: i64) -> Migrator {
    assert!(
        service.iter().all(|migration| migration.version != version),
        "the service already has a migration at version {version}"
    );
    let messaging = Migration::new(
        version,
        Cow::Borrowed("messaging"),
        MigrationType::Simple,
        Cow::Borrowed(SQL),
        false,
    );
    let mut migrations: Vec<Migration> = service.iter().cloned().chain([messaging]).collect();
    migrations.sort_by_key(|migration| migration.version);
    Migrator {
        migrations: Cow::Owned(migrations),
        ignore_missing: service.ignore_missing,
        locking: service.locking,
        no_tx: service.no_tx,
    }
}
