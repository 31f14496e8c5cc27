//! Tests of the write paths that need the crate's internals; the public
//! API's tests are in `tests/cache_write_*.rs`.

mod model;
