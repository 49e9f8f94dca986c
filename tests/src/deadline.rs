//! Deadlines for the tests that wait on other threads: a deadlock (a lane
//! that never serves, a call that never returns) becomes a failure with a
//! message instead of a test run that hangs until something kills it.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;
use std::time::Duration;

/// How long a test that waits on other threads may take: far beyond what any
/// of them needs on a loaded machine, far below cargo-mutants' timeout.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Runs `f` on a thread of its own and returns what it returns (or resumes
/// its panic). If it has not finished within [`DEADLINE`], ends the whole
/// test process with a message naming the test: a deadlock usually holds a
/// process-wide lane, so every later test would wait out its own deadline
/// too, and the run would end in a timeout rather than a failure.
pub fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = std::sync::mpsc::channel();
    thread::spawn(move || done.send(catch_unwind(AssertUnwindSafe(f))));
    match result.recv_timeout(DEADLINE) {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => {
            let test = thread::current().name().unwrap_or("a test").to_owned();
            // Straight to stderr: the test harness captures `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "\ndeadlock: {test} not finished after {DEADLINE:?}; ending the test process"
            );
            std::process::exit(101);
        }
    }
}
