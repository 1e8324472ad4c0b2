//! Reads from a streaming replica, writes to the primary: the read/write split. A service that
//! has read-only queries worth moving (the catalog's listings, say) flattens
//! [`ReadReplicaConfig`] into its configuration, keeps the [`ReadPool`] it builds next to its
//! write pool, and its read handlers take [`ReadDb`] instead of the primary's pool.
//!
//! A replica replays the primary's WAL a little later than the primary commits it, so a read
//! there can miss a write that has already been answered. For the writer that is a bug (an
//! administrator changes a price and sees the old one); for everyone else it is the lag the
//! split trades for capacity. So the pool remembers, for each signed-in caller, the primary's
//! WAL position after their last successful write ([`remember_writes`], a middleware on the
//! service's router), for a short window; a read by that caller goes to the replica only once
//! the replica has replayed that far (`pg_last_wal_replay_lsn()`), and to the primary until then.
//! The memory is the process's: with several instances of a service, a caller whose next
//! request lands on another instance is not covered (see docs/stages/05-read-replica.md).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use axum::{
    extract::{FromRef, FromRequestParts, Request, State},
    http::{Extensions, HeaderMap, request::Parts},
    middleware::Next,
    response::Response,
};
use clap::{Args, ValueEnum};
use shop_contracts::{IdentityKey, identity::IDENTITY_HEADER};
use sqlx::PgPool;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::{ApiError, config::DatabaseUrl, db};

/// The variable naming a service's replica (`PRODUCT_DATABASE_READ_URL`).
pub trait ReadReplicaDefaults {
    const DATABASE_READ_URL_VAR: &'static str;
}

/// Where a service's read-only queries go.
#[derive(Debug, Clone, Args)]
pub struct ReadReplicaConfig<S: ReadReplicaDefaults> {
    /// A streaming replica (hot standby) of the service's database, for its read-only queries.
    /// Unset: everything goes to the primary.
    #[arg(long, env = S::DATABASE_READ_URL_VAR)]
    pub database_read_url: Option<DatabaseUrl>,

    /// What to do when the replica cannot be reached at start: `none` refuses to start, `primary`
    /// reads from the primary instead, with a warning.
    #[arg(long, env = "DATABASE_READ_FALLBACK", value_enum, default_value_t = ReadFallback::None)]
    pub database_read_fallback: ReadFallback,

    /// Read-your-writes: a signed-in caller who wrote reads from the primary until the replica
    /// has replayed the write. Off only to show what replication lag does without it.
    #[arg(long, env = "DATABASE_READ_YOUR_WRITES", default_value_t = true, action = clap::ArgAction::Set)]
    pub read_your_writes: bool,

    /// How long after a write its caller's reads wait for the replica to replay it.
    #[arg(long, env = "DATABASE_READ_YOUR_WRITES_SECONDS", default_value_t = 10)]
    pub read_your_writes_seconds: u64,

    #[arg(skip)]
    defaults: std::marker::PhantomData<S>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReadFallback {
    None,
    Primary,
}

impl<S: ReadReplicaDefaults> ReadReplicaConfig<S> {
    /// The read pool over `primary`: the replica's, when one is configured and reachable.
    pub async fn connect(&self, primary: &PgPool, max_connections: u32) -> anyhow::Result<ReadPool> {
        let Some(url) = &self.database_read_url else {
            return Ok(ReadPool::primary_only(primary.clone()));
        };
        let window = Duration::from_secs(self.read_your_writes_seconds);
        match connect_replica(url, max_connections).await {
            Ok(replica) => {
                tracing::info!(replica = %url, read_your_writes = self.read_your_writes, "reads go to the replica");
                Ok(ReadPool::split(primary.clone(), replica, self.read_your_writes.then_some(window)))
            }
            Err(error) if self.database_read_fallback == ReadFallback::Primary => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "the read replica ({}) cannot be used; reading from the primary (DATABASE_READ_FALLBACK=primary)",
                    S::DATABASE_READ_URL_VAR
                );
                Ok(ReadPool::primary_only(primary.clone()))
            }
            Err(error) => Err(error.context(format!(
                "the read replica ({}) cannot be used; set DATABASE_READ_FALLBACK=primary to read from the primary instead",
                S::DATABASE_READ_URL_VAR
            ))),
        }
    }
}

