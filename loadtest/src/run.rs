//! One run from start to verdict: prepare (catalog, shoppers, stock snapshot), drive the
//! open-loop load while sampling resources and search freshness, drain, reconcile, report.

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::Context as _;
use chrono::Utc;
use clap::Args;
use rand::{Rng, SeedableRng, rngs::SmallRng};
use serde::Serialize;
use tokio::{sync::watch, time::Instant};

use crate::{
    api::{Session, Shop},
    catalog::Catalog,
    freshness::{self, Freshness},
    journeys::{self, World},
    ledger::Ledger,
    monitor::{InFlight, Monitor, Stress},
    profile::{Arrivals, Mix, Overrides, Profile, ProfileName},
    reconcile::{self, Business, Reconciliation},
    resources::{self, ProcessUsage},
    schedule::Schedule,
    stats::{Measurements, Recorder},
};

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// What to run: smoke (~30 s, 2 journeys/s), standard (3 min at 20/s), stress (steps of
    /// 30 s from 10/s up by 10/s until a limit is crossed), soak (1 h at 10/s).
    #[arg(long, value_enum, default_value_t = ProfileName::Smoke)]
    pub profile: ProfileName,
    /// The shop's gateway.
    #[arg(long, env = "LOADTEST_BASE_URL", default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
    /// Target arrival rate, shopper journeys per second (stress: the first step's).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Run time in seconds (stress: of each step).
    #[arg(long)]
    pub seconds: Option<u64>,
    /// Journey weights, e.g. `browse=35,search=30,buy=25,orders=7,cancel=3` (the default).
    #[arg(long)]
    pub mix: Option<Mix>,
    /// How arrivals are spread: poisson (default) or constant.
    #[arg(long, value_enum)]
    pub arrivals: Option<Arrivals>,
    /// Shoppers registered before the run.
    #[arg(long)]
    pub users: Option<usize>,
    /// Share (0–1) of signed-in journeys that end without signing out, so that the shopper's
    /// next journey continues that session instead of signing in again (0.8).
    #[arg(long, value_parser = crate::profile::share)]
    pub session_reuse: Option<f64>,
    /// Products the shoppers buy from (their stock is reconciled).
    #[arg(long)]
    pub products: Option<usize>,
    /// Stress: how much each step adds to the rate (10).
    #[arg(long)]
    pub step_rate: Option<f64>,
    /// Stress: how many steps at most (20).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Stress: the error rate (0–1) a step must stay within to hold (0.01).
    #[arg(long)]
    pub max_error_rate: Option<f64>,
    /// Stress: the request p99, in ms, a step must stay within to hold (100).
    #[arg(long)]
    pub max_p99_ms: Option<f64>,
    /// An administrator of the shop (reads stock, changes a price for the freshness probe).
    #[arg(long, env = "LOADTEST_ADMIN_EMAIL", default_value = "admin@shop.local")]
    pub admin_email: String,
    /// The administrator's password.
    #[arg(
        long,
        env = "LOADTEST_ADMIN_PASSWORD",
        default_value = "admin-password-123",
        hide_env_values = true
    )]
    pub admin_password: String,
    /// Where the report goes: `<out>/report.html`, `<out>/summary.json`, `<out>/*.svg`.
    #[arg(long, default_value = "target/loadtest")]
    pub out: PathBuf,
    /// Seed of every random choice: the same seed draws the same arrivals, journeys and steps.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Processes to sample; by default found from the base URL's port (see loadtest/README.md).
    #[arg(long = "pid")]
    pub pids: Vec<u32>,
    /// Seconds between search freshness probes; 0 turns the probe off.
    #[arg(long, default_value_t = 5)]
    pub freshness_interval: u64,
    /// After the load, how long the shop gets to settle orders and stock before the
    /// reconciliation calls what is left a violation.
    #[arg(long, default_value_t = 120)]
    pub settle_seconds: u64,
    /// Per-request time limit, seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Journeys in flight beyond which new arrivals are dropped (and counted as failed).
    #[arg(long, default_value_t = 5000)]
    pub max_in_flight: u64,
    /// Fail on any failed request or journey. On by default except for stress, where
    /// errors are what ends the run.
    #[arg(long)]
    pub fail_on_errors: Option<bool>,
    /// No progress line.
    #[arg(long)]
    pub quiet: bool,
}

impl RunArgs {
    pub fn profile(&self) -> Profile {
        Profile::build(
            self.profile,
            &Overrides {
                rate: self.rate,
                duration: self.seconds.map(Duration::from_secs),
                mix: self.mix.clone(),
                arrivals: self.arrivals,
                users: self.users,
                session_reuse: self.session_reuse,
                products: self.products,
                stress_step: self.step_rate,
                stress_steps: self.steps,
                max_error_rate: self.max_error_rate,
                max_p99_ms: self.max_p99_ms,
            },
        )
    }
}

