//! Load-balancing policies: which of the eligible instances serves the next request.

use std::{
    collections::hash_map::RandomState,
    hash::BuildHasher,
    net::IpAddr,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed},
    },
};

use super::Instance;

/// How a pool spreads requests over its healthy instances. Weights only matter to
/// `weighted-round-robin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Policy {
    /// Healthy instances in turn.
    RoundRobin,
    /// Uniformly at random among the healthy instances.
    Random,
    /// The same instance for the same client IP while the healthy set is unchanged.
    IpHash,
    /// In proportion to the weights, evenly interleaved (nginx's smooth weighted round robin).
    WeightedRoundRobin,
    /// The instance with the fewest requests in flight; ties in turn.
    LeastConnections,
}

/// One pool's policy and the state it keeps between picks.
pub(super) struct Balancer {
    policy: Policy,
    /// Round robin's position; least connections' tie breaker.
    turn: AtomicUsize,
    /// SplitMix64 state for `Random`.
    random: AtomicU64,
    /// Smooth weighted round robin's current weight per instance (by index).
    current_weights: Mutex<Vec<i64>>,
}

impl Balancer {
    pub(super) fn new(policy: Policy, instances: usize) -> Self {
        Self {
            policy,
            turn: AtomicUsize::new(0),
            random: AtomicU64::new(RandomState::new().hash_one(0_u8)),
            current_weights: Mutex::new(vec![0; instances]),
        }
    }

    /// The index (into `instances`) of the instance for the next request, chosen among
    /// `eligible` (indices, in ascending order); None if `eligible` is empty.
    pub(super) fn choose(&self, instances: &[Instance], eligible: &[usize], client: IpAddr) -> Option<usize> {
        if eligible.is_empty() {
            return None;
        }
        let chosen = match self.policy {
            Policy::RoundRobin => eligible[self.next_turn() % eligible.len()],
            Policy::Random => eligible[self.below(eligible.len())],
            Policy::IpHash => {
                let client = client_hash(client);
                *eligible
                    .iter()
                    .max_by_key(|&&i| rendezvous_score(client, instances[i].hash_key))?
            }
            Policy::WeightedRoundRobin => self.smooth_weighted(instances, eligible),
            Policy::LeastConnections => {
                let mut loads: Vec<(usize, u32)> = eligible
                    .iter()
                    .map(|&i| (i, instances[i].in_flight.load(Relaxed)))
                    .collect();
                let least = loads.iter().map(|&(_, load)| load).min()?;
                loads.retain(|&(_, load)| load == least);
                loads[self.next_turn() % loads.len()].0
            }
        };
        Some(chosen)
    }

    fn next_turn(&self) -> usize {
        self.turn.fetch_add(1, Relaxed)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is below 2^-50 for any pool size).
    fn below(&self, n: usize) -> usize {
        const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;
        let state = self.random.fetch_add(GAMMA, Relaxed).wrapping_add(GAMMA);
        ((u128::from(mix(state)) * n as u128) >> 64) as usize
    }

    /// nginx's smooth weighted round robin: every eligible instance gains its weight, the one
    /// with the largest current weight is chosen and loses the sum of the weights. A 3:1 pair
    /// goes A A B A, A A B A, …
    fn smooth_weighted(&self, instances: &[Instance], eligible: &[usize]) -> usize {
        let mut current = self.current_weights.lock().unwrap_or_else(PoisonError::into_inner);
        let mut total = 0;
        let mut best = eligible[0];
        for &i in eligible {
            let weight = i64::from(instances[i].weight);
            current[i] += weight;
            total += weight;
            if current[i] > current[best] {
                best = i;
            }
        }
        current[best] -= total;
        best
    }
}

/// The key an instance is known by in rendezvous hashing: fixed for a URL, so every gateway
/// replica maps a client to the same instance.
pub(super) fn instance_hash(url: &str) -> u64 {
    mix(fnv1a(url.as_bytes()))
}

fn client_hash(client: IpAddr) -> u64 {
    // An IPv4 client reaching a dual-stack listener shows up as ::ffff:a.b.c.d.
    match client.to_canonical() {
        IpAddr::V4(v4) => fnv1a(&v4.octets()),
        IpAddr::V6(v6) => fnv1a(&v6.octets()),
    }
}

/// Rendezvous (highest random weight) hashing: the client goes to the instance with the
/// highest score, so when an instance leaves only its own clients move.
fn rendezvous_score(client: u64, instance: u64) -> u64 {
    mix(client ^ instance)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64's finaliser: a bijection in which every input bit affects every output bit.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn ipv4_mapped_clients_hash_like_ipv4() {
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_hash(v4), client_hash(mapped));
    }

    #[test]
    fn random_indices_stay_in_range() {
        let balancer = Balancer::new(Policy::Random, 3);
        let mut seen = [0; 3];
        for _ in 0..3000 {
            seen[balancer.below(3)] += 1;
        }
        assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
    }
}
