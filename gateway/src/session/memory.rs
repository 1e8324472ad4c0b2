//! [`MemorySessionStore`]: session records in this process's memory. Nothing else sees them —
//! a second instance does not know the session, and a restart forgets it. That is the point of
//! the early stages, where it shows the session problem of a cluster.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tower_sessions::{
    SessionStore,
    cookie::time::OffsetDateTime,
    session::{Id, Record},
    session_store::Result,
};

use super::store::StoreFuture;

/// Expired records are swept out every this many new sessions.
const SWEEP_EVERY: usize = 1024;

#[derive(Debug, Clone, Default)]
pub struct MemorySessionStore {
    records: Arc<Mutex<Records>>,
}

#[derive(Debug, Default)]
struct Records {
    by_id: HashMap<Id, Record>,
    created_since_sweep: usize,
}

impl MemorySessionStore {
    fn insert_new(&self, record: &mut Record) -> Result<()> {
        let mut records = self.records.lock().expect("session map poisoned");
        records.created_since_sweep += 1;
        if records.created_since_sweep >= SWEEP_EVERY {
            let now = OffsetDateTime::now_utc();
            records.by_id.retain(|_, record| record.expiry_date > now);
            records.created_since_sweep = 0;
        }
        while records.by_id.contains_key(&record.id) {
            record.id = Id::default();
        }
        records.by_id.insert(record.id, record.clone());
        Ok(())
    }

    /// Like the Redis store: a session deleted meanwhile (logout, `cycle_id`) stays deleted.
    fn update(&self, record: &Record) -> Result<()> {
        let mut records = self.records.lock().expect("session map poisoned");
        if let Some(stored) = records.by_id.get_mut(&record.id) {
            stored.clone_from(record);
        }
        Ok(())
    }

    fn fetch(&self, id: &Id) -> Result<Option<Record>> {
        let records = self.records.lock().expect("session map poisoned");
        Ok(records
            .by_id
            .get(id)
            .filter(|record| record.expiry_date > OffsetDateTime::now_utc())
            .cloned())
    }

    fn remove(&self, id: &Id) -> Result<()> {
        self.records.lock().expect("session map poisoned").by_id.remove(id);
        Ok(())
    }

    /// Sessions held right now, expired ones not yet swept included.
    pub fn count(&self) -> usize {
        self.records.lock().expect("session map poisoned").by_id.len()
    }
}

// The same expanded `#[async_trait]` signatures as the Redis store's.
impl SessionStore for MemorySessionStore {
    fn create<'s, 'r, 'f>(&'s self, record: &'r mut Record) -> StoreFuture<'f, ()>
    where
        's: 'f,
        'r: 'f,
        Self: 'f,
    {
        Box::pin(async move { self.insert_new(record) })
    }

    fn save<'s, 'r, 'f>(&'s self, record: &'r Record) -> StoreFuture<'f, ()>
    where
        's: 'f,
        'r: 'f,
        Self: 'f,
    {
        Box::pin(async move { self.update(record) })
    }

    fn load<'s, 'i, 'f>(&'s self, id: &'i Id) -> StoreFuture<'f, Option<Record>>
    where
        's: 'f,
        'i: 'f,
        Self: 'f,
    {
        Box::pin(async move { self.fetch(id) })
    }

    fn delete<'s, 'i, 'f>(&'s self, id: &'i Id) -> StoreFuture<'f, ()>
    where
        's: 'f,
        'i: 'f,
        Self: 'f,
    {
        Box::pin(async move { self.remove(id) })
    }
}
