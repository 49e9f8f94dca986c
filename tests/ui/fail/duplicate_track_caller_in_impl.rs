use async_unsafe_runtime::async_unsafe;

struct Repo;

#[async_unsafe(track_caller)]
impl Repo {
    #[async_unsafe(track_caller, track_caller)]
    fn load(&self) {}
}

fn main() {}
