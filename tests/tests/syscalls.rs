//! `syscalls::watch`: the blocking system calls nobody marked, seen in every
//! async context of the table and in none of the others, named with the
//! line of this file that made them; tokio's own calls never; `errno` kept.
//!
//! Every test here watches (the watch is process-wide) and makes its
//! blocking calls inside a capture: under the default `Override::Deny` a
//! violation outside one would abort this whole test binary, with a report.
//! The modes that need a process of their own (warn, deny, a forked child,
//! never watching) run in `src/bin/syscalls_child.rs`.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use async_unsafe_runtime::{
    SynchronousOnlyOperation, capture_violations, capture_violations_in_future, sync_to_async,
    syscalls,
};
use tests::contexts::{Row, rows};
use tests::runtimes::multi_thread;

/// This file, wherever the test runs.
const THIS_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/syscalls.rs");

/// This file, for libc.
const THIS_FILE_C: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/syscalls.rs\0").as_bytes(),
) {
    Ok(path) => path,
    Err(_) => panic!("no NUL in the path"),
};

/// What one blocking operation should be reported as: the words its
/// `function()` contains and the line of this file that made the call.
type Expected = (&'static [&'static str], u32);

/// One operation's run: what was expected, whether it worked, and the
/// violations recorded while it ran.
#[derive(Debug)]
struct Seen {
    operation: &'static str,
    expected: Vec<Expected>,
    worked: bool,
    violations: Vec<(String, Option<(String, u32)>)>,
}

/// A plain-thread echo server, started once: blocking sockets that a peer
/// answers, away from any runtime.
fn echo_server() -> SocketAddr {
    static ADDRESS: OnceLock<SocketAddr> = OnceLock::new();
    *ADDRESS.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let mut stream = stream.unwrap();
                std::thread::spawn(move || {
                    let mut buf = [0; 64];
                    while let Ok(n @ 1..) = stream.read(&mut buf) {
                        if stream.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        address
    })
}

fn scratch_file(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "async-unsafe-syscalls-{}-{name}",
        std::process::id()
    ))
}

fn sleep() -> (Vec<Expected>, bool) {
    let line = line!() + 1;
    std::thread::sleep(Duration::from_millis(1));
    (
        vec![(&["std::thread::sleep (clock_nanosleep)"], line)],
        true,
    )
}

fn read_to_string() -> (Vec<Expected>, bool) {
    let line = line!() + 1;
    let text = std::fs::read_to_string(THIS_FILE).unwrap();
    (
        vec![
            (&["std::fs::read_to_string (open64)"], line),
            (&["(read)"], line),
        ],
        text.contains("fn read_to_string"),
    )
}

fn write() -> (Vec<Expected>, bool) {
    let path = scratch_file(&format!("{:?}", std::thread::current().id()));
    let line = line!() + 1;
    let written = std::fs::write(&path, "x").is_ok();
    let worked = written && std::fs::read_to_string(&path).unwrap() == "x";
    let _ = std::fs::remove_file(&path);
    (
        vec![(&["std::fs::write (open64)"], line), (&["(write)"], line)],
        worked,
    )
}

fn metadata() -> (Vec<Expected>, bool) {
    let line = line!() + 1;
    let metadata = std::fs::metadata(THIS_FILE).unwrap();
    (
        vec![(&["std::fs::metadata (statx)"], line)],
        metadata.is_file(),
    )
}

fn read_dir() -> (Vec<Expected>, bool) {
    let line = line!() + 1;
    let entries = std::fs::read_dir(".").unwrap().count();
    (vec![(&["std::fs::read_dir (opendir)"], line)], entries > 0)
}

fn tcp() -> (Vec<Expected>, bool) {
    let address = echo_server();
    let connect = line!() + 1;
    let mut stream = TcpStream::connect(address).unwrap();
    let send = line!() + 1;
    stream.write_all(b"ping").unwrap();
    let mut buf = [0; 4];
    let recv = line!() + 1;
    stream.read_exact(&mut buf).unwrap();
    (
        vec![
            (&["std::net::TcpStream::connect (connect)"], connect),
            (&["(send)"], send),
            (&["(recv)"], recv),
        ],
        &buf == b"ping",
    )
}

