//! Blocking system calls that nobody marked, caught at the call: what
//! BlockHound does for the JVM, with this crate's exact answer to "is this
//! thread driving an event loop?".
//!
//! The guard sees only functions someone marked. The common mistakes are in
//! calls nobody can mark: `std::thread::sleep` in an `async fn`, `std::fs`,
//! a blocking `std::net::TcpStream`, DNS through `ToSocketAddrs`,
//! `Command::output`. With the `syscalls` feature this crate defines libc's
//! blocking entry points itself (`open64`, `read`, `clock_nanosleep`, ...),
//! each forwarding to the real one (`dlsym(RTLD_NEXT, ..)`, looked up once).
//! The executable's own calls (std's among them) bind to these definitions
//! when it is linked, and shared libraries loaded later see them too, since
//! the executable exports the names libc defines. After [`watch`], a call on
//! a thread that drives an event loop that would block is a
//! [`SynchronousOnlyOperation`](crate::SynchronousOnlyOperation) like any
//! other:
//!
//! ```
//! use async_unsafe_runtime::{capture_violations_in_future, syscalls};
//!
//! syscalls::watch().expect("Linux with glibc");
//! let rt = tokio::runtime::Runtime::new().unwrap();
//! let ((), violations) = rt.block_on(capture_violations_in_future(async {
//!     std::thread::sleep(std::time::Duration::from_millis(1)); // blocks the worker
//! }));
//! assert_eq!(violations[0].function(), "std::thread::sleep (clock_nanosleep)");
//! // The sleep's line, when the build has line tables (doctests have none).
//! if let Some(frame) = violations[0].user_frame() {
//!     println!("fix {frame}");
//! }
//! ```
//!
//! # What is a violation
//!
//! While watching, in an async context (the panic-free rule of
//! [`detect_without_panics`](crate::detect_without_panics): its two misses
//! apply):
//! - sleeping: `nanosleep`, `clock_nanosleep`;
//! - file-system work: `open`, `open64`, `openat`, `openat64`, `creat`,
//!   `creat64`, `statx`, `stat64`, `lstat64`, `fstatat64`, `opendir`,
//!   `fdopendir`, `unlink`, `unlinkat`, `rename`, `renameat`, `mkdir`,
//!   `mkdirat`, `realpath`, `copy_file_range`, `fsync`, `fdatasync`, `flock`,
//!   and `read`, `readv`, `pread64`, `write`, `writev`, `pwrite64` on regular
//!   files and block devices, whatever `O_NONBLOCK` says (it does not make
//!   disk I/O non-blocking);
//! - socket and pipe I/O in blocking mode: `connect`, `accept`, `accept4`,
//!   `recv`, `recvfrom`, `recvmsg`, `send`, `sendto`, `sendmsg`, `read`,
//!   `readv`, `write`, `writev`. A descriptor in non-blocking mode (every
//!   tokio socket) or `MSG_DONTWAIT` is never one; nor are other descriptors
//!   (terminals, `/dev/null`, eventfds);
//! - DNS: `getaddrinfo`, `gethostbyname`;
//! - waiting for a child: `waitpid`, `wait4`, `waitid` without `WNOHANG`;
//! - `poll`, `ppoll`, `select` with a timeout that is not zero.
//!
//! Descriptors 0, 1 and 2 are exempt (`println!`, logging to a terminal);
//! [`set_standard_streams_exempt`] changes that for 0 and 1.
//!
//! # Where a violation goes
//!
//! Where every violation goes: recorded inside
//! [`capture_violations`](crate::capture_violations) and
//! [`capture_violations_in_future`](crate::capture_violations_in_future), let
//! through under [`allow_on_this_thread`](crate::allow_on_this_thread) and
//! [`allow_in_future`](crate::allow_in_future), reported and let through
//! under [`Override::Warn`](crate::Override::Warn) (rate-limited), let through
//! under [`Override::Allow`](crate::Override::Allow). A hook cannot return an
//! error in place of `read`, so under [`Override::Deny`](crate::Override::Deny)
//! (the default) it writes the report (the call, the user's line, the stack)
//! to standard error and to `tracing`, and aborts the process **before the
//! call is made**. That is the mode for test suites: a test that blocks an
//! event loop fails at the line that does it. To run a service with watching
//! on, set `ALLOW_ASYNC_UNSAFE=warn`.
//!
//! [`function`](crate::SynchronousOnlyOperation::function) names the standard
//! library's operation and the libc call (`std::fs::read_to_string (open64)`),
//! [`user_frame`](crate::SynchronousOnlyOperation::user_frame) the first frame
//! outside the standard library, libc, tokio and this crate, judged by its
//! source file (inlined frames of builds with line tables only carry short
//! names). The hook captures return addresses (no lock of ours, no
//! allocation), and a thread of its own turns them into lines; the hooked
//! thread waits for at most five seconds, and a report without a line says
//! so. Functions on the allow list ([`allow_blocking_inside`]) let their
//! blocking calls through.
//!
//! # Costs
//!
//! Not watching, a hooked call costs one relaxed atomic load over libc's. In
//! a process that watches, a call outside async contexts costs the detection
//! only (a few thread-local reads); inside one, descriptor calls cost a look
//! at a process-wide table of descriptors known not to block, and, the first
//! time a descriptor is seen, an `fcntl` and an `fstat` (`close`, `dup2`,
//! `dup3`, `fcntl(F_SETFL)` and `ioctl(FIONBIO)` keep the table true).
//! `benches/syscalls.rs` measures them.
//!
//! # Limits
//!
//! - Linux with glibc, x86_64 and aarch64 only; elsewhere [`watch`] returns
//!   [`Unsupported`] and no hook is defined. A static build (musl's default)
//!   has no dynamic symbol table to interpose and no `RTLD_NEXT` to forward
//!   to: defining `read` there would replace libc's outright.
//! - Calls libc makes internally are not seen (`readdir` behind `opendir`,
//!   the files `getaddrinfo` reads), nor raw `syscall()` (rustix, for
//!   instance), nor libraries linked with `-Bsymbolic`.
//! - Futex waits (`std::sync::Mutex`, `mpsc::Receiver::recv`, `Condvar`) are
//!   not system calls we can judge: whether they block depends on other
//!   threads. `cargo async-unsafe` finds those before the program runs.
//! - A descriptor closed behind libc's back (`fclose`'s internal close,
//!   `close_range`, a raw system call) keeps what the table knew about it
//!   until a hooked `open`, `socket` or `accept` hands its number out again.
//! - A tail call can leave the user's function out of the stack: the user's
//!   frame is then its caller's.
//! - A forked child stops watching (`pthread_atfork`): it inherits a task
//!   thread's thread-locals but not the thread that reads the stack.

