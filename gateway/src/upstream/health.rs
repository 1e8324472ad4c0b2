//! Active health checks: every instance's `/readyz`, polled at a fixed interval.

use std::{error::Error as _, time::Duration};

use futures_util::future::join_all;
use tokio::time::MissedTickBehavior;

use super::{Instance, Pool};

/// A check that has not answered by then fails.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// tokio's interval panics on a zero period.
const MIN_CHECK_INTERVAL: Duration = Duration::from_millis(1);

/// When instances are ejected and how often they are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Consecutive failed requests (connection refused or reset, timeout) that eject an
    /// instance; 0 counts as 1.
    pub eject_after_failures: u32,
    /// Time between active checks of every instance.
    pub check_interval: Duration,
}

impl Pool {
    /// Runs active health checks (`GET {url}/readyz`, 2 s timeout, every `check_interval`,
    /// all instances at once) until `shutdown` completes: a failing check ejects the instance,
    /// a passing one (2xx) re-admits it and resets its failure count.
    pub async fn run_health_checks(self, client: reqwest::Client, shutdown: impl Future<Output = ()> + Send) {
        let checks = async {
            let mut ticks = tokio::time::interval(self.inner.health.check_interval.max(MIN_CHECK_INTERVAL));
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                join_all(
                    self.inner
                        .instances
                        .iter()
                        .map(|instance| self.check(&client, instance)),
                )
                .await;
            }
        };
        tokio::select! {
            () = shutdown => {}
            () = checks => {}
        }
    }

    async fn check(&self, client: &reqwest::Client, instance: &Instance) {
        let service = &self.inner.service;
        match client.get(&instance.readyz).timeout(CHECK_TIMEOUT).send().await {
            Ok(response) if response.status().is_success() => instance.readmit(service),
            Ok(response) => instance.fail_check(service, &format!("/readyz answered {}", response.status())),
            Err(error) if error.is_timeout() => {
                instance.fail_check(service, &format!("/readyz did not answer within {CHECK_TIMEOUT:?}"));
            }
            Err(error) => instance.fail_check(service, &format!("/readyz: {}", with_causes(&error))),
        }
    }
}

/// reqwest's message alone ("error sending request") hides why, e.g. "Connection refused".
fn with_causes(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        cause = inner.source();
    }
    message
}
