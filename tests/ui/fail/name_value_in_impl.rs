use async_unsafe_runtime::async_unsafe;

struct Repo;

#[async_unsafe]
impl Repo {
    #[async_unsafe = "use sync_to_async"]
    fn load(&self) -> u8 {
        1
    }
}

fn main() {}