use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(all(
    target_os = "linux",
    target_env = "gnu",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod fd;
#[cfg(all(
    target_os = "linux",
    target_env = "gnu",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod hooks;
#[cfg(all(
    target_os = "linux",
    target_env = "gnu",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod report;

/// Whether the hooks judge calls: one relaxed load on every hooked call.
static WATCHING: AtomicBool = AtomicBool::new(false);

/// Why [`watch`] cannot start: this target has no hooks.
///
/// ```
/// use async_unsafe_runtime::syscalls::{Unsupported, watch};
///
/// match watch() {
///     Ok(()) => println!("watching"),
///     Err(Unsupported { .. }) => println!("not on this target"),
/// }
/// # async_unsafe_runtime::syscalls::unwatch();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "watching system calls needs Linux with glibc on x86_64 or aarch64: the hooks interpose \
     libc's dynamic symbols and forward with dlsym(RTLD_NEXT), which static builds (musl's \
     default) and other systems do not offer"
)]
#[non_exhaustive]
pub struct Unsupported {}

/// Starts watching the whole process's blocking system calls; idempotent.
///
/// From now on a blocking call made on a thread that drives an event loop is a
/// [`SynchronousOnlyOperation`](crate::SynchronousOnlyOperation), decided as
/// the [module docs](self) say: under [`Override::Deny`](crate::Override::Deny)
/// (the default) the process aborts with a report, so call it in test suites,
/// or set `ALLOW_ASYNC_UNSAFE=warn` to watch a running service.
///
/// ```
/// use async_unsafe_runtime::{capture_violations_in_future, syscalls};
///
/// syscalls::watch().unwrap();
/// assert!(syscalls::is_watching());
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// let (text, violations) = rt.block_on(capture_violations_in_future(async {
///     std::fs::read_to_string("/etc/hostname")
/// }));
/// assert!(violations[0].function().contains("(open64)"));
/// ```
pub fn watch() -> Result<(), Unsupported> {
    #[cfg(all(
        target_os = "linux",
        target_env = "gnu",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    {
        if !hooks::interposable() {
            return Err(Unsupported {});
        }
        report::start();
        WATCHING.store(true, Ordering::Relaxed);
        Ok(())
    }
    #[cfg(not(all(
        target_os = "linux",
        target_env = "gnu",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )))]
    {
        Err(Unsupported {})
    }
}

