//! Password hashing and checking, moved off the async runtime: argon2id is slow on purpose and
//! would otherwise stall every other request on the same worker thread.
//!
//! Each hash also takes 19 MiB (argon2's memory cost) and a core's worth of time, so no more
//! run at once than there are cores: a burst of sign-ins waits its turn instead of running the
//! service out of memory (an unbounded burst under load took it past 1 GiB).

use std::sync::LazyLock;

use anyhow::Context;
use tokio::sync::Semaphore;

use crate::domain::{HashedPassword, Password, PasswordAttempt};

static HASHING: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(limit()));

fn limit() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

pub async fn hash(password: &Password) -> anyhow::Result<HashedPassword> {
    let password = password.clone();
    limited(move || HashedPassword::new(&password))
        .await
        .context("password hashing task failed")?
}

/// Whether `attempt` matches `stored`. With no stored hash (no such account) the attempt is
/// checked against a dummy hash anyway, so both failures take equally long, and `false`.
pub async fn verify(attempt: PasswordAttempt, stored: Option<HashedPassword>) -> anyhow::Result<bool> {
    limited(move || match stored {
        Some(hash) => hash.verify(&attempt),
        None => HashedPassword::dummy().verify(&attempt).map(|_| false),
    })
    .await
    .context("password verification task failed")?
}

/// Runs `work` on the blocking pool once one of the [`limit`] hashing slots is free.
async fn limited<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    let _slot = HASHING.acquire().await.context("the hashing slots are closed")?;
    Ok(tokio::task::spawn_blocking(work).await?)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_hashes_run_at_once_than_there_are_cores() {
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks: Vec<_> = (0..limit() * 4)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(limited(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= limit(), "at most {} at once", limit());
        assert!(most.load(Ordering::SeqCst) >= 1);
    }
}