async fn connect_replica(url: &DatabaseUrl, max_connections: u32) -> anyhow::Result<PgPool> {
    let pool = db::connect(url, max_connections).await?;
    let standby: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(&pool)
        .await
        .with_context(|| format!("cannot query database {url}"))?;
    if !standby {
        tracing::warn!(replica = %url, "the read replica is not a standby: it takes the reads, but nothing replicates to it");
    }
    Ok(pool)
}

/// The pools a service reads from: the primary, and its replica if it has one.
#[derive(Clone)]
pub struct ReadPool {
    primary: PgPool,
    replica: Option<Arc<Replica>>,
}

struct Replica {
    pool: PgPool,
    /// Recent writes per caller, when read-your-writes is on.
    writes: Option<RecentWrites>,
    /// The highest WAL position the replica was last seen to have replayed.
    replayed: AtomicU64,
}

struct RecentWrites {
    window: Duration,
    by_caller: Mutex<HashMap<Uuid, (Lsn, Instant)>>,
}

/// Callers remembered at most; past it, those whose window has passed are forgotten.
const REMEMBERED_CALLERS: usize = 10_000;

impl ReadPool {
    /// Every read from the primary: no replica.
    pub fn primary_only(primary: PgPool) -> Self {
        Self { primary, replica: None }
    }

    /// Reads from `replica`; with a `window`, a caller's reads within it after their write wait
    /// for the replica to replay it (read-your-writes).
    pub fn split(primary: PgPool, replica: PgPool, window: Option<Duration>) -> Self {
        Self {
            primary,
            replica: Some(Arc::new(Replica {
                pool: replica,
                writes: window.map(|window| RecentWrites {
                    window,
                    by_caller: Mutex::default(),
                }),
                replayed: AtomicU64::new(0),
            })),
        }
    }

    /// The pool for a read by `caller` (None: anonymous).
    pub async fn for_caller(&self, caller: Option<Uuid>) -> &PgPool {
        let Some(replica) = &self.replica else {
            return &self.primary;
        };
        let written = caller
            .zip(replica.writes.as_ref())
            .and_then(|(caller, writes)| writes.last(caller));
        let (pool, target, reason) = match written {
            None => (&replica.pool, "replica", "no recent write"),
            Some(lsn) if replica.has_replayed(lsn).await => (&replica.pool, "replica", "write replayed"),
            Some(_) => (&self.primary, "primary", "write not replayed yet"),
        };
        metrics::counter!("database_reads_total", "pool" => target, "reason" => reason).increment(1);
        pool
    }

    /// Whether a caller's writes are remembered: a replica, with read-your-writes on.
    fn remembers_writes(&self) -> bool {
        self.replica.as_ref().is_some_and(|replica| replica.writes.is_some())
    }

    /// Remembers where the primary's WAL is now as `caller`'s last write.
    async fn remember_write(&self, caller: Uuid) {
        let Some(writes) = self.replica.as_ref().and_then(|replica| replica.writes.as_ref()) else {
            return;
        };
        match current_lsn(&self.primary).await {
            Ok(lsn) => writes.remember(caller, lsn),
            // The caller may then read their write late: said, not failed (the write is done).
            Err(error) => tracing::warn!(%error, "cannot read the primary's WAL position after a write"),
        }
    }
}

impl Replica {
    async fn has_replayed(&self, lsn: Lsn) -> bool {
        if self.replayed.load(Ordering::Relaxed) >= lsn.0 {
            return true;
        }
        let replayed: sqlx::Result<Option<String>> = sqlx::query_scalar("SELECT pg_last_wal_replay_lsn()::text")
            .fetch_one(&self.pool)
            .await;
        // A replica that cannot say (down, or not a standby) is not trusted with the read.
        let Some(replayed) = replayed.ok().flatten().and_then(|text| Lsn::parse(&text)) else {
            return false;
        };
        self.replayed.fetch_max(replayed.0, Ordering::Relaxed);
        replayed >= lsn
    }
}

