//! Instruction counts of a hooked call (feature `syscalls`), for callgrind,
//! which counts the same on every run and only in user space: the hook's own
//! cost, without the system call's, which timings on a shared machine drown.
//!
//! ```sh
//! cargo bench -p async_unsafe_runtime --features syscalls --bench syscalls_instructions --no-run
//! for v in libc not_watching watching watching_in_task; do
//!   env -u RUST_BACKTRACE valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     --toggle-collect='syscalls_instructions::measure' \
//!     target/release/deps/syscalls_instructions-* $v 2>&1 | grep Collected
//! done
//! ```
//!
//! `syscalls_instructions-* interleaved` times the plain-thread variants
//! instead, in turns, 30 rounds of 100 000 calls each, and prints the fastest
//! round of each in ns per call: on a loaded machine the minimum of
//! interleaved rounds is the figure least disturbed by other processes. It
//! also times the `fcntl` + `fstat` pair that the table of descriptors known
//! not to block saves a task's socket calls.
//!
//! Only `measure` (100 000 4 KiB `pread64` calls of a regular file) is
//! counted; (variant - libc) / 100 000 is the hook's cost per call. In a
//! task the call is a violation: `watching_in_task` reads a non-blocking
//! socket instead (`recv` with nothing to read), the path of tokio's own I/O,
//! against `libc_socket`.

use std::ffi::c_void;
use std::hint::black_box;
use std::io::Write;
use std::os::fd::AsRawFd;

use async_unsafe_runtime::syscalls;

const CALLS: u64 = 100_000;

type Pread = unsafe extern "C" fn(i32, *mut c_void, usize, i64) -> isize;
type Recv = unsafe extern "C" fn(i32, *mut c_void, usize, i32) -> isize;

#[inline(never)]
fn measure(call: &dyn Fn() -> isize) -> isize {
    let mut total = 0;
    for _ in 0..CALLS {
        total += black_box(call());
    }
    total
}

fn real<T>(name: &std::ffi::CStr) -> T {
    // SAFETY: looked up by name; the caller names the right signature.
    unsafe { std::mem::transmute_copy(&libc::dlsym(libc::RTLD_NEXT, name.as_ptr())) }
}

fn main() {
    let variant = std::env::args().nth(1).unwrap_or_default();
    if variant == "--bench" || variant.is_empty() {
        return; // `cargo bench` runs every bench target: nothing to time here.
    }
    // glibc skips its cancellation bookkeeping (about 30 instructions a call)
    // in a single-threaded process, and `watch()` starts a thread: every
    // variant runs with a second thread, as every tokio program does.
    std::thread::spawn(|| {
        loop {
            std::thread::park();
        }
    });
    let path = std::env::temp_dir().join(format!("async-unsafe-instr-{}", std::process::id()));
    std::fs::File::create(&path)
        .unwrap()
        .write_all(&[7; 4096])
        .unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let fd = file.as_raw_fd();
    let mut buf = [0u8; 4096];
    let buf = buf.as_mut_ptr().cast::<c_void>();
    let libc_pread: Pread = real(c"pread64");
    let libc_recv: Recv = real(c"recv");
    // SAFETY (every closure): our buffer, our descriptors.
    let hooked = || unsafe { libc::pread64(fd, buf, 4096, 0) };
    let total = match variant.as_str() {
        "libc" => measure(&|| unsafe { libc_pread(fd, buf, 4096, 0) }),
        "not_watching" => measure(&hooked),
        "watching" => {
            syscalls::watch().unwrap();
            measure(&hooked)
        }
        "interleaved" => {
            let mut best = [u128::MAX; 3];
            for _ in 0..30 {
                for (variant, best) in best.iter_mut().enumerate() {
                    if variant == 2 {
                        syscalls::watch().unwrap();
                    }
                    let start = std::time::Instant::now();
                    match variant {
                        0 => measure(&|| unsafe { libc_pread(fd, buf, 4096, 0) }),
                        _ => measure(&hooked),
                    };
                    *best = (*best).min(start.elapsed().as_nanos());
                    syscalls::unwatch();
                }
            }
            // What the table of descriptors saves a task's call on a socket
            // seen before: the two system calls that would answer instead.
            let mut check = u128::MAX;
            for _ in 0..30 {
                let start = std::time::Instant::now();
                measure(&|| unsafe {
                    let mut stat = std::mem::MaybeUninit::<libc::stat64>::uninit();
                    libc::syscall(libc::SYS_fcntl, fd, libc::F_GETFL) as isize
                        + libc::fstat64(fd, stat.as_mut_ptr()) as isize
                });
                check = check.min(start.elapsed().as_nanos());
            }
            let per_call = |nanos: u128| nanos as f64 / CALLS as f64;
            println!(
                "ns per fcntl(F_GETFL) + fstat, fastest of 30 rounds: {:.1}",
                per_call(check)
            );
            println!(
                "ns per 4 KiB pread64, fastest of 30 rounds: libc {:.1}, hook not watching {:.1} \
                 (+{:.1}), hook watching {:.1} (+{:.1})",
                per_call(best[0]),
                per_call(best[1]),
                per_call(best[1]) - per_call(best[0]),
                per_call(best[2]),
                per_call(best[2]) - per_call(best[0]),
            );
            0
        }
        "libc_socket" | "watching_in_task" => {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            stream.set_nonblocking(true).unwrap();
            let socket = stream.as_raw_fd();
            let rt = tokio::runtime::Runtime::new().unwrap();
            let watch = variant == "watching_in_task";
            rt.block_on(rt.spawn(async move {
                let mut small = [0u8; 64];
                let small = small.as_mut_ptr().cast::<c_void>();
                if watch {
                    syscalls::watch().unwrap();
                    measure(&|| unsafe { libc::recv(socket, small, 64, 0) })
                } else {
                    measure(&|| unsafe { libc_recv(socket, small, 64, 0) })
                }
            }))
            .unwrap()
        }
        other => panic!("unknown variant {other}"),
    };
    println!("{variant}: {total}");
    let _ = std::fs::remove_file(&path);
}
