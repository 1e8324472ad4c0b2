//! Single-flight: concurrent misses of one key take turns, so the first rebuilds the entry
//! and the others find it built instead of all going to the database at once.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

#[derive(Default)]
pub(crate) struct Flights {
    lanes: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Flights {
    /// Runs `work` once every earlier caller for `key` has finished its own.
    pub(crate) async fn one_at_a_time<R>(&self, key: &str, work: impl Future<Output = R>) -> R {
        let lane = self
            .lanes
            .lock()
            .expect("flights lock")
            .entry(key.to_owned())
            .or_default()
            .clone();
        let result = {
            let _turn = lane.lock().await;
            work.await
        };
        drop(lane);
        let mut lanes = self.lanes.lock().expect("flights lock");
        // Only the map holds it: nobody is waiting, the lane can go.
        if lanes.get(key).is_some_and(|lane| Arc::strong_count(lane) == 1) {
            lanes.remove(key);
        }
        result
    }
}
