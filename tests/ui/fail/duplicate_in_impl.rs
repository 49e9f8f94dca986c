use async_unsafe_runtime::async_unsafe;

struct Repo;

#[async_unsafe]
impl Repo {
    #[async_unsafe("one")]
    #[async_unsafe("two")]
    fn load(&self) -> u8 {
        1
    }
}

fn main() {}
