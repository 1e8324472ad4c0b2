//! The in-process layer: a small map in front of Redis for the hottest keys, with a short
//! life. An invalidation drops a scope's entries and moves the epoch on, so a rebuild that
//! started before the invalidation cannot put its (possibly old) value back.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

pub(crate) struct Local {
    ttl: Duration,
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    epoch: u64,
    len: usize,
    scopes: HashMap<String, HashMap<String, (Instant, Vec<u8>)>>,
}

impl Local {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("local cache lock")
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.state().epoch
    }

    pub(crate) fn get(&self, scope: &str, key: &str) -> Option<Vec<u8>> {
        let state = self.state();
        let (expires, value) = state.scopes.get(scope)?.get(key)?;
        (*expires > Instant::now()).then(|| value.clone())
    }

    /// Keeps `value` unless an invalidation happened since `epoch` was read.
    pub(crate) fn put(&self, epoch: u64, scope: &str, key: &str, value: Vec<u8>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut state = self.state();
        if state.epoch != epoch {
            return;
        }
        // Full: start over rather than track recency; the layer refills in one TTL.
        if state.len >= self.capacity {
            state.scopes.clear();
            state.len = 0;
        }
        let expires = Instant::now() + self.ttl;
        let previous = state
            .scopes
            .entry(scope.to_owned())
            .or_default()
            .insert(key.to_owned(), (expires, value));
        if previous.is_none() {
            state.len += 1;
        }
    }

    pub(crate) fn invalidate(&self, scope: &str) {
        let mut state = self.state();
        state.epoch += 1;
        if let Some(entries) = state.scopes.remove(scope) {
            state.len -= entries.len();
        }
    }
}