/// Stops watching: hooked calls are forwarded unjudged again.
///
/// ```
/// use async_unsafe_runtime::syscalls;
///
/// syscalls::unwatch();
/// assert!(!syscalls::is_watching());
/// ```
pub fn unwatch() {
    WATCHING.store(false, Ordering::Relaxed);
}

/// Whether [`watch`] is on (and [`unwatch`] was not called since).
///
/// ```
/// use async_unsafe_runtime::syscalls;
///
/// if syscalls::watch().is_ok() {
///     assert!(syscalls::is_watching());
/// }
/// syscalls::unwatch();
/// assert!(!syscalls::is_watching());
/// ```
pub fn is_watching() -> bool {
    WATCHING.load(Ordering::Relaxed)
}

static STANDARD_STREAMS_EXEMPT: AtomicBool = AtomicBool::new(true);

/// Whether I/O on standard input and output (descriptors 0 and 1) is exempt
/// (the default: `println!` and logging to a terminal or a pipe are let
/// through). `false` judges them like any descriptor: a blocking pipe as
/// standard output is then a violation. Standard error (2) stays exempt:
/// the reports are written there.
///
/// ```
/// use async_unsafe_runtime::syscalls::set_standard_streams_exempt;
///
/// set_standard_streams_exempt(false); // stdout through a blocking pipe is a violation now
/// set_standard_streams_exempt(true);
/// ```
pub fn set_standard_streams_exempt(exempt: bool) {
    STANDARD_STREAMS_EXEMPT.store(exempt, Ordering::Relaxed);
}

/// Lets the blocking calls made inside functions whose path starts with
/// `function_path` through, like BlockHound's `allowBlockingCallsInside`:
/// for short, deliberate waits you cannot move off the event loop.
///
/// Checked only when a call would be a violation, against the names of the
/// frames on the stack (with their generic arguments and closures, as
/// `my_crate::log::flush::{{closure}}`). The list holds by default:
/// - tokio's process spawning (the files of tokio's `src/process/`): on the
///   fork path (`Command` with `uid`, `gid` or `pre_exec`) the standard
///   library waits on a socket for the child's `exec` to succeed, a short
///   wait that `tokio::process::Command::spawn` makes in the task;
/// - the standard library's backtrace printing (`std::backtrace`), which
///   reads debug information from disk.
///
/// Functions are judged by name: in builds that keep line tables only, inlined
/// frames carry short names and may not match.
///
/// ```
/// use async_unsafe_runtime::syscalls::allow_blocking_inside;
///
/// allow_blocking_inside("my_app::metrics::flush_to_disk");
/// ```
pub fn allow_blocking_inside(function_path: &'static str) {
    #[cfg(all(
        target_os = "linux",
        target_env = "gnu",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    report::allow_inside(function_path);
    #[cfg(not(all(
        target_os = "linux",
        target_env = "gnu",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )))]
    let _ = function_path;
}
