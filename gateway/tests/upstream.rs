//! Load-balancing policies over many picks, passive ejection through leases, and active
//! health checks against real HTTP servers on loopback ports.

use std::{
    collections::{BTreeMap, VecDeque},
    net::{IpAddr, Ipv4Addr},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{Router, extract::State, http::StatusCode, routing::get};
use gateway::upstream::{HealthPolicy, InstanceSpec, Lease, Policy, Pool};
use shop_testkit::{TestApp, eventually, free_port};
use tokio::{sync::oneshot, task::JoinHandle};

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const EJECT_AFTER: u32 = 3;

fn health() -> HealthPolicy {
    HealthPolicy {
        eject_after_failures: EJECT_AFTER,
        check_interval: Duration::from_millis(100),
    }
}

/// `http://10.0.0.1:8080`, `http://10.0.0.2:8080`, … with these weights (never contacted).
fn instances(weights: &[u32]) -> Vec<InstanceSpec> {
    weights
        .iter()
        .enumerate()
        .map(|(i, &weight)| InstanceSpec { url: url(i), weight })
        .collect()
}

fn url(i: usize) -> String {
    format!("http://10.0.0.{}:8080", i + 1)
}

fn pool(policy: Policy, weights: &[u32]) -> Pool {
    Pool::new("catalog", instances(weights), policy, health())
}

/// How many of `picks` picks (each released at once) went to each instance.
fn distribution(pool: &Pool, picks: usize) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for _ in 0..picks {
        let lease = pool.pick(CLIENT, &[]).expect("a healthy instance");
        *counts.entry(lease.url().to_owned()).or_default() += 1;
    }
    counts
}

fn share(counts: &BTreeMap<String, usize>, instance: &str) -> f64 {
    counts.get(instance).copied().unwrap_or(0) as f64 / counts.values().sum::<usize>() as f64
}

fn eject(pool: &Pool, instance: &str) {
    for _ in 0..EJECT_AFTER {
        let lease = pick_only(pool, instance);
        lease.failed();
    }
    assert!(!healthy(pool, instance), "{instance} is ejected");
}

/// A lease on `instance`, whatever the policy would choose: every other instance is excluded.
fn pick_only(pool: &Pool, instance: &str) -> Lease {
    let others: Vec<String> = pool
        .snapshot()
        .into_iter()
        .map(|state| state.url)
        .filter(|url| url != instance)
        .collect();
    let others: Vec<&str> = others.iter().map(String::as_str).collect();
    let lease = pool.pick(CLIENT, &others).expect("the instance is healthy");
    assert_eq!(lease.url(), instance);
    lease
}

fn healthy(pool: &Pool, instance: &str) -> bool {
    state(pool, instance).healthy
}

fn state(pool: &Pool, instance: &str) -> gateway::upstream::InstanceState {
    pool.snapshot()
        .into_iter()
        .find(|state| state.url == instance)
        .expect("instance is in the pool")
}

#[test]
fn round_robin_takes_instances_in_turn() {
    let pool = pool(Policy::RoundRobin, &[1, 1, 1]);
    let order: Vec<String> = (0..6)
        .map(|_| pool.pick(CLIENT, &[]).unwrap().url().to_owned())
        .collect();
    assert_eq!(order[..3], order[3..]);
    assert_eq!(order[..3].iter().collect::<std::collections::BTreeSet<_>>().len(), 3);

    let counts = distribution(&pool, 1200);
    assert_eq!(counts.values().copied().collect::<Vec<_>>(), [400, 400, 400]);
}

#[test]
fn round_robin_ignores_weights_and_skips_ejected_instances() {
    let pool = pool(Policy::RoundRobin, &[5, 1, 1]);
    eject(&pool, &url(1));
    let counts = distribution(&pool, 1000);
    assert_eq!(counts, BTreeMap::from([(url(0), 500), (url(2), 500)]));
}

#[test]
fn random_is_uniform_within_five_percent() {
    let pool = pool(Policy::Random, &[1, 1]);
    let counts = distribution(&pool, 10_000);
    for i in 0..2 {
        let share = share(&counts, &url(i));
        assert!((0.45..=0.55).contains(&share), "{counts:?}");
    }
}

#[test]
fn random_skips_ejected_instances() {
    let pool = pool(Policy::Random, &[1, 1, 1]);
    eject(&pool, &url(0));
    let counts = distribution(&pool, 2000);
    assert!(!counts.contains_key(&url(0)), "{counts:?}");
    assert_eq!(counts.len(), 2, "{counts:?}");
}

