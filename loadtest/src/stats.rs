//! Everything measured while the load runs: latency histograms per endpoint, per journey step,
//! per journey and per phase, errors by status, and a one-point-per-second timeline.
//!
//! Latencies are recorded in microseconds into HDR histograms (3 significant digits), so
//! percentiles are exact to 0.1 % however many requests there are.

use std::{
    collections::BTreeMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use serde::Serialize;

/// An arrival that starts more than this after its intended time counts as late.
pub const LATE_AFTER: Duration = Duration::from_millis(5);

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Status(u16),
    Timeout,
    /// No HTTP answer: refused, reset, unreadable body.
    Transport,
}

impl Outcome {
    pub fn is_error(self) -> bool {
        !matches!(self, Self::Status(status) if (200..300).contains(&status))
    }

    fn label(self) -> String {
        match self {
            Self::Status(status) => status.to_string(),
            Self::Timeout => "timeout".into(),
            Self::Transport => "transport".into(),
        }
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds")
}

fn micros(latency: Duration) -> u64 {
    u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).max(1)
}

fn ms(value_us: u64) -> f64 {
    (value_us as f64 / 1000.0 * 100.0).round() / 100.0
}

/// Requests (or journeys) of one kind: their latency and how many failed, and how.
#[derive(Debug, Clone)]
pub struct Series {
    latency: Histogram<u64>,
    errors: BTreeMap<String, u64>,
}

impl Default for Series {
    fn default() -> Self {
        Self {
            latency: histogram(),
            errors: BTreeMap::new(),
        }
    }
}

impl Series {
    pub fn record(&mut self, latency: Duration, outcome: Outcome) {
        self.latency.saturating_record(micros(latency));
        if outcome.is_error() {
            *self.errors.entry(outcome.label()).or_default() += 1;
        }
    }

