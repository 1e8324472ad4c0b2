//! The evolution stages: the ladder from one process to the services, as `shop stages` lists
//! it and `shop up --stage` runs it. A stage is a preset of configuration and process layout
//! over the same crates — which processes run, how the monolith is composed, where the
//! database runs and on which CPU — never a fork of business logic.

use std::fmt;

use clap::ValueEnum;

use crate::monolith::SearchBackend;

/// Where the stage's database runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseHost {
    /// On the same CPU as the application: one machine doing everything.
    SharedCpu,
    /// On a CPU of its own: a database host of its own.
    OwnCpu,
}

/// Where the monolith's modules keep their tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Databases {
    /// One database, a schema per module.
    Shared,
    /// A database server per module, each holding a database named after it; the orders
    /// module's carts and orders split over `order_shards` servers (1: not sharded).
    PerModule { order_shards: u16 },
}

/// How a stage runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The shop as one process (or several, behind the reverse proxy), over one database.
    Monolith {
        search: SearchBackend,
        database: DatabaseHost,
        /// Instances behind the gateway acting as reverse proxy, by default; 0: none, the
        /// monolith itself is the public port.
        instances: usize,
        /// Whether catalog reads go through the cache (Redis and an in-process layer).
        cache: bool,
        /// Whether a hot standby of the database takes the catalog's reads.
        replica: bool,
        /// One database for every module, or a database server per module.
        databases: Databases,
    },
    /// A process per service, a database per service, NATS JetStream, Redis, the gateway.
    Services,
    /// The services in containers: `docker compose up` or `k8s/`.
    Containers,
}

#[derive(Debug, Clone, Copy)]
pub struct Stage {
    pub number: u8,
    pub slug: &'static str,
    pub name: &'static str,
    /// What changes from the stage before, in one line.
    pub change: &'static str,
    /// None while the stage is not built yet.
    pub layout: Option<Layout>,
}

pub const LADDER: [Stage; 10] = [
    Stage {
        number: 1,
        slug: "monolith",
        name: "monolith",
        change: "one process, one port, one database (a schema per module), in-process events, \
                 memory sessions, SQL ILIKE search; app and database share one CPU",
        layout: Some(Layout::Monolith {
            search: SearchBackend::Sql,
            database: DatabaseHost::SharedCpu,
            instances: 0,
            cache: false,
            replica: false,
            databases: Databases::Shared,
        }),
    },
    Stage {
        number: 2,
        slug: "separate-database",
        name: "separate database host",
        change: "the same monolith; PostgreSQL gets a CPU of its own",
        layout: Some(Layout::Monolith {
            search: SearchBackend::Sql,
            database: DatabaseHost::OwnCpu,
            instances: 0,
            cache: false,
            replica: false,
            databases: Databases::Shared,
        }),
    },
    Stage {
        number: 3,
        slug: "cache",
        name: "cache",
        change: "the same monolith; catalog reads cache-aside in Redis behind an in-process cache, \
                 invalidated by the product events",
        layout: Some(Layout::Monolith {
            search: SearchBackend::Sql,
            database: DatabaseHost::OwnCpu,
            instances: 0,
            cache: true,
            replica: false,
            databases: Databases::Shared,
        }),
    },
    Stage {
        number: 4,
        slug: "cluster",
        name: "cluster behind a reverse proxy",
        change: "N monolith instances behind the gateway as reverse proxy; memory sessions break \
                 (--lb-policy ip-hash, --sessions redis fix it)",
        layout: Some(Layout::Monolith {
            search: SearchBackend::Sql,
            database: DatabaseHost::OwnCpu,
            instances: 2,
            cache: false,
            replica: false,
            databases: Databases::Shared,
        }),
    },
    Stage {
        number: 5,
        slug: "read-replica",
        name: "read/write split",
        change: "the same monolith; a streaming replica (hot standby) of PostgreSQL takes the catalog's and orders' \
                 reads, and a customer's own writes are read back from where they are already applied",
        layout: Some(Layout::Monolith {
            search: SearchBackend::Sql,
            database: DatabaseHost::OwnCpu,
            instances: 0,
            cache: false,
            replica: true,
            databases: Databases::Shared,
        }),
    },
    Stage {
        number: 6,
        slug: "search-engine",
        name: "search engine",
        change: "search moves from SQL to the event-fed index (typos, relevance, facets)",
        layout: Some(Layout::Monolith {
            search: SearchBackend::Index,
            database: DatabaseHost::OwnCpu,
            instances: 0,
            cache: false,
            replica: false,
            databases: Databases::Shared,
        }),
    },
    Stage {
        number: 7,
        slug: "database-per-business",
        name: "database per business",
        change: "the same monolith; each module on a database server of its own: cross-module joins \
                 and transactions are gone, the order module's event-fed catalog replica answers instead",
        layout: Some(Layout::Monolith {
            search: SearchBackend::Index,
            database: DatabaseHost::OwnCpu,
            instances: 0,
            cache: false,
            replica: false,
            databases: Databases::PerModule { order_shards: 1 },
        }),
    },
    Stage {
        number: 8,
        slug: "sharding",
        name: "sharding",
        change: "the same monolith; carts and orders split over two database servers by a hash of the \
                 user id, order ids naming their shard, the administrators' listing gathered from both",
        layout: Some(Layout::Monolith {
            search: SearchBackend::Index,
            database: DatabaseHost::OwnCpu,
            instances: 0,
            cache: false,
            replica: false,
            databases: Databases::PerModule { order_shards: 2 },
        }),
    },
    Stage {
        number: 9,
        slug: "services",
        name: "services + messaging",
        change: "a process and a database per service, NATS JetStream, Redis sessions, the gateway",
        layout: Some(Layout::Services),
    },
    Stage {
        number: 10,
        slug: "containers",
        name: "containers and Kubernetes",
        change: "the services in containers: docker compose up, k8s/",
        layout: Some(Layout::Containers),
    },
];

