//! The error's accessors, `Debug` and `io::Error` conversion, and `SyncOnly`'s
//! `Debug` and `From`, checked from the `tests` package so that mutation
//! testing (`cargo mutants --test-package tests`) sees them: the runtime's own
//! unit tests and doctests also cover them, but are not in that run.

use async_unsafe_runtime::{
    DEFAULT_MESSAGE, Override, SyncOnly, SynchronousOnlyOperation, check, set_override,
};

fn refused_in_a_task() -> (tokio::task::Id, SynchronousOnlyOperation, u32) {
    set_override(Override::Deny);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let line = line!() + 1;
    let task = rt.spawn(async { (tokio::task::id(), check("area::f").unwrap_err()) });
    let (id, err) = rt.block_on(task).unwrap();
    (id, err, line)
}

#[test]
fn the_error_names_message_function_location_and_task() {
    let (id, err, line) = refused_in_a_task();
    assert_eq!(err.message(), DEFAULT_MESSAGE);
    assert_eq!(err.function(), "area::f");
    assert_eq!(err.location().file(), file!());
    assert_eq!(err.location().line(), line);
    assert_eq!(err.task_id(), Some(id));

    let debug = format!("{err:?}");
    assert!(debug.starts_with("SynchronousOnlyOperation {"), "{debug}");
    assert!(debug.contains("\"area::f\""), "{debug}");
    // The whole location, `file:line:column`, as a string.
    assert_eq!(err.location().column(), 53);
    let location = format!("location: \"{}:{line}:53\",", file!());
    assert!(debug.contains(&location), "{location} in {debug}");
    assert!(debug.contains(&format!("Some({id:?})")), "{debug}");
}

#[test]
fn a_block_on_root_has_no_task_id() {
    set_override(Override::Deny);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt.block_on(async { check("area::g") }).unwrap_err();
    assert_eq!(err.task_id(), None);
}

#[test]
fn into_io_error_keeps_the_error_as_its_source() {
    let (_, err, _) = refused_in_a_task();
    let text = err.to_string();
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::Other);
    assert_eq!(io.to_string(), text);
    let inner = io
        .into_inner()
        .expect("the error is kept")
        .downcast::<SynchronousOnlyOperation>()
        .expect("as itself");
    assert_eq!(inner.function(), "area::f");
}

#[test]
fn sync_only_debug_shows_the_type_and_from_wraps_the_value() {
    let wrapped: SyncOnly<u32> = 41_u32.into();
    assert_eq!(format!("{wrapped:?}"), "SyncOnly<u32>");
    assert_eq!(*wrapped.get().unwrap(), 41);
    assert_eq!(wrapped.into_inner(), 41);
}

struct SendsItsDropThread(std::sync::mpsc::Sender<std::thread::ThreadId>);

impl Drop for SendsItsDropThread {
    fn drop(&mut self) {
        self.0.send(std::thread::current().id()).unwrap();
    }
}

/// A runtime entered on a sync thread is not an async context: `is_async_context`
/// decides, not whether a handle is reachable.
#[test]
fn sync_only_dropped_under_an_entered_runtime_is_dropped_in_place() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let wrapped = SyncOnly::new(SendsItsDropThread(tx));
    {
        let _entered = rt.enter();
        drop(wrapped);
    }
    assert_eq!(rx.recv().unwrap(), std::thread::current().id());
}