#[test]
fn weighted_round_robin_interleaves_three_to_one() {
    let pool = pool(Policy::WeightedRoundRobin, &[3, 1]);
    let picks: Vec<String> = (0..1000)
        .map(|_| pool.pick(CLIENT, &[]).unwrap().url().to_owned())
        .collect();
    // Smooth: every window of four is three A and one B, never a burst of A.
    for window in picks.chunks(4) {
        assert_eq!(window.iter().filter(|&u| *u == url(1)).count(), 1, "{window:?}");
    }
    let heavy = picks.iter().filter(|&u| *u == url(0)).count() as f64 / 1000.0;
    assert!((0.70..=0.80).contains(&heavy), "{heavy}");
    assert_eq!(heavy, 0.75);
}

#[test]
fn weighted_round_robin_follows_any_weights_and_skips_ejected_instances() {
    let pool = pool(Policy::WeightedRoundRobin, &[5, 3, 2]);
    let counts = distribution(&pool, 1000);
    assert_eq!(counts.values().copied().collect::<Vec<_>>(), [500, 300, 200]);

    eject(&pool, &url(0));
    let counts = distribution(&pool, 1000);
    assert_eq!(counts, BTreeMap::from([(url(1), 600), (url(2), 400)]));
}

fn client(i: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, i))
}

#[test]
fn ip_hash_keeps_each_client_on_one_instance_and_spreads_clients() {
    let pool = pool(Policy::IpHash, &[1, 1]);
    let mut clients_per_instance = BTreeMap::<String, usize>::new();
    for i in 0..50 {
        let first = pool.pick(client(i), &[]).unwrap().url().to_owned();
        for _ in 0..20 {
            assert_eq!(pool.pick(client(i), &[]).unwrap().url(), first, "client {i}");
        }
        *clients_per_instance.entry(first).or_default() += 1;
    }
    assert_eq!(clients_per_instance.len(), 2, "{clients_per_instance:?}");
    assert!(
        clients_per_instance.values().all(|&n| n >= 15),
        "{clients_per_instance:?}"
    );
}

#[test]
fn ip_hash_is_the_same_in_every_gateway_replica() {
    let replica_a = pool(Policy::IpHash, &[1, 1, 1]);
    let replica_b = pool(Policy::IpHash, &[1, 1, 1]);
    for i in 0..50 {
        assert_eq!(
            replica_a.pick(client(i), &[]).unwrap().url(),
            replica_b.pick(client(i), &[]).unwrap().url()
        );
    }
}

#[test]
fn ip_hash_moves_only_the_clients_of_an_ejected_instance() {
    let pool = pool(Policy::IpHash, &[1, 1, 1]);
    let before: Vec<String> = (0..50)
        .map(|i| pool.pick(client(i), &[]).unwrap().url().to_owned())
        .collect();
    // Eject through the clients that are sent to it.
    let ejected = url(1);
    let victim = (0..50)
        .find(|&i| before[usize::from(i)] == ejected)
        .expect("a client of instance 2");
    for _ in 0..EJECT_AFTER {
        pool.pick(client(victim), &[]).unwrap().failed();
    }
    assert!(!healthy(&pool, &ejected));

    for i in 0..50 {
        let now = pool.pick(client(i), &[]).unwrap().url().to_owned();
        if before[usize::from(i)] == ejected {
            assert_ne!(now, ejected);
        } else {
            assert_eq!(now, before[usize::from(i)], "client {i} kept its instance");
        }
    }
}

#[test]
fn least_connections_sends_requests_to_the_idle_instance_until_balanced() {
    let pool = pool(Policy::LeastConnections, &[1, 1]);
    let (a, b) = (url(0), url(1));
    let mut held: Vec<Lease> = (0..5).map(|_| pick_only(&pool, &a)).collect();
    assert_eq!(state(&pool, &a).in_flight, 5);
    assert_eq!(state(&pool, &b).in_flight, 0);

    for _ in 0..5 {
        let lease = pool.pick(CLIENT, &[]).unwrap();
        assert_eq!(lease.url(), b);
        held.push(lease);
    }
    // Balanced: from now on they take turns.
    for _ in 0..500 {
        held.push(pool.pick(CLIENT, &[]).unwrap());
        let (in_a, in_b) = (state(&pool, &a).in_flight, state(&pool, &b).in_flight);
        assert!(in_a.abs_diff(in_b) <= 1, "{in_a} vs {in_b}");
    }
    drop(held);
    assert_eq!(state(&pool, &a).in_flight, 0);
    assert_eq!(state(&pool, &b).in_flight, 0);
}

