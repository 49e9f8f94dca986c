//! libc's blocking entry points, defined here and forwarded to libc's own.
//!
//! Each hook is a `#[no_mangle] extern "C"` function with libc's name and
//! signature (the variadic ones, `open` and `fcntl`, take their optional
//! argument as a plain one: on x86_64 and aarch64 Linux a variadic argument
//! travels in the register a fixed one would). The real function is looked
//! up with `dlsym(RTLD_NEXT, ..)` on first use, so a hook forwards correctly
//! from process start, before `main` and before [`watch`](super::watch).
//!
//! Not watching, a hook is one relaxed load and the forwarded call. Watching,
//! [`judged`] holds a thread-local re-entry guard through the whole call (the
//! report and the forwarded call make hooked calls of their own: they are
//! forwarded unjudged), skips threads that are panicking, asks the panic-free
//! detection, and only in an async context asks whether this call blocks.
//! `errno` is saved before the checks and put back before the forwarded
//! call, so the caller sees exactly what the real call left.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use libc::{c_char, c_int, c_uint, c_ulong, c_void, mode_t, size_t, ssize_t};

use super::{WATCHING, fd, report};

/// One hooked function, as a violation names it.
pub(super) struct Call {
    /// libc's name: `clock_nanosleep`.
    pub(super) libc: &'static str,
    /// The standard library's operation that usually makes it, named when the
    /// stack cannot tell: `std::thread::sleep`.
    pub(super) operation: &'static str,
}

/// The real function behind a hook, looked up once.
struct Real {
    /// NUL-terminated.
    name: &'static str,
    address: AtomicUsize,
}

impl Real {
    const fn new(name: &'static str) -> Self {
        Real {
            name,
            address: AtomicUsize::new(0),
        }
    }

    #[inline(always)]
    fn get(&self) -> usize {
        match self.address.load(Ordering::Relaxed) {
            0 => self.resolve(),
            address => address,
        }
    }

    #[cold]
    fn resolve(&self) -> usize {
        // SAFETY: `name` is NUL-terminated; RTLD_NEXT is the object after ours.
        let address = unsafe { libc::dlsym(libc::RTLD_NEXT, self.name.as_ptr().cast()) } as usize;
        if address == 0 {
            missing(self.name);
        }
        self.address.store(address, Ordering::Relaxed);
        address
    }
}

/// A hook cannot forward: nothing sane to return, and no unwinding through C.
#[cold]
fn missing(name: &str) -> ! {
    let text = format!(
        "async_unsafe_runtime::syscalls: libc has no `{}` to forward to (needs glibc 2.28+, \
         dynamically linked)\n",
        name.trim_end_matches('\0')
    );
    // SAFETY: a raw write of our own buffer to standard error: `write` is hooked.
    unsafe { libc::syscall(libc::SYS_write, 2, text.as_ptr(), text.len()) };
    std::process::abort()
}

/// Whether the hooks can forward: libc is a shared object after this one.
pub(super) fn interposable() -> bool {
    // SAFETY: a NUL-terminated name; no call is made.
    !unsafe { libc::dlsym(libc::RTLD_NEXT, c"read".as_ptr()) }.is_null()
}

