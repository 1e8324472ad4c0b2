//! Checkout's idempotency: the client's `Idempotency-Key` makes placing an order safe to
//! retry. A checkout claims its key first, in its own transaction, and the claim decides what
//! happens next:
//!
//! - the key is new to this customer: the request places the order, which keeps the key and
//!   the request's [`fingerprint`];
//! - the key placed an order for the same request: the answer is that order, and nothing is
//!   written;
//! - the key placed an order for another request: the request is refused
//!   ([`ClaimError::KeyReused`]), whatever the cart holds now.
//!
//! Claiming takes the customer's cart lock, which every checkout takes before it reads the
//! cart (and only checkout places orders). So under the claim the orders table is the
//! complete answer: a concurrent duplicate waits on the lock until the first request commits
//! and then finds its order, or until it rolls back and then places the order itself.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{domain::order::IdempotencyKey, store};

/// What a checkout does with its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The key is new: this request places the order.
    New,
    /// The key placed this order, for the same request.
    Placed(Uuid),
}

#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("this key was already used for a different checkout; use a new key for a new order")]
    KeyReused,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Claims `key` for the user's checkout in `tx`, until `tx` ends. `fingerprint` identifies the
/// request, to tell a retry from a reused key.
pub async fn claim(
    tx: &mut PgConnection,
    user_id: Uuid,
    key: &IdempotencyKey,
    fingerprint: &str,
) -> Result<Claim, ClaimError> {
    store::cart::lock(tx, user_id).await?;
    match store::orders::find_by_idempotency_key(&mut *tx, user_id, key).await? {
        None => Ok(Claim::New),
        Some(earlier) if earlier.request_fingerprint == fingerprint => Ok(Claim::Placed(earlier.id)),
        Some(_) => Err(ClaimError::KeyReused),
    }
}

/// SHA-256 of the request as parsed (trimmed, fields in a fixed order), in hex: equal for two
/// requests that mean the same checkout.
pub fn fingerprint(request: &impl Serialize) -> String {
    let canonical = serde_json::to_vec(request).expect("checkout requests serialize");
    Sha256::digest(canonical).iter().map(|b| format!("{b:02x}")).collect()
}