/// A stage as named on the command line: its number or its name.
#[derive(Debug, Clone, Copy)]
pub struct StageArg(pub &'static Stage);

impl std::str::FromStr for StageArg {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        let name = name.trim();
        LADDER
            .iter()
            .find(|stage| stage.slug == name || stage.number.to_string() == name)
            .map(StageArg)
            .ok_or_else(|| {
                let known: Vec<String> = LADDER.iter().map(|s| format!("{} ({})", s.number, s.slug)).collect();
                format!("no stage `{name}`; the stages are {}", known.join(", "))
            })
    }
}

impl Default for StageArg {
    /// The full system.
    fn default() -> Self {
        Self(&LADDER[8])
    }
}

impl fmt::Display for StageArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.slug)
    }
}

impl Stage {
    /// The command that runs the stage.
    pub fn command(&self) -> String {
        match self.layout {
            None => "(not yet available)".to_owned(),
            Some(Layout::Containers) => "docker compose up".to_owned(),
            Some(Layout::Services) => "cargo run -p shop -- up".to_owned(),
            Some(_) => format!("cargo run -p shop -- up --stage {}", self.slug),
        }
    }

    /// The name the processes report (`SHOP_STAGE`), e.g. `1-monolith`.
    pub fn label(&self) -> String {
        format!("{}-{}", self.number, self.slug)
    }
}

/// Sessions of the monolith instances in the cluster stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SessionChoice {
    /// Each instance's own memory: a second instance does not know the session.
    Memory,
    /// One Redis shared by every instance.
    Redis,
}

/// `shop stages`: the ladder at a glance.
pub fn print_ladder() {
    println!("The evolution stages (docs/stages/README.md):");
    println!();
    for stage in &LADDER {
        println!("  {:>2}  {:<31} {}", stage.number, stage.name, stage.change);
        println!("      {:<31} {}", "", stage.command());
    }
    println!();
    println!("  Demonstrations against a running stage: shop stages demo <stage>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_named_by_number_or_slug_and_numbered_in_order() {
        for (index, stage) in LADDER.iter().enumerate() {
            assert_eq!(usize::from(stage.number), index + 1);
            assert_eq!(stage.slug.parse::<StageArg>().unwrap().0.number, stage.number);
            assert_eq!(stage.number.to_string().parse::<StageArg>().unwrap().0.slug, stage.slug);
        }
        assert!("x".parse::<StageArg>().is_err());
        assert_eq!(StageArg::default().0.layout, Some(Layout::Services));
    }
}
