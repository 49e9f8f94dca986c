//! Every function shape the attribute accepts keeps compiling and behaving as
//! written outside async, and refuses inside async.

#![allow(clippy::needless_lifetimes, clippy::boxed_local)]

use std::fmt::Display;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use async_unsafe_runtime::{DEFAULT_MESSAGE, SynchronousOnlyOperation, async_unsafe};

/// Runs `f` as the root future of a runtime: an async context.
fn in_async<R>(f: impl FnOnce() -> R) -> R {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async { f() })
}

fn panic_text(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload.downcast::<&str>().map(|s| s.to_string()).unwrap(),
    }
}

#[track_caller]
fn refused<T: std::fmt::Debug>(
    result: Result<T, SynchronousOnlyOperation>,
) -> SynchronousOnlyOperation {
    if async_unsafe_runtime::is_override_active() {
        panic!("these tests need the guard on: unset ALLOW_ASYNC_UNSAFE");
    }
    result.expect_err("expected a refusal")
}

// ---- free functions ----------------------------------------------------

/// Documented, generic, with lifetimes, a where clause and `impl Trait` both ways.
#[async_unsafe]
#[inline]
pub(crate) fn longest<'a, T: ?Sized, U>(
    a: &'a str,
    b: &'a str,
    extra: impl IntoIterator<Item = U>,
    _marker: &T,
) -> Result<(&'a str, impl Display), SynchronousOnlyOperation>
where
    U: Into<u64>,
{
    let total: u64 = extra.into_iter().map(Into::into).sum();
    Ok((if a.len() >= b.len() { a } else { b }, total))
}

#[async_unsafe]
fn patterns((a, b): (u8, u8), Point { x, y }: Point, _: u8, mut v: Vec<u8>) -> u32 {
    v.push(a + b);
    v.iter().map(|&n| u32::from(n)).sum::<u32>() + x + y
}

struct Point {
    x: u32,
    y: u32,
}

#[async_unsafe]
fn factorial(n: u64) -> u64 {
    if n <= 1 { 1 } else { n * factorial(n - 1) }
}

#[async_unsafe]
fn never(reason: &str) -> ! {
    panic!("never: {reason}")
}

#[async_unsafe]
unsafe fn read_raw(p: *const u32) -> u32 {
    unsafe { *p }
}

#[async_unsafe]
extern "C" fn c_abi(x: i32) -> i32 {
    x + 1
}

#[async_unsafe]
extern "C-unwind" fn c_unwind_abi(x: i32) -> i32 {
    x + 1
}

#[async_unsafe]
fn inner_attributes() -> u8 {
    #![allow(unused_variables)]
    let unused = 1;
    7
}

#[async_unsafe]
fn io_result() -> std::io::Result<u8> {
    Ok(1)
}

#[async_unsafe]
fn anyhow_result() -> anyhow::Result<u8> {
    Ok(2)
}

#[async_unsafe]
fn boxed_result() -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    Ok(3)
}

#[derive(Debug)]
enum DbError {
    Guard(SynchronousOnlyOperation),
}

impl From<SynchronousOnlyOperation> for DbError {
    fn from(err: SynchronousOnlyOperation) -> Self {
        DbError::Guard(err)
    }
}

type DbResult<T> = Result<T, DbError>;

#[async_unsafe(error)]
fn aliased() -> DbResult<u8> {
    Ok(4)
}

#[async_unsafe(panic)]
fn forced_panic() -> Result<u8, SynchronousOnlyOperation> {
    Ok(5)
}

#[async_unsafe("use the pool: sync_to_async(|| positional())")]
fn positional() -> Result<(), SynchronousOnlyOperation> {
    Ok(())
}

#[async_unsafe(message = "named message", error)]
fn named() -> Result<(), SynchronousOnlyOperation> {
    Ok(())
}

mod reexport {
    pub use async_unsafe_runtime as inner_async_unsafe;
}

#[async_unsafe(crate = crate::reexport::inner_async_unsafe)]
fn through_reexport() -> Result<(), SynchronousOnlyOperation> {
    Ok(())
}

#[async_unsafe]
#[track_caller]
fn tracked() -> Result<(), SynchronousOnlyOperation> {
    Ok(())
}

#[async_unsafe]
fn untracked() -> Result<(), SynchronousOnlyOperation> {
    Ok(())
}

// ---- methods -----------------------------------------------------------

#[derive(Clone, Default)]
struct Counter {
    n: u32,
}

impl Counter {
    #[async_unsafe]
    fn get(&self) -> u32 {
        self.n
    }

    #[async_unsafe]
    fn bump(&mut self) -> Result<u32, SynchronousOnlyOperation> {
        self.n += 1;
        Ok(self.n)
    }

