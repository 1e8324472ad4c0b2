//! The bus on a JetStream cluster of this test's own: three `nats-server` processes with
//! routes between them, each with its own store directory.

use std::time::Duration;

use bytes::Bytes;
use shop_messaging::{EventBus, Namespace, bus::Outgoing, jetstream::JetStreamBus, runtime, topology::CONTEXTS};
use shop_testkit::{OwnServer, TempDir, free_port};

const NODES: usize = 3;

struct Cluster {
    // Dropped first: the servers stop before their store directories are removed.
    nodes: Vec<OwnServer>,
    _stores: TempDir,
}

impl Cluster {
    fn start() -> Self {
        let stores = TempDir::new("nats-cluster");
        let ports: Vec<(u16, u16)> = (0..NODES).map(|_| (free_port(), free_port())).collect();
        let nodes = ports
            .iter()
            .enumerate()
            .map(|(n, &(client, route))| {
                let routes = ports
                    .iter()
                    .filter(|&&(_, other)| other != route)
                    .map(|(_, other)| format!("nats://127.0.0.1:{other}"))
                    .collect::<Vec<_>>()
                    .join(",");
                let store = stores.path.join(format!("node-{n}"));
                OwnServer::start(
                    client,
                    "nats-server",
                    [
                        "-a".into(),
                        "127.0.0.1".into(),
                        "-p".into(),
                        client.to_string(),
                        "-js".into(),
                        "-sd".into(),
                        store.display().to_string(),
                        "--server_name".into(),
                        format!("node-{n}"),
                        "--cluster_name".into(),
                        "test".into(),
                        "--cluster".into(),
                        format!("nats://127.0.0.1:{route}"),
                        "--routes".into(),
                        routes,
                    ],
                )
            })
            .collect();
        Self { nodes, _stores: stores }
    }

    /// Every node's URL, the way `NATS_URL` lists them.
    fn servers(&self) -> String {
        self.nodes
            .iter()
            .map(|node| format!("nats://127.0.0.1:{}", node.port))
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn message(namespace: &Namespace, id: &str) -> Outgoing {
    Outgoing {
        subject: namespace.subject("order.ticked"),
        message_id: id.to_owned(),
        headers: Vec::new(),
        payload: Bytes::from_static(b"{}"),
    }
}

#[tokio::test]
async fn streams_on_a_cluster_have_three_copies_and_outlive_a_node() {
    let mut cluster = Cluster::start();
    let namespace = Namespace::new("cluster").unwrap();
    let bus = JetStreamBus::connect(&cluster.servers())
        .await
        .unwrap()
        .replicated(NODES);
    // Until the nodes have elected a JetStream leader, creating a stream fails.
    runtime::ensure_streams(&bus, &namespace, Duration::from_secs(60))
        .await
        .expect("create the streams on the cluster");

    let client = async_nats::connect(cluster.servers().split(',').collect::<Vec<_>>())
        .await
        .unwrap();
    let jetstream = async_nats::jetstream::new(client);
    for context in CONTEXTS {
        let mut stream = jetstream.get_stream(namespace.stream(context)).await.unwrap();
        let info = stream.info().await.unwrap();
        assert_eq!(info.config.num_replicas, NODES, "{context}");
        let copies = info.cluster.as_ref().map_or(0, |cluster| 1 + cluster.replicas.len());
        assert_eq!(copies, NODES, "{context}: the leader and its followers");
    }

    bus.publish(message(&namespace, "before")).await.unwrap();
    // One node lost: the client moves to another, the stream still has a majority.
    cluster.nodes[0].stop();
    shop_testkit::eventually("an event is stored with one node down", async || {
        bus.publish(message(&namespace, "after")).await.is_ok()
    })
    .await;
    let stored = async || {
        let mut stream = jetstream.get_stream(namespace.stream("order")).await.ok()?;
        Some(stream.info().await.ok()?.state.messages)
    };
    shop_testkit::eventually("the stream answers with one node down", async || {
        stored().await.is_some()
    })
    .await;
    assert_eq!(stored().await, Some(2));
}
