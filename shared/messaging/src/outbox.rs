//! The transactional outbox: [`enqueue`] inside the transaction that changes state, and the
//! [`Relay`] that publishes what was committed.

use std::time::{Duration, Instant};

use bytes::Bytes;
use shop_contracts::events::Envelope;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    EventBus, Namespace,
    bus::{BusError, Outgoing, PartlyPublished},
    wakeup::Wakeup,
};

/// Rows per pass: published with all their acknowledgements in flight at once, marked sent in
/// one statement. Large enough that a backlog drains at the broker's speed, small enough that
/// one pass stays a fraction of a second.
const BATCH: i64 = 1_000;
/// Poll this often even without a wakeup: for events committed by another process (a replica
/// whose relay stands by, a command-line tool).
const POLL: Duration = Duration::from_millis(500);
/// While another replica's relay is publishing, try again this soon: the events this process
/// just committed may have missed that relay's pass.
const BUSY_RETRY: Duration = Duration::from_millis(20);
/// Held by the relay that is publishing a database's outbox. One relay at a time keeps the
/// stream in commit order; the relays of other replicas stand by.
const RELAY_LOCK: i64 = i64::from_be_bytes(*b"outboxrl");
const MAX_BACKOFF: Duration = Duration::from_secs(5);
const KEEP_PUBLISHED: Duration = Duration::from_secs(24 * 3600);
/// How often the backlog gauges are refreshed (counting after every pass would cost as much as
/// the pass).
const BACKLOG_EVERY: Duration = Duration::from_secs(1);

