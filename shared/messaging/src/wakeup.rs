//! Waking a background loop (the outbox relay, the search projector) when a transaction of
//! the same process commits work for it, with a poll interval as the backstop for work
//! committed elsewhere (another replica, a command-line tool).
//!
//! Whoever commits work commits with [`commit`] (or calls [`committed`] after the commit); every [`Wakeup`] of the process
//! then completes its current or next wait. That costs an atomic increment, where the
//! PostgreSQL way, a `NOTIFY` in the transaction, costs throughput: PostgreSQL serializes the
//! commits of all transactions that notify, on the whole server, holding one lock from before
//! each one's commit record is flushed until after. On this project's machine pgbench TPC-B
//! with one `pg_notify` per transaction commits half the transactions it does without
//! (`loadtest/pipeline.sh notify`), and every step of the checkout saga was such a transaction.

use std::{sync::LazyLock, time::Duration};

use tokio::sync::watch;

/// How many commits [`committed`] has announced in this process.
static COMMITS: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::Sender::new(0));

/// Announces a commit that may have left work for the process's background loops: events in
/// an outbox, rows to project. Call it after the commit, never before (a loop woken early
/// finds nothing and goes back to sleep until its poll).
pub fn committed() {
    COMMITS.send_modify(|commits| *commits = commits.wrapping_add(1));
}

/// Commits `tx` and announces it ([`committed`]): how a transaction that leaves work for a
/// background loop (it enqueued events, say) is committed.
pub async fn commit(tx: sqlx::Transaction<'_, sqlx::Postgres>) -> sqlx::Result<()> {
    tx.commit().await?;
    committed();
    Ok(())
}

/// One background loop's view of [`committed`]: no announcement is missed, however busy the
/// loop was when it came, and any number of them since the last wait wake it once.
pub struct Wakeup {
    commits: watch::Receiver<u64>,
}

impl Wakeup {
    pub fn new() -> Self {
        Self {
            commits: COMMITS.subscribe(),
        }
    }

    /// Completes at once if a commit was announced since the last wait, else on the next
    /// announcement or after `wait`, whichever comes first.
    pub async fn wait(&mut self, wait: Duration) {
        // The sender is a static: `changed` cannot fail, it can only time out.
        let _ = tokio::time::timeout(wait, self.commits.changed()).await;
    }
}

impl Default for Wakeup {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Wakeup, committed};

    #[tokio::test(start_paused = true)]
    async fn a_commit_announced_while_the_loop_was_busy_wakes_its_next_wait_at_once() {
        let mut wakeup = Wakeup::new();
        committed();
        committed();
        let started = tokio::time::Instant::now();
        wakeup.wait(Duration::from_secs(60)).await;
        assert_eq!(started.elapsed(), Duration::ZERO);
        // Both announcements were consumed by that one wait: the next one sleeps its full time.
        wakeup.wait(Duration::from_secs(60)).await;
        assert_eq!(started.elapsed(), Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn a_commit_wakes_a_waiting_loop() {
        let mut wakeup = Wakeup::new();
        let waiting = tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            wakeup.wait(Duration::from_secs(60)).await;
            started.elapsed()
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        committed();
        assert_eq!(waiting.await.unwrap(), Duration::from_secs(1));
    }
}
