//! Once a second while the load runs: the timeline point, the progress line, a resource
//! sample, and for stress the judgement of each finished step — the first that does not hold
//! stops the arrivals.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use serde::Serialize;
use tokio::{sync::watch, time::Instant};

use crate::{
    profile::{Profile, StressLimits},
    resources::{ProcessUsage, Sampler},
    stats::Recorder,
};

#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub target_rate: f64,
    pub achieved_rate: f64,
    pub requests: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub p99_ms: f64,
    /// Journeys of the step still unfinished when it was judged (they count as errors).
    pub unfinished: u64,
    /// Stopped before its time because an earlier step did not hold: reported, not judged.
    pub cut_short: bool,
    pub held: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stress {
    pub steps: Vec<StepResult>,
    /// The highest target rate whose step held; none if the first step failed.
    pub highest_rate_held: Option<f64>,
}

/// Journeys in flight, in all and per phase.
pub struct InFlight {
    all: AtomicU64,
    per_phase: Vec<AtomicU64>,
}

impl InFlight {
    pub fn new(phases: usize) -> Self {
        Self {
            all: AtomicU64::new(0),
            per_phase: (0..phases).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub fn started(&self, phase: usize) {
        self.all.fetch_add(1, Ordering::Relaxed);
        self.per_phase[phase].fetch_add(1, Ordering::Relaxed);
    }

    pub fn finished(&self, phase: usize) {
        self.per_phase[phase].fetch_sub(1, Ordering::Relaxed);
        self.all.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn total(&self) -> u64 {
        self.all.load(Ordering::Relaxed)
    }

    fn in_phase(&self, phase: usize) -> u64 {
        self.per_phase[phase].load(Ordering::Relaxed)
    }
}

/// Once a second: the timeline point, the progress line, a resource sample, and for stress
/// the judgement of each finished step (which stops the arrivals when one fails).
pub struct Monitor {
    pub profile: Profile,
    pub recorder: Arc<Recorder>,
    pub in_flight: Arc<InFlight>,
    pub stop_arrivals: Arc<AtomicBool>,
    /// Processes to sample.
    pub pids: Vec<u32>,
    /// No progress line.
    pub quiet: bool,
    /// How long after its end a stress step's journeys get to finish before it is judged.
    pub judge_within: Duration,
}

impl Monitor {
    /// Runs from `started` until `stopped` turns true.
    pub async fn run(
        self,
        mut stopped: watch::Receiver<bool>,
        started: Instant,
    ) -> (Vec<ProcessUsage>, Option<Stress>) {
        let Self {
            profile,
            recorder,
            in_flight,
            stop_arrivals,
            pids,
            quiet,
            judge_within,
        } = self;
        let mut sampler = Sampler::new(&pids);
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        ticker.tick().await;
        let mut steps = Vec::new();
        let mut judged = 0;
        // When a step that did not hold stopped the arrivals.
        let mut stopped_early: Option<Duration> = None;
        let total = profile.duration().as_secs();
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stopped.changed() => break,
            }
            let elapsed = started.elapsed();
            let phase = profile.phase_at(elapsed);
            let target = phase.map_or(0.0, |(_, p)| p.rate);
            let point = recorder.tick(target, in_flight.total());
            sampler.sample(Duration::from_secs(1));
            if !quiet {
                let (requests, errors) = recorder.totals();
                eprintln!(
                    "[{:>4}/{total} s] target {target:>6.1}/s  started {:>4}  late {:>3}  req {:>5}/s  p50 {:>7.1} ms  p99 {:>7.1} ms  in flight {:>4}  errors {errors}/{requests}",
                    point.t, point.started, point.late, point.requests, point.p50_ms, point.p99_ms, point.in_flight
                );
            }
            if let Some(limits) = profile.stress {
                let current = phase.map_or(profile.phases.len(), |(index, _)| index);
                // Judge a finished step once its journeys are done, or after the time limit.
                while judged < current {
                    let end: Duration = profile.phases[..=judged].iter().map(|p| p.duration).sum();
                    let unfinished = in_flight.in_phase(judged);
                    if unfinished > 0 && elapsed < end + judge_within {
                        break;
                    }
                    let step = judge(&recorder, &profile, judged, unfinished, limits, None);
                    if !step.held && stopped_early.is_none() {
                        stop_arrivals.store(true, Ordering::Relaxed);
                        stopped_early = Some(elapsed);
                    }
                    steps.push(step);
                    judged += 1;
                }
            }
        }
        let stress = profile.stress.map(|limits| {
            // The last step, and any step under way when a failed one stopped the arrivals.
            while judged < profile.phases.len() && recorder.phase(judged).started > 0 {
                let unfinished = in_flight.in_phase(judged);
                let ran = stopped_early.map(|at| {
                    let start: Duration = profile.phases[..judged].iter().map(|p| p.duration).sum();
                    at.saturating_sub(start)
                });
                steps.push(judge(&recorder, &profile, judged, unfinished, limits, ran));
                judged += 1;
            }
            let highest_rate_held = steps
                .iter()
                .take_while(|step| step.held)
                .last()
                .map(|step| step.target_rate);
            Stress {
                steps,
                highest_rate_held,
            }
        });
        (sampler.finish(), stress)
    }
}

fn judge(
    recorder: &Recorder,
    profile: &Profile,
    phase: usize,
    unfinished: u64,
    limits: StressLimits,
    cut_short_after: Option<Duration>,
) -> StepResult {
    let tally = recorder.phase(phase);
    let requests = tally.requests.count();
    let errors = tally.requests.error_count() + unfinished;
    let error_rate = errors as f64 / (requests + unfinished).max(1) as f64;
    let p99_ms = tally.requests.p99_ms();
    let spec = profile.phases[phase];
    StepResult {
        target_rate: spec.rate,
        achieved_rate: tally.started as f64 / cut_short_after.unwrap_or(spec.duration).as_secs_f64().max(1.0),
        requests,
        errors,
        error_rate,
        p99_ms,
        unfinished,
        cut_short: cut_short_after.is_some(),
        held: cut_short_after.is_none()
            && unfinished == 0
            && error_rate <= limits.max_error_rate
            && p99_ms <= limits.max_p99_ms,
    }
}
