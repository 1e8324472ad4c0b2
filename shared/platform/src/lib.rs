//! The plumbing every service shares, so that each service is only its domain:
//! configuration, database pools and migrations, problem+json errors, request extractors and
//! the input no service accepts,
//! tracing, Prometheus metrics, an HTTP server with health checks and graceful shutdown, and
//! the start-up every service shares ([`startup`]).

pub mod allocator;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod input;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod replica;
pub mod request_body;
pub mod server;
pub mod startup;
pub mod telemetry;

pub use error::{ApiError, ResultExt};
pub use extract::{Admin, Caller, Internal, Json, Path, Query};
pub use server::{Readiness, Service};

/// Result type of every handler in every service.
pub type ApiResult<T, E = ApiError> = std::result::Result<T, E>;
