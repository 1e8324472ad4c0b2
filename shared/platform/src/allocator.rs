//! The memory allocator of every binary of the shop: mimalloc, declared in each `main.rs` as
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: shop_platform::allocator::Allocator = shop_platform::allocator::Allocator;
//! ```
//!
//! glibc's malloc and free were a third of the gateway's instructions per proxied request
//! (docs/benchmarks.md, "Gateway against HAProxy"); mimalloc's thread-local free lists cost
//! a fraction of that.

pub use mimalloc::MiMalloc as Allocator;
