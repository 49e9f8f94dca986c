use async_unsafe_runtime::async_unsafe;

#[async_unsafe]
struct Connection {
    fd: i32,
}

fn main() {}
