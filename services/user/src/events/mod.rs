//! What the user service publishes: `user.registered` and `user.updated`, built from the
//! account as the change left it and enqueued in the caller's transaction, the one that makes
//! the change. The service consumes no events.

use shop_contracts::events::{Cause, Envelope, UserRegistered, UserUpdated};
use shop_messaging::outbox;
use sqlx::PgConnection;

use crate::store::users::UserRow;

/// The `source` of every event this service publishes.
pub const SOURCE: &str = "user";

/// Enqueues `user.registered` for an account just created.
pub async fn user_registered(tx: &mut PgConnection, user: &UserRow, cause: Cause) -> sqlx::Result<()> {
    let event = UserRegistered {
        user_id: user.id,
        email: user.email.clone(),
        display_name: user.display_name.clone(),
    };
    outbox::enqueue(tx, &Envelope::new(SOURCE, user.id, user.version, &event, cause)).await
}

/// Enqueues `user.updated` for a profile just changed.
pub async fn user_updated(tx: &mut PgConnection, user: &UserRow, cause: Cause) -> sqlx::Result<()> {
    let event = UserUpdated {
        user_id: user.id,
        display_name: user.display_name.clone(),
    };
    outbox::enqueue(tx, &Envelope::new(SOURCE, user.id, user.version, &event, cause)).await
}
