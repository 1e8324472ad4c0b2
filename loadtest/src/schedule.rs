//! The open-loop arrival schedule: when each journey is due, computed from the target rate
//! alone — never from how fast the shop answers — so a slow shop cannot slow the load down
//! and hide its own stalls (coordinated omission).

use std::time::Duration;

use rand::{Rng, rngs::SmallRng};

use crate::profile::{Arrivals, Profile};

/// A journey due `at` after the start of the run, in phase `phase`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrival {
    pub at: Duration,
    pub phase: usize,
}

pub struct Schedule<'a> {
    profile: &'a Profile,
    rng: SmallRng,
    now: Duration,
}

impl<'a> Schedule<'a> {
    pub fn new(profile: &'a Profile, rng: SmallRng) -> Self {
        Self {
            profile,
            rng,
            now: Duration::ZERO,
        }
    }

    fn gap(&mut self, rate: f64) -> Duration {
        let mean = 1.0 / rate;
        match self.profile.arrivals {
            Arrivals::Constant => Duration::from_secs_f64(mean),
            // Exponentially distributed gaps: 1 - U is in (0, 1], so the logarithm is finite.
            Arrivals::Poisson => Duration::from_secs_f64(-(1.0 - self.rng.random::<f64>()).ln() * mean),
        }
    }
}

impl Iterator for Schedule<'_> {
    type Item = Arrival;

    fn next(&mut self) -> Option<Arrival> {
        loop {
            let (phase, current) = self.profile.phase_at(self.now)?;
            let end: Duration = self.profile.phases[..=phase].iter().map(|p| p.duration).sum();
            if current.rate <= 0.0 {
                self.now = end;
                continue;
            }
            let at = self.now + self.gap(current.rate);
            if at >= end {
                // The next phase draws its own gap from its start: exponential gaps have no
                // memory, so the arrivals stay a Poisson process of the new rate.
                self.now = end;
                continue;
            }
            self.now = at;
            return Some(Arrival { at, phase });
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::profile::{Overrides, Phase, ProfileName};

    fn profile(arrivals: Arrivals, phases: Vec<Phase>) -> Profile {
        let mut profile = Profile::build(ProfileName::Smoke, &Overrides::default());
        profile.arrivals = arrivals;
        profile.phases = phases;
        profile
    }

    #[test]
    fn constant_arrivals_are_evenly_spaced_per_phase() {
        let profile = profile(
            Arrivals::Constant,
            vec![
                Phase {
                    rate: 10.0,
                    duration: Duration::from_secs(2),
                },
                Phase {
                    rate: 20.0,
                    duration: Duration::from_secs(1),
                },
            ],
        );
        let arrivals: Vec<Arrival> = Schedule::new(&profile, SmallRng::seed_from_u64(1)).collect();
        let in_phase = |n| arrivals.iter().filter(|a| a.phase == n).count();
        assert!((19..=20).contains(&in_phase(0)), "{}", in_phase(0));
        assert!((19..=20).contains(&in_phase(1)), "{}", in_phase(1));
        assert!(arrivals.windows(2).all(|pair| pair[0].at < pair[1].at));
    }

    #[test]
    fn poisson_arrivals_average_the_target_rate() {
        let profile = profile(
            Arrivals::Poisson,
            vec![Phase {
                rate: 50.0,
                duration: Duration::from_secs(200),
            }],
        );
        let count = Schedule::new(&profile, SmallRng::seed_from_u64(2)).count();
        // 10,000 expected; the standard deviation is 100.
        assert!((9_500..=10_500).contains(&count), "{count}");
    }
}
