//! Consumer lag: how many events of its stream each durable consumer has not acknowledged yet
//! (waiting, or delivered and in progress), read from the broker and exported as the gauge
//! `consumer_pending_events{consumer}`. It grows when a consumer falls behind or stops.

use std::{future::Future, time::Duration};

use crate::{EventBus, bus::Subscription};

/// How often the broker is asked.
pub const INTERVAL: Duration = Duration::from_secs(10);

/// Reports `subscription`'s lag every [`INTERVAL`] until `stopped` completes. Ends at once on
/// a broker that keeps no such count (the in-process bus).
pub async fn report<B: EventBus>(bus: B, subscription: Subscription, stopped: impl Future<Output = ()> + Send) {
    tokio::pin!(stopped);
    loop {
        // A broker that does not answer must not hold up the service's stop.
        let pending = tokio::select! {
            () = &mut stopped => return,
            pending = bus.pending(&subscription) => pending,
        };
        match pending {
            // Looked up on each report, not once: a handle taken before the process installed
            // its metrics recorder would stay a no-op for good.
            Ok(Some(pending)) => {
                metrics::gauge!("consumer_pending_events", "consumer" => subscription.durable.clone())
                    .set(pending as f64);
            }
            Ok(None) => return,
            // Not created yet, or the broker is away: the consumer task says so; try later.
            Err(error) => tracing::debug!(consumer = subscription.durable, %error, "consumer lag unknown"),
        }
        tokio::select! {
            () = &mut stopped => return,
            () = tokio::time::sleep(INTERVAL) => {}
        }
    }
}
