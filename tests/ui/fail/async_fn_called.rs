// Refused on an `async fn`, which stays callable: only the attribute's error.
use async_unsafe_runtime::async_unsafe;

#[async_unsafe]
async fn load() -> u8 {
    1
}

fn main() {
    let _future = load();
}
