use async_unsafe_runtime::async_unsafe;

#[async_unsafe(track_caller, "use sync_to_async", track_caller)]
fn load() {}

fn main() {}
