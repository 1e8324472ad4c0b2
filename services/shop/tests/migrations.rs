//! The messaging migrations ship once from `shop-messaging`, at the versions each service
//! database has always had them: databases migrated when every service kept its own copy of
//! the first file migrate on without error, changing nothing already applied, and every
//! database ends with the outbox and the inbox and without the notify trigger the first file
//! created.

use std::path::Path;

use shop_testkit::{TempDir, TestDatabase};
use sqlx::{PgPool, migrate::Migrator};

/// The SHA-384 of the messaging migration that databases migrated before it moved recorded.
const RECORDED_CHECKSUM: &str =
    "d49a8bc8a468edbb3eeaf64e811af16113421385771939ba65acbe4051e51ee02f9245f68a4612a331b5a0583cd07686";

/// Each publishing service: its migrator, its own migrations and the versions of the messaging
/// migrations (the tables, then the trigger's removal).
fn services() -> [(&'static str, &'static Migrator, [i64; 2]); 3] {
    [
        ("user", &user_service::MIGRATOR, [2, 4]),
        ("product", &product_service::MIGRATOR, [2, 4]),
        ("order", &order_service::MIGRATOR, [4, 6]),
    ]
}

/// The migrator the service had before: its directory with the messaging file in it.
async fn old_migrator(service: &str, messaging_version: i64, dir: &Path) -> Migrator {
    std::fs::create_dir_all(dir).unwrap();
    let own = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(service);
    for entry in std::fs::read_dir(own).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    let messaging = dir.join(format!("{messaging_version:04}_messaging.sql"));
    std::fs::write(messaging, shop_messaging::schema::SQL).unwrap();
    Migrator::new(dir).await.unwrap()
}

async fn applied(db: &PgPool) -> Vec<(i64, Vec<u8>)> {
    sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations ORDER BY version")
        .fetch_all(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn databases_migrated_by_the_per_service_copies_migrate_on_keeping_what_they_applied() {
    for (service, migrator, [version, wakeup]) in services() {
        let dir = TempDir::new(&format!("old-{service}-migrations"));
        let old = old_migrator(service, version, &dir.path).await;
        let messaging = old.iter().find(|m| m.version == version).unwrap();
        let hex: String = messaging.checksum.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, RECORDED_CHECKSUM, "{service}");

        let (db, _database) = TestDatabase::migrated(&format!("old_{service}"), &old).await;
        let before = applied(&db).await;
        migrator.run(&db).await.unwrap_or_else(|e| panic!("{service}: {e}"));
        let after = applied(&db).await;
        let kept: Vec<_> = after.iter().filter(|(v, _)| *v != wakeup).cloned().collect();
        assert_eq!(kept, before, "{service}");
        assert_eq!(after.len(), before.len() + 1, "{service}");
        let mut versions: Vec<i64> = old.iter().map(|m| m.version).collect();
        versions.push(wakeup);
        versions.sort_unstable();
        assert_eq!(
            migrator.iter().map(|m| m.version).collect::<Vec<_>>(),
            versions,
            "{service}"
        );
        assert_eq!(outbox_tables_and_triggers(&db).await, (2, 0), "{service}");
    }
}

/// The messaging tables in the database, and the notify triggers on its outbox.
async fn outbox_tables_and_triggers(db: &PgPool) -> (i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('outbox', 'inbox')),
                (SELECT count(*) FROM pg_trigger WHERE tgname = 'outbox_notify')",
    )
    .fetch_one(db)
    .await
    .unwrap()
}

#[tokio::test]
async fn fresh_databases_get_the_outbox_and_the_inbox_without_a_notify_trigger() {
    for (service, migrator, _) in services() {
        let (db, _database) = TestDatabase::migrated(&format!("fresh_{service}"), migrator).await;
        assert_eq!(outbox_tables_and_triggers(&db).await, (2, 0), "{service}");
    }
}
