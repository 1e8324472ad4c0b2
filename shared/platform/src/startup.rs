//! How every service starts and stops, so that a service's `run` says only what is its own —
//! its migrations, its HTTP service and its messaging:
//!
//! ```text
//! let Connections { db, bus } = config.service.connect(&MIGRATOR).await?;
//! let messaging = messaging(bus, db.clone(), …);
//! config.service.serve(service(db, …), messaging, shutdown).await
//! ```
//!
//! [`ServiceConfig::connect`] opens the database, applying the migrations, and the bus;
//! [`ServiceConfig::serve`] serves until `shutdown`, lets in-flight requests drain, then stops
//! the messaging (a handler in progress finishes its transaction).

use std::future::Future;

use anyhow::Context;
use shop_messaging::{Bus, runtime::Messaging};
use sqlx::{PgPool, migrate::Migrator};
use tokio::net::TcpListener;

use crate::{
    Service,
    config::{ServiceConfig, ServiceDefaults, check_identity_key},
    server,
};

/// What a service runs on.
pub struct Connections {
    /// Its own database, migrated.
    pub db: PgPool,
    /// The event bus.
    pub bus: Bus,
}

impl<S: ServiceDefaults> ServiceConfig<S> {
    /// Connects to the service's database, applying `migrator`'s migrations, and to the bus.
    /// Fails at once on an unreachable database; the bus connects even while NATS is down
    /// (events wait in the outbox, consumers resume when it is back).
    pub async fn connect(&self, migrator: &Migrator) -> anyhow::Result<Connections> {
        let db = self.connect_database(migrator).await?;
        let bus = self.messaging.connect().await?;
        Ok(Connections { db, bus })
    }

    /// Serves `service` on the listen address until `shutdown`, lets in-flight requests finish
    /// for the grace period, then stops `messaging`.
    pub async fn serve(
        &self,
        service: Service,
        messaging: Messaging<Bus>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let served = self.serve_http(service, shutdown).await;
        messaging.stop().await;
        served
    }

    async fn serve_http(
        &self,
        service: Service,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        check_identity_key(&service.identity_key, self.development)?;
        let name = service.name;
        let listener = TcpListener::bind(self.listen_addr)
            .await
            .with_context(|| format!("cannot listen on {}", self.listen_addr))?;
        tracing::info!(service = name, address = %listener.local_addr()?, "listening");
        server::serve(listener, service.into_router(), self.shutdown_grace(), shutdown).await?;
        tracing::info!(service = name, "stopped");
        Ok(())
    }
}
