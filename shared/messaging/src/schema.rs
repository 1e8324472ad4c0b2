//! The messaging tables (the outbox, the inbox), shipped once for every service database that
//! publishes events: each service's migrator adds these migrations to its own.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

/// The SQL, byte for byte what the services applied when each kept a copy: databases record
/// its checksum in `_sqlx_migrations`, so it must never change (add a migration instead).
pub const SQL: &str = include_str!("../migrations/messaging.sql");
/// Drops the outbox's notify trigger, which [`SQL`] created: relays are woken in-process.
pub const WAKEUP_SQL: &str = include_str!("../migrations/messaging_wakeup.sql");

/// `service`'s own migrations plus the messaging ones at `versions` ([`SQL`], [`WAKEUP_SQL`]),
/// the versions they have always had in that service's database.
///
/// # Panics
///
/// If `service` already has a migration at one of `versions`.
pub fn migrator(service: &Migrator, versions: [i64; 2]) -> Migrator {
    assert!(
        service.iter().all(|migration| !versions.contains(&migration.version)),
        "the service already has a migration at one of {versions:?}"
    );
    let messaging = [("messaging", SQL), ("messaging wakeup", WAKEUP_SQL)]
        .into_iter()
        .zip(versions)
        .map(|((description, sql), version)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                Cow::Borrowed(sql),
                false,
            )
        });
    let mut migrations: Vec<Migration> = service.iter().cloned().chain(messaging).collect();
    migrations.sort_by_key(|migration| migration.version);
    Migrator {
        migrations: Cow::Owned(migrations),
        ignore_missing: service.ignore_missing,
        locking: service.locking,
        no_tx: service.no_tx,
    }
}