thread_local! {
    /// Inside a judged hook (or on the thread that reads stacks): hooked
    /// calls are forwarded unjudged. `const` without `Drop`: usable at any
    /// point of a thread's life, teardown included.
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// The re-entry guard, held through the forwarded call.
struct Inside(());

impl Inside {
    fn enter() -> Option<Inside> {
        (!INSIDE.replace(true)).then_some(Inside(()))
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        INSIDE.set(false);
    }
}

/// For the thread that reads stacks: its own hooked calls are never judged.
pub(super) fn never_judge_this_thread() {
    INSIDE.set(true);
}

fn errno() -> c_int {
    // SAFETY: glibc's thread-local errno, always valid.
    unsafe { *libc::__errno_location() }
}

fn set_errno(value: c_int) {
    // SAFETY: as in `errno`.
    unsafe { *libc::__errno_location() = value };
}

/// Whether hooked calls are judged: the whole cost of a hook when not
/// watching, a relaxed load before the forwarded call.
#[inline(always)]
fn watching() -> bool {
    WATCHING.load(Ordering::Relaxed)
}

/// Watching: the rules of the module docs, then the forwarded call.
#[inline(always)]
fn judged<R>(call: &'static Call, blocks: impl FnOnce() -> bool, forward: impl FnOnce() -> R) -> R {
    let Some(_inside) = Inside::enter() else {
        return forward();
    };
    if !std::thread::panicking() && crate::detect::is_async_context_without_panics() {
        let saved = errno();
        if blocks() {
            // Returns only when the violation is let through.
            report::blocking_call(call);
        }
        set_errno(saved);
    }
    forward()
}

fn keep<T>(_: T) {}

/// A hooked call handed out descriptor `fd`: nothing known about its number
/// holds any more.
fn fresh(fd: c_int) {
    fd::forget(fd);
}

macro_rules! hooks {
    ($(
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;
        operation $op:literal;
        blocks $blocks:expr;
        then $after:path;
    )*) => {$(
        #[unsafe(no_mangle)]
        unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
            static CALL: Call = Call { libc: stringify!($name), operation: $op };
            static REAL: Real = Real::new(concat!(stringify!($name), "\0"));
            // SAFETY: libc's function of this name has this signature.
            let real = unsafe {
                std::mem::transmute::<usize, unsafe extern "C" fn($($ty),*) -> $ret>(REAL.get())
            };
            /// Watching: out of line, so the forwarding path sets nothing up.
            #[cold]
            #[inline(never)]
            fn judge(real: unsafe extern "C" fn($($ty),*) -> $ret, $($arg: $ty),*) -> $ret {
                // SAFETY: the caller's arguments, forwarded as they came.
                judged(&CALL, || $blocks, || unsafe { real($($arg),*) })
            }
            let ret = if watching() {
                judge(real, $($arg),*)
            } else {
                // SAFETY: as above.
                unsafe { real($($arg),*) }
            };
            $after(ret);
            ret
        }
    )*};
}

const ALWAYS: bool = true;

