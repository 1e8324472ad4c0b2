//! [`RedisSessionStore`]: tower-sessions records kept in Redis, one JSON value per session
//! under `{prefix}{session id}`, expiring in Redis when the session does.

use std::{future::Future, pin::Pin};

use redis::{AsyncCommands, ExistenceCheck, SetExpiry, SetOptions, aio::ConnectionManager};
use tower_sessions::{
    SessionStore,
    cookie::time::OffsetDateTime,
    session::{Id, Record},
    session_store::{Error, Result},
};

/// Sessions in Redis, shared by every gateway instance that uses the same Redis and prefix.
#[derive(Debug, Clone)]
pub struct RedisSessionStore {
    conn: ConnectionManager,
    prefix: String,
}

impl RedisSessionStore {
    pub fn new(conn: ConnectionManager, prefix: impl Into<String>) -> Self {
        Self {
            conn,
            prefix: prefix.into(),
        }
    }

    /// Sessions held right now.
    pub async fn count(&self) -> redis::RedisResult<usize> {
        let mut conn = self.conn.clone();
        let (mut count, mut cursor) = (0, 0u64);
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}*", self.prefix))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await?;
            count += keys.len();
            cursor = next;
            if cursor == 0 {
                return Ok(count);
            }
        }
    }

    fn key(&self, id: &Id) -> String {
        format!("{}{id}", self.prefix)
    }

    /// `SET` the record under `condition`, expiring after `ttl_ms`; returns whether Redis stored it.
    async fn set(&self, record: &Record, ttl_ms: u64, condition: ExistenceCheck) -> Result<bool> {
        let value = serde_json::to_string(record).map_err(|e| Error::Encode(e.to_string()))?;
        let options = SetOptions::default()
            .conditional_set(condition)
            .with_expiration(SetExpiry::PX(ttl_ms));
        let stored: Option<String> = self
            .conn
            .clone()
            .set_options(self.key(&record.id), value, options)
            .await
            .map_err(backend)?;
        Ok(stored.is_some())
    }

    async fn insert_new(&self, record: &mut Record) -> Result<()> {
        // Ids are 128 random bits, so a taken one is all but impossible; tower-sessions still
        // leaves resolving it to the store, and NX makes sure no other session is overwritten.
        // A record that has already expired is not stored at all.
        while let Some(ttl_ms) = ttl_ms(record) {
            if self.set(record, ttl_ms, ExistenceCheck::NX).await? {
                break;
            }
            record.id = Id::default();
        }
        Ok(())
    }

    async fn update(&self, record: &Record) -> Result<()> {
        match ttl_ms(record) {
            // XX: a request still holding a session that another request has meanwhile deleted
            // (logout, `cycle_id`) must not bring it back to life.
            Some(ttl_ms) => self.set(record, ttl_ms, ExistenceCheck::XX).await.map(drop),
            None => self.remove(&record.id).await,
        }
    }

    async fn fetch(&self, id: &Id) -> Result<Option<Record>> {
        let value: Option<String> = self.conn.clone().get(self.key(id)).await.map_err(backend)?;
        let Some(value) = value else { return Ok(None) };
        let record: Record = serde_json::from_str(&value).map_err(|e| Error::Decode(e.to_string()))?;
        Ok((record.expiry_date > OffsetDateTime::now_utc()).then_some(record))
    }

    async fn remove(&self, id: &Id) -> Result<()> {
        self.conn.clone().del::<_, ()>(self.key(id)).await.map_err(backend)
    }
}

/// Milliseconds until the record expires, or `None` once it has.
fn ttl_ms(record: &Record) -> Option<u64> {
    let ttl_ms = (record.expiry_date - OffsetDateTime::now_utc()).whole_milliseconds();
    u64::try_from(ttl_ms).ok().filter(|&ms| ms > 0)
}

fn backend(error: redis::RedisError) -> Error {
    Error::Backend(error.to_string())
}

pub(super) type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

// The trait is declared with `#[async_trait]`; these are the signatures it expands to, so the
// gateway needs no `async-trait` dependency just for this impl.
impl SessionStore for RedisSessionStore {
    fn create<'s, 'r, 'f>(&'s self, record: &'r mut Record) -> StoreFuture<'f, ()>
    where
        's: 'f,
        'r: 'f,
        Self: 'f,
    {
        Box::pin(self.insert_new(record))
    }

    fn save<'s, 'r, 'f>(&'s self, record: &'r Record) -> StoreFuture<'f, ()>
    where
        's: 'f,
        'r: 'f,
        Self: 'f,
    {
        Box::pin(self.update(record))
    }

    fn load<'s, 'i, 'f>(&'s self, id: &'i Id) -> StoreFuture<'f, Option<Record>>
    where
        's: 'f,
        'i: 'f,
        Self: 'f,
    {
        Box::pin(self.fetch(id))
    }

    fn delete<'s, 'i, 'f>(&'s self, id: &'i Id) -> StoreFuture<'f, ()>
    where
        's: 'f,
        'i: 'f,
        Self: 'f,
    {
        Box::pin(self.remove(id))
    }
}
