use async_unsafe_runtime::async_unsafe;

#[async_unsafe(message)]
fn load() -> u8 {
    1
}

fn main() {}
