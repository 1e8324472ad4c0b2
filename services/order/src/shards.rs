//! Orders and carts split over several databases — shards — by a hash of the user id.
//!
//! - A customer lives on one shard ([`ShardId::of_user`]): their cart, their orders, their
//!   checkout's idempotency keys. Everything a customer does is one shard, one transaction.
//! - An order's id carries its shard in its last byte ([`ShardId::new_order_id`]), so a lookup
//!   by id, or an event about the order, goes to one shard without asking anyone.
//! - Each shard is a whole order database: its own catalog replica, outbox, relay, inbox and
//!   consumers. A shard's saga consumer reads every inventory answer and settles the orders
//!   whose id names it.
//!
//! One shard is the unsharded service: every user and every order maps to it.

use std::sync::Arc;

use shop_platform::replica::ReadPool;
use sqlx::PgPool;
use uuid::Uuid;

/// The most shards an order id can name (its last byte).
pub const MAX_SHARDS: usize = 256;

/// One shard among `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardId {
    pub index: usize,
    pub count: usize,
}

impl ShardId {
    /// The only shard of an unsharded service.
    pub const SINGLE: Self = Self { index: 0, count: 1 };

    /// The shard a user's carts and orders live on, among `count`: a hash of the id, so
    /// placement is stable and spread evenly whatever kind of UUID the user service issues
    /// (time-ordered ids share their leading bytes).
    pub fn of_user(user_id: Uuid, count: usize) -> Self {
        let bits = user_id.as_u128();
        let folded = (bits as u64) ^ ((bits >> 64) as u64);
        Self {
            index: (mix(folded) % count as u64) as usize,
            count,
        }
    }

    /// The shard an order id names, among `count`. An id from before the split (or made up)
    /// still names one shard; it is simply not found there.
    pub fn of_order(order_id: Uuid, count: usize) -> Self {
        Self {
            index: usize::from(order_id.as_bytes()[15]) % count,
            count,
        }
    }

    /// A new, time-ordered order id that names this shard (66 random bits remain).
    pub fn new_order_id(self) -> Uuid {
        let mut bytes = *Uuid::now_v7().as_bytes();
        bytes[15] = u8::try_from(self.index).expect("at most MAX_SHARDS shards");
        Uuid::from_bytes(bytes)
    }

    /// Whether the order with this id lives on this shard.
    pub fn holds_order(self, order_id: Uuid) -> bool {
        Self::of_order(order_id, self.count) == self
    }

    /// A name for what belongs to this shard alone (a durable consumer, say): `base` itself
    /// when the service is not sharded, so an unsharded deployment keeps its names.
    pub fn name(self, base: &str) -> String {
        if self.count == 1 {
            base.to_owned()
        } else {
            format!("{base}-shard-{}", self.index)
        }
    }
}

/// The finalizer of SplitMix64: every input bit moves every output bit, and it never changes
/// (unlike `std`'s hasher), so a user stays on their shard across builds.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// One shard's database, and the pool its reads go to.
#[derive(Clone)]
pub struct Shard {
    pub id: ShardId,
    pub db: PgPool,
    pub read: ReadPool,
}

/// Every shard of the order service, in order: shard 0 first.
#[derive(Clone)]
pub struct Shards(Arc<[Shard]>);

/// One database, unsharded, with no replica.
impl From<PgPool> for Shards {
    fn from(db: PgPool) -> Self {
        Self::single(db.clone(), ReadPool::primary_only(db))
    }
}

impl Shards {
    /// The unsharded service: one database, its reads at `read`.
    pub fn single(db: PgPool, read: ReadPool) -> Self {
        Self(Arc::new([Shard {
            id: ShardId::SINGLE,
            db,
            read,
        }]))
    }

    /// Shards over `databases`, shard 0 first, each read from its own primary.
    pub fn over(databases: Vec<PgPool>) -> Self {
        assert!((1..=MAX_SHARDS).contains(&databases.len()), "1 to {MAX_SHARDS} shards");
        let count = databases.len();
        let shards = databases.into_iter().enumerate().map(|(index, db)| Shard {
            id: ShardId { index, count },
            read: ReadPool::primary_only(db.clone()),
            db,
        });
        Self(shards.collect())
    }

    /// How many shards there are: at least one.
    pub fn count(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Shard> {
        self.0.iter()
    }

    /// The first shard; the only one of an unsharded service.
    pub fn first(&self) -> &Shard {
        &self.0[0]
    }

    pub fn for_user(&self, user_id: Uuid) -> &Shard {
        &self.0[ShardId::of_user(user_id, self.count()).index]
    }

    pub fn for_order(&self, order_id: Uuid) -> &Shard {
        &self.0[ShardId::of_order(order_id, self.count()).index]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(count: usize, users: usize) -> Vec<usize> {
        let mut per_shard = vec![0; count];
        for _ in 0..users {
            per_shard[ShardId::of_user(Uuid::now_v7(), count).index] += 1;
        }
        per_shard
    }

    #[test]
    fn users_spread_within_ten_percent_over_two_and_four_shards() {
        for count in [2, 4] {
            let users = 10_000;
            let fair = users / count;
            for (shard, &held) in spread(count, users).iter().enumerate() {
                assert!(
                    held.abs_diff(fair) * 10 <= fair,
                    "shard {shard} of {count} holds {held} of {users} users; fair is {fair}"
                );
            }
        }
    }

    #[test]
    fn random_user_ids_spread_too() {
        let count = 4;
        let mut per_shard = vec![0usize; count];
        for _ in 0..10_000 {
            per_shard[ShardId::of_user(Uuid::new_v4(), count).index] += 1;
        }
        assert!(
            per_shard.iter().all(|&held| held.abs_diff(2_500) <= 250),
            "{per_shard:?}"
        );
    }

    #[test]
    fn placement_is_stable() {
        // Pinned: a change to the hash would move every customer to another shard.
        let user: Uuid = "0192f5c4-7b1e-7c3a-9d2e-5f6a7b8c9d0e".parse().unwrap();
        let pinned: Vec<usize> = (1..=8).map(|count| ShardId::of_user(user, count).index).collect();
        assert_eq!(pinned, [0, 1, 0, 1, 2, 3, 0, 5]);
    }

    #[test]
    fn an_order_id_names_its_shard() {
        for count in [1, 2, 4, 7] {
            for index in 0..count {
                let shard = ShardId { index, count };
                let id = shard.new_order_id();
                assert_eq!(id.get_version_num(), 7);
                assert_eq!(ShardId::of_order(id, count), shard);
                assert!(shard.holds_order(id));
            }
        }
        assert_eq!(ShardId::SINGLE.name("order-saga"), "order-saga");
        assert_eq!(ShardId { index: 1, count: 2 }.name("order-saga"), "order-saga-shard-1");
    }
}
