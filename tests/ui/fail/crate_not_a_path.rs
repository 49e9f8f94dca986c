use async_unsafe_runtime::async_unsafe;

#[async_unsafe(crate = "async_unsafe_runtime")]
fn load() -> u8 {
    1
}

fn main() {}
