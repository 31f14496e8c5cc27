//! Procedural macros for [embercache](https://docs.rs/embercache).
//!
//! Use them through embercache's `macros` feature, as
//! `#[embercache::cached(...)]`: the generated code names
//! `::embercache::cached::__private`, so this crate is not meant to be used
//! on its own (and a crate that renames `embercache` cannot use the macro).
//!
//! # `#[cached]`
//!
//! Memoizes a function: its result is kept in a bounded, expiring
//! `embercache::Cache`, keyed by its arguments, so that a later call with
//! equal arguments returns the stored value without running the body.
//!
//! ```ignore
//! #[embercache::cached(ttl = "60s", max_capacity = 10_000)]
//! fn user_name(id: u64) -> String {
//!     expensive_lookup(id)
//! }
//! ```
//!
//! - **The cache** is a static of the function, built on first call
//!   (`std::sync::OnceLock`: later calls read it with one atomic load) and
//!   registered by name for `embercache::cached::stats` and `clear`.
//! - **Coalescing**: concurrent calls with equal arguments run the body
//!   once; the others wait (a thread blocks, an `async fn`'s task yields)
//!   and receive a clone of its value. A body that panics, or whose future
//!   is dropped, hands the load to one of the waiters.
//! - **The key** is, by default, the arguments (a single argument as
//!   itself, several as a tuple), owned: `&str` is stored as `String`,
//!   `&T` as `T::Owned`, other arguments are cloned. Key parts must be
//!   `Clone + Hash + Eq + Send + Sync + 'static`; the value,
//!   `Clone + Send + Sync + 'static` (wrap big values in `Arc`).
//!
//! ## Options
//!
//! | option | default | meaning |
//! |---|---|---|
//! | `ttl = "60s"` | none | time to live of each entry; units `ms`, `s`, `m`, `h`, combinable (`"1h30m"`) |
//! | `max_capacity = 10_000` | `10_000` | entry bound (eviction by the cache's default policy) |
//! | `key = arg` or `key = (a, b)` | all arguments | key on some of the arguments only |
//! | `key: Type = <expr>` | | any key, computed from the arguments (by reference: do not move them) |
//! | `result = true` | | the function returns `Result<T, E>` (any path ending in `Result`, aliases included): only `Ok` is cached |
//! | `option = true` | | the function returns `Option<T>`: only `Some` is cached |
//! | `name = "..."` | `module::path::fn_name` | the name its stats are registered under |
//! | `clock = <expr>` | system clock | an `impl embercache::Clock`, evaluated on first call (tests use a `ManualClock` to move time by hand) |
//!
//! ## Errors and `None`
//!
//! With `result = true`, an `Err` is returned to the caller whose call
//! produced it, unchanged (the error type needs no bound), and nothing is
//! stored. Errors are not shared between callers: a call that was waiting
//! on a load that failed tries again (one waiter at a time leads the next
//! load), so every caller gets either a value or an error of its own body.
//! With `option = true`, `None` is not stored but *is* shared: callers that
//! were waiting on a load that found nothing get `None` without running
//! the body.
//!
//! ## What is refused, at compile time
//!
//! Each with a spanned message: unknown or repeated options, a malformed
//! `ttl`, `max_capacity = 0`, `result = true` without a `Result` return
//! type, `option = true` without an `Option`, both together, methods taking
//! `self` (one static cache would be shared by every instance), generic
//! functions (one static cannot hold every instantiation), `impl Trait`
//! arguments or return types, `&mut` arguments, argument patterns, `Self`
//! in the types, functions returning `()` or a borrowed value, and `const`,
//! `unsafe`, `extern` and variadic functions. A key part or value that
//! misses a bound is reported by the compiler at the attribute, naming the
//! type and the bound.

mod expand;
mod options;
mod signature;

use proc_macro::TokenStream;
use quote::ToTokens;

/// Memoizes a function in a static, bounded, expiring cache keyed by its
/// arguments. See the [crate documentation](crate) for the options.
#[proc_macro_attribute]
pub fn cached(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func = match syn::parse::<syn::ItemFn>(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let e = syn::Error::new(e.span(), "#[cached] applies to a function (`fn` or `async fn`)");
            return e.into_compile_error().into();
        }
    };
    let out = syn::parse::<options::Options>(attr).and_then(|o| expand::expand(o, func.clone()));
    match out {
        Ok(ts) => ts.into(),
        // Keep the function as written, so that its callers do not pile
        // further errors on top of this one.
        Err(e) => {
            let mut ts = e.into_compile_error();
            func.to_tokens(&mut ts);
            ts.into()
        }
    }
}