/// How long the checking traffic (preparation, freshness probe, reconciliation) keeps
/// retrying one request through a fault before the run gives up.
const CHECK_PATIENCE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub passed: bool,
    pub reasons: Vec<String>,
}

/// Everything a run found: what the reports show and the JSON summary holds.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub profile: Profile,
    pub base_url: String,
    pub started_at: chrono::DateTime<Utc>,
    pub seed: u64,
    /// When the load began: the timeline's second `t` covers `t - 1` to `t` seconds after it.
    pub load_started_at: chrono::DateTime<Utc>,
    /// Seconds the load ran.
    pub load_seconds: f64,
    pub target_rate: f64,
    pub achieved_rate: f64,
    /// Arrivals not started because `max_in_flight` journeys were running.
    pub dropped: u64,
    pub users_prepared: usize,
    pub users_signed_up: u64,
    pub measurements: Measurements,
    pub business: Business,
    pub freshness: Freshness,
    pub resources: Vec<ProcessUsage>,
    pub stress: Option<Stress>,
    pub reconciliation: Reconciliation,
    pub verdict: Verdict,
}

pub async fn run(args: &RunArgs) -> anyhow::Result<Summary> {
    let profile = args.profile();
    let started_at = Utc::now();
    let recorder = Arc::new(Recorder::new(profile.phases.len()));
    let shop = Shop::new(&args.base_url, Duration::from_secs(args.timeout), recorder.clone())?;
    let mut rng = SmallRng::seed_from_u64(args.seed);

    say(
        args,
        format_args!("preparing {:?} against {}…", profile.name, args.base_url),
    );
    let mut admin = Session::checking(shop.clone(), &args.admin_email, &args.admin_password, CHECK_PATIENCE)
        .await
        .with_context(|| {
            format!(
                "cannot sign in as {} at {}: is the shop running (with the demo data), and its \
                 rate limits raised for load tests (see loadtest/README.md)?",
                args.admin_email, args.base_url
            )
        })?;
    let catalog = Catalog::load(&mut admin, profile.products, &mut rng).await?;
    let working_set: Vec<_> = catalog.working_set.iter().map(|product| product.id).collect();
    let stock_before = reconcile::snapshot(&mut admin, &working_set).await?;
    let users = crate::users::Users::prepare(&shop, profile.users).await?;
    let users_prepared = users.pool_size();
    let probe_product = catalog.probe_product().cloned();
    let world = Arc::new(World {
        shop: shop.clone(),
        catalog,
        users,
        ledger: Ledger::default(),
        session_reuse: profile.session_reuse,
    });
    say(
        args,
        format_args!(
            "{} products in the working set, {users_prepared} shoppers; running {} s at {} (mix {})",
            working_set.len(),
            profile.duration().as_secs(),
            rates(&profile),
            profile.mix
        ),
    );

    let pids = if args.pids.is_empty() {
        discover(&args.base_url)
    } else {
        args.pids.clone()
    };
    let (stop_probes, probes_stopped) = watch::channel(false);
    let freshness = (args.freshness_interval > 0).then(|| {
        let (shop, email, password) = (shop.clone(), args.admin_email.clone(), args.admin_password.clone());
        let interval = Duration::from_secs(args.freshness_interval);
        let stopped = probes_stopped.clone();
        tokio::spawn(async move {
            let prober = Session::checking(shop, &email, &password, CHECK_PATIENCE).await?;
            freshness::probe(prober, probe_product, interval, stopped).await
        })
    });

    let in_flight = Arc::new(InFlight::new(profile.phases.len()));
    let stop_arrivals = Arc::new(AtomicBool::new(false));
    let load_started = Instant::now();
    let load_started_at = Utc::now();
    let monitor = tokio::spawn(
        Monitor {
            profile: profile.clone(),
            recorder: recorder.clone(),
            in_flight: in_flight.clone(),
            stop_arrivals: stop_arrivals.clone(),
            pids,
            quiet: args.quiet,
            judge_within: Duration::from_secs(args.timeout),
        }
        .run(probes_stopped, load_started),
    );

    let mut dropped = 0;
    let mut schedule = Schedule::new(&profile, SmallRng::seed_from_u64(rng.random()));
    for arrival in schedule.by_ref() {
        let due = load_started + arrival.at;
        tokio::time::sleep_until(due).await;
        if stop_arrivals.load(Ordering::Relaxed) {
            break;
        }
        recorder.arrival(arrival.phase, due.elapsed());
        let journey = profile.mix.pick(rng.random_range(0..profile.mix.total()));
        if in_flight.total() >= args.max_in_flight {
            dropped += 1;
            continue;
        }
        in_flight.started(arrival.phase);
        let (world, in_flight, journey_rng) = (world.clone(), in_flight.clone(), SmallRng::seed_from_u64(rng.random()));
        tokio::spawn(async move {
            journeys::run(world, journey, arrival.phase, due.into_std(), journey_rng).await;
            in_flight.finished(arrival.phase);
        });
    }
    if !stop_arrivals.load(Ordering::Relaxed) {
        // The run lasts its full length, whenever its last arrival was.
        tokio::time::sleep_until(load_started + profile.duration()).await;
    }
    let load_seconds = load_started.elapsed().as_secs_f64();
    stop_arrivals.store(true, Ordering::Relaxed);
    say(
        args,
        format_args!("load stopped after {load_seconds:.1} s; waiting for the journeys in flight…"),
    );
    let drained = wait_for(Duration::from_secs(args.timeout * 2), || in_flight.total() == 0).await;
    let _ = stop_probes.send(true);
    let (resources, stress) = monitor.await?;
    let freshness = match freshness {
        Some(task) => task.await??,
        None => Freshness {
            product_id: None,
            changes: 0,
            missed: 0,
            failed: 0,
            lag_ms: None,
        },
    };

    say(args, format_args!("reconciling orders and stock…"));
    let (reconciliation, business) = reconcile::reconcile(
        &mut admin,
        &world.ledger,
        &stock_before,
        Duration::from_secs(args.settle_seconds),
    )
    .await?;

    let measurements = recorder.snapshot(load_seconds);
    let intended = profile.intended_arrivals(Duration::from_secs_f64(load_seconds));
    let fail_on_errors = args.fail_on_errors.unwrap_or(profile.stress.is_none());
    let verdict = verdict(&measurements, &reconciliation, drained, dropped, fail_on_errors);
    Ok(Summary {
        base_url: args.base_url.clone(),
        started_at,
        seed: args.seed,
        load_started_at,
        load_seconds,
        target_rate: intended / load_seconds.max(f64::EPSILON),
        achieved_rate: measurements.started as f64 / load_seconds.max(f64::EPSILON),
        dropped,
        users_prepared,
        users_signed_up: world.users.signed_up(),
        measurements,
        business,
        freshness,
        resources,
        stress,
        reconciliation,
        verdict,
        profile,
    })
}