impl RecentWrites {
    fn last(&self, caller: Uuid) -> Option<Lsn> {
        let by_caller = self.by_caller.lock().expect("not poisoned");
        by_caller
            .get(&caller)
            .filter(|(_, at)| at.elapsed() < self.window)
            .map(|(lsn, _)| *lsn)
    }

    fn remember(&self, caller: Uuid, lsn: Lsn) {
        let mut by_caller = self.by_caller.lock().expect("not poisoned");
        if by_caller.len() >= REMEMBERED_CALLERS {
            by_caller.retain(|_, (_, at)| at.elapsed() < self.window);
        }
        by_caller.insert(caller, (lsn, Instant::now()));
    }
}

/// The primary's WAL position after the caller's commit.
async fn current_lsn(primary: &PgPool) -> anyhow::Result<Lsn> {
    // A system function with no table behind it: nothing for the query macros to check.
    let text: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
        .fetch_one(primary)
        .await?;
    Lsn::parse(&text).with_context(|| format!("not a WAL position: {text}"))
}

/// A WAL position (`pg_lsn`, written `16/B374D848`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lsn(u64);

impl Lsn {
    pub fn parse(text: &str) -> Option<Self> {
        let (high, low) = text.split_once('/')?;
        let high = u64::from_str_radix(high, 16).ok()?;
        let low = u64::from_str_radix(low, 16).ok()?;
        (high <= u64::from(u32::MAX) && low <= u64::from(u32::MAX)).then_some(Self(high << 32 | low))
    }
}

/// The signed-in caller, if any; a token that does not verify counts as anonymous (the
/// handler's own extractors refuse it where it matters).
fn caller(extensions: &Extensions, headers: &HeaderMap) -> Option<Uuid> {
    let key = extensions.get::<IdentityKey>()?;
    let token = headers.get(IDENTITY_HEADER)?.to_str().ok()?;
    key.verify(token).ok().map(|identity| identity.user_id)
}

/// The pool a read-only handler reads from: the replica, or the primary while the caller's own
/// last write is not replayed there yet.
pub struct ReadDb(pub PgPool);

impl<S: Send + Sync> FromRequestParts<S> for ReadDb
where
    ReadPool: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let pool = ReadPool::from_ref(state);
        Ok(Self(
            pool.for_caller(caller(&parts.extensions, &parts.headers)).await.clone(),
        ))
    }
}

/// `router` over `state`, with [`remember_writes`] in front: a service's API when it may read
/// from a replica.
pub fn routes<S>(router: OpenApiRouter<S>, state: S) -> OpenApiRouter
where
    S: Clone + Send + Sync + 'static,
    ReadPool: FromRef<S>,
{
    let read = ReadPool::from_ref(&state);
    router
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(read, remember_writes))
}

/// Middleware: after a signed-in caller's successful write (any method but GET, HEAD and
/// OPTIONS), remembers the primary's WAL position for their next reads.
pub async fn remember_writes(State(pool): State<ReadPool>, request: Request, next: Next) -> Response {
    let caller = if request.method().is_safe() || !pool.remembers_writes() {
        None
    } else {
        caller(request.extensions(), request.headers())
    };
    let response = next.run(request).await;
    if let Some(caller) = caller
        && response.status().is_success()
    {
        pool.remember_write(caller).await;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wal_positions_parse_and_order_as_numbers() {
        assert_eq!(Lsn::parse("0/0"), Some(Lsn(0)));
        assert_eq!(Lsn::parse("16/B374D848"), Some(Lsn(0x16_B374_D848)));
        assert!(Lsn::parse("1/FFFFFFFF") < Lsn::parse("2/0"));
        assert!(Lsn::parse("0/A") > Lsn::parse("0/9"));
        for bad in ["", "12", "x/1", "1/", "100000000/0"] {
            assert_eq!(Lsn::parse(bad), None, "{bad}");
        }
    }
}
