use std::process::ExitCode;

use clap::Parser;
use shop_platform::{server, telemetry};

#[global_allocator]
static ALLOCATOR: shop_platform::allocator::Allocator = shop_platform::allocator::Allocator;

#[tokio::main]
async fn main() -> ExitCode {
    let config = gateway::Config::parse();
    let _logs = telemetry::init(config.log_format);
    server::exit_code(gateway::run(config, server::shutdown_signal()).await)
}
