//! Password hashing and checking, moved off the async runtime: argon2id is slow on purpose and
//! would otherwise stall every other request on the same worker thread.

use anyhow::Context;

use crate::domain::{HashedPassword, Password, PasswordAttempt};

pub async fn hash(password: &Password) -> anyhow::Result<HashedPassword> {
    let password = password.clone();
    tokio::task::spawn_blocking(move || HashedPassword::new(&password))
        .await
        .context("password hashing task failed")?
}

/// Whether `attempt` matches `stored`. With no stored hash (no such account) the attempt is
/// checked against a dummy hash anyway, so both failures take equally long, and `false`.
pub async fn verify(attempt: PasswordAttempt, stored: Option<HashedPassword>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || match stored {
        Some(hash) => hash.verify(&attempt),
        None => HashedPassword::dummy().verify(&attempt).map(|_| false),
    })
    .await
    .context("password verification task failed")?
}
