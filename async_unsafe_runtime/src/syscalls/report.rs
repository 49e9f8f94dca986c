//! A blocking call seen in an async context: whose line it is, whether the
//! allow list lets it through, and where the violation goes.
//!
//! The hook captures return addresses with `backtrace::trace_unsynchronized`
//! into an array on its stack (no lock of ours, no allocation). Turning them
//! into names and lines opens files, and std's `Backtrace` holds a global
//! lock meanwhile: inside a hook that is a deadlock. So a thread of our own,
//! started by [`start`], reads the debug information (its hooked calls are
//! never judged) and the hooked thread waits for it at most [`PATIENCE`];
//! without an answer in time the report has no user's line.
//!
//! The user's frame is the first, from the innermost, whose source file is
//! not the standard library's (`/rustc/..` or `library/{std,core,alloc}`),
//! tokio's, libc's, the `backtrace` crate's or this crate's, nor unknown
//! (libc's own frames have no line tables). The standard library's operation
//! is the outermost standard-library frame below it.

use std::collections::HashSet;
use std::ffi::c_void;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use super::WATCHING;
use super::hooks::{self, Call};
use crate::error::UserFrame;
use crate::{SynchronousOnlyOperation, allow, scope};

/// What a blocking call's violation says, after the call and the user's line.
pub(crate) const MESSAGE: &str = "A blocking system call was made from an async context - use \
     tokio's async equivalent, spawn_blocking or sync_to_async.";

/// How long a hooked thread waits for the stack to be read.
const PATIENCE: Duration = Duration::from_secs(5);

/// Frames captured; the user's frame is near the top of the stack.
const MAX_FRAMES: usize = 64;

/// One frame of the stack, read: a return address may stand for several
/// (inlined) frames, innermost first.
#[derive(Clone, Debug, Default)]
pub(super) struct Frame {
    pub(super) name: Option<String>,
    pub(super) file: Option<String>,
    pub(super) line: Option<u32>,
}

/// A request to the stack reader, and its answer.
struct Job {
    addresses: Vec<usize>,
    answer: Mutex<Option<Vec<Frame>>>,
    done: Condvar,
}

static READER: OnceLock<Option<Mutex<Sender<Arc<Job>>>>> = OnceLock::new();

/// Starts the stack reader and the fork handler, once per process.
pub(super) fn start() {
    READER.get_or_init(|| {
        // A forked child inherits a task thread's thread-locals, not our reader.
        extern "C" fn in_child() {
            WATCHING.store(false, Ordering::Relaxed);
        }
        // SAFETY: a handler that only stores to an atomic.
        unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
        let (send, receive) = channel::<Arc<Job>>();
        std::thread::Builder::new()
            .name("async_unsafe syscalls: stack reader".into())
            .spawn(move || {
                hooks::never_judge_this_thread();
                for job in receive {
                    let frames = resolve(&job.addresses);
                    *job.answer.lock().unwrap_or_else(|e| e.into_inner()) = Some(frames);
                    job.done.notify_all();
                }
            })
            .ok()
            .map(|_| Mutex::new(send))
    });
}

fn resolve(addresses: &[usize]) -> Vec<Frame> {
    let mut frames = Vec::new();
    for &address in addresses {
        // A return address points after the call: its line is the call's.
        let pc = address.saturating_sub(1) as *mut c_void;
        backtrace::resolve(pc, |symbol| {
            frames.push(Frame {
                name: symbol.name().map(|name| format!("{name:#}")),
                file: symbol
                    .filename()
                    .map(|file| file.to_string_lossy().into_owned()),
                line: symbol.lineno(),
            })
        });
    }
    frames
}

/// The stack of the calling thread, read by the stack reader within
/// [`PATIENCE`]; `None` without one.
fn read_stack() -> Option<Vec<Frame>> {
    let mut addresses = [0usize; MAX_FRAMES];
    let mut count = 0;
    // SAFETY: walks this thread's stack; the closure writes our own array.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            addresses[count] = frame.ip() as usize;
            count += 1;
            count < MAX_FRAMES
        })
    };
    let reader = READER.get()?.as_ref()?;
    let job = Arc::new(Job {
        addresses: addresses[..count].to_vec(),
        answer: Mutex::new(None),
        done: Condvar::new(),
    });
    reader
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send(Arc::clone(&job))
        .ok()?;
    let answer = job.answer.lock().unwrap_or_else(|e| e.into_inner());
    let (mut answer, _) = job
        .done
        .wait_timeout_while(answer, PATIENCE, |answer| answer.is_none())
        .unwrap_or_else(|e| e.into_inner());
    answer.take()
}

