//! `shop probe`: a health check for container runtimes, whose images carry no curl. It asks a
//! service on this machine for its readiness (or liveness) and exits 0 only on a 2xx answer.

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

use crate::launcher::{Configs, ServiceName};

const TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The service to check, on the address its own configuration gives it.
    #[arg(value_enum, env = "SHOP_SERVICE")]
    pub service: ServiceName,

    /// What to ask: `ready` (`/readyz`: its dependencies answer) or `alive` (`/healthz`).
    #[arg(long, value_enum, default_value_t = Check::Ready)]
    pub check: Check,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Check {
    Ready,
    Alive,
}

impl Check {
    fn path(self) -> &'static str {
        match self {
            Self::Ready => "/readyz",
            Self::Alive => "/healthz",
        }
    }
}

pub async fn run(args: &ProbeArgs) -> anyhow::Result<()> {
    let url = format!(
        "{}{}",
        local_url(Configs::from_env().listen_addr(args.service)),
        args.check.path()
    );
    let response = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()?
        .get(&url)
        .send()
        .await
        .with_context(|| format!("no answer from {url}"))?;
    if !response.status().is_success() {
        bail!("{url} answered {}", response.status());
    }
    Ok(())
}

/// The service as seen from its own machine: a wildcard listen address is reached on loopback.
fn local_url(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("http://127.0.0.1:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}
