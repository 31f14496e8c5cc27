//! Compile-time behaviour of `#[embercache::cached]`: every misuse is
//! refused with a message spanned on the code at fault (`tests/ui/fail`,
//! snapshots beside each case), and the forms it accepts compile and run
//! (`tests/ui/pass`). Regenerate the snapshots with
//! `TRYBUILD=overwrite cargo test --features macros --test ui` and review
//! the diff; they follow the compiler's wording, so a new Rust release may
//! need the same.

#![cfg(feature = "macros")]

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