/// Stores `envelope` for publication when the surrounding transaction commits; commit it with
/// [`crate::wakeup::commit`], and the relay publishes it at once instead of on its next poll.
pub async fn enqueue(tx: &mut PgConnection, envelope: &Envelope) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO outbox (event_id, subject, envelope) VALUES ($1, $2, $3)",
        envelope.id,
        envelope.event_type,
        sqlx::types::Json(envelope) as _,
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// Stores many envelopes, in order, with one statement (bulk loads such as seeding).
pub async fn enqueue_all(tx: &mut PgConnection, envelopes: &[Envelope]) -> sqlx::Result<()> {
    if envelopes.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "INSERT INTO outbox (event_id, subject, envelope)
         SELECT e.id, e.subject, e.envelope
         FROM UNNEST($1::uuid[], $2::text[], $3::jsonb[]) WITH ORDINALITY AS e(id, subject, envelope, n)
         ORDER BY e.n",
        &envelopes.iter().map(|e| e.id).collect::<Vec<_>>(),
        &envelopes.iter().map(|e| e.event_type.clone()).collect::<Vec<_>>(),
        envelopes.iter().map(sqlx::types::Json).collect::<Vec<_>>() as _,
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// Message headers derived from the envelope: W3C trace context (the flow's correlation id is
/// the trace id; the event id gives the span id) and the correlation id itself.
pub fn headers(envelope: &Envelope) -> Vec<(String, String)> {
    message_headers(envelope.id, envelope.correlation_id, &envelope.event_type)
}

fn message_headers(event_id: Uuid, correlation_id: Uuid, event_type: &str) -> Vec<(String, String)> {
    let trace_id = correlation_id.simple().to_string();
    let span_id = &event_id.simple().to_string()[16..];
    vec![
        ("traceparent".into(), format!("00-{trace_id}-{span_id}-01")),
        ("Shop-Correlation-Id".into(), correlation_id.to_string()),
        ("Shop-Event-Type".into(), event_type.to_owned()),
    ]
}

pub fn outgoing(namespace: &Namespace, envelope: &Envelope) -> Outgoing {
    Outgoing {
        subject: namespace.subject(&envelope.event_type),
        message_id: envelope.id.to_string(),
        headers: headers(envelope),
        payload: Bytes::from(serde_json::to_vec(envelope).expect("envelopes serialize")),
    }
}

/// A pending outbox row, as the relay publishes it: the stored envelope's JSON is sent as it
/// is, not decoded and encoded again.
struct Pending {
    id: i64,
    event_id: Uuid,
    subject: String,
    correlation_id: Uuid,
    envelope: String,
}

impl Pending {
    fn outgoing(&self, namespace: &Namespace) -> Outgoing {
        Outgoing {
            subject: namespace.subject(&self.subject),
            message_id: self.event_id.to_string(),
            headers: message_headers(self.event_id, self.correlation_id, &self.subject),
            payload: Bytes::copy_from_slice(self.envelope.as_bytes()),
        }
    }
}

/// What one pass of the relay did.
enum Pass {
    /// Published this many events (0: none was pending).
    Published(usize),
    /// Another relay of the same outbox holds the lock.
    Busy,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("broker: {0}")]
    Bus(#[from] BusError),
    #[error("broker: {0}")]
    PartlyPublished(#[from] PartlyPublished),
}

/// Publishes committed outbox rows in order and marks them sent. Safe to run in every replica
/// of a service: one publishes at a time (an advisory lock), the others stand by.
pub struct Relay<B> {
    db: PgPool,
    bus: B,
    namespace: Namespace,
    /// Labels of the backlog metrics: the service, e.g. `order`, and its database as
    /// `host:port/name`, which tells one service's several databases (its shards) apart.
    service: &'static str,
    database: String,
    poll: Duration,
}

impl<B: EventBus> Relay<B> {
    pub fn new(db: PgPool, bus: B, namespace: Namespace, service: &'static str) -> Self {
        let options = db.connect_options();
        let database = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        );
        Self {
            database,
            db,
            bus,
            namespace,
            service,
            poll: POLL,
        }
    }

    /// Looks for events this often when no notification comes (500 ms unless changed).
    pub fn polling_every(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// Publishes one batch of pending events; returns how many. Returns 0 while another
    /// relay of the same database is publishing.
    pub async fn publish_pending(&self) -> Result<usize, RelayError> {
        Ok(match self.pass().await? {
            Pass::Published(count) => count,
            Pass::Busy => 0,
        })
    }

    async fn pass(&self) -> Result<Pass, RelayError> {
        let mut tx = self.db.begin().await?;
        // One lock per outbox: the monolith stages keep several modules' outboxes in one
        // database, a schema each. The commit that marks rows sent need not wait for the disk:
        // if a crash loses it, the rows are published again, and the broker drops them as
        // duplicates of the ids it has stored (consumers would too, by their inbox).
        let publishing: bool = sqlx::query_scalar!(
            r#"SELECT pg_try_advisory_xact_lock(hashtextextended(current_schema(), $1))
                      AND set_config('synchronous_commit', 'off', true) = 'off' AS "locked!""#,
            RELAY_LOCK
        )
        .fetch_one(&mut *tx)
        .await?;
        if !publishing {
            return Ok(Pass::Busy);
        }
        let rows = sqlx::query_as!(
            Pending,
            r#"SELECT id, event_id, subject, (envelope->>'correlation_id')::uuid AS "correlation_id!",
                      envelope::text AS "envelope!"
               FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1"#,
            BATCH
        )
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(Pass::Published(0));
        }
        let messages = rows.iter().map(|row| row.outgoing(&self.namespace)).collect();
        // If the broker fails part-way, what it stored for certain is marked sent and the rest
        // is published again on the next pass (anything of it already stored is dropped by the
        // broker as a duplicate).
        let failure = self.bus.publish_all(messages).await.err();
        let stored = failure.as_ref().map_or(rows.len(), |failure| failure.stored);
        let ids: Vec<i64> = rows[..stored].iter().map(|row| row.id).collect();
        sqlx::query!("UPDATE outbox SET published_at = now() WHERE id = ANY($1)", &ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // By type, so a dashboard can tell orders confirmed from orders cancelled.
        for row in &rows[..stored] {
            metrics::counter!("outbox_published_total", "service" => self.service, "event_type" => row.subject.clone())
                .increment(1);
        }
        match failure {
            Some(failure) => Err(failure.into()),
            None => Ok(Pass::Published(stored)),
        }
    }

    /// Records the backlog (count and age of the oldest pending event) in the metrics.
    pub async fn record_backlog(&self) -> Result<(i64, f64), sqlx::Error> {
        let row = sqlx::query!(
            r#"SELECT count(*) AS "pending!", EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS oldest
               FROM outbox WHERE published_at IS NULL"#,
        )
        .fetch_one(&self.db)
        .await?;
        let (pending, oldest) = (row.pending, row.oldest);
        let age = oldest.unwrap_or(0.0);
        let (service, database) = (self.service, self.database.clone());
        metrics::gauge!("outbox_pending_events", "service" => service, "database" => database.clone())
            .set(pending as f64);
        metrics::gauge!("outbox_oldest_pending_age_seconds", "service" => service, "database" => database).set(age);
        Ok((pending, age))
    }

    /// Runs until `shutdown` completes: wakes on every commit of this process
    /// ([`crate::wakeup::committed`]) or poll, and backs off while the database or the broker
    /// is unreachable — events wait, none is lost.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send) {
        tokio::pin!(shutdown);
        let mut wakeup = Wakeup::new();
        let mut streams_ready = false;
        let mut backoff = Duration::from_millis(100);
        let mut last_purge = Instant::now();
        let mut last_measured: Option<Instant> = None;
        loop {
            // Each step may wait on an unreachable broker: never longer than until shutdown.
            let step = async {
                if !streams_ready {
                    // Until the streams exist, nothing can be published; the broker may be down.
                    streams_ready = self.bus.ensure_streams(&self.namespace).await.is_ok();
                }
                self.pass().await
            };
            let pass = tokio::select! {
                () = &mut shutdown => return,
                pass = step => pass,
            };
            let wait = match pass {
                Ok(Pass::Published(n)) if n as i64 == BATCH => Duration::ZERO,
                Ok(Pass::Published(_)) => {
                    backoff = Duration::from_millis(100);
                    self.poll
                }
                Ok(Pass::Busy) => BUSY_RETRY.min(self.poll),
                Err(error) => {
                    streams_ready = false;
                    tracing::warn!(%error, retry_in = ?backoff, "outbox relay cannot publish; events stay queued");
                    let wait = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    wait
                }
            };
            if last_measured.is_none_or(|at| at.elapsed() >= BACKLOG_EVERY) {
                last_measured = Some(Instant::now());
                if let Err(error) = self.record_backlog().await {
                    tracing::warn!(%error, "cannot measure the outbox backlog");
                }
            }
            if last_purge.elapsed() > Duration::from_secs(60) {
                last_purge = Instant::now();
                if let Err(error) = self.purge().await {
                    tracing::warn!(%error, "cannot purge published outbox rows");
                }
            }
            if wait.is_zero() {
                continue;
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = wakeup.wait(wait) => {}
            }
        }
    }

    /// Deletes rows published more than a day ago (kept that long to look into); returns how
    /// many. Rows not yet published are never deleted.
    pub async fn purge(&self) -> sqlx::Result<u64> {
        let deleted = sqlx::query!(
            "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)",
            KEEP_PUBLISHED.as_secs_f64()
        )
        .execute(&self.db)
        .await?;
        Ok(deleted.rows_affected())
    }
}