#[test]
fn least_connections_ties_go_in_turn() {
    let pool = pool(Policy::LeastConnections, &[1, 1, 1]);
    let counts = distribution(&pool, 1200);
    assert_eq!(counts.values().copied().collect::<Vec<_>>(), [400, 400, 400]);
}

#[test]
fn least_connections_gives_a_slow_instance_fewer_requests() {
    let pool = pool(Policy::LeastConnections, &[1, 1]);
    let slow = url(0);
    // One request arrives per tick; the slow instance takes 10 ticks to answer, the fast one 1.
    let mut in_flight: VecDeque<(usize, Lease)> = VecDeque::new();
    let mut counts = BTreeMap::<String, usize>::new();
    for tick in 0..2000 {
        in_flight.retain(|(done_at, _)| *done_at > tick);
        let lease = pool.pick(CLIENT, &[]).unwrap();
        *counts.entry(lease.url().to_owned()).or_default() += 1;
        let duration = if lease.url() == slow { 10 } else { 1 };
        in_flight.push_back((tick + duration, lease));
    }
    assert!(share(&counts, &slow) < 0.2, "{counts:?}");
}

#[test]
fn least_connections_skips_ejected_instances() {
    let pool = pool(Policy::LeastConnections, &[1, 1]);
    let busy: Vec<Lease> = (0..3).map(|_| pick_only(&pool, &url(0))).collect();
    eject(&pool, &url(1));
    let counts = distribution(&pool, 100);
    assert_eq!(counts, BTreeMap::from([(url(0), 100)]));
    drop(busy);
}

#[test]
fn consecutive_failures_eject_an_instance_and_a_success_resets_them() {
    let pool = pool(Policy::RoundRobin, &[1, 1]);
    let flaky = url(0);
    for _ in 0..EJECT_AFTER - 1 {
        pick_only(&pool, &flaky).failed();
    }
    assert_eq!(state(&pool, &flaky).consecutive_failures, EJECT_AFTER - 1);
    pick_only(&pool, &flaky).succeeded();
    assert_eq!(state(&pool, &flaky).consecutive_failures, 0);

    for _ in 0..EJECT_AFTER - 1 {
        pick_only(&pool, &flaky).failed();
    }
    assert!(healthy(&pool, &flaky), "not yet ejected");
    pick_only(&pool, &flaky).failed();
    let ejected = state(&pool, &flaky);
    assert!(!ejected.healthy);
    assert_eq!(ejected.consecutive_failures, EJECT_AFTER);

    let counts = distribution(&pool, 1000);
    assert_eq!(counts, BTreeMap::from([(url(1), 1000)]));
    assert!(pool.has_healthy_instance());
}

#[test]
fn a_lease_dropped_without_an_outcome_changes_no_health() {
    let pool = pool(Policy::RoundRobin, &[1]);
    pool.pick(CLIENT, &[]).unwrap().failed();
    drop(pool.pick(CLIENT, &[]).unwrap());
    let only = state(&pool, &url(0));
    assert_eq!(only.consecutive_failures, 1);
    assert_eq!(only.in_flight, 0);
}

#[test]
fn no_instance_is_picked_when_all_are_ejected() {
    for policy in [
        Policy::RoundRobin,
        Policy::Random,
        Policy::IpHash,
        Policy::WeightedRoundRobin,
        Policy::LeastConnections,
    ] {
        let pool = pool(policy, &[1, 2]);
        eject(&pool, &url(0));
        assert!(pool.has_healthy_instance());
        eject(&pool, &url(1));
        assert!(!pool.has_healthy_instance());
        assert!(pool.pick(CLIENT, &[]).is_none(), "{policy:?}");
        assert!(
            pool.snapshot()
                .iter()
                .all(|state| !state.healthy && state.in_flight == 0)
        );
    }
}

#[test]
fn instances_already_tried_are_excluded() {
    for policy in [
        Policy::RoundRobin,
        Policy::Random,
        Policy::IpHash,
        Policy::WeightedRoundRobin,
        Policy::LeastConnections,
    ] {
        let pool = pool(policy, &[3, 1]);
        let (a, b) = (url(0), url(1));
        for _ in 0..100 {
            assert_eq!(pool.pick(CLIENT, &[&a]).unwrap().url(), b, "{policy:?}");
            assert_eq!(pool.pick(CLIENT, &[&b]).unwrap().url(), a, "{policy:?}");
        }
        assert!(pool.pick(CLIENT, &[&a, &b]).is_none(), "{policy:?}");
    }
}

