//! What a run does: the arrival rate over time (phases), the shopper mix, and for `stress`
//! the limits that end it.

use std::{fmt, str::FromStr, time::Duration};

use clap::ValueEnum;
use serde::Serialize;

use crate::journeys::Journey;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileName {
    /// About 30 s at a low rate: does every journey work, is the system consistent?
    Smoke,
    /// A few minutes at a steady target rate: the baseline.
    Standard,
    /// The rate steps up until the error rate or p99 crosses its limit.
    Stress,
    /// An hour at a steady rate: leaks, growing queues, slow drift.
    Soak,
}

/// How arrivals are spread within a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrivals {
    /// Exponential gaps between arrivals (a Poisson process): bursts and lulls, as real traffic has.
    Poisson,
    /// Evenly spaced arrivals.
    Constant,
}

/// A stretch of the run at one target arrival rate (shopper journeys started per second).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Phase {
    pub rate: f64,
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
}

fn seconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}

/// When a stress step no longer holds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StressLimits {
    /// Failed requests over all requests of a step.
    pub max_error_rate: f64,
    /// Request latency p99 of a step, milliseconds.
    pub max_p99_ms: f64,
}

/// Relative weights of the shopper journeys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mix(pub Vec<(Journey, u32)>);

impl Default for Mix {
    /// Most visitors look around; about a quarter buy; a few come back for their orders.
    fn default() -> Self {
        Self(vec![
            (Journey::Browse, 35),
            (Journey::Search, 30),
            (Journey::Buy, 25),
            (Journey::Orders, 7),
            (Journey::Cancel, 3),
        ])
    }
}

impl Mix {
    pub fn total(&self) -> u32 {
        self.0.iter().map(|(_, weight)| weight).sum()
    }

    /// The journey at `ticket`, a number below [`Mix::total`].
    pub fn pick(&self, mut ticket: u32) -> Journey {
        for (journey, weight) in &self.0 {
            if ticket < *weight {
                return *journey;
            }
            ticket -= weight;
        }
        unreachable!("ticket beyond the mix's total weight")
    }
}

impl FromStr for Mix {
    type Err = String;