    #[async_unsafe]
    fn into_n(self) -> u32 {
        self.n
    }

    #[async_unsafe]
    fn mut_self(mut self) -> u32 {
        self.n += 10;
        self.n
    }

    #[async_unsafe]
    fn boxed(self: Box<Self>) -> u32 {
        self.n
    }

    #[async_unsafe]
    fn shared(self: Arc<Self>) -> u32 {
        self.n
    }

    #[async_unsafe]
    fn new_with(n: u32) -> Self {
        Counter { n }
    }
}

trait Named {
    fn name(&self) -> String;

    #[async_unsafe]
    fn shout(&self) -> String {
        self.name().to_uppercase()
    }
}

impl Named for Counter {
    #[async_unsafe]
    fn name(&self) -> String {
        format!("counter{}", self.n)
    }
}

struct Store<T> {
    items: Vec<T>,
}

#[async_unsafe("Store blocks on disk: use sync_to_async")]
impl<T: Clone> Store<T>
where
    T: PartialEq,
{
    fn new() -> Self {
        Store { items: Vec::new() }
    }

    fn put(&mut self, item: T) -> Result<usize, SynchronousOnlyOperation> {
        self.items.push(item);
        Ok(self.items.len())
    }

    #[async_unsafe(message = "contains has its own message")]
    fn contains(&self, item: &T) -> Result<bool, SynchronousOnlyOperation> {
        Ok(self.items.contains(item))
    }

    fn first(&self) -> Option<T> {
        self.items.first().cloned()
    }
}

struct Shouter;

#[async_unsafe]
impl Named for Shouter {
    fn name(&self) -> String {
        "shouter".into()
    }
}

// ---- tests -------------------------------------------------------------

#[test]
fn free_functions_behave_outside_async() {
    let (longest, total) = longest("ab", "abc", [1u8, 2, 3], "unsized").unwrap();
    assert_eq!((longest, total.to_string().as_str()), ("abc", "6"));
    assert_eq!(patterns((1, 2), Point { x: 10, y: 20 }, 0, vec![4]), 37);
    assert_eq!(factorial(10), 3_628_800);
    assert_eq!(panic_text(|| never("here")), "never: here");
    assert_eq!(unsafe { read_raw(&42) }, 42);
    assert_eq!(c_abi(1), 2);
    assert_eq!(c_unwind_abi(2), 3);
    assert_eq!(inner_attributes(), 7);
    assert_eq!(io_result().unwrap(), 1);
    assert_eq!(anyhow_result().unwrap(), 2);
    assert_eq!(boxed_result().unwrap(), 3);
    assert_eq!(aliased().unwrap(), 4);
    assert_eq!(forced_panic().unwrap(), 5);
    positional().unwrap();
    named().unwrap();
    through_reexport().unwrap();
}

#[test]
fn free_functions_refuse_inside_async() {
    let err = in_async(|| refused(longest("a", "b", [1u8], "x").map(|(s, _)| s)));
    assert_eq!(err.message(), DEFAULT_MESSAGE);
    assert_eq!(err.function(), "shapes::longest");

    let text = in_async(|| {
        panic_text(|| {
            let _ = patterns((1, 2), Point { x: 1, y: 2 }, 0, vec![]);
        })
    });
    assert!(
        text.contains(DEFAULT_MESSAGE) && text.contains("shapes::patterns"),
        "{text}"
    );
    let text = in_async(|| {
        panic_text(|| {
            let _ = factorial(3);
        })
    });
    assert!(text.contains("shapes::factorial"), "{text}");
    let text = in_async(|| panic_text(|| never("here")));
    assert!(
        text.contains("shapes::never") && !text.contains("never: here"),
        "{text}"
    );
    let text = in_async(|| {
        panic_text(|| {
            let _ = unsafe { read_raw(&1) };
        })
    });
    assert!(text.contains("shapes::read_raw"), "{text}");
    let text = in_async(|| {
        panic_text(|| {
            let _ = c_unwind_abi(1);
        })
    });
    assert!(text.contains("shapes::c_unwind_abi"), "{text}");
    let text = in_async(|| {
        panic_text(|| {
            let _ = inner_attributes();
        })
    });
    assert!(text.contains("shapes::inner_attributes"), "{text}");

    let io = in_async(io_result).unwrap_err();
    assert_eq!(io.kind(), std::io::ErrorKind::Other);
    let inner = io
        .into_inner()
        .unwrap()
        .downcast::<SynchronousOnlyOperation>()
        .unwrap();
    assert_eq!(inner.function(), "shapes::io_result");
    let any = in_async(anyhow_result).unwrap_err();
    assert_eq!(
        any.downcast_ref::<SynchronousOnlyOperation>()
            .unwrap()
            .function(),
        "shapes::anyhow_result"
    );
    let boxed = in_async(boxed_result).unwrap_err();
    assert!(boxed.downcast_ref::<SynchronousOnlyOperation>().is_some());
    let DbError::Guard(err) = in_async(aliased).unwrap_err();
    assert_eq!(err.function(), "shapes::aliased");
    let text = in_async(|| {
        panic_text(|| {
            let _ = forced_panic();
        })
    });
    assert!(text.contains("shapes::forced_panic"), "{text}");

    let err = in_async(|| refused(positional()));
    assert_eq!(
        err.message(),
        "use the pool: sync_to_async(|| positional())"
    );
    assert_eq!(in_async(|| refused(named())).message(), "named message");
    assert_eq!(
        in_async(|| refused(through_reexport())).function(),
        "shapes::through_reexport"
    );
}

