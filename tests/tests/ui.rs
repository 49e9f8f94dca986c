//! Misuse of `#[async_unsafe]` is a compile error with a span in the user's
//! code; each case is one `ui/*.rs` with its reviewed `ui/*.stderr`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
}
