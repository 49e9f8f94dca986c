//! What watching system calls costs (feature `syscalls`):
//! `cargo bench -p async_unsafe_runtime --features syscalls --bench syscalls`.
//!
//! - `read_4k_plain_thread`: a 4 KiB `pread64` of a regular file (in the page
//!   cache) on a plain thread, through libc's own function looked up with
//!   `dlsym(RTLD_NEXT)` (what a build without the feature calls), through the
//!   hook while not watching, and through the hook while watching (the
//!   detection answers "no": the descriptor is never looked at).
//!   Targets: not watching ≤ 2 ns over the first, watching ≤ 15 ns.
//! - `tokio_echo_round_trip`: 64 bytes to a tokio echo server and back, from
//!   a task on a multi-thread runtime, watching off and on: each `recv` and
//!   `send` of tokio's sockets, and the eventfd writes that wake workers, go
//!   through the hooks and their descriptor table. Target: ≤ 10% slower.

use std::ffi::c_void;
use std::hint::black_box;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use async_unsafe_runtime::syscalls;
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Pread = unsafe extern "C" fn(i32, *mut c_void, usize, i64) -> isize;

fn read_4k(c: &mut Criterion) {
    let path = std::env::temp_dir().join(format!("async-unsafe-bench-{}", std::process::id()));
    std::fs::File::create(&path)
        .unwrap()
        .write_all(&[7; 4096])
        .unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let fd = file.as_raw_fd();
    // SAFETY: a NUL-terminated name; pread64 has this signature.
    let libc_pread: Pread = unsafe {
        std::mem::transmute::<*mut c_void, Pread>(libc::dlsym(libc::RTLD_NEXT, c"pread64".as_ptr()))
    };
    let mut buf = [0u8; 4096];
    let mut g = c.benchmark_group("read_4k_plain_thread");
    g.bench_function("libc_without_hook", |b| {
        syscalls::unwatch();
        // SAFETY: our buffer, our descriptor.
        b.iter(|| unsafe { libc_pread(black_box(fd), buf.as_mut_ptr().cast(), 4096, 0) })
    });
    g.bench_function("hook_not_watching", |b| {
        syscalls::unwatch();
        // SAFETY: as above; `libc::pread64` binds to the hook in this binary.
        b.iter(|| unsafe { libc::pread64(black_box(fd), buf.as_mut_ptr().cast(), 4096, 0) })
    });
    g.bench_function("hook_watching", |b| {
        syscalls::watch().unwrap();
        // SAFETY: as above.
        b.iter(|| unsafe { libc::pread64(black_box(fd), buf.as_mut_ptr().cast(), 4096, 0) });
        syscalls::unwatch();
    });
    g.finish();
    drop(file);
    let _ = std::fs::remove_file(&path);
}

/// `rounds` round trips of 64 bytes from a fresh task, timed inside it.
fn echo_rounds(
    rt: &tokio::runtime::Runtime,
    address: std::net::SocketAddr,
    rounds: u64,
) -> Duration {
    rt.block_on(rt.spawn(async move {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let mut buf = [0u8; 64];
        let start = Instant::now();
        for _ in 0..rounds {
            stream.write_all(&[1; 64]).await.unwrap();
            stream.read_exact(&mut buf).await.unwrap();
        }
        start.elapsed()
    }))
    .unwrap()
}

fn echo(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    rt.spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            socket.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let mut buf = [0u8; 64];
                while let Ok(n @ 1..) = socket.read(&mut buf).await {
                    if socket.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    let mut g = c.benchmark_group("tokio_echo_round_trip");
    g.bench_function("watching_off", |b| {
        syscalls::unwatch();
        b.iter_custom(|n| echo_rounds(&rt, address, n))
    });
    g.bench_function("watching_on", |b| {
        syscalls::watch().unwrap();
        b.iter_custom(|n| echo_rounds(&rt, address, n));
        syscalls::unwatch();
    });
    g.finish();
}

criterion_group!(benches, read_4k, echo);
criterion_main!(benches);