fn dns() -> (Vec<Expected>, bool) {
    let line = line!() + 1;
    let found = ("localhost", 80).to_socket_addrs().unwrap().count();
    (
        vec![(&["to_socket_addrs", "(getaddrinfo)"], line)],
        found > 0,
    )
}

fn command_status() -> (Vec<Expected>, bool) {
    let line = line!() + 1;
    let status = Command::new("true").status().unwrap();
    (
        vec![(&["std::process::Command::status", "(waitpid)"], line)],
        status.success(),
    )
}

fn command_output() -> (Vec<Expected>, bool) {
    let line = line!() + 1;
    let output = Command::new("echo").arg("hi").output().unwrap();
    (
        vec![
            (&["std::process::Command::output", "(read)"], line),
            (&["std::process::Command::output", "(waitpid)"], line),
        ],
        output.stdout == b"hi\n",
    )
}

type Operation = fn() -> (Vec<Expected>, bool);

const OPERATIONS: [(&str, Operation); 10] = [
    ("std::thread::sleep", sleep),
    ("std::fs::read_to_string", read_to_string),
    ("std::fs::write", write),
    ("std::fs::metadata", metadata),
    ("std::fs::read_dir", read_dir),
    ("std::net::TcpStream", tcp),
    ("ToSocketAddrs", dns),
    ("Command::status", command_status),
    ("Command::output", command_output),
    ("std::fs::read_to_string again", read_to_string),
];

fn describe(err: &SynchronousOnlyOperation) -> (String, Option<(String, u32)>) {
    let frame = err
        .user_frame()
        .map(|frame| (frame.file().to_string(), frame.line()));
    (err.function().to_string(), frame)
}

/// Every operation, each inside a capture of its own.
fn observe() -> Vec<Seen> {
    OPERATIONS
        .iter()
        .map(|(operation, run)| {
            let ((expected, worked), violations) = capture_violations(run);
            Seen {
                operation,
                expected,
                worked,
                violations: violations.iter().map(describe).collect(),
            }
        })
        .collect()
}

const ASYNC_ROWS: [&str; 5] = [
    "task on a multi_thread worker",
    "task on a current_thread runtime",
    "multi_thread block_on root",
    "LocalSet task on a multi_thread root",
    "LocalSet task on a current_thread root",
];

const SYNC_ROWS: [&str; 4] = [
    "plain thread",
    "spawn_blocking",
    "block_in_place in a task",
    "std::thread spawned from a task",
];

fn row(name: &str) -> Row<Vec<Seen>> {
    rows::<Vec<Seen>>()
        .into_iter()
        .find(|(row, _)| *row == name)
        .unwrap_or_else(|| panic!("no row {name:?} in tests::contexts"))
        .1
}

#[test]
fn each_blocking_operation_in_each_async_context_names_the_call_and_this_line() {
    syscalls::watch().unwrap();
    for context in ASYNC_ROWS {
        for seen in row(context)(observe) {
            let what = format!("{} in {context}: {:#?}", seen.operation, seen.violations);
            assert!(seen.worked, "{what}");
            assert!(!seen.violations.is_empty(), "{what}");
            for (words, line) in &seen.expected {
                let found = seen.violations.iter().any(|(function, frame)| {
                    words.iter().all(|word| function.contains(word))
                        && frame
                            .as_ref()
                            .is_some_and(|(file, at)| file.ends_with(file!()) && at == line)
                });
                assert!(found, "{words:?} at line {line}: {what}");
            }
            // Every violation is the operation's: none of tokio's, none of ours.
            for (function, frame) in &seen.violations {
                let (file, _) = frame
                    .as_ref()
                    .unwrap_or_else(|| panic!("{function}: {what}"));
                assert!(file.ends_with(file!()), "{function}: {what}");
            }
        }
    }
}

#[test]
fn the_same_operations_off_the_event_loop_are_not_violations_and_work() {
    syscalls::watch().unwrap();
    let mut contexts: Vec<(&str, Vec<Seen>)> = SYNC_ROWS
        .iter()
        .map(|name| (*name, row(name)(observe)))
        .collect();
    let rt = multi_thread();
    contexts.push((
        "sync_to_async",
        rt.block_on(async { sync_to_async(observe).await }),
    ));
    contexts.push((
        "sync_to_async thread_sensitive",
        rt.block_on(async { sync_to_async(observe).thread_sensitive().await }),
    ));
    for (context, seen) in contexts {
        for seen in seen {
            assert!(seen.worked, "{} in {context}", seen.operation);
            assert!(
                seen.violations.is_empty(),
                "{} in {context}: {:#?}",
                seen.operation,
                seen.violations
            );
        }
    }
}

