// One misused method attribute in a marked impl block is one error: the block
// is still emitted for its callers, and the methods' own attributes are not
// expanded a second time.
use async_unsafe_runtime::async_unsafe;

struct Repo;

#[async_unsafe]
impl Repo {
    #[async_unsafe(retries = 3)]
    fn load(&self) -> u8 {
        1
    }

    #[async_unsafe("save has its own message")]
    fn save(&self) {}
}

fn main() {
    let n: u8 = Repo.load();
    assert_eq!(n, 1);
    Repo.save();
}