hooks! {
    fn nanosleep(request: *const c_void, remain: *mut c_void) -> c_int;
    operation "std::thread::sleep"; blocks ALWAYS; then keep;
    fn clock_nanosleep(clock: libc::clockid_t, flags: c_int, request: *const c_void, remain: *mut c_void) -> c_int;
    operation "std::thread::sleep"; blocks ALWAYS; then keep;

    fn open(path: *const c_char, flags: c_int, mode: mode_t) -> c_int;
    operation "std::fs::File::open"; blocks ALWAYS; then fresh;
    fn open64(path: *const c_char, flags: c_int, mode: mode_t) -> c_int;
    operation "std::fs::File::open"; blocks ALWAYS; then fresh;
    fn openat(dir: c_int, path: *const c_char, flags: c_int, mode: mode_t) -> c_int;
    operation "std::fs::File::open"; blocks ALWAYS; then fresh;
    fn openat64(dir: c_int, path: *const c_char, flags: c_int, mode: mode_t) -> c_int;
    operation "std::fs::File::open"; blocks ALWAYS; then fresh;
    fn creat(path: *const c_char, mode: mode_t) -> c_int;
    operation "std::fs::File::create"; blocks ALWAYS; then fresh;
    fn creat64(path: *const c_char, mode: mode_t) -> c_int;
    operation "std::fs::File::create"; blocks ALWAYS; then fresh;
    fn statx(dir: c_int, path: *const c_char, flags: c_int, mask: c_uint, buf: *mut c_void) -> c_int;
    operation "std::fs::metadata"; blocks ALWAYS; then keep;
    fn stat64(path: *const c_char, buf: *mut c_void) -> c_int;
    operation "std::fs::metadata"; blocks ALWAYS; then keep;
    fn lstat64(path: *const c_char, buf: *mut c_void) -> c_int;
    operation "std::fs::symlink_metadata"; blocks ALWAYS; then keep;
    fn fstatat64(dir: c_int, path: *const c_char, buf: *mut c_void, flags: c_int) -> c_int;
    operation "std::fs::metadata"; blocks ALWAYS; then keep;
    fn opendir(path: *const c_char) -> *mut c_void;
    operation "std::fs::read_dir"; blocks ALWAYS; then keep;
    fn fdopendir(dir: c_int) -> *mut c_void;
    operation "std::fs::read_dir"; blocks ALWAYS; then keep;
    fn unlink(path: *const c_char) -> c_int;
    operation "std::fs::remove_file"; blocks ALWAYS; then keep;
    fn unlinkat(dir: c_int, path: *const c_char, flags: c_int) -> c_int;
    operation "std::fs::remove_file"; blocks ALWAYS; then keep;
    fn rename(from: *const c_char, to: *const c_char) -> c_int;
    operation "std::fs::rename"; blocks ALWAYS; then keep;
    fn renameat(from_dir: c_int, from: *const c_char, to_dir: c_int, to: *const c_char) -> c_int;
    operation "std::fs::rename"; blocks ALWAYS; then keep;
    fn mkdir(path: *const c_char, mode: mode_t) -> c_int;
    operation "std::fs::create_dir"; blocks ALWAYS; then keep;
    fn mkdirat(dir: c_int, path: *const c_char, mode: mode_t) -> c_int;
    operation "std::fs::create_dir"; blocks ALWAYS; then keep;
    fn realpath(path: *const c_char, resolved: *mut c_char) -> *mut c_char;
    operation "std::fs::canonicalize"; blocks ALWAYS; then keep;
    fn copy_file_range(from: c_int, from_offset: *mut i64, to: c_int, to_offset: *mut i64, len: size_t, flags: c_uint) -> ssize_t;
    operation "std::fs::copy"; blocks fd::file_call_blocks(from) || fd::file_call_blocks(to); then keep;
    fn fsync(file: c_int) -> c_int;
    operation "std::fs::File::sync_all"; blocks fd::file_call_blocks(file); then keep;
    fn fdatasync(file: c_int) -> c_int;
    operation "std::fs::File::sync_data"; blocks fd::file_call_blocks(file); then keep;
    fn flock(file: c_int, operation: c_int) -> c_int;
    operation "std::fs::File::lock"; blocks fd::file_call_blocks(file); then keep;

    fn read(file: c_int, buf: *mut c_void, count: size_t) -> ssize_t;
    operation "std::io::Read::read"; blocks fd::io_blocks(file); then keep;
    fn readv(file: c_int, iov: *const c_void, count: c_int) -> ssize_t;
    operation "std::io::Read::read_vectored"; blocks fd::io_blocks(file); then keep;
    fn pread64(file: c_int, buf: *mut c_void, count: size_t, offset: i64) -> ssize_t;
    operation "std::os::unix::fs::FileExt::read_at"; blocks fd::io_blocks(file); then keep;
    fn write(file: c_int, buf: *const c_void, count: size_t) -> ssize_t;
    operation "std::io::Write::write"; blocks fd::io_blocks(file); then keep;
    fn writev(file: c_int, iov: *const c_void, count: c_int) -> ssize_t;
    operation "std::io::Write::write_vectored"; blocks fd::io_blocks(file); then keep;
    fn pwrite64(file: c_int, buf: *const c_void, count: size_t, offset: i64) -> ssize_t;
    operation "std::os::unix::fs::FileExt::write_at"; blocks fd::io_blocks(file); then keep;

    fn connect(socket: c_int, address: *const c_void, len: libc::socklen_t) -> c_int;
    operation "std::net::TcpStream::connect"; blocks fd::io_blocks(socket); then keep;
    fn accept(socket: c_int, address: *mut c_void, len: *mut libc::socklen_t) -> c_int;
    operation "std::net::TcpListener::accept"; blocks fd::io_blocks(socket); then fresh;
    fn accept4(socket: c_int, address: *mut c_void, len: *mut libc::socklen_t, flags: c_int) -> c_int;
    operation "std::net::TcpListener::accept"; blocks fd::io_blocks(socket); then fresh;
    fn recv(socket: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t;
    operation "std::net::TcpStream::read"; blocks fd::socket_call_blocks(socket, flags); then keep;
    fn recvfrom(socket: c_int, buf: *mut c_void, len: size_t, flags: c_int, address: *mut c_void, address_len: *mut libc::socklen_t) -> ssize_t;
    operation "std::net::UdpSocket::recv_from"; blocks fd::socket_call_blocks(socket, flags); then keep;
    fn recvmsg(socket: c_int, message: *mut c_void, flags: c_int) -> ssize_t;
    operation "std::os::unix::net::UnixStream::recv_vectored_with_ancillary"; blocks fd::socket_call_blocks(socket, flags); then keep;
    fn send(socket: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t;
    operation "std::net::TcpStream::write"; blocks fd::socket_call_blocks(socket, flags); then keep;
    fn sendto(socket: c_int, buf: *const c_void, len: size_t, flags: c_int, address: *const c_void, address_len: libc::socklen_t) -> ssize_t;
    operation "std::net::UdpSocket::send_to"; blocks fd::socket_call_blocks(socket, flags); then keep;
    fn sendmsg(socket: c_int, message: *const c_void, flags: c_int) -> ssize_t;
    operation "std::os::unix::net::UnixStream::send_vectored_with_ancillary"; blocks fd::socket_call_blocks(socket, flags); then keep;

    fn getaddrinfo(node: *const c_char, service: *const c_char, hints: *const c_void, res: *mut *mut c_void) -> c_int;
    operation "std::net::ToSocketAddrs::to_socket_addrs"; blocks ALWAYS; then keep;
    fn gethostbyname(name: *const c_char) -> *mut c_void;
    operation "gethostbyname"; blocks ALWAYS; then keep;

    fn waitpid(pid: libc::pid_t, status: *mut c_int, options: c_int) -> libc::pid_t;
    operation "std::process::Child::wait"; blocks options & libc::WNOHANG == 0; then keep;
    fn wait4(pid: libc::pid_t, status: *mut c_int, options: c_int, usage: *mut c_void) -> libc::pid_t;
    operation "std::process::Child::wait"; blocks options & libc::WNOHANG == 0; then keep;
    fn waitid(kind: libc::idtype_t, id: libc::id_t, info: *mut c_void, options: c_int) -> c_int;
    operation "std::process::Child::wait"; blocks options & libc::WNOHANG == 0; then keep;

    fn poll(fds: *mut c_void, count: libc::nfds_t, timeout: c_int) -> c_int;
    operation "poll"; blocks timeout != 0; then keep;
    fn ppoll(fds: *mut c_void, count: libc::nfds_t, timeout: *const libc::timespec, mask: *const c_void) -> c_int;
    // SAFETY: ppoll's timeout, when not null, points to a timespec.
    operation "poll"; blocks timeout.is_null() || unsafe { (*timeout).tv_sec != 0 || (*timeout).tv_nsec != 0 }; then keep;
    fn select(count: c_int, read: *mut c_void, write: *mut c_void, except: *mut c_void, timeout: *mut libc::timeval) -> c_int;
    // SAFETY: select's timeout, when not null, points to a timeval.
    operation "select"; blocks timeout.is_null() || unsafe { (*timeout).tv_sec != 0 || (*timeout).tv_usec != 0 }; then keep;
}

/// The calls that change what [`fd`] knows about a descriptor: never judged,
/// always (watching or not) keeping the table true.
macro_rules! invalidating {
    ($(
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;
        forget $forget:expr;
    )*) => {$(
        #[unsafe(no_mangle)]
        unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
            static REAL: Real = Real::new(concat!(stringify!($name), "\0"));
            // SAFETY: libc's function of this name has this signature.
            let real = unsafe {
                std::mem::transmute::<usize, unsafe extern "C" fn($($ty),*) -> $ret>(REAL.get())
            };
            if let Some(fd) = $forget {
                fd::forget(fd);
            }
            // SAFETY: the caller's arguments, forwarded as they came.
            unsafe { real($($arg),*) }
        }
    )*};
}

fn changes_blocking_mode(command: c_int) -> bool {
    command == libc::F_SETFL
}

invalidating! {
    fn close(file: c_int) -> c_int;
    forget Some(file);
    fn dup2(from: c_int, to: c_int) -> c_int;
    forget Some(to);
    fn dup3(from: c_int, to: c_int, flags: c_int) -> c_int;
    forget Some(to);
    fn fcntl(file: c_int, command: c_int, arg: usize) -> c_int;
    forget changes_blocking_mode(command).then_some(file);
    fn fcntl64(file: c_int, command: c_int, arg: usize) -> c_int;
    forget changes_blocking_mode(command).then_some(file);
    fn ioctl(file: c_int, request: c_ulong, arg: usize) -> c_int;
    forget (request == libc::FIONBIO).then_some(file);
}

/// `socket` hands out a descriptor: forgotten, like those of `open`.
#[unsafe(no_mangle)]
unsafe extern "C" fn socket(domain: c_int, kind: c_int, protocol: c_int) -> c_int {
    static REAL: Real = Real::new("socket\0");
    // SAFETY: libc's `socket` has this signature.
    let real = unsafe {
        std::mem::transmute::<usize, unsafe extern "C" fn(c_int, c_int, c_int) -> c_int>(REAL.get())
    };
    // SAFETY: the caller's arguments.
    let fd = unsafe { real(domain, kind, protocol) };
    fd::forget(fd);
    fd
}