/// Whose code a source file belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Owner {
    Std,
    /// tokio, libc, backtrace, this crate, or unknown: skipped.
    Library,
    User,
}

fn owner(file: Option<&str>) -> Owner {
    let Some(file) = file else {
        return Owner::Library;
    };
    let file = file.replace('\\', "/");
    if file.starts_with("/rustc/")
        || ["library/std/", "library/core/", "library/alloc/"]
            .iter()
            .any(|dir| file.contains(dir))
    {
        return Owner::Std;
    }
    let mut parts = file.split('/').peekable();
    while let Some(part) = parts.next() {
        for library in ["tokio", "libc", "backtrace", "async_unsafe_runtime"] {
            // `tokio-1.54.1/src/..` from the registry, `tokio/src/..` checked out.
            let versioned = part
                .strip_prefix(library)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|version| version.starts_with(|c: char| c.is_ascii_digit()));
            if versioned || (part == library && parts.peek() == Some(&"src")) {
                return Owner::Library;
            }
        }
    }
    Owner::User
}

/// Private modules of the standard library, and the public path of what
/// they hold.
const PUBLIC_PATHS: [(&str, &str); 4] = [
    ("std::thread::functions::", "std::thread::"),
    ("std::net::tcp::", "std::net::"),
    ("std::net::udp::", "std::net::"),
    ("std::os::unix::net::stream::", "std::os::unix::net::"),
];

/// A frame's function as users name it, without closures and helper
/// segments: `std::fs::read_to_string::inner` is `std::fs::read_to_string`,
/// `std::thread::functions::sleep` is `std::thread::sleep`.
fn operation_name(name: &str) -> String {
    let mut name = name;
    // Closures (`::{{closure}}`, `::{closure#0}`), helpers and generic
    // arguments (`::<&str>`) off the end.
    while let Some((shorter, last)) = name.rsplit_once("::") {
        let helper = last == "inner"
            || last.starts_with("{{closure")
            || last.starts_with("{closure")
            || last.starts_with('<');
        if !helper || shorter.is_empty() {
            break;
        }
        name = shorter;
    }
    let name = without_inherent_brackets(name);
    for (private, public) in PUBLIC_PATHS {
        if let Some(rest) = name.strip_prefix(private) {
            return format!("{public}{rest}");
        }
    }
    name
}

/// `<std::process::Command>::status` is `std::process::Command::status`;
/// a trait's method (`<T as Trait>::f`) keeps its brackets.
fn without_inherent_brackets(name: &str) -> String {
    let Some(inside) = name.strip_prefix('<') else {
        return name.to_string();
    };
    let mut depth = 0usize;
    for (at, c) in inside.char_indices() {
        match c {
            '<' => depth += 1,
            '>' if depth > 0 => depth -= 1,
            '>' => {
                let (ty, rest) = (&inside[..at], &inside[at + 1..]);
                if ty.contains(" as ") {
                    break;
                }
                return format!("{ty}{rest}");
            }
            _ => {}
        }
    }
    name.to_string()
}

/// The standard library's operation and the user's frame in `frames`.
fn describe(frames: &[Frame]) -> (Option<String>, Option<UserFrame>) {
    let mut operation = None;
    // The first run of standard-library frames above the hook: a later one
    // (`std::rt::lang_start`, far below code without line tables) is not it.
    let mut run_over = false;
    for frame in frames {
        match owner(frame.file.as_deref()) {
            Owner::Std if !run_over => operation = frame.name.as_deref().map(operation_name),
            Owner::Std => {}
            Owner::Library => run_over = operation.is_some(),
            Owner::User => {
                let user = UserFrame {
                    function: frame.name.clone().unwrap_or_default(),
                    file: frame.file.clone().unwrap_or_default(),
                    line: frame.line.unwrap_or(0),
                };
                return (operation, Some(user));
            }
        }
    }
    (operation, None)
}

/// `&'static` names for `function()`: one leaked copy per distinct text.
fn intern(text: String) -> &'static str {
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let names = names.get_or_insert_with(HashSet::new);
    if let Some(known) = names.get(text.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(text.into_boxed_str());
    names.insert(leaked);
    leaked
}

static USER_ALLOWED: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

pub(super) fn allow_inside(function_path: &'static str) {
    USER_ALLOWED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(function_path);
}

