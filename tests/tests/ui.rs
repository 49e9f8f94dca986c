//! The attribute's compile-time behaviour, with trybuild. `ui/pass`: every
//! supported shape compiles under `#![deny(warnings)]` (and runs). `ui/fail`:
//! each misuse is a compile error with a span in the user's code, one
//! `.rs` with its reviewed `.stderr` per case; a misuse is reported once, and
//! the item is kept so that its callers see no follow-on error.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/fail/*.rs");
}
