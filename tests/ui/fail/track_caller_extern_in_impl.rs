use async_unsafe_runtime::async_unsafe;

struct Repo;

#[async_unsafe(track_caller)]
impl Repo {
    fn load(&self) -> u8 {
        1
    }

    extern "C-unwind" fn raw() -> i32 {
        2
    }
}

fn main() {}
