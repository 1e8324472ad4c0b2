//! Consumer lag read from the real NATS JetStream: what a durable consumer has not yet
//! acknowledged, and the gauge that reports it.

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use shop_contracts::events::{Cause, Envelope, Event};
use shop_messaging::{ConsumerSpec, EventBus, in_process::InProcessBus, lag, outbox};
use shop_testkit::{TestBus, eventually};
use uuid::Uuid;

#[derive(Debug, Serialize, Deserialize)]
struct Tick;

impl Event for Tick {
    const TYPE: &'static str = "order.ticked";
}

#[tokio::test]
async fn lag_counts_the_events_a_consumer_has_not_acknowledged_and_is_exported() {
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .unwrap();
    let test = TestBus::jetstream().await;
    let subscription = ConsumerSpec::<Tick>::new("lag-probe").subscription(&test.namespace);
    let mut deliveries = test.bus.subscribe(subscription.clone()).await.unwrap();
    for _ in 0..3 {
        let envelope = Envelope::new("test", Uuid::now_v7(), 1, &Tick, Cause::new_flow());
        test.bus
            .publish(outbox::outgoing(&test.namespace, &envelope))
            .await
            .unwrap();
    }
    eventually("three events pending", async || {
        test.bus.pending(&subscription).await.unwrap() == Some(3)
    })
    .await;

    deliveries.next().await.unwrap().unwrap().ack().await.unwrap();
    eventually("two left after one is acknowledged", async || {
        test.bus.pending(&subscription).await.unwrap() == Some(2)
    })
    .await;

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let reporter = tokio::spawn(lag::report(test.bus.clone(), subscription, async {
        let _ = stopped.await;
    }));
    eventually("the gauge reports the lag", async || {
        metrics
            .render()
            .contains("consumer_pending_events{consumer=\"lag-probe\"} 2")
    })
    .await;
    stop.send(()).unwrap();
    reporter.await.unwrap();
}

#[tokio::test]
async fn the_gauge_is_exported_when_the_recorder_is_installed_after_the_reporter_started() {
    let test = TestBus::jetstream().await;
    let subscription = ConsumerSpec::<Tick>::new("late-recorder").subscription(&test.namespace);
    let _deliveries = test.bus.subscribe(subscription.clone()).await.unwrap();
    let envelope = Envelope::new("test", Uuid::now_v7(), 1, &Tick, Cause::new_flow());
    test.bus
        .publish(outbox::outgoing(&test.namespace, &envelope))
        .await
        .unwrap();
    eventually("one event pending", async || {
        test.bus.pending(&subscription).await.unwrap() == Some(1)
    })
    .await;

    // A service starts its consumers before its router installs the recorder.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let reporter = tokio::spawn(lag::report(test.bus.clone(), subscription, async {
        let _ = stopped.await;
    }));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .unwrap();
    eventually("the gauge reports the lag at its next reading", async || {
        metrics
            .render()
            .contains("consumer_pending_events{consumer=\"late-recorder\"} 1")
    })
    .await;
    stop.send(()).unwrap();
    reporter.await.unwrap();
}

#[tokio::test]
async fn a_broker_without_a_count_reports_nothing() {
    let bus = InProcessBus::new();
    let subscription = ConsumerSpec::<Tick>::new("lag-probe").subscription(&"test".parse().unwrap());
    assert_eq!(bus.pending(&subscription).await.unwrap(), None);
    // Ends at once instead of polling a broker that cannot answer.
    lag::report(bus, subscription, std::future::pending()).await;
}
