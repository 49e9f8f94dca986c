use async_unsafe_runtime::async_unsafe;

struct Repo;

#[async_unsafe]
impl Repo {
    #[async_unsafe(retries = 3)]
    fn load(&self) -> u8 {
        1
    }

    const fn id(&self) -> u8 {
        2
    }
}

fn main() {}