fn verdict(
    measurements: &Measurements,
    reconciliation: &Reconciliation,
    drained: bool,
    dropped: u64,
    fail_on_errors: bool,
) -> Verdict {
    let mut reasons: Vec<String> = reconciliation
        .violations
        .iter()
        .map(|violation| format!("reconciliation: {violation}"))
        .collect();
    if !drained {
        reasons.push("journeys were still running long after the load stopped".into());
    }
    // Whatever the profile: the run measured the rate limiter, not the shop.
    if measurements.requests.errors_by_status.contains_key("429") {
        reasons.push(
            "the gateway rate-limited the load (429): start the shop with `shop up --no-rate-limits` \
             (or RATE_LIMIT_PER_MINUTE=0 SESSION_RATE_LIMIT_PER_MINUTE=0 LOGIN_RATE_LIMIT_PER_MINUTE=0)"
                .into(),
        );
    }
    if fail_on_errors {
        if measurements.requests.errors > 0 {
            reasons.push(format!("{} requests failed", measurements.requests.errors));
        }
        let failed: u64 = measurements.journeys.iter().map(|journey| journey.errors).sum();
        if failed > 0 {
            reasons.push(format!("{failed} journeys failed"));
        }
        if dropped > 0 {
            reasons.push(format!("{dropped} arrivals dropped (too many journeys in flight)"));
        }
    }
    Verdict {
        passed: reasons.is_empty(),
        reasons,
    }
}

fn rates(profile: &Profile) -> String {
    match (profile.phases.first(), profile.phases.last()) {
        (Some(first), Some(last)) if profile.phases.len() > 1 => {
            format!(
                "{}→{} journeys/s in {} steps",
                first.rate,
                last.rate,
                profile.phases.len()
            )
        }
        (Some(only), _) => format!("{} journeys/s", only.rate),
        _ => "nothing".into(),
    }
}

fn say(args: &RunArgs, message: std::fmt::Arguments<'_>) {
    if !args.quiet {
        eprintln!("loadtest: {message}");
    }
}

/// The system's processes and this one, found from the base URL's port when it is local.
fn discover(base_url: &str) -> Vec<u32> {
    let port = reqwest::Url::parse(base_url)
        .ok()
        .filter(|url| matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")))
        .and_then(|url| url.port_or_known_default());
    let mut pids = port.map(resources::discover).unwrap_or_default();
    pids.push(std::process::id());
    pids.dedup();
    pids
}

async fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let give_up = Instant::now() + limit;
    while !done() {
        if Instant::now() > give_up {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    true
}
