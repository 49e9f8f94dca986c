// A misused attribute is one error: the function is still emitted, so its
// callers do not fail too.
use async_unsafe_runtime::async_unsafe;

#[async_unsafe(retries = 3)]
fn load() -> u8 {
    1
}

fn main() {
    let n: u8 = load();
    assert_eq!(n, 1);
}