#[test]
fn location_is_the_function_or_its_tracked_caller() {
    let (err, line) = in_async(|| (refused(tracked()), line!()));
    let location = err.location();
    assert_eq!((location.file(), location.line()), (file!(), line));
    assert!(
        err.to_string().contains(&format!("{}:{line}", file!())),
        "{err}"
    );

    let err = in_async(|| refused(untracked()));
    // Without #[track_caller] the location is the guarded function itself.
    assert_eq!(err.location().file(), file!());
    assert_ne!(err.location().line(), line);
}

#[test]
fn methods_behave_outside_async() {
    let mut c = Counter::new_with(1);
    assert_eq!(c.get(), 1);
    assert_eq!(c.bump().unwrap(), 2);
    assert_eq!(c.clone().into_n(), 2);
    assert_eq!(c.clone().mut_self(), 12);
    assert_eq!(Box::new(c.clone()).boxed(), 2);
    assert_eq!(Arc::new(c.clone()).shared(), 2);
    assert_eq!(c.name(), "counter2");
    assert_eq!(c.shout(), "COUNTER2");
    assert_eq!(Shouter.shout(), "SHOUTER");

    let mut store = Store::new();
    assert_eq!(store.put("a").unwrap(), 1);
    assert!(store.contains(&"a").unwrap());
    assert_eq!(store.first(), Some("a"));
}

#[test]
fn methods_refuse_inside_async() {
    let mut c = Counter { n: 1 };
    let err = in_async(|| refused(c.bump()));
    assert_eq!(err.function(), "shapes::Counter::bump");
    assert_eq!(c.n, 1, "the body must not run");

    type Call<'a> = Box<dyn FnOnce() + 'a>;
    let cases: Vec<(&str, Call<'_>)> = vec![
        (
            "shapes::Counter::get",
            Box::new(|| {
                let _ = c.get();
            }),
        ),
        (
            "shapes::Counter::into_n",
            Box::new(|| {
                let _ = c.clone().into_n();
            }),
        ),
        (
            "shapes::Counter::mut_self",
            Box::new(|| {
                let _ = c.clone().mut_self();
            }),
        ),
        (
            "shapes::Counter::boxed",
            Box::new(|| {
                let _ = Box::new(c.clone()).boxed();
            }),
        ),
        (
            "shapes::Counter::shared",
            Box::new(|| {
                let _ = Arc::new(c.clone()).shared();
            }),
        ),
        (
            "shapes::Counter::new_with",
            Box::new(|| {
                let _ = Counter::new_with(1);
            }),
        ),
        (
            "<shapes::Counter as shapes::Named>::name",
            Box::new(|| {
                let _ = c.name();
            }),
        ),
        (
            "shapes::Named::shout",
            Box::new(|| {
                let _ = Shouter.shout();
            }),
        ),
        (
            "<shapes::Shouter as shapes::Named>::name",
            Box::new(|| {
                let _ = Shouter.name();
            }),
        ),
        (
            "shapes::Store<_>::new",
            Box::new(|| {
                let _ = Store::<u8>::new();
            }),
        ),
        (
            "shapes::Store<_>::first",
            Box::new(|| {
                let _ = Store::<u8> { items: vec![] }.first();
            }),
        ),
    ];
    for (function, call) in cases {
        let text = in_async(|| panic_text(call));
        assert!(
            text.contains(&format!("`{function}`")),
            "{function}: {text}"
        );
    }

    let mut store = Store { items: vec![1] };
    let err = in_async(|| refused(store.put(2)));
    assert_eq!(err.message(), "Store blocks on disk: use sync_to_async");
    assert_eq!(err.function(), "shapes::Store<_>::put");
    let err = in_async(|| refused(store.contains(&1)));
    assert_eq!(err.message(), "contains has its own message");
    assert_eq!(store.items, vec![1]);
}
