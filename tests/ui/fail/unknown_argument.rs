use async_unsafe_runtime::async_unsafe;

#[async_unsafe(timeout = 3)]
fn load() -> u8 {
    1
}

fn main() {}
