//! Structured logs through `tracing`, as text for people or JSON for log collectors.
//! `RUST_LOG` overrides the default filter.
//!
//! Lines are written to stdout by a thread of their own: a request that logs (the gateway's
//! access log) only queues its line, instead of waiting on a write to stdout. The queue
//! blocks when full rather than dropping lines.

use std::io::IsTerminal;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::{EnvFilter, fmt};

use crate::config::LogFormat;

/// tantivy's segment manager warns when a background merge ends after one of its segments was
/// dropped for holding only deleted documents (a later commit deleted the last one). The merge
/// is simply discarded and the index stays correct — tantivy's own error text says it is not a
/// bug — so in normal operation that warning is noise (docs/reliability.md). The NATS client
/// logs every connection event at info, three per process at start; a lost broker shows
/// anyway, as the relay's and the consumers' own warnings.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info,async_nats=warn,tantivy::indexer::segment_manager=error";

/// Keeps the log-writing thread; dropping it (at the end of `main`) writes out what is queued.
#[must_use = "lines still queued when the guard is dropped are written out then; drop it last"]
pub struct Logs {
    _writer: Option<WorkerGuard>,
}

/// Installs the global subscriber and the metrics recorder, before anything logs or counts;
/// later calls (several services in one process) are no-ops.
pub fn init(format: LogFormat) -> Logs {
    crate::metrics::handle();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let (writer, guard) = NonBlockingBuilder::default().lossy(false).finish(std::io::stdout());
    // Colour only for a person at a terminal: redirected to a file, escape codes are noise.
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_ansi(std::io::stdout().is_terminal())
        .with_writer(writer);
    let installed = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    Logs {
        _writer: installed.is_ok().then_some(guard),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_default_filter_drops_the_segment_merge_warning_and_keeps_other_warnings() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = fmt()
            .with_env_filter(EnvFilter::new(DEFAULT_FILTER))
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "tantivy::indexer::segment_manager", "couldn't find segment in SegmentManager");
            tracing::warn!(target: "tantivy::indexer::index_writer", "another tantivy warning");
            tracing::warn!(target: "search_service::projector", "cannot update the search index");
        });
        let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(!logged.contains("couldn't find segment"), "{logged}");
        assert!(logged.contains("another tantivy warning"), "{logged}");
        assert!(logged.contains("cannot update the search index"), "{logged}");
    }
}
