use async_unsafe_runtime::async_unsafe;

#[async_unsafe]
async fn fetch() -> u8 {
    1
}

fn main() {}
