//! Active health checks: every instance's `/readyz`, polled at a fixed interval, and the
//! ejected instances' ten times as often, so that a restarted instance is back in rotation
//! within a fraction of the interval.

use std::time::Duration;

use axum::{body::Body, extract::Request};
use futures_util::future::join_all;
use tokio::time::MissedTickBehavior;

use super::{Instance, Pool};
use crate::proxy::Proxy;

/// A check that has not answered by then fails.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// tokio's interval panics on a zero period.
const MIN_CHECK_INTERVAL: Duration = Duration::from_millis(1);
/// Ejected instances are checked this many times per interval.
const EJECTED_CHECKS_PER_INTERVAL: u32 = 10;

/// When instances are ejected and how often they are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Consecutive failed requests (connection refused or reset, timeout, a server error other
    /// than 503) that eject an instance; 0 counts as 1.
    pub eject_after_failures: u32,
    /// Time between active checks of every instance.
    pub check_interval: Duration,
}

impl Pool {
    /// Runs active health checks (`GET {url}/readyz`, 2 s timeout, all instances at once
    /// every `check_interval`, the ejected ones every tenth of it) until `shutdown` completes:
    /// a failing check ejects the instance, a passing one (2xx) re-admits it and resets its
    /// failure count.
    pub async fn run_health_checks(self, proxy: Proxy, shutdown: impl Future<Output = ()> + Send) {
        let checks = async {
            let period = (self.inner.health.check_interval / EJECTED_CHECKS_PER_INTERVAL).max(MIN_CHECK_INTERVAL);
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            for tick in 0u32.. {
                ticks.tick().await;
                let everyone = tick % EJECTED_CHECKS_PER_INTERVAL == 0;
                let due = self
                    .inner
                    .instances
                    .iter()
                    .filter(|instance| everyone || !instance.is_healthy());
                join_all(due.map(|instance| self.check(&proxy, instance))).await;
            }
        };
        tokio::select! {
            () = shutdown => {}
            () = checks => {}
        }
    }

    async fn check(&self, proxy: &Proxy, instance: &Instance) {
        let service = &self.inner.service;
        let request = Request::get("/readyz")
            .body(Body::empty())
            .expect("a static request is valid");
        match tokio::time::timeout(CHECK_TIMEOUT, proxy.send(&instance.url, request)).await {
            Ok(Ok(response)) if response.status().is_success() => instance.readmit(service),
            Ok(Ok(response)) => instance.fail_check(service, &format!("/readyz answered {}", response.status())),
            Ok(Err(error)) => instance.fail_check(service, &format!("/readyz: {error}")),
            Err(_) => instance.fail_check(service, &format!("/readyz did not answer within {CHECK_TIMEOUT:?}")),
        }
    }
}
