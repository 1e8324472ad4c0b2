//! Structured logs through `tracing`, as text for people or JSON for log collectors.
//! `RUST_LOG` overrides the default filter.

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt};

use crate::config::LogFormat;

/// tantivy's segment manager warns when a background merge ends after one of its segments was
/// dropped for holding only deleted documents (a later commit deleted the last one). The merge
/// is simply discarded and the index stays correct — tantivy's own error text says it is not a
/// bug — so in normal operation that warning is noise (docs/reliability.md). The NATS client
/// logs every connection event at info, three per process at start; a lost broker shows
/// anyway, as the relay's and the consumers' own warnings.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info,async_nats=warn,tantivy::indexer::segment_manager=error";

/// Installs the global subscriber and the metrics recorder, before anything logs or counts;
/// later calls (several services in one process) are no-ops.
pub fn init(format: LogFormat) {
    crate::metrics::handle();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // Colour only for a person at a terminal: redirected to a file, escape codes are noise.
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_ansi(std::io::stdout().is_terminal());
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
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
