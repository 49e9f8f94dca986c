use async_unsafe_runtime::async_unsafe;

#[async_unsafe(track_caller)]
extern "C" fn load() -> i32 {
    1
}

fn main() {}
