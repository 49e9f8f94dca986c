//! Deadlines for the tests that wait on other threads: a deadlock (a lane
//! that never serves, a call that never returns) becomes a failure with a
//! message instead of a test run that hangs until something kills it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;
use std::time::Duration;

/// How long a test that waits on other threads may take: far beyond what any
/// of them needs on a loaded machine, far below cargo-mutants' timeout.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Runs `f` on a thread of its own and returns what it returns (or resumes
/// its panic); fails, rather than hanging the test run, if it has not
/// finished within [`DEADLINE`]. The stuck thread is left behind: the test
/// process ends with the failure.
pub fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = std::sync::mpsc::channel();
    thread::spawn(move || done.send(catch_unwind(AssertUnwindSafe(f))));
    match result.recv_timeout(DEADLINE) {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("deadlock: not finished after {DEADLINE:?}"),
    }
}
