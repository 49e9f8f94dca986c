//! Every function shape the attribute accepts keeps compiling and behaving as
//! written outside async, and refuses inside async: each refusal is checked
//! whole, from one table per kind of function (returned or panicked, the
//! function's path, the message, and the location: the guarded function's
//! name, line and column, or its caller's with `track_caller`).

#![allow(clippy::needless_lifetimes, clippy::boxed_local)]

use std::fmt::{self, Display};
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::sync::Arc;

use async_unsafe_runtime::{
    DEFAULT_MESSAGE, Override, SynchronousOnlyOperation, async_unsafe, set_override,
};
use tests::panics::{panic_text, payload_text};
use tests::runtimes::in_async;

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

/// The return type arrives through a `macro_rules!` `$ret:ty` fragment, an
/// invisible group around the type: still recognised as a `Result`. The
/// location of a refusal is the macro's invocation, as for every
/// `Location::caller()` inside a macro expansion.
macro_rules! returning {
    ($ret:ty) => {
        #[async_unsafe]
        fn from_macro() -> $ret {
            Ok(6)
        }
    };
}
returning!(Result<u8, SynchronousOnlyOperation>);

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

#[async_unsafe(track_caller)]
fn tracked_by_argument() -> Result<(), SynchronousOnlyOperation> {
    Ok(())
}

/// `#[track_caller]` reaches the body too: what it calls with
/// `#[track_caller]` (here `Location::caller`, as `unwrap` does) sees the
/// guarded function's caller.
#[async_unsafe(track_caller)]
fn where_called() -> &'static Location<'static> {
    Location::caller()
}

#[async_unsafe]
fn untracked() -> Result<(), SynchronousOnlyOperation> {
    Ok(())
}

#[async_unsafe]
fn formatted(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("formatted")
}

struct Formatted;

impl fmt::Display for Formatted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatted(f)
    }
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

/// Blocks that choose a mode, and methods that choose the other one: the
/// method's own attribute wins, in both directions; a method's attribute
/// that sets no mode leaves the block's.
struct ErrorBlock;

#[async_unsafe(error)]
impl ErrorBlock {
    fn block_error(&self) -> Result<u8, SynchronousOnlyOperation> {
        Ok(1)
    }

    #[async_unsafe(panic)]
    fn own_panic(&self) -> Result<u8, SynchronousOnlyOperation> {
        Ok(2)
    }
}

struct PanicBlock;

#[async_unsafe(panic)]
impl PanicBlock {
    fn block_panic(&self) -> Result<u8, SynchronousOnlyOperation> {
        Ok(3)
    }

    #[async_unsafe(error)]
    fn own_error(&self) -> Result<u8, SynchronousOnlyOperation> {
        Ok(4)
    }

    #[async_unsafe(message = "own message, the block's mode")]
    fn own_message(&self) -> Result<u8, SynchronousOnlyOperation> {
        Ok(5)
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
    assert_eq!(from_macro().unwrap(), 6);
    assert_eq!(Formatted.to_string(), "formatted");
    positional().unwrap();
    named().unwrap();
    through_reexport().unwrap();
    tracked_by_argument().unwrap();
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

/// How a guarded function reports a violation.
#[derive(Debug, PartialEq)]
enum Reports {
    Error,
    Panic,
}

/// A call of a guarded function, from an async context. `Err` is the guard's
/// error, taken out of the function's own error type; a panic-mode call
/// returns `Ok` if it returns at all.
type Call<'a> = Box<dyn FnOnce() -> Result<(), SynchronousOnlyOperation> + 'a>;

/// One guarded function and everything its refusal must say.
struct Case<'a> {
    function: &'static str,
    message: &'static str,
    reports: Reports,
    /// Line and column of the function's name in this file.
    at: (u32, u32),
    call: Call<'a>,
}

/// Line and column (1-based) of the name of the first `fn name` at or after
/// the first line containing `anchor`, in this file.
fn name_position(anchor: &str, name: &str) -> (u32, u32) {
    let start = line_of(anchor) as usize - 1;
    let (line, text) = include_str!("shapes.rs")
        .lines()
        .skip(start)
        .enumerate()
        .find(|(_, text)| text.contains(&format!("fn {name}")))
        .unwrap_or_else(|| panic!("no `fn {name}` after {anchor:?}"));
    let column = text.find(&format!("fn {name}")).unwrap() + "fn ".len();
    ((start + line + 1) as u32, column as u32 + 1)
}

/// The number of the first line of this file that contains `text`.
fn line_of(text: &str) -> u32 {
    let index = include_str!("shapes.rs")
        .lines()
        .position(|line| line.contains(text));
    index.map_or_else(|| panic!("{text:?} not in shapes.rs"), |i| i as u32 + 1)
}

fn free_function<'a>(
    name: &'static str,
    reports: Reports,
    call: impl FnOnce() -> Result<(), SynchronousOnlyOperation> + 'a,
) -> Case<'a> {
    Case {
        function: format!("shapes::{name}").leak(),
        message: DEFAULT_MESSAGE,
        reports,
        at: name_position(&format!("fn {name}"), name),
        call: Box::new(call),
    }
}

