use std::process::ExitCode;

use clap::Parser;
use shop_platform::{server, telemetry};

#[global_allocator]
static ALLOCATOR: shop_platform::allocator::Allocator = shop_platform::allocator::Allocator;

#[tokio::main]
async fn main() -> ExitCode {
    let config = search_service::Config::parse();
    let _logs = telemetry::init(config.service.log_format);
    server::exit_code(search_service::run(config, server::shutdown_signal()).await)
}