/// The default allow list, by source file: tokio's process spawning, std's
/// backtrace printing.
fn allowed_by_default(frame: &Frame) -> bool {
    let Some(file) = frame.file.as_deref() else {
        return false;
    };
    let file = file.replace('\\', "/");
    let in_tokio_process = file.split('/').any(|part| {
        part == "tokio"
            || part
                .strip_prefix("tokio-")
                .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
    }) && file.contains("/src/process/");
    let std_backtrace = file.contains("library/std/src/backtrace")
        || frame
            .name
            .as_deref()
            .is_some_and(|name| name.starts_with("std::backtrace"));
    in_tokio_process || std_backtrace
}

fn allowed(frames: &[Frame]) -> bool {
    let user = USER_ALLOWED.lock().unwrap_or_else(|e| e.into_inner());
    frames.iter().any(|frame| {
        allowed_by_default(frame)
            || frame
                .name
                .as_deref()
                .is_some_and(|name| user.iter().any(|prefix| name.starts_with(prefix)))
    })
}

static DENYING: AtomicBool = AtomicBool::new(false);

/// A blocking `call` in an async context: returns when the violation is let
/// through (allow list, scope, override); aborts the process before the call
/// otherwise.
#[inline(never)]
pub(super) fn blocking_call(call: &'static Call) {
    let frames = read_stack();
    if frames.as_deref().is_some_and(allowed) {
        return;
    }
    let (operation, user) = frames.as_deref().map(describe).unwrap_or((None, None));
    let function = intern(format!(
        "{} ({})",
        operation.as_deref().unwrap_or(call.operation),
        call.libc
    ));
    let err = SynchronousOnlyOperation::system_call(MESSAGE, function, Location::caller(), user);
    let mut built = || err.clone();
    if scope::let_through(&mut built) || allow::let_through(&mut built) {
        return;
    }
    deny(call, &err, frames.as_deref())
}

/// Under `Override::Deny`: the report on standard error and to `tracing`,
/// then abort, before the call is made. No unwinding through C.
#[cold]
fn deny(call: &Call, err: &SynchronousOnlyOperation, frames: Option<&[Frame]>) -> ! {
    // One report, even if several threads are caught at once: the others
    // wait for the first to finish it and abort the process.
    if DENYING.swap(true, Ordering::AcqRel) {
        loop {
            std::thread::park();
        }
    }
    let stack = match frames {
        Some(frames) => frames
            .iter()
            // Not the frames that read the stack: from the hook, named as
            // libc's function, on.
            .skip_while(|frame| {
                frames
                    .iter()
                    .any(|hook| hook.name.as_deref() == Some(call.libc))
                    && frame.name.as_deref() != Some(call.libc)
            })
            .map(|frame| {
                format!(
                    "  {} at {}:{}\n",
                    frame.name.as_deref().unwrap_or("<unknown>"),
                    frame.file.as_deref().unwrap_or("<unknown>"),
                    frame.line.unwrap_or(0)
                )
            })
            .collect::<String>(),
        None => "  (the stack could not be read in time)\n".to_string(),
    };
    let task = match err.task_id() {
        Some(id) => format!(" in tokio task {id}"),
        None => String::new(),
    };
    #[cfg(feature = "tracing")]
    tracing::error!(
        target: "async_unsafe",
        function = err.function(),
        location = err.site().as_str(),
        task_id = err.task_id().map(|id| id.to_string()).as_deref(),
        "blocking system call in an async context: aborting before it is made"
    );
    eprintln!(
        "error: blocking system call in an async context{task}; aborting before it is made \
             (syscalls::watch under Override::Deny): {err}\nstack:\n{stack}"
    );
    std::process::abort()
}

#[cfg(test)]
mod tests {
    use super::{Frame, Owner, describe, operation_name, owner};

    #[test]
    fn files_are_judged_by_path() {
        for (file, expected) in [
            ("/rustc/0123abcd/library/std/src/thread/mod.rs", Owner::Std),
            (
                "/home/u/.rustup/toolchains/x/lib/rustlib/src/rust/library/core/src/ops.rs",
                Owner::Std,
            ),
            (
                "/home/u/.cargo/registry/src/index/tokio-1.54.1/src/runtime/mod.rs",
                Owner::Library,
            ),
            (
                "/home/u/.cargo/registry/src/index/libc-0.2.191/src/lib.rs",
                Owner::Library,
            ),
            ("async_unsafe_runtime/src/syscalls/hooks.rs", Owner::Library),
            ("/work/vendor/tokio/src/fs/mod.rs", Owner::Library),
            ("tests/tests/syscalls.rs", Owner::User),
            ("/work/app/src/tokio_helpers.rs", Owner::User),
            ("/work/tokio-app/src/main.rs", Owner::User),
        ] {
            assert_eq!(owner(Some(file)), expected, "{file}");
        }
        assert_eq!(owner(None), Owner::Library);
    }