/// Calls `case` from an async context and checks every part of the refusal:
/// returned or panicked, the function's path, the message, and a location at
/// the function's name (the span the expansion gives the check).
fn assert_refused(case: Case<'_>) {
    let Case {
        function,
        message,
        reports,
        at: (line, column),
        call,
    } = case;
    // Every test of this process that calls in async wants the guard on,
    // whatever the environment says.
    set_override(Override::Deny);
    let outcome = in_async(|| catch_unwind(AssertUnwindSafe(call)));
    let expected = format!("{message} (`{function}` at {}:{line}:{column})", file!());
    match outcome {
        Ok(Ok(())) => panic!("{function}: not refused"),
        Ok(Err(err)) => {
            assert_eq!(reports, Reports::Error, "{function} returned {err}");
            assert_eq!(err.function(), function);
            assert_eq!(err.message(), message, "{function}");
            let location = err.location();
            assert_eq!(
                (location.file(), location.line(), location.column()),
                (file!(), line, column),
                "{function}"
            );
            assert_eq!(err.to_string(), expected);
        }
        Err(payload) => {
            assert_eq!(reports, Reports::Panic, "{function} panicked");
            assert_eq!(payload_text(&*payload), expected);
        }
    }
}

#[test]
fn free_functions_refuse_inside_async() {
    use Reports::{Error, Panic};
    let cases = vec![
        free_function("longest", Error, || longest("a", "b", [1u8], "x").map(drop)),
        free_function("patterns", Panic, || {
            patterns((1, 2), Point { x: 1, y: 2 }, 0, vec![]);
            Ok(())
        }),
        free_function("factorial", Panic, || {
            factorial(3);
            Ok(())
        }),
        free_function("never", Panic, || never("here")),
        free_function("read_raw", Panic, || {
            unsafe { read_raw(&1) };
            Ok(())
        }),
        free_function("c_unwind_abi", Panic, || {
            c_unwind_abi(1);
            Ok(())
        }),
        free_function("inner_attributes", Panic, || {
            inner_attributes();
            Ok(())
        }),
        free_function("io_result", Error, || {
            let err = io_result().unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::Other);
            Err(*err.into_inner().unwrap().downcast().unwrap())
        }),
        free_function("anyhow_result", Error, || {
            Err(anyhow_result().unwrap_err().downcast().unwrap())
        }),
        free_function("boxed_result", Error, || {
            Err(*boxed_result().unwrap_err().downcast().unwrap())
        }),
        free_function("aliased", Error, || {
            aliased().map(drop).map_err(|DbError::Guard(err)| err)
        }),
        free_function("forced_panic", Panic, || forced_panic().map(drop)),
        Case {
            at: (line_of("returning!(Result"), 1),
            ..free_function("from_macro", Error, || from_macro().map(drop))
        },
        free_function("formatted", Panic, || {
            let _ = Formatted.to_string();
            Ok(())
        }),
        Case {
            message: "use the pool: sync_to_async(|| positional())",
            ..free_function("positional", Error, positional)
        },
        Case {
            message: "named message",
            ..free_function("named", Error, named)
        },
        free_function("through_reexport", Error, through_reexport),
        free_function("untracked", Error, untracked),
    ];
    for case in cases {
        assert_refused(case);
    }
}

