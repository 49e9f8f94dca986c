// Every shape the attribute accepts compiles without a warning: the expansion
// adds no unused item, no lint, no unreachable code.
#![deny(warnings)]

use std::fmt;
use std::sync::Arc;

use async_unsafe_runtime::{SynchronousOnlyOperation, async_unsafe};

#[async_unsafe]
fn unit() {}

#[async_unsafe("load through sync_to_async")]
pub fn generic<'a, T: ?Sized, U>(a: &'a str, extra: impl IntoIterator<Item = U>, _t: &T) -> (&'a str, u64)
where
    U: Into<u64>,
{
    (a, extra.into_iter().map(Into::into).sum())
}

#[async_unsafe]
fn patterns((a, b): (u8, u8), _: u8, mut v: Vec<u8>) -> usize {
    v.push(a + b);
    v.len()
}

#[async_unsafe]
fn never() -> ! {
    panic!("never")
}

#[async_unsafe]
unsafe fn raw(p: *const u8) -> u8 {
    unsafe { *p }
}

#[async_unsafe]
extern "C" fn c_abi(x: i32) -> i32 {
    x
}

#[async_unsafe]
fn inner_attribute() -> u8 {
    #![allow(unused_variables)]
    let unused = 1;
    2
}

#[async_unsafe]
fn io_result() -> std::io::Result<u8> {
    Ok(1)
}

#[derive(Debug)]
struct DbError(#[allow(dead_code)] SynchronousOnlyOperation);

impl From<SynchronousOnlyOperation> for DbError {
    fn from(err: SynchronousOnlyOperation) -> Self {
        DbError(err)
    }
}

type DbResult<T> = Result<T, DbError>;

#[async_unsafe(error, message = "use the pool")]
fn aliased() -> DbResult<u8> {
    Ok(1)
}

#[async_unsafe(panic)]
fn forced_panic() -> Result<u8, SynchronousOnlyOperation> {
    Ok(1)
}

mod reexport {
    pub use async_unsafe_runtime as rt;
}

#[async_unsafe(crate = crate::reexport::rt, track_caller)]
fn through_reexport() {}

#[async_unsafe(track_caller)]
#[track_caller]
fn tracked_twice() {}

struct Counter(u32);

impl Counter {
    #[async_unsafe]
    fn get(&self) -> u32 {
        self.0
    }

    #[async_unsafe(track_caller)]
    fn bump(&mut self) -> Result<u32, SynchronousOnlyOperation> {
        self.0 += 1;
        Ok(self.0)
    }

    #[async_unsafe]
    fn boxed(self: Box<Self>) -> u32 {
        self.0
    }

    #[async_unsafe]
    fn shared(self: Arc<Self>) -> u32 {
        self.0
    }
}

trait Named {
    fn name(&self) -> String;

    #[async_unsafe(track_caller)]
    fn shout(&self) -> String {
        self.name().to_uppercase()
    }
}

#[async_unsafe]
impl Named for Counter {
    fn name(&self) -> String {
        format!("counter{}", self.0)
    }
}

struct Store<T>(Vec<T>);

#[async_unsafe("Store blocks on disk", track_caller)]
impl<T: Clone + PartialEq> Store<T> {
    const EMPTY: usize = 0;

    fn new() -> Self {
        Store(Vec::new())
    }

    #[async_unsafe(message = "own message", panic)]
    fn put(&mut self, item: T) -> Result<usize, SynchronousOnlyOperation> {
        self.0.push(item);
        Ok(self.0.len() + Self::EMPTY)
    }

    // Other attributes of a method stay with it, untouched.
    #[allow(unused_mut)]
    #[cfg(not(any()))]
    fn len(&self) -> usize {
        let mut n = self.0.len();
        n
    }
}

impl fmt::Display for Counter {
    #[async_unsafe]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Store<u8> {
    #[async_unsafe]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

fn main() {
    unit();
    assert_eq!(generic("a", [1u8, 2], "t"), ("a", 3));
    assert_eq!(patterns((1, 2), 0, vec![]), 1);
    assert!(std::panic::catch_unwind(|| never()).is_err());
    assert_eq!(unsafe { raw(&7) }, 7);
    assert_eq!(c_abi(3), 3);
    assert_eq!(inner_attribute(), 2);
    assert_eq!(io_result().unwrap(), 1);
    assert_eq!(aliased().unwrap(), 1);
    assert_eq!(forced_panic().unwrap(), 1);
    through_reexport();
    tracked_twice();
    let mut c = Counter(1);
    assert_eq!(c.bump().unwrap(), 2);
    assert_eq!(c.get(), 2);
    assert_eq!(c.shout(), "COUNTER2");
    assert_eq!(c.to_string(), "2");
    assert_eq!(Box::new(Counter(3)).boxed(), 3);
    assert_eq!(Arc::new(Counter(4)).shared(), 4);
    let mut store = Store::new();
    assert_eq!(store.put(5u8).unwrap(), 1);
    assert_eq!(format!("{store:?}"), "[5]");
    assert_eq!(store.len(), 1);
}