#[test]
fn the_error_names_the_call_and_the_users_line_and_location_is_ours() {
    syscalls::watch().unwrap();
    assert!(syscalls::is_watching());
    let rt = multi_thread();
    let (line, violations) = rt.block_on(capture_violations_in_future(async {
        let line = line!() + 1;
        std::thread::sleep(Duration::from_millis(1));
        line
    }));
    assert_eq!(violations.len(), 1, "{violations:#?}");
    let err = &violations[0];
    assert_eq!(err.function(), "std::thread::sleep (clock_nanosleep)");
    let frame = err.user_frame().unwrap();
    assert!(frame.file().ends_with(file!()), "{frame:?}");
    assert_eq!(frame.line(), line);
    assert!(frame.function().contains("syscalls::"), "{frame:?}");
    assert!(
        err.to_string().ends_with(&format!(
            "(`std::thread::sleep (clock_nanosleep)` at {frame})"
        )),
        "{err}"
    );
    // The compiler's location cannot hold a line found at run time: ours.
    assert!(err.location().file().contains("syscalls"), "{err:?}");
    assert!(err.task_id().is_none(), "a block_on root has no task id");
}

#[test]
fn allowances_and_the_allow_list_let_calls_through() {
    syscalls::watch().unwrap();
    let rt = multi_thread();
    // Outside a capture, under Override::Deny: a violation not let through
    // would abort this test binary.
    let slept = rt.block_on(rt.spawn(async_unsafe_runtime::allow_in_future(async {
        std::thread::sleep(Duration::from_millis(1));
        true
    })));
    assert!(slept.unwrap());
    let slept = rt.block_on(async {
        let _allowed = async_unsafe_runtime::allow_on_this_thread();
        std::thread::sleep(Duration::from_millis(1));
        true
    });
    assert!(slept);

    syscalls::allow_blocking_inside("syscalls::sleeps_on_purpose");
    let ((), violations) = rt.block_on(capture_violations_in_future(async {
        sleeps_on_purpose();
    }));
    assert!(violations.is_empty(), "{violations:#?}");
    // Not on the list: recorded.
    let ((), violations) = rt.block_on(capture_violations_in_future(async {
        std::thread::sleep(Duration::from_millis(1));
    }));
    assert_eq!(violations.len(), 1, "{violations:#?}");
}

#[inline(never)]
fn sleeps_on_purpose() {
    std::thread::sleep(Duration::from_millis(1));
}

#[test]
fn non_blocking_descriptors_and_dontwait_are_not_violations() {
    syscalls::watch().unwrap();
    let address = echo_server();
    let rt = multi_thread();
    let (got, violations) = rt
        .block_on(rt.spawn(capture_violations_in_future(async move {
            let stream = std::thread::spawn(move || TcpStream::connect(address).unwrap())
                .join()
                .unwrap();
            stream.set_nonblocking(true).unwrap();
            let mut stream = stream;
            let mut buf = [0; 4];
            // Non-blocking: WouldBlock, not a violation.
            let first = stream.read(&mut buf).map_err(|e| e.kind());
            stream.set_nonblocking(false).unwrap();
            // Blocking again (ioctl(FIONBIO) keeps the table true): a violation.
            stream.write_all(b"pong").unwrap();
            stream.read_exact(&mut buf).unwrap();
            (first, buf)
        })))
        .unwrap();
    assert_eq!(got, (Err(ErrorKind::WouldBlock), *b"pong"));
    let functions: Vec<_> = violations.iter().map(|v| v.function()).collect();
    assert_eq!(functions.len(), 2, "{functions:?}");
    assert!(functions[0].ends_with("(send)"), "{functions:?}");
    assert!(functions[1].ends_with("(recv)"), "{functions:?}");
}

