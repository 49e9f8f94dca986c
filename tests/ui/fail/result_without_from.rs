use async_unsafe_runtime::async_unsafe;

#[derive(Debug)]
struct DbError;

#[async_unsafe]
fn load() -> Result<u8, DbError> {
    Ok(1)
}

fn main() {}