    fn frame(name: &str, file: &str, line: u32) -> Frame {
        Frame {
            name: Some(name.into()),
            file: Some(file.into()),
            line: Some(line),
        }
    }

    #[test]
    fn the_user_frame_is_the_first_outside_the_libraries_and_the_operation_just_below_it() {
        let frames = [
            frame(
                "hooks::open64",
                "async_unsafe_runtime/src/syscalls/hooks.rs",
                1,
            ),
            Frame::default(),
            frame(
                "std::sys::fs::unix::File::open_c",
                "/rustc/x/library/std/src/sys/fs/unix.rs",
                2,
            ),
            frame(
                "std::fs::read_to_string::inner",
                "/rustc/x/library/std/src/fs.rs",
                3,
            ),
            frame(
                "std::fs::read_to_string",
                "/rustc/x/library/std/src/fs.rs",
                4,
            ),
            frame("app::handler::{{closure}}", "src/app.rs", 42),
            frame(
                "tokio::runtime::task::poll",
                "/r/tokio-1.54.1/src/runtime/task/mod.rs",
                5,
            ),
            frame("app::main", "src/main.rs", 7),
        ];
        let (operation, user) = describe(&frames);
        assert_eq!(operation.as_deref(), Some("std::fs::read_to_string"));
        let user = user.unwrap();
        assert_eq!((user.file(), user.line()), ("src/app.rs", 42));
        assert_eq!(user.function(), "app::handler::{{closure}}");
        assert_eq!(
            describe(&frames[..5]),
            (Some("std::fs::read_to_string".into()), None)
        );
        // User code without line tables: the operation is still the first
        // run's, not the runtime's start far below.
        let mut frames = frames.to_vec();
        frames[5].file = None;
        frames[7] = frame(
            "std::rt::lang_start_internal",
            "/rustc/x/library/std/src/rt.rs",
            9,
        );
        assert_eq!(
            describe(&frames),
            (Some("std::fs::read_to_string".into()), None)
        );
    }

    #[test]
    fn the_default_allow_list_is_tokios_process_spawning_and_stds_backtraces() {
        use super::allowed_by_default;
        for (file, allowed) in [
            ("/r/tokio-1.54.1/src/process/unix/mod.rs", true),
            ("/work/vendor/tokio/src/process/mod.rs", true),
            ("/r/tokio-1.54.1/src/runtime/task/mod.rs", false),
            ("/work/app/src/process/spawn.rs", false),
            ("/r/tokio-util-0.7.0/src/process/x.rs", false),
        ] {
            assert_eq!(allowed_by_default(&frame("f", file, 1)), allowed, "{file}");
        }
        assert!(allowed_by_default(&frame(
            "std::backtrace_rs::symbolize::gimli::resolve",
            "/rustc/x/library/std/src/../../backtrace/src/symbolize/gimli.rs",
            1
        )));
        assert!(!allowed_by_default(&Frame::default()));
    }

    #[test]
    fn operation_names_lose_closures_and_inner_helpers() {
        assert_eq!(operation_name("std::fs::write::inner"), "std::fs::write");
        assert_eq!(operation_name("std::thread::sleep"), "std::thread::sleep");
        assert_eq!(
            operation_name("std::thread::functions::sleep"),
            "std::thread::sleep"
        );
        assert_eq!(
            operation_name("std::net::tcp::TcpStream::connect::{{closure}}"),
            "std::net::TcpStream::connect"
        );
        assert_eq!(operation_name("a::b::{{closure}}::{{closure}}"), "a::b");
        assert_eq!(operation_name("a::b::{closure#0}::inner"), "a::b");
        assert_eq!(
            operation_name("std::fs::read_to_string::<&str>"),
            "std::fs::read_to_string"
        );
        assert_eq!(
            operation_name("<std::process::Command>::status"),
            "std::process::Command::status"
        );
        assert_eq!(
            operation_name("<std::vec::Vec<u8>>::push"),
            "std::vec::Vec<u8>::push"
        );
        assert_eq!(
            operation_name("<&str as std::net::ToSocketAddrs>::to_socket_addrs"),
            "<&str as std::net::ToSocketAddrs>::to_socket_addrs"
        );
        // The `>` that closes the brackets is the one at depth zero.
        assert_eq!(
            operation_name("<alloc::vec::Vec<u8> as std::io::Write>::write"),
            "<alloc::vec::Vec<u8> as std::io::Write>::write"
        );
        assert_eq!(
            operation_name("<std::io::BufWriter<std::fs::File>>::flush_buf"),
            "std::io::BufWriter<std::fs::File>::flush_buf"
        );
    }
}