#[test]
fn fcntl_keeps_the_descriptor_table_true_and_dontwait_never_blocks() {
    syscalls::watch().unwrap();
    let address = echo_server();
    let stream = TcpStream::connect(address).unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
    let rt = multi_thread();
    let (results, violations) = rt
        .block_on(rt.spawn(capture_violations_in_future(async move {
            let mut buf = [0u8; 4];
            // SAFETY (all): our socket and buffer.
            let mut recv = |flags| unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), 4, flags) };
            // Blocking mode, but MSG_DONTWAIT: EAGAIN, no violation.
            let dontwait = recv(libc::MSG_DONTWAIT);
            // O_NONBLOCK through fcntl, not ioctl: seen, then remembered.
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
            unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) };
            let nonblocking = recv(0);
            // Back to blocking through fcntl: the table forgot, a violation.
            unsafe { libc::fcntl(fd, libc::F_SETFL, flags) };
            let mut stream = stream;
            stream.write_all(b"ping").unwrap();
            let blocking = recv(0);
            (dontwait, nonblocking, blocking)
        })))
        .unwrap();
    assert_eq!(results, (-1, -1, 4));
    let functions: Vec<_> = violations.iter().map(|v| v.function()).collect();
    assert_eq!(functions.len(), 2, "{functions:?}");
    assert!(functions[0].ends_with("(send)"), "{functions:?}");
    assert!(functions[1].ends_with("(recv)"), "{functions:?}");
}

/// A non-blocking socket read once in a task (remembered as never
/// blocking), closed behind libc's back and its number handed out again by
/// `open` off the event loop (no report, whose stack reading opens files of
/// its own, in between), then read in the task: what the read returned and
/// the violations. `None` when another thread took the number in between.
fn reuse_a_remembered_number() -> Option<(isize, Vec<SynchronousOnlyOperation>)> {
    let (read, violations) = capture_violations(|| {
        let mut buf = [0u8; 4];
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let fd = std::os::fd::IntoRawFd::into_raw_fd(listener);
        // SAFETY (all): our descriptors and buffer.
        unsafe { libc::read(fd, buf.as_mut_ptr().cast(), 4) };
        let reopened = tokio::task::block_in_place(|| unsafe {
            libc::syscall(libc::SYS_close, fd);
            libc::open(THIS_FILE_C.as_ptr(), libc::O_RDONLY)
        });
        let read =
            (reopened == fd).then(|| unsafe { libc::read(reopened, buf.as_mut_ptr().cast(), 4) });
        unsafe { libc::close(reopened) };
        read
    });
    read.map(|read| (read, violations))
}

#[test]
fn a_descriptor_number_handed_out_again_is_judged_afresh() {
    syscalls::watch().unwrap();
    let rt = multi_thread();
    let (read, violations) = rt
        .block_on(rt.spawn(async { (0..100).find_map(|_| reuse_a_remembered_number()) }))
        .unwrap()
        .expect("open() handed out the closed number in one of 100 tries");
    assert_eq!(read, 4);
    let functions: Vec<_> = violations.iter().map(|v| v.function()).collect();
    // The read of a regular file: judged, not remembered.
    assert_eq!(functions.len(), 1, "{functions:?}");
    assert!(functions[0].ends_with("(read)"), "{functions:?}");
}

