//! Prometheus metrics: one process-wide recorder, and a middleware that counts and times
//! every request by service, method, matched route and status.

use std::{
    sync::{LazyLock, OnceLock},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{Method, StatusCode},
    middleware::Next,
    response::Response,
};
use metrics::{Label, SharedString};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process-wide recorder, installed on first use (several services may share a process).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .expect("bucket list is not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed")
    })
}

pub async fn track_requests(State(service): State<&'static str>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    // The route template, not the raw path, so ids do not explode label cardinality.
    let route: SharedString = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(SharedString::const_str("unmatched"), |p| p.as_str().to_owned().into());
    let response = next.run(request).await;
    let labels = vec![
        Label::from_static_parts("service", service),
        Label::new("method", method),
        Label::new("route", route),
        Label::new("status", status_label(response.status())),
    ];
    metrics::counter!("http_requests_total", labels.clone()).increment(1);
    metrics::histogram!("http_request_duration_seconds", labels).record(started.elapsed().as_secs_f64());
    response
}

/// Label values are borrowed where they can be: every request's labels were four new strings.
fn method_label(method: &Method) -> SharedString {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    const NAMES: [&str; 9] = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE",
    ];
    match KNOWN.iter().position(|known| known == method) {
        Some(at) => SharedString::const_str(NAMES[at]),
        None => method.as_str().to_owned().into(),
    }
}

fn status_label(status: StatusCode) -> SharedString {
    static CODES: LazyLock<Vec<SharedString>> =
        LazyLock::new(|| (100..1000).map(|code: u16| code.to_string().into()).collect());
    CODES[usize::from(status.as_u16() - 100)].clone()
}
