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
