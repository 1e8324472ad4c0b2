//! Running a service's messaging: configuration, the outbox relay and the consumers as
//! background tasks that outlive broker outages, and an orderly stop.

use std::{future::Future, pin::Pin, time::Duration};

use clap::Args;
use sqlx::PgPool;
use tokio::{sync::watch, task::JoinSet};

use crate::{
    Bus, EventBus, Handler, Namespace,
    bus::BusError,
    consumer::{self, ConsumerSpec},
    in_process::InProcessBus,
    jetstream::JetStreamBus,
    lag,
    outbox::Relay,
};

#[derive(Debug, Clone, Args)]
pub struct MessagingConfig {
    /// NATS server with JetStream, or the nodes of a cluster separated by commas. The
    /// service starts even while it is unreachable: events wait in the outbox and consumers
    /// resume when it is back.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,

    /// Copies of every stream and of its consumers' state, on as many nodes of a JetStream
    /// cluster: 1 for a single server, 3 on a cluster (survives losing one node). It applies
    /// to streams created from now on; an existing stream keeps its count.
    #[arg(long, env = "NATS_REPLICAS", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(1..=5))]
    pub nats_replicas: u8,

    /// Prefix of every subject and stream, so several systems can share one NATS server.
    #[arg(long, env = "EVENT_NAMESPACE", default_value = "shop")]
    pub event_namespace: Namespace,
}

impl MessagingConfig {
    pub async fn connect(&self) -> Result<Bus, BusError> {
        let bus = JetStreamBus::connect(&self.nats_url).await?;
        Ok(Bus::JetStream(Box::new(bus.replicated(self.nats_replicas.into()))))
    }
}

/// A service's messaging tasks.
pub struct Messaging<B> {
    bus: B,
    db: PgPool,
    namespace: Namespace,
    service: &'static str,
    tasks: JoinSet<()>,
    stop: watch::Sender<bool>,
}

const RETRY: Duration = Duration::from_secs(1);

impl<B: EventBus> Messaging<B> {
    pub fn new(bus: B, db: PgPool, namespace: Namespace, service: &'static str) -> Self {
        Self {
            bus,
            db,
            namespace,
            service,
            tasks: JoinSet::new(),
            stop: watch::channel(false).0,
        }
    }

    fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut stop = self.stop.subscribe();
        async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        }
    }

    /// Publishes this service's outbox.
    pub fn start_relay(&mut self) {
        self.start_relay_on(self.db.clone());
    }

    /// Publishes the outbox of another of the service's databases (a shard).
    pub fn start_relay_on(&mut self, db: PgPool) {
        let relay = Relay::new(db, self.bus.clone(), self.namespace.clone(), self.service);
        let stopped = self.stopped();
        self.tasks.spawn(relay.run(stopped));
    }

    /// Runs another background task of the service's messaging (a deadline sweeper, say); it
    /// gets a future that completes when [`Messaging::stop`] is called.
    pub fn spawn<F>(&mut self, task: impl FnOnce(Pin<Box<dyn Future<Output = ()> + Send>>) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let stopped = Box::pin(self.stopped());
        self.tasks.spawn(task(stopped));
    }

    /// Runs `handler` for `spec`'s events, re-subscribing whenever the broker goes away.
    pub fn start_consumer<H: Handler>(&mut self, spec: ConsumerSpec<H::Events>, handler: H) {
        self.start_consumer_on(self.db.clone(), spec, handler);
    }

    /// Runs `handler` for `spec`'s events in another of the service's databases (a shard):
    /// its inbox and the handler's transactions are there.
    pub fn start_consumer_on<H: Handler>(&mut self, db: PgPool, spec: ConsumerSpec<H::Events>, handler: H) {
        let lag = lag::report(self.bus.clone(), spec.subscription(&self.namespace), self.stopped());
        self.tasks.spawn(lag);
        let (bus, namespace) = (self.bus.clone(), self.namespace.clone());
        let mut stop = self.stop.subscribe();
        let stopped = self.stopped();
        let handler = std::sync::Arc::new(handler);
        self.tasks.spawn(async move {
            tokio::pin!(stopped);
            loop {
                let attempt = async {
                    bus.ensure_streams(&namespace).await?;
                    consumer::run(
                        bus.clone(),
                        db.clone(),
                        namespace.clone(),
                        spec.clone(),
                        handler.clone(),
                        async {
                            let _ = stop.wait_for(|stopped| *stopped).await;
                        },
                    )
                    .await
                };
                tokio::select! {
                    () = &mut stopped => return,
                    result = attempt => match result {
                        Ok(()) => return,
                        Err(error) => tracing::warn!(consumer = spec.name, %error, "consumer not running; retrying"),
                    },
                }
                tokio::select! {
                    () = &mut stopped => return,
                    () = tokio::time::sleep(RETRY) => {}
                }
            }
        });
    }

    /// Stops every task and waits for them (a handler in progress finishes its transaction).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Creates the streams, retrying until the broker answers or `give_up` passes.
pub async fn ensure_streams<B: EventBus>(bus: &B, namespace: &Namespace, give_up: Duration) -> Result<(), BusError> {
    let deadline = tokio::time::Instant::now() + give_up;
    loop {
        match bus.ensure_streams(namespace).await {
            Ok(()) => return Ok(()),
            Err(error) if tokio::time::Instant::now() >= deadline => return Err(error),
            Err(_) => tokio::time::sleep(RETRY).await,
        }
    }
}

/// The in-process bus for a single-process system.
pub fn in_process() -> Bus {
    Bus::InProcess(InProcessBus::new())
}