    /// `browse=35,search=30,buy=25,orders=7,cancel=3`; journeys left out get no traffic.
    fn from_str(text: &str) -> Result<Self, String> {
        let mut mix = Vec::new();
        for pair in text.split(',').map(str::trim).filter(|pair| !pair.is_empty()) {
            let (name, weight) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}`: expected journey=weight"))?;
            let journey = Journey::from_str(name.trim(), true)?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("`{pair}`: the weight must be a whole number"))?;
            if mix.iter().any(|(seen, _)| *seen == journey) {
                return Err(format!("`{name}` is given twice"));
            }
            mix.push((journey, weight));
        }
        let mix = Self(mix);
        if mix.total() == 0 {
            return Err("at least one journey needs a positive weight".into());
        }
        Ok(mix)
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(j, w)| format!("{}={w}", j.name())).collect();
        f.write_str(&parts.join(","))
    }
}

/// Most returning shoppers are still signed in from their last visit: sessions last 30 idle
/// minutes at the gateway, and few people sign out.
pub const SESSION_REUSE: f64 = 0.8;

/// A share between 0 and 1, from the command line.
pub fn share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err(format!("`{text}`: expected a share between 0 and 1")),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub name: ProfileName,
    pub phases: Vec<Phase>,
    pub arrivals: Arrivals,
    pub mix: Mix,
    /// Registered shoppers prepared before the run (more are registered during it when all are busy).
    pub users: usize,
    /// Share of signed-in journeys after which the shopper stays signed in; their next journey
    /// continues the session instead of signing in (a fresh argon2id verification) again.
    pub session_reuse: f64,
    /// Products the shoppers put in carts: their stock is reconciled at the end.
    pub products: usize,
    pub stress: Option<StressLimits>,
}

/// What the command line may change in a profile.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub rate: Option<f64>,
    pub duration: Option<Duration>,
    pub mix: Option<Mix>,
    pub arrivals: Option<Arrivals>,
    pub users: Option<usize>,
    pub session_reuse: Option<f64>,
    pub products: Option<usize>,
    pub stress_step: Option<f64>,
    pub stress_steps: Option<usize>,
    pub max_error_rate: Option<f64>,
    pub max_p99_ms: Option<f64>,
}

impl Profile {
    pub fn build(name: ProfileName, overrides: &Overrides) -> Self {
        let steady = |rate: f64, seconds: u64| {
            vec![Phase {
                rate: overrides.rate.unwrap_or(rate),
                duration: overrides.duration.unwrap_or(Duration::from_secs(seconds)),
            }]
        };
        let (phases, users, stress) = match name {
            ProfileName::Smoke => (steady(2.0, 30), 10, None),
            ProfileName::Standard => (steady(20.0, 180), 100, None),
            ProfileName::Soak => (steady(10.0, 3600), 100, None),
            ProfileName::Stress => {
                let start = overrides.rate.unwrap_or(10.0);
                let step = overrides.stress_step.unwrap_or(10.0);
                let duration = overrides.duration.unwrap_or(Duration::from_secs(30));
                let phases = (0..overrides.stress_steps.unwrap_or(20))
                    .map(|n| Phase {
                        rate: start + step * n as f64,
                        duration,
                    })
                    .collect();
                let limits = StressLimits {
                    max_error_rate: overrides.max_error_rate.unwrap_or(0.01),
                    max_p99_ms: overrides.max_p99_ms.unwrap_or(100.0),
                };
                (phases, 200, Some(limits))
            }
        };
        Self {
            name,
            phases,
            arrivals: overrides.arrivals.unwrap_or(Arrivals::Poisson),
            mix: overrides.mix.clone().unwrap_or_default(),
            users: overrides.users.unwrap_or(users),
            session_reuse: overrides.session_reuse.unwrap_or(SESSION_REUSE),
            products: overrides.products.unwrap_or(40),
            stress,
        }
    }

    pub fn duration(&self) -> Duration {
        self.phases.iter().map(|phase| phase.duration).sum()
    }

    /// Journeys due in the first `elapsed` of the run at the target rates.
    pub fn intended_arrivals(&self, elapsed: Duration) -> f64 {
        let mut start = Duration::ZERO;
        let mut arrivals = 0.0;
        for phase in &self.phases {
            let within = elapsed.saturating_sub(start).min(phase.duration);
            arrivals += phase.rate * within.as_secs_f64();
            start += phase.duration;
        }
        arrivals
    }

    /// The phase running `elapsed` into the run, if any.
    pub fn phase_at(&self, elapsed: Duration) -> Option<(usize, &Phase)> {
        let mut end = Duration::ZERO;
        self.phases.iter().enumerate().find(|(_, phase)| {
            end += phase.duration;
            elapsed < end
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixes_parse_and_pick_by_weight() {
        let mix: Mix = "browse=2, buy=1".parse().unwrap();
        assert_eq!(mix.total(), 3);
        assert_eq!(
            (0..3).map(|t| mix.pick(t)).collect::<Vec<_>>(),
            [Journey::Browse, Journey::Browse, Journey::Buy]
        );
        assert_eq!(mix.to_string(), "browse=2,buy=1");
        for bad in ["browse", "browse=x", "fly=1", "browse=0", "browse=1,browse=2"] {
            assert!(bad.parse::<Mix>().is_err(), "{bad}");
        }
        assert_eq!(Mix::default().total(), 100);
    }

    #[test]
    fn stress_steps_up_and_phases_are_found_by_time() {
        let profile = Profile::build(
            ProfileName::Stress,
            &Overrides {
                rate: Some(5.0),
                stress_step: Some(5.0),
                stress_steps: Some(3),
                duration: Some(Duration::from_secs(10)),
                ..Overrides::default()
            },
        );
        let rates: Vec<f64> = profile.phases.iter().map(|p| p.rate).collect();
        assert_eq!(rates, [5.0, 10.0, 15.0]);
        assert_eq!(profile.duration(), Duration::from_secs(30));
        assert_eq!(profile.phase_at(Duration::from_secs(15)).unwrap().0, 1);
        assert!(profile.phase_at(Duration::from_secs(30)).is_none());
        assert_eq!(profile.intended_arrivals(Duration::from_secs(15)), 50.0 + 50.0);
    }
}
