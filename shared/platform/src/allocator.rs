//! The memory allocator of every binary of the shop: mimalloc, declared in each `main.rs` as
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: shop_platform::allocator::Allocator = shop_platform::allocator::Allocator;
//! ```
//!
//! glibc's malloc and free were a third of the gateway's instructions per proxied request
//! (docs/benchmarks.md, "Gateway against HAProxy"); mimalloc's thread-local free lists cost
//! a fraction of that. It also returns what the user service's argon2id hashes free, which
//! glibc kept (the service held 310 MiB after the standard load-test profile, 43 MiB with
//! mimalloc); with its default options it keeps freed pages a while, so the small services
//! hold more than with glibc (docs/benchmarks.md, "Memory").

pub use mimalloc::MiMalloc as Allocator;

/// mimalloc's options as the shop runs them: freed memory returned at once and arenas
/// committed as they are used, not ahead (117 MiB for all the application processes after the
/// standard profile, against 218 MiB with mimalloc's defaults; docs/benchmarks.md, "Memory").
/// mimalloc reads them from the environment before `main` runs, so they are set where the
/// processes are started: by `shop up` for its children (unless already set), in the compose
/// file and in the Kubernetes manifests.
pub const OPTIONS: [(&str, &str); 2] = [("MIMALLOC_PURGE_DELAY", "0"), ("MIMALLOC_ARENA_EAGER_COMMIT", "0")];