#[test]
fn a_pool_reports_its_instances() {
    let pool = pool(Policy::RoundRobin, &[2, 1]);
    assert_eq!(pool.service(), "catalog");
    let lease = pool.pick(CLIENT, &[]).unwrap();
    let clone = pool.clone();
    let snapshot = clone.snapshot();
    assert_eq!(snapshot.len(), 2);
    assert_eq!((snapshot[0].url.as_str(), snapshot[0].weight), (url(0).as_str(), 2));
    assert_eq!((snapshot[1].url.as_str(), snapshot[1].weight), (url(1).as_str(), 1));
    assert!(
        snapshot
            .iter()
            .all(|state| state.healthy && state.consecutive_failures == 0)
    );
    assert_eq!(snapshot.iter().map(|state| state.in_flight).sum::<u32>(), 1);
    lease.succeeded();
    assert_eq!(pool.snapshot().iter().map(|state| state.in_flight).sum::<u32>(), 0);
}

#[test]
fn a_pool_is_shared_across_threads() {
    let pool = pool(Policy::WeightedRoundRobin, &[3, 1]);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let pool = pool.clone();
            std::thread::spawn(move || distribution(&pool, 1000))
        })
        .collect();
    let mut total = BTreeMap::<String, usize>::new();
    for thread in threads {
        for (instance, n) in thread.join().unwrap() {
            *total.entry(instance).or_default() += n;
        }
    }
    assert_eq!(total, BTreeMap::from([(url(0), 3000), (url(1), 1000)]));
    assert!(pool.snapshot().iter().all(|state| state.in_flight == 0));
}

// Active health checks against real servers.

/// A server whose `/readyz` answers 200 while `ready` is set and 503 otherwise.
async fn upstream(ready: Arc<AtomicBool>) -> String {
    let app = TestApp::spawn(readyz_router(ready)).await;
    format!("http://{}", app.address)
}

fn readyz_router(ready: Arc<AtomicBool>) -> Router {
    Router::new()
        .route(
            "/readyz",
            get(|State(ready): State<Arc<AtomicBool>>| async move {
                if ready.load(Ordering::SeqCst) {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                }
            }),
        )
        .with_state(ready)
}

