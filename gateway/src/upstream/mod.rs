//! Upstream services, their instances, load-balancing policies and health.
//!
//! A [`Pool`] is one service's instances. [`Pool::pick`] chooses a healthy instance with the
//! pool's [`Policy`] and hands out a [`Lease`], through which the proxy reports whether the
//! instance answered (passive health: consecutive failures eject it; server errors count too,
//! but never eject the last healthy instance).
//! [`Pool::run_health_checks`] polls every instance's `/readyz` (active health: a failing check
//! ejects, a passing one re-admits). Every policy skips ejected instances.

mod health;
mod policy;
mod spec;

use std::{
    collections::HashMap,
    fmt,
    net::IpAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU32, Ordering::Relaxed},
    },
    time::Duration,
};

use axum::http::StatusCode;
use metrics::{Counter, Gauge, Histogram};
use serde::Serialize;

pub use health::HealthPolicy;
pub use policy::Policy;
pub use spec::{InstanceSpec, parse_instances};

use policy::Balancer;

/// One upstream service (e.g. `product`) and its instances. Cheap to clone; clones share
/// their state.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    service: String,
    instances: Vec<Instance>,
    balancer: Balancer,
    health: HealthPolicy,
    /// Held while deciding whether a server error ejects an instance, so that two instances
    /// answering errors at once cannot both see the other as the one left.
    error_ejection: Mutex<()>,
}

struct Instance {
    url: String,
    weight: u32,
    hash_key: u64,
    healthy: AtomicBool,
    in_flight: AtomicU32,
    consecutive_failures: AtomicU32,
    healthy_gauge: Gauge,
    in_flight_gauge: Gauge,
    /// `gateway_upstream_requests_total` and `gateway_upstream_duration_seconds` by route and
    /// status class, registered on first use rather than looked up (four new label strings
    /// and a registry search) on every request.
    outcomes: Mutex<HashMap<Outcome, (Counter, Histogram)>>,
}

/// A route and a status class (2 for 2xx, …).
type Outcome = (&'static str, u16);

/// An instance and its state, for `/readyz` and metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct InstanceState {
    pub url: String,
    pub weight: u32,
    /// False while the instance is ejected.
    pub healthy: bool,
    /// Requests being proxied to it right now.
    pub in_flight: u32,
    pub consecutive_failures: u32,
}

impl Pool {
    /// Every instance starts healthy; health checks and failed requests eject them.
    pub fn new(service: &str, instances: Vec<InstanceSpec>, policy: Policy, health: HealthPolicy) -> Self {
        // Installed first, so the gauges below are registered with the real recorder.
        shop_platform::metrics::handle();
        let instances: Vec<Instance> = instances
            .into_iter()
            .map(|spec| {
                let labels = [("service", service.to_owned()), ("instance", spec.url.clone())];
                let healthy_gauge = metrics::gauge!("upstream_instance_healthy", &labels);
                healthy_gauge.set(1.0);
                let in_flight_gauge = metrics::gauge!("upstream_in_flight", &labels);
                in_flight_gauge.set(0.0);
                Instance {
                    hash_key: policy::instance_hash(&spec.url),
                    url: spec.url,
                    weight: spec.weight,
                    healthy: AtomicBool::new(true),
                    in_flight: AtomicU32::new(0),
                    consecutive_failures: AtomicU32::new(0),
                    healthy_gauge,
                    in_flight_gauge,
                    outcomes: Mutex::default(),
                }
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                service: service.to_owned(),
                balancer: Balancer::new(policy, instances.len()),
                instances,
                health,
                error_ejection: Mutex::new(()),
            }),
        }
    }

    pub fn service(&self) -> &str {
        &self.inner.service
    }

    /// Picks a healthy instance for a request from `client`; None if every instance is ejected
    /// (or excluded). `exclude` lists instance URLs already tried for this request.
    pub fn pick(&self, client: IpAddr, exclude: &[&str]) -> Option<Lease> {
        let instances = &self.inner.instances;
        let eligible: Vec<usize> = (0..instances.len())
            .filter(|&i| instances[i].healthy.load(Relaxed) && !exclude.contains(&instances[i].url.as_str()))
            .collect();
        let index = self.inner.balancer.choose(instances, &eligible, client)?;
        let instance = &instances[index];
        instance.in_flight.fetch_add(1, Relaxed);
        instance.in_flight_gauge.increment(1.0);
        Some(Lease {
            pool: self.inner.clone(),
            index,
        })
    }

    /// Instances and their state, in configuration order.
    pub fn snapshot(&self) -> Vec<InstanceState> {
        self.inner
            .instances
            .iter()
            .map(|instance| InstanceState {
                url: instance.url.clone(),
                weight: instance.weight,
                healthy: instance.healthy.load(Relaxed),
                in_flight: instance.in_flight.load(Relaxed),
                consecutive_failures: instance.consecutive_failures.load(Relaxed),
            })
            .collect()
    }

    pub fn has_healthy_instance(&self) -> bool {
        self.inner
            .instances
            .iter()
            .any(|instance| instance.healthy.load(Relaxed))
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("service", &self.inner.service)
            .field("instances", &self.snapshot())
            .finish_non_exhaustive()
    }
}

