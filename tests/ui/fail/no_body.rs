use async_unsafe_runtime::async_unsafe;

trait Store {
    #[async_unsafe]
    fn load(&self) -> u8;
}

fn main() {}
