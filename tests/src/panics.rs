//! Panics the tests provoke on purpose: the text a panic carries, and a
//! panic hook that keeps the provoked ones out of the test output.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

/// The text of a panic's payload: the `String` or `&str` that `panic!`
/// carries. Panics on any other payload, which no caller expects.
pub fn payload_text(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .expect("a panic payload that is not text")
}

/// Runs `f`, which must panic, and returns the panic's text.
pub fn panic_text(f: impl FnOnce()) -> String {
    payload_text(&*catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic"))
}

/// A panic payload the tests send through the bridges on purpose; once
/// [`quiet_payload_panics`] ran, the panic hook does not print it.
#[derive(Debug, PartialEq)]
pub struct Payload(pub u32);

/// Installs, once per process, a panic hook that keeps panics carrying a
/// [`Payload`] quiet and hands every other panic to the previous hook.
pub fn quiet_payload_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Payload>().is_none() {
                previous(info);
            }
        }));
    });
}
