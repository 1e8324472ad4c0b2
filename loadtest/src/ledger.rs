//! The orders this run placed and cancelled, as the shoppers saw them: what the
//! reconciliation checks the shop against.

use std::sync::Mutex;

use uuid::Uuid;

#[derive(Default)]
struct Entries {
    placed: Vec<Uuid>,
    cancelled: Vec<Uuid>,
    /// Checkouts whose answer never came: an order may exist that the run does not know.
    unknown: u64,
}

#[derive(Default)]
pub struct Ledger {
    entries: Mutex<Entries>,
}

impl Ledger {
    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn placed(&self, order: Uuid) {
        self.entries().placed.push(order);
    }

    pub fn cancelled(&self, order: Uuid) {
        self.entries().cancelled.push(order);
    }

    pub fn unknown_checkout(&self) {
        self.entries().unknown += 1;
    }

    pub fn placed_orders(&self) -> Vec<Uuid> {
        self.entries().placed.clone()
    }

    pub fn cancelled_orders(&self) -> Vec<Uuid> {
        self.entries().cancelled.clone()
    }

    pub fn unknown_checkouts(&self) -> u64 {
        self.entries().unknown
    }
}
