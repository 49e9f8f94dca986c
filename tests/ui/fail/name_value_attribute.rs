use async_unsafe_runtime::async_unsafe;

#[async_unsafe = "use sync_to_async"]
fn load() -> u8 {
    1
}

fn main() {}