/// A panic-mode call: returns `Ok` if the guard lets it through.
fn panics<'a>(
    call: impl FnOnce() + 'a,
) -> impl FnOnce() -> Result<(), SynchronousOnlyOperation> + 'a {
    move || {
        call();
        Ok(())
    }
}

/// A method, found in this file as the first `fn name` after `anchor`.
fn method<'a>(
    function: &'static str,
    message: &'static str,
    reports: Reports,
    (anchor, name): (&str, &str),
    call: impl FnOnce() -> Result<(), SynchronousOnlyOperation> + 'a,
) -> Case<'a> {
    Case {
        function,
        message,
        reports,
        at: name_position(anchor, name),
        call: Box::new(call),
    }
}

#[test]
fn methods_refuse_inside_async() {
    use Reports::{Error, Panic};
    let mut c = Counter { n: 1 };
    let mut store = Store { items: vec![1] };
    let on_disk = "Store blocks on disk: use sync_to_async";
    let counter = "impl Counter {";
    let store_impl = "impl<T: Clone> Store<T>";
    let cases = vec![
        method(
            "shapes::Counter::get",
            DEFAULT_MESSAGE,
            Panic,
            (counter, "get"),
            panics(|| {
                let _ = c.get();
            }),
        ),
        method(
            "shapes::Counter::into_n",
            DEFAULT_MESSAGE,
            Panic,
            (counter, "into_n"),
            panics(|| {
                let _ = c.clone().into_n();
            }),
        ),
        method(
            "shapes::Counter::mut_self",
            DEFAULT_MESSAGE,
            Panic,
            (counter, "mut_self"),
            panics(|| {
                let _ = c.clone().mut_self();
            }),
        ),
        method(
            "shapes::Counter::boxed",
            DEFAULT_MESSAGE,
            Panic,
            (counter, "boxed"),
            panics(|| {
                let _ = Box::new(c.clone()).boxed();
            }),
        ),
        method(
            "shapes::Counter::shared",
            DEFAULT_MESSAGE,
            Panic,
            (counter, "shared"),
            panics(|| {
                let _ = Arc::new(c.clone()).shared();
            }),
        ),
        method(
            "shapes::Counter::new_with",
            DEFAULT_MESSAGE,
            Panic,
            (counter, "new_with"),
            panics(|| {
                let _ = Counter::new_with(1);
            }),
        ),
        method(
            "<shapes::Counter as shapes::Named>::name",
            DEFAULT_MESSAGE,
            Panic,
            ("impl Named for Counter", "name"),
            panics(|| {
                let _ = c.name();
            }),
        ),
        method(
            "shapes::Named::shout",
            DEFAULT_MESSAGE,
            Panic,
            ("trait Named", "shout"),
            panics(|| {
                let _ = Shouter.shout();
            }),
        ),
        method(
            "<shapes::Shouter as shapes::Named>::name",
            DEFAULT_MESSAGE,
            Panic,
            ("impl Named for Shouter", "name"),
            panics(|| {
                let _ = Shouter.name();
            }),
        ),
        method(
            "shapes::Store<_>::new",
            on_disk,
            Panic,
            (store_impl, "new"),
            panics(|| {
                let _ = Store::<u8>::new();
            }),
        ),
        method(
            "shapes::Store<_>::first",
            on_disk,
            Panic,
            (store_impl, "first"),
            panics(|| {
                let _ = Store::<u8> { items: vec![] }.first();
            }),
        ),
    ];
    for case in cases {
        assert_refused(case);
    }

    // The error-mode methods change state that must stay as it was: their
    // bodies do not run.
    let cases = vec![
        method(
            "shapes::Counter::bump",
            DEFAULT_MESSAGE,
            Error,
            (counter, "bump"),
            || c.bump().map(drop),
        ),
        method(
            "shapes::Store<_>::put",
            on_disk,
            Error,
            (store_impl, "put"),
            || store.put(2).map(drop),
        ),
    ];
    for case in cases {
        assert_refused(case);
    }
    assert_refused(method(
        "shapes::Store<_>::contains",
        "contains has its own message",
        Error,
        (store_impl, "contains"),
        || store.contains(&1).map(drop),
    ));
    assert_eq!(c.n, 1, "the body must not run");
    assert_eq!(store.items, vec![1], "the body must not run");
}