    pub fn count(&self) -> u64 {
        self.latency.len()
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn p99_ms(&self) -> f64 {
        ms(self.latency.value_at_quantile(0.99))
    }

    pub fn summary(&self, name: String, seconds: f64) -> SeriesSummary {
        let q = |quantile| ms(self.latency.value_at_quantile(quantile));
        SeriesSummary {
            name,
            count: self.count(),
            errors: self.error_count(),
            errors_by_status: self.errors.clone(),
            throughput_per_s: if seconds > 0.0 {
                self.count() as f64 / seconds
            } else {
                0.0
            },
            mean_ms: ms(self.latency.mean() as u64),
            p50_ms: q(0.50),
            p90_ms: q(0.90),
            p99_ms: q(0.99),
            p999_ms: q(0.999),
            max_ms: ms(self.latency.max()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SeriesSummary {
    pub name: String,
    pub count: u64,
    pub errors: u64,
    pub errors_by_status: BTreeMap<String, u64>,
    pub throughput_per_s: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// One second of the run.
#[derive(Debug, Clone, Serialize)]
pub struct SecondPoint {
    /// Seconds since the start; the point covers the second before.
    pub t: u32,
    pub target_rate: f64,
    /// Journeys started in this second.
    pub started: u64,
    pub late: u64,
    /// Requests that completed in this second, and how many of them failed.
    pub requests: u64,
    pub errors: u64,
    pub in_flight: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// What a phase (a stress step) did, attributed by the phase in which each journey was due.
#[derive(Debug, Clone, Default)]
pub struct PhaseTally {
    pub requests: Series,
    pub started: u64,
    pub late: u64,
}

#[derive(Default)]
struct Inner {
    endpoints: BTreeMap<&'static str, Series>,
    steps: BTreeMap<(&'static str, &'static str), Series>,
    journeys: BTreeMap<&'static str, Series>,
    all_requests: Series,
    phases: Vec<PhaseTally>,
    second: Series,
    second_started: u64,
    second_late: u64,
    timeline: Vec<SecondPoint>,
    started: u64,
    late: u64,
    max_lateness: Duration,
    error_samples: Vec<String>,
}

/// How many failed requests are kept, word for word, for the report.
const ERROR_SAMPLES: usize = 20;

/// Shared by every journey in flight; one short lock per recorded request.
pub struct Recorder {
    pub started_at: Instant,
    inner: Mutex<Inner>,
}

/// Which phase and journey a request belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub phase: usize,
    pub journey: &'static str,
}

impl Recorder {
    pub fn new(phases: usize) -> Self {
        Self {
            started_at: Instant::now(),
            inner: Mutex::new(Inner {
                phases: vec![PhaseTally::default(); phases],
                ..Inner::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A journey started `lateness` after its intended time.
    pub fn arrival(&self, phase: usize, lateness: Duration) {
        let late = lateness > LATE_AFTER;
        let mut inner = self.lock();
        inner.started += 1;
        inner.second_started += 1;
        inner.phases[phase].started += 1;
        if late {
            inner.late += 1;
            inner.second_late += 1;
            inner.phases[phase].late += 1;
        }
        inner.max_lateness = inner.max_lateness.max(lateness);
    }

    pub fn request(
        &self,
        context: Context,
        endpoint: &'static str,
        step: &'static str,
        latency: Duration,
        outcome: Outcome,
    ) {
        let mut inner = self.lock();
        inner.endpoints.entry(endpoint).or_default().record(latency, outcome);
        inner
            .steps
            .entry((context.journey, step))
            .or_default()
            .record(latency, outcome);
        inner.all_requests.record(latency, outcome);
        inner.second.record(latency, outcome);
        inner.phases[context.phase].requests.record(latency, outcome);
    }

    /// A whole journey, from its intended start to its last answer; `failed` if any step failed.
    pub fn journey(&self, journey: &'static str, latency: Duration, failed: bool) {
        let outcome = if failed {
            Outcome::Transport
        } else {
            Outcome::Status(200)
        };
        let mut inner = self.lock();
        let series = inner.journeys.entry(journey).or_default();
        series.latency.saturating_record(micros(latency));
        if outcome.is_error() {
            *series.errors.entry("failed".into()).or_default() += 1;
        }
    }

    /// Keeps the first few failures as they happened, to tell what went wrong.
    pub fn error_sample(&self, text: String) {
        let mut inner = self.lock();
        if inner.error_samples.len() < ERROR_SAMPLES {
            inner.error_samples.push(text);
        }
    }

    /// Closes the current second and returns its point.
    pub fn tick(&self, target_rate: f64, in_flight: u64) -> SecondPoint {
        let mut inner = self.lock();
        let second = std::mem::take(&mut inner.second);
        let q = |quantile| {
            if second.count() == 0 {
                0.0
            } else {
                ms(second.latency.value_at_quantile(quantile))
            }
        };
        let point = SecondPoint {
            t: inner.timeline.len() as u32 + 1,
            target_rate,
            started: std::mem::take(&mut inner.second_started),
            late: std::mem::take(&mut inner.second_late),
            requests: second.count(),
            errors: second.error_count(),
            in_flight,
            p50_ms: q(0.50),
            p90_ms: q(0.90),
            p99_ms: q(0.99),
            max_ms: if second.count() == 0 {
                0.0
            } else {
                ms(second.latency.max())
            },
        };
        inner.timeline.push(point.clone());
        point
    }

    pub fn phase(&self, phase: usize) -> PhaseTally {
        self.lock().phases[phase].clone()
    }

    pub fn totals(&self) -> (u64, u64) {
        let inner = self.lock();
        (inner.all_requests.count(), inner.all_requests.error_count())
    }

    /// Everything recorded, summarised over `seconds` of load.
    pub fn snapshot(&self, seconds: f64) -> Measurements {
        let inner = self.lock();
        Measurements {
            requests: inner.all_requests.summary("all requests".into(), seconds),
            endpoints: inner
                .endpoints
                .iter()
                .map(|(name, series)| series.summary((*name).into(), seconds))
                .collect(),
            steps: inner
                .steps
                .iter()
                .map(|((journey, step), series)| series.summary(format!("{journey} · {step}"), seconds))
                .collect(),
            journeys: inner
                .journeys
                .iter()
                .map(|(name, series)| series.summary((*name).into(), seconds))
                .collect(),
            timeline: inner.timeline.clone(),
            started: inner.started,
            late: inner.late,
            max_lateness_ms: inner.max_lateness.as_secs_f64() * 1000.0,
            error_samples: inner.error_samples.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Measurements {
    pub requests: SeriesSummary,
    pub endpoints: Vec<SeriesSummary>,
    pub steps: Vec<SeriesSummary>,
    pub journeys: Vec<SeriesSummary>,
    pub timeline: Vec<SecondPoint>,
    /// Journeys started, and how many of them more than 5 ms after their intended time.
    pub started: u64,
    pub late: u64,
    pub max_lateness_ms: f64,
    /// The first failed requests, with the start of their answers.
    pub error_samples: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_count_errors_by_status_and_report_percentiles() {
        let mut series = Series::default();
        for ms in 1..=100 {
            series.record(Duration::from_millis(ms), Outcome::Status(200));
        }
        series.record(Duration::from_millis(5), Outcome::Status(503));
        series.record(Duration::from_secs(2), Outcome::Timeout);
        let summary = series.summary("x".into(), 2.0);
        assert_eq!(summary.count, 102);
        assert_eq!(summary.errors, 2);
        assert_eq!(summary.errors_by_status["503"], 1);
        assert_eq!(summary.errors_by_status["timeout"], 1);
        assert_eq!(summary.throughput_per_s, 51.0);
        assert!((49.0..=51.0).contains(&summary.p50_ms), "{}", summary.p50_ms);
        assert!((1990.0..=2010.0).contains(&summary.max_ms), "{}", summary.max_ms);
    }

    #[test]
    fn ticks_close_one_second_at_a_time() {
        let recorder = Recorder::new(1);
        let context = Context {
            phase: 0,
            journey: "browse",
        };
        recorder.arrival(0, Duration::ZERO);
        recorder.arrival(0, Duration::from_millis(50));
        recorder.request(context, "GET /", "home", Duration::from_millis(3), Outcome::Status(200));
        let first = recorder.tick(2.0, 1);
        assert_eq!((first.t, first.started, first.late, first.requests), (1, 2, 1, 1));
        let second = recorder.tick(2.0, 0);
        assert_eq!(
            (second.t, second.started, second.requests, second.p99_ms),
            (2, 0, 0, 0.0)
        );
        assert_eq!(recorder.phase(0).late, 1);
    }
}
