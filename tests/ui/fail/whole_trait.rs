use async_unsafe_runtime::async_unsafe;

#[async_unsafe]
trait Store {
    fn load(&self) -> u8 {
        1
    }
}

fn main() {}