#[test]
fn a_methods_own_mode_overrides_the_blocks_both_ways() {
    use Reports::{Error, Panic};
    // Outside async, every body runs.
    let outside = [
        ErrorBlock.block_error(),
        ErrorBlock.own_panic(),
        PanicBlock.block_panic(),
        PanicBlock.own_error(),
        PanicBlock.own_message(),
    ];
    let outside: Vec<u8> = outside.into_iter().map(Result::unwrap).collect();
    assert_eq!(outside, [1, 2, 3, 4, 5]);
    let error_block = "impl ErrorBlock {";
    let panic_block = "impl PanicBlock {";
    let cases = vec![
        method(
            "shapes::ErrorBlock::block_error",
            DEFAULT_MESSAGE,
            Error,
            (error_block, "block_error"),
            || ErrorBlock.block_error().map(drop),
        ),
        method(
            "shapes::ErrorBlock::own_panic",
            DEFAULT_MESSAGE,
            Panic,
            (error_block, "own_panic"),
            || ErrorBlock.own_panic().map(drop),
        ),
        method(
            "shapes::PanicBlock::block_panic",
            DEFAULT_MESSAGE,
            Panic,
            (panic_block, "block_panic"),
            || PanicBlock.block_panic().map(drop),
        ),
        method(
            "shapes::PanicBlock::own_error",
            DEFAULT_MESSAGE,
            Error,
            (panic_block, "own_error"),
            || PanicBlock.own_error().map(drop),
        ),
        method(
            "shapes::PanicBlock::own_message",
            "own message, the block's mode",
            Panic,
            (panic_block, "own_message"),
            || PanicBlock.own_message().map(drop),
        ),
    ];
    for case in cases {
        assert_refused(case);
    }
}

/// The location of the call `call_text` that starts `before` columns before a
/// `column!()` on the same line.
fn call_site(line: u32, column: u32, before: &str) -> (&'static str, u32, u32) {
    (file!(), line, column - before.len() as u32)
}

#[test]
fn track_caller_moves_the_location_to_the_caller() {
    let location = |err: SynchronousOnlyOperation| {
        let at = err.location();
        assert!(
            err.to_string().contains(&at.to_string()),
            "the text shows the location: {err}"
        );
        (at.file(), at.line(), at.column())
    };
    set_override(Override::Deny);
    // Written by hand: `#[async_unsafe] #[track_caller]`.
    let (err, line, column) = in_async(|| (tracked(), line!(), column!()));
    assert_eq!(
        location(err.unwrap_err()),
        call_site(line, column, "tracked(), line!(), ")
    );
    // Asked of the attribute: `#[async_unsafe(track_caller)]`.
    let (err, line, column) = in_async(|| (tracked_by_argument(), line!(), column!()));
    assert_eq!(
        location(err.unwrap_err()),
        call_site(line, column, "tracked_by_argument(), line!(), ")
    );

    // The trade-off: what the body calls with `#[track_caller]` sees the
    // caller too.
    let (at, line, column) = (where_called(), line!(), column!());
    assert_eq!(
        (at.file(), at.line(), at.column()),
        call_site(line, column, "where_called(), line!(), ")
    );
}
