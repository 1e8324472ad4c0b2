//! Password hashing and checking, moved off the async runtime: argon2id is slow on purpose and
//! would otherwise stall every other request on the same worker thread.
//!
//! Each hash also takes 19 MiB (argon2's memory cost) and a core's worth of time. They run on a
//! few threads of their own, one per core: a burst of sign-ins waits its turn, and the memory
//! each thread's allocator keeps after a hash is reused by its next one. On tokio's blocking
//! pool, hashes spread over dozens of short-lived threads whose allocator arenas each kept
//! some: the service passed 1 GiB under load.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{LazyLock, Mutex, mpsc};

use anyhow::Context;
use tokio::sync::oneshot;

use crate::domain::{HashedPassword, Password, PasswordAttempt};

type Job = Box<dyn FnOnce() + Send>;

/// The queue of the hashing threads, started on first use.
static HASHING: LazyLock<Mutex<mpsc::Sender<Job>>> = LazyLock::new(|| {
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = std::sync::Arc::new(Mutex::new(queue));
    for n in 0..threads() {
        let queue = queue.clone();
        std::thread::Builder::new()
            .name(format!("password-hashing-{n}"))
            .spawn(move || {
                loop {
                    let Ok(job) = queue.lock().map_err(drop).and_then(|queue| queue.recv().map_err(drop)) else {
                        return;
                    };
                    // A panicking job loses its answer (the caller sees an error), not the thread.
                    let _ = catch_unwind(AssertUnwindSafe(job));
                }
            })
            .expect("cannot start a password hashing thread");
    }
    Mutex::new(jobs)
});

fn threads() -> usize {
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

/// Runs `work` on one of the hashing threads and waits for its answer.
async fn limited<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    let (answer, answered) = oneshot::channel();
    HASHING
        .lock()
        .map_err(|_| anyhow::anyhow!("the hashing queue is poisoned"))?
        .send(Box::new(move || drop(answer.send(work()))))
        .map_err(|_| anyhow::anyhow!("the hashing threads are gone"))?;
    answered.await.context("the hashing job panicked")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_the_threads_carry_on() {
        assert!(limited(|| panic!("boom")).await.is_err());
        for _ in 0..threads() * 2 {
            assert_eq!(limited(|| 7).await.unwrap(), 7);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_hashes_run_at_once_than_there_are_cores() {
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks: Vec<_> = (0..threads() * 4)
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
        assert!(
            most.load(Ordering::SeqCst) <= threads(),
            "at most {} at once",
            threads()
        );
        assert!(most.load(Ordering::SeqCst) >= 1);
    }
}
