// The expansion uses nothing of the function it guards: an unused guarded
// function, method or block still gets its `dead_code` warning.
#![deny(dead_code)]

use async_unsafe_runtime::async_unsafe;

#[async_unsafe]
fn unused() -> u8 {
    1
}

struct Repo;

#[async_unsafe]
impl Repo {
    fn used(&self) {}

    fn unused_method(&self) -> Result<u8, async_unsafe_runtime::SynchronousOnlyOperation> {
        Ok(1)
    }
}

fn main() {
    Repo.used();
}
