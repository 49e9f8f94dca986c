use std::fmt;

use async_unsafe_runtime::async_unsafe;

struct Row;

impl fmt::Display for Row {
    #[async_unsafe(error)]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("row")
    }
}

fn main() {}
