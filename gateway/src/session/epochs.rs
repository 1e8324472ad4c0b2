//! Ending every session of one user at once (their password or roles changed) without
//! knowing where those sessions are: each user has a session *epoch*, a counter that starts
//! at 0. A session remembers the user's epoch when it was signed in; ending the user's
//! sessions advances the counter, and a session from an earlier epoch is signed out at its
//! next request. The counter lives where the sessions do (Redis, or this process's memory).
//!
//! A counter key is kept without expiry: one small key per user whose sessions were ever
//! ended. (With an expiry, a counter that restarted at 0 would revive sessions from a later
//! epoch it had forgotten.)

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use redis::{AsyncCommands, aio::ConnectionManager};
use shop_platform::ApiError;
use uuid::Uuid;

#[derive(Clone)]
pub enum SessionEpochs {
    Redis { redis: ConnectionManager, prefix: String },
    Memory(Arc<Mutex<HashMap<Uuid, u64>>>),
}

fn unavailable(error: redis::RedisError) -> ApiError {
    ApiError::Unavailable(format!("session store: {error}"))
}

impl SessionEpochs {
    pub fn redis(redis: ConnectionManager, prefix: String) -> Self {
        Self::Redis { redis, prefix }
    }

    pub fn memory() -> Self {
        Self::Memory(Arc::default())
    }

    /// The user's current epoch: sessions signed in earlier are over.
    pub async fn current(&self, user_id: Uuid) -> Result<u64, ApiError> {
        match self {
            Self::Redis { redis, prefix } => {
                let epoch: Option<u64> = redis
                    .clone()
                    .get(format!("{prefix}{user_id}"))
                    .await
                    .map_err(unavailable)?;
                Ok(epoch.unwrap_or(0))
            }
            Self::Memory(epochs) => Ok(epochs.lock().expect("epochs lock").get(&user_id).copied().unwrap_or(0)),
        }
    }

    /// Ends every session of the user signed in so far; returns the new epoch.
    pub async fn advance(&self, user_id: Uuid) -> Result<u64, ApiError> {
        match self {
            Self::Redis { redis, prefix } => redis
                .clone()
                .incr(format!("{prefix}{user_id}"), 1)
                .await
                .map_err(unavailable),
            Self::Memory(epochs) => {
                let mut epochs = epochs.lock().expect("epochs lock");
                let epoch = epochs.entry(user_id).or_insert(0);
                *epoch += 1;
                Ok(*epoch)
            }
        }
    }
}
