use async_unsafe_runtime::async_unsafe;

#[async_unsafe]
const fn answer() -> u8 {
    42
}

fn main() {}
