use async_unsafe_runtime::async_unsafe;

// An associated type reaches the attribute as tokens syn cannot type, like a
// method without a body does; it is still not a function.
trait Store {
    #[async_unsafe]
    type Conn;
}

fn main() {}
