use async_unsafe_runtime::async_unsafe;

struct Repo;

#[async_unsafe]
impl Repo {
    fn load(&self) -> u8 {
        1
    }

    async fn load_async(&self) -> u8 {
        1
    }
}

fn main() {}
