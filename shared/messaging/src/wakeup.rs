//! Waking a background loop when a PostgreSQL transaction commits work for it (LISTEN/NOTIFY),
//! with a poll interval as the backstop for a missed notification or a dropped connection.

use std::time::{Duration, Instant};

use sqlx::{PgPool, postgres::PgListener};

/// Listens on one notification channel; without a listener (the connection failed) it only polls.
pub struct Wakeup {
    listener: Option<PgListener>,
}

impl Wakeup {
    pub async fn listen(db: &PgPool, channel: &str) -> Self {
        let listener = async {
            let mut listener = PgListener::connect_with(db).await.ok()?;
            listener.listen(channel).await.ok()?;
            Some(listener)
        };
        Self {
            listener: listener.await,
        }
    }

    /// Completes on the next notification, or after `wait`.
    pub async fn wait(&mut self, wait: Duration) {
        match &mut self.listener {
            Some(listener) => {
                let started = Instant::now();
                if let Ok(Err(_)) = tokio::time::timeout(wait, listener.recv()).await {
                    // The connection dropped (it reconnects on the next call): still wait.
                    tokio::time::sleep(wait.saturating_sub(started.elapsed())).await;
                }
            }
            None => tokio::time::sleep(wait).await,
        }
    }
}
