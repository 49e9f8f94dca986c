use async_unsafe_runtime::async_unsafe;

#[async_unsafe(crate)]
fn load() -> u8 {
    1
}

fn main() {}
