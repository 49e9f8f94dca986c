//! The nesting guard behind [`EventLoopGuard`](crate::EventLoopGuard) and
//! [`AllowGuard`](crate::AllowGuard): each raises a per-thread depth counter
//! while it lives, and the thread counts as declared (or allowed) while the
//! counter is above zero, so guards nest.

use std::cell::Cell;
use std::marker::PhantomData;
use std::thread::LocalKey;

/// One level of a thread-local depth counter: [`Depth::enter`] adds it, the
/// drop takes it off. Not `Send`: it belongs to the thread whose counter it
/// raised, and so does every guard that holds one.
#[derive(Debug)]
pub(crate) struct Depth {
    counter: &'static LocalKey<Cell<u32>>,
    _not_send: PhantomData<*const ()>,
}

impl Depth {
    /// Raises `counter` on this thread until the returned value drops.
    pub(crate) fn enter(counter: &'static LocalKey<Cell<u32>>) -> Depth {
        counter.set(counter.get() + 1);
        Depth {
            counter,
            _not_send: PhantomData,
        }
    }
}

impl Drop for Depth {
    fn drop(&mut self) {
        self.counter.set(self.counter.get() - 1);
    }
}
