//! `shop`: runs the whole system on one machine.
//!
//! `shop up` creates the databases if missing, migrates and seeds them, starts every service as
//! its own process (this same binary, `shop serve <service>`), waits until each is ready,
//! prints where to open it, and stops everything cleanly on Ctrl-C.

mod bench;
mod bench_relay;
mod bench_search;
mod business_databases_demo;
mod cache_demo;
mod database_host;
mod dead_letters;
mod demo;
mod launcher;
mod monolith;
mod plan;
mod probe;
mod replica_demo;
mod sharding_demo;
mod stages;
mod stats;
mod supervisor;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use shop_platform::{server, telemetry};

#[derive(Parser)]
#[command(name = "shop", about = "Run the shop: every service, its database and demo data")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prepare the databases, load demo data and run every service until Ctrl-C (or, with
    /// `--stage`, the shop as an earlier evolution stage runs it).
    Up(launcher::UpArgs),
    /// List the evolution stages, from one process to the services, and how to run each.
    Stages {
        #[command(subcommand)]
        command: Option<StagesCommand>,
    },
    /// Create, migrate and seed the databases, then exit.
    Seed(launcher::SeedArgs),
    /// Sign in as a user and print an identity token for calling the services directly, as
    /// the gateway will on the user's behalf (valid for one hour).
    Token(launcher::TokenArgs),
    /// Measure the checkout saga against the running system: orders/s and placed → confirmed
    /// latency percentiles.
    BenchCheckout(bench::BenchArgs),
    /// Measure search against the running system: full reindex time, query latency for a
    /// fixed query mix, and how soon a price change is searchable.
    BenchSearch(bench_search::BenchSearchArgs),
    /// Measure the outbox relay: how fast a backlog of events is published to JetStream, on a
    /// database and event namespace of its own (removed afterwards).
    BenchRelay(bench_relay::BenchRelayArgs),
    /// Rebuild the running search service's index from its catalog replica and swap it in,
    /// printing progress.
    Reindex,
    /// Inspect and replay the events consumers gave up on (dead letters).
    #[command(subcommand)]
    Dlq(dead_letters::DlqCommand),
    /// Delete everything the system stored on this machine — the services' databases, their
    /// event streams, the search index — to start again from nothing.
    Reset {
        /// Confirms that everything should go.
        #[arg(long)]
        yes: bool,
    },
    /// Run one service in the foreground (what `up` starts for each service, and what a
    /// container runs).
    Serve {
        #[arg(value_enum, env = "SHOP_SERVICE")]
        service: launcher::ServiceName,
    },
    /// Exit 0 if a service on this machine answers its health check (for container runtimes).
    Probe(probe::ProbeArgs),
}

#[derive(Subcommand)]
enum StagesCommand {
    /// Run a stage's scripted demonstration against it while it runs, and say what happened.
    Demo(demo::DemoArgs),
}

#[global_allocator]
static ALLOCATOR: shop_platform::allocator::Allocator = shop_platform::allocator::Allocator;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up(args) => {
            let _logs = telemetry::init(shop_platform::config::LogFormat::Pretty);
            launcher::up(args).await
        }
        Command::Seed(args) => {
            let _logs = telemetry::init(shop_platform::config::LogFormat::Pretty);
            launcher::seed(&args).await
        }
        Command::Stages { command: None } => {
            stages::print_ladder();
            Ok(())
        }
        Command::Stages {
            command: Some(StagesCommand::Demo(args)),
        } => demo::run(&args).await.map(drop),
        Command::Token(args) => launcher::token(&args).await,
        Command::Dlq(command) => {
            dead_letters::run(command, &launcher::Configs::from_env().user.service.messaging).await
        }
        Command::BenchCheckout(args) => bench::run(args, &launcher::Configs::from_env()).await,
        Command::BenchSearch(args) => bench_search::run(args, &launcher::Configs::from_env()).await,
        Command::BenchRelay(args) => bench_relay::run(args, &launcher::Configs::from_env()).await,
        Command::Reindex => bench_search::reindex(&launcher::Configs::from_env()).await,
        Command::Reset { yes } => {
            let _logs = telemetry::init(shop_platform::config::LogFormat::Pretty);
            launcher::reset(yes).await
        }
        Command::Serve { service } => launcher::serve(service).await,
        Command::Probe(args) => probe::run(&args).await,
    };
    server::exit_code(result)
}