#[test]
fn printing_a_backtrace_is_on_the_default_allow_list() {
    syscalls::watch().unwrap();
    let rt = multi_thread();
    let (text, violations) = rt
        .block_on(rt.spawn(capture_violations_in_future(async {
            // Reads debug information from disk: open64, read, mmap.
            std::backtrace::Backtrace::force_capture().to_string()
        })))
        .unwrap();
    assert!(text.contains("printing_a_backtrace"), "{text}");
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn syncing_a_file_is_a_violation() {
    syscalls::watch().unwrap();
    let path = scratch_file("sync");
    let file = std::fs::File::create(&path).unwrap();
    let rt = multi_thread();
    let (line, violations) = rt
        .block_on(rt.spawn(capture_violations_in_future(async move {
            let line = line!() + 1;
            file.sync_all().unwrap();
            // Standard error is exempt, whatever the call: not judged.
            // SAFETY: fsync of a descriptor this process holds.
            unsafe { libc::fsync(2) };
            line
        })))
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(
        violations[0].function().ends_with("(fsync)"),
        "{violations:#?}"
    );
    assert_eq!(violations[0].user_frame().unwrap().line(), line);
}

#[test]
fn tokio_itself_makes_no_violation() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    syscalls::watch().unwrap();
    let rt = multi_thread();
    let dir = scratch_file("tokio-fs");
    let (outcome, violations) = rt.block_on(capture_violations_in_future(async move {
        // A TCP echo server and client.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(capture_violations_in_future(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0; 64];
            loop {
                let n = socket.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                socket.write_all(&buf[..n]).await.unwrap();
            }
        }));
        let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
        let mut echoed = 0;
        for _ in 0..200 {
            let mut buf = [0; 5];
            client.write_all(b"hello").await.unwrap();
            client.read_exact(&mut buf).await.unwrap();
            echoed += usize::from(&buf == b"hello");
        }
        drop(client);
        let ((), server_violations) = server.await.unwrap();

        // tokio::fs, on the blocking pool.
        tokio::fs::create_dir_all(&dir).await.unwrap();
        let file = dir.join("f");
        tokio::fs::write(&file, "data").await.unwrap();
        let data = tokio::fs::read_to_string(&file).await.unwrap();
        let _ = tokio::fs::metadata(&file).await.unwrap();
        let mut entries = tokio::fs::read_dir(&dir).await.unwrap();
        while entries.next_entry().await.unwrap().is_some() {}
        tokio::fs::remove_dir_all(&dir).await.unwrap();

        // tokio::process: posix_spawn, then the fork path (`uid`).
        let spawned = tokio::process::Command::new("true").status().await.unwrap();
        let output = tokio::process::Command::new("echo")
            .arg("hi")
            .output()
            .await
            .unwrap();
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() };
        let forked = tokio::process::Command::new("true")
            .uid(uid)
            .status()
            .await
            .unwrap();

        tokio::time::sleep(Duration::from_millis(2)).await;
        let found = tokio::net::lookup_host("localhost:80")
            .await
            .unwrap()
            .count();
        println!("to standard output");
        writeln!(std::io::stdout(), "to standard output, uncaptured").unwrap();
        tracing::info!("an event");
        (
            echoed,
            server_violations.len(),
            data,
            spawned.success() && forked.success() && output.stdout == b"hi\n",
            found > 0,
        )
    }));
    assert!(violations.is_empty(), "{violations:#?}");
    assert_eq!(outcome, (200, 0, "data".to_string(), true, true));
}

#[test]
fn errno_is_what_the_real_call_left() {
    syscalls::watch().unwrap();
    fn open_missing() -> Option<i32> {
        // SAFETY: a NUL-terminated path; the descriptor is closed if opened.
        let fd = unsafe { libc::open(c"/nonexistent/async-unsafe".as_ptr(), libc::O_RDONLY) };
        assert_eq!(fd, -1);
        std::io::Error::last_os_error().raw_os_error()
    }
    fn kept_on_success() -> i32 {
        // SAFETY: errno is this thread's; the path is NUL-terminated.
        unsafe {
            *libc::__errno_location() = 4242;
            let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
            assert!(fd >= 0);
            let errno = *libc::__errno_location();
            libc::close(fd);
            errno
        }
    }
    let rt = multi_thread();
    let ((missing, kind, kept), violations) = rt
        .block_on(rt.spawn(capture_violations_in_future(async {
            (
                open_missing(),
                std::fs::File::open("/nonexistent/async-unsafe")
                    .unwrap_err()
                    .kind(),
                kept_on_success(),
            )
        })))
        .unwrap();
    assert_eq!(missing, Some(libc::ENOENT));
    assert_eq!(kind, ErrorKind::NotFound);
    assert_eq!(kept, 4242);
    assert_eq!(violations.len(), 3, "{violations:#?}");
    let on_plain_thread = std::thread::spawn(|| {
        (
            open_missing(),
            std::fs::File::open("/nonexistent/async-unsafe")
                .unwrap_err()
                .kind(),
            kept_on_success(),
        )
    })
    .join()
    .unwrap();
    assert_eq!(
        on_plain_thread,
        (Some(libc::ENOENT), ErrorKind::NotFound, 4242)
    );
}