struct Checks {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

fn start_checks(pool: &Pool) -> Checks {
    let (stop, stopped) = oneshot::channel::<()>();
    let proxy = gateway::proxy::Proxy::new(Duration::from_secs(2), Duration::from_secs(2));
    let task = tokio::spawn(pool.clone().run_health_checks(proxy, async {
        let _ = stopped.await;
    }));
    Checks { stop, task }
}

impl Checks {
    async fn stop(self) {
        self.stop.send(()).expect("checks still running");
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("checks stop on shutdown")
            .expect("checks did not panic");
    }
}

async fn eventually_healthy(pool: &Pool, instance: &str, healthy: bool) {
    let what = format!("{instance} is {}", if healthy { "healthy" } else { "ejected" });
    eventually(&what, async || state(pool, instance).healthy == healthy).await;
}

fn spec(url: &str) -> InstanceSpec {
    InstanceSpec {
        url: url.to_owned(),
        weight: 1,
    }
}

#[tokio::test]
async fn an_ejected_instance_is_checked_more_often_than_the_interval() {
    let ready = Arc::new(AtomicBool::new(true));
    let instance = upstream(ready.clone()).await;
    let long = HealthPolicy {
        check_interval: Duration::from_secs(30),
        ..health()
    };
    let pool = Pool::new("returning", vec![spec(&instance)], Policy::RoundRobin, long);
    // Ejected as a crashed instance is, by failed requests.
    for _ in 0..long.eject_after_failures.max(1) {
        pool.pick(CLIENT, &[]).unwrap().failed();
    }
    assert!(!healthy(&pool, &instance));
    let checks = start_checks(&pool);
    // The first round checks everyone at once and re-admits it; eject it again after that.
    eventually_healthy(&pool, &instance, true).await;
    ready.store(false, Ordering::SeqCst);
    for _ in 0..long.eject_after_failures.max(1) {
        pool.pick(CLIENT, &[]).unwrap().failed();
    }
    assert!(!healthy(&pool, &instance));
    ready.store(true, Ordering::SeqCst);
    // A tenth of the interval while ejected: back within about 3 s, long before the next
    // full round at 30 s.
    tokio::time::timeout(Duration::from_secs(10), async {
        while !healthy(&pool, &instance) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("re-admitted before the next full round of checks");
    checks.stop().await;
}

#[tokio::test]
async fn a_failing_readiness_check_ejects_and_a_passing_one_readmits() {
    let (ready_a, ready_b) = (Arc::new(AtomicBool::new(true)), Arc::new(AtomicBool::new(true)));
    let (a, b) = (upstream(ready_a.clone()).await, upstream(ready_b.clone()).await);
    let pool = Pool::new("checked", vec![spec(&a), spec(&b)], Policy::RoundRobin, health());
    let checks = start_checks(&pool);

    ready_b.store(false, Ordering::SeqCst);
    eventually_healthy(&pool, &b, false).await;
    assert!(healthy(&pool, &a));
    for _ in 0..100 {
        assert_eq!(pool.pick(CLIENT, &[]).unwrap().url(), a);
    }

    ready_b.store(true, Ordering::SeqCst);
    eventually_healthy(&pool, &b, true).await;
    assert_eq!(state(&pool, &b).consecutive_failures, 0);
    let counts = distribution(&pool, 100);
    assert_eq!(counts, BTreeMap::from([(a.clone(), 50), (b.clone(), 50)]));

    ready_a.store(false, Ordering::SeqCst);
    ready_b.store(false, Ordering::SeqCst);
    eventually("every instance is ejected", async || !pool.has_healthy_instance()).await;
    assert!(pool.pick(CLIENT, &[]).is_none());
    checks.stop().await;
}

#[tokio::test]
async fn an_unreachable_instance_is_ejected_until_it_listens_again() {
    let ready = Arc::new(AtomicBool::new(true));
    let a = upstream(ready).await;
    let port = free_port();
    let b = format!("http://127.0.0.1:{port}");
    let pool = Pool::new(
        "unreachable",
        vec![spec(&a), spec(&b)],
        Policy::LeastConnections,
        health(),
    );
    let checks = start_checks(&pool);

    eventually_healthy(&pool, &b, false).await;
    assert!(state(&pool, &b).consecutive_failures >= 1);
    assert!(healthy(&pool, &a));

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, readyz_router(Arc::new(AtomicBool::new(true))))
            .await
            .unwrap();
    });
    eventually_healthy(&pool, &b, true).await;
    assert_eq!(state(&pool, &b).consecutive_failures, 0);
    checks.stop().await;
    server.abort();
}

#[tokio::test]
async fn health_checks_readmit_an_instance_ejected_by_failed_requests() {
    let (a, b) = (
        upstream(Arc::new(AtomicBool::new(true))).await,
        upstream(Arc::new(AtomicBool::new(true))).await,
    );
    let pool = Pool::new("passive", vec![spec(&a), spec(&b)], Policy::RoundRobin, health());
    eject(&pool, &b);

    let checks = start_checks(&pool);
    eventually_healthy(&pool, &b, true).await;
    assert_eq!(state(&pool, &b).consecutive_failures, 0);
    checks.stop().await;
}

#[tokio::test]
async fn instance_health_and_load_are_exported_as_metrics() {
    let ready = Arc::new(AtomicBool::new(false));
    let a = upstream(ready.clone()).await;
    let pool = Pool::new("metered", vec![spec(&a)], Policy::RoundRobin, health());
    let held = pool.pick(CLIENT, &[]).unwrap();
    assert_eq!(metric("upstream_instance_healthy", &a), "1");
    assert_eq!(metric("upstream_in_flight", &a), "1");

    let checks = start_checks(&pool);
    eventually("the instance is reported unhealthy", async || {
        metric("upstream_instance_healthy", &a) == "0"
    })
    .await;
    drop(held);
    assert_eq!(metric("upstream_in_flight", &a), "0");
    checks.stop().await;
}

/// The value of the `name` gauge of service `metered` and `instance`, as Prometheus renders it.
fn metric(name: &str, instance: &str) -> String {
    let rendered = shop_platform::metrics::handle().render();
    rendered
        .lines()
        .find(|line| {
            line.starts_with(&format!("{name}{{"))
                && line.contains("service=\"metered\"")
                && line.contains(&format!("instance=\"{instance}\""))
        })
        .and_then(|line| line.rsplit(' ').next())
        .unwrap_or_else(|| panic!("no {name} for {instance} in:\n{rendered}"))
        .to_owned()
}