impl Instance {
    fn is_healthy(&self) -> bool {
        self.healthy.load(Relaxed)
    }

    fn eject(&self, service: &str, reason: &str) {
        if self.healthy.swap(false, Relaxed) {
            tracing::warn!(service, instance = self.url, reason, "upstream instance ejected");
        }
        self.healthy_gauge.set(0.0);
    }

    fn fail_check(&self, service: &str, reason: &str) {
        self.consecutive_failures.fetch_add(1, Relaxed);
        self.eject(service, reason);
    }

    fn readmit(&self, service: &str) {
        self.consecutive_failures.store(0, Relaxed);
        if !self.healthy.swap(true, Relaxed) {
            tracing::info!(service, instance = self.url, "upstream instance re-admitted");
        }
        self.healthy_gauge.set(1.0);
    }
}

/// Whether an instance's answer counts toward ejecting it: a server error (5xx) other than
/// 503. A 503 is the instance's own deliberate "not now" (a dependency down, or shedding load,
/// with `Retry-After`): ejecting for it would move the load onto the other instances and eject
/// them in turn, and whether the instance is ready is for its `/readyz` to say. Client errors
/// (4xx) are answers about the request, not the instance.
pub fn counts_as_failure(status: StatusCode) -> bool {
    status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE
}

/// An instance chosen for one request. Counts as in flight (for least connections) until
/// dropped; dropping it without reporting an outcome (e.g. the client went away) leaves the
/// instance's health as it was.
pub struct Lease {
    pool: Arc<Inner>,
    index: usize,
}

impl Lease {
    pub fn url(&self) -> &str {
        &self.instance().url
    }

    /// Counts and times a request to the instance under `route`, answered with `status`.
    pub fn record(&self, route: &'static str, status: u16, elapsed: Duration) {
        let instance = self.instance();
        let class = status / 100;
        let mut outcomes = instance
            .outcomes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (requests, duration) = outcomes.entry((route, class)).or_insert_with(|| {
            let labels = [
                ("service", self.pool.service.clone()),
                ("route", route.to_owned()),
                ("instance", instance.url.clone()),
                ("status_class", format!("{class}xx")),
            ];
            (
                metrics::counter!("gateway_upstream_requests_total", &labels),
                metrics::histogram!("gateway_upstream_duration_seconds", &labels),
            )
        });
        requests.increment(1);
        duration.record(elapsed.as_secs_f64());
    }

    /// The request reached the instance and it answered: its consecutive failures start again
    /// from zero. An ejected instance stays ejected until an active health check passes.
    pub fn succeeded(self) {
        self.instance().consecutive_failures.store(0, Relaxed);
    }

    /// The connection was refused or reset, or the instance did not answer in time: one more
    /// consecutive failure, and the instance is ejected once they reach `eject_after_failures`.
    pub fn failed(self) {
        if let Some(failures) = self.count_failure() {
            self.instance()
                .eject(&self.pool.service, &format!("{failures} consecutive failed requests"));
        }
    }

    /// The instance answered with a server error (see [`counts_as_failure`]): a failure as for
    /// [`Lease::failed`], except that the last healthy instance of the service is not ejected.
    /// Ejecting it would only turn the answers that still work into 503s for everyone (and let
    /// a client who found a request that fails take the service out of rotation); the active
    /// health check still judges it.
    pub fn answered_with_error(self) {
        let Some(failures) = self.count_failure() else {
            return;
        };
        let _deciding = self
            .pool
            .error_ejection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let another_is_healthy = self
            .pool
            .instances
            .iter()
            .enumerate()
            .any(|(i, other)| i != self.index && other.healthy.load(Relaxed));
        if another_is_healthy {
            self.instance()
                .eject(&self.pool.service, &format!("{failures} consecutive server errors"));
        }
    }

    /// One more consecutive failure; their number once it reaches `eject_after_failures`.
    fn count_failure(&self) -> Option<u32> {
        let failures = self.instance().consecutive_failures.fetch_add(1, Relaxed) + 1;
        (failures >= self.pool.health.eject_after_failures.max(1)).then_some(failures)
    }

    fn instance(&self) -> &Instance {
        &self.pool.instances[self.index]
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let instance = self.instance();
        instance.in_flight.fetch_sub(1, Relaxed);
        instance.in_flight_gauge.decrement(1.0);
    }
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("service", &self.pool.service)
            .field("url", &self.url())
            .finish()
    }
}
