//! A process of its own for `tests/syscalls_modes.rs`: what watching does
//! under the process-wide modes (warn, deny), in a forked child, and in a
//! program that never watches. Prints `key=value` lines on standard output.

use std::time::{Duration, Instant};

use async_unsafe_runtime::{Override, capture_violations_in_future, set_override, syscalls};

fn in_task<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(rt.spawn(async move { f() })).unwrap()
}

/// Spawns `true` on tokio's fork path (`pre_exec`) from a captured task, and
/// waits for it: how long it took, and the violations recorded.
fn forked_child(rt: &tokio::runtime::Runtime) -> (Duration, usize) {
    let started = Instant::now();
    let (status, violations) = rt
        .block_on(rt.spawn(capture_violations_in_future(async {
            let mut command = tokio::process::Command::new("true");
            // A blocking call in the child, before exec, on a copy of this
            // task thread's thread-locals: judged, it would wait for a stack
            // reader the child does not have. `nanosleep` is
            // async-signal-safe.
            // SAFETY: the closure only sleeps; it runs in the child before exec.
            unsafe {
                command.pre_exec(|| {
                    std::thread::sleep(Duration::from_millis(1));
                    Ok(())
                })
            };
            command.status().await.unwrap()
        })))
        .unwrap();
    assert!(status.success());
    (started.elapsed(), violations.len())
}

fn main() {
    let scenario = std::env::args()
        .nth(1)
        .expect("usage: syscalls_child SCENARIO PATH");
    let path = std::env::args().nth(2).unwrap_or_default();
    match scenario.as_str() {
        "warn" => {
            set_override(Override::Warn);
            syscalls::watch().unwrap();
            let (line, written) = in_task(move || {
                let line = line!() + 1;
                let written = std::fs::write(&path, "warned").is_ok();
                (
                    line,
                    written && std::fs::read_to_string(&path).unwrap() == "warned",
                )
            });
            println!("line={line}");
            println!("written={written}");
        }
        "allow" => {
            set_override(Override::Allow);
            syscalls::watch().unwrap();
            let written = in_task(move || {
                let first = std::fs::write(&path, "allowed").is_ok();
                first && std::fs::read_to_string(&path).unwrap() == "allowed"
            });
            println!("written={written}");
        }
        "deny" => {
            set_override(Override::Deny);
            syscalls::watch().unwrap();
            in_task(move || {
                println!("line={}", line!() + 1);
                let _ = std::fs::write(&path, "denied");
                println!("survived");
            });
        }
        "fork" => {
            let rt = tokio::runtime::Runtime::new().unwrap();
            let unwatched = (0..3).map(|_| forked_child(&rt).0).max().unwrap();
            syscalls::watch().unwrap();
            // The first spawn reads the debug information for the allow list.
            forked_child(&rt);
            let runs: Vec<_> = (0..3).map(|_| forked_child(&rt)).collect();
            let watched = runs.iter().map(|run| run.0).max().unwrap();
            let violations: usize = runs.iter().map(|run| run.1).sum();
            println!("unwatched_ms={}", unwatched.as_millis());
            println!("watched_ms={}", watched.as_millis());
            println!("violations={violations}");
        }
        "standard_streams" => {
            use std::io::Write;
            syscalls::watch().unwrap();
            let rt = tokio::runtime::Runtime::new().unwrap();
            // Through the raw handle, not print!'s buffer: one write(1, ..).
            let write_line = |text: &'static str| {
                rt.block_on(rt.spawn(capture_violations_in_future(async move {
                    let mut out = std::io::stdout().lock();
                    out.write_all(text.as_bytes()).unwrap();
                    out.flush().unwrap();
                })))
                .unwrap()
                .1
            };
            let exempt = write_line("exempt\n");
            println!("exempt_violations={}", exempt.len());
            syscalls::set_standard_streams_exempt(false);
            let judged = write_line("judged\n");
            let functions: Vec<_> = judged.iter().map(|v| v.function()).collect();
            println!("judged_violations={}", functions.join(","));
            let ((), on_stderr) = rt
                .block_on(rt.spawn(capture_violations_in_future(async {
                    eprintln!("to standard error");
                })))
                .unwrap();
            println!("stderr_violations={}", on_stderr.len());
        }
        "never_watched" => {
            // The hooks are linked and live, but judge nothing: under Deny,
            // blocking calls in a task go through as they always did.
            set_override(Override::Deny);
            let worked = in_task(move || {
                std::thread::sleep(Duration::from_millis(1));
                std::fs::write(&path, "plain").unwrap();
                std::fs::read_to_string(&path).unwrap() == "plain"
            });
            println!("watching={}", syscalls::is_watching());
            println!("worked={worked}");
        }
        "unwatched" => {
            set_override(Override::Deny);
            syscalls::watch().unwrap();
            syscalls::unwatch();
            let worked = in_task(move || std::fs::write(&path, "after unwatch").is_ok());
            println!("watching={}", syscalls::is_watching());
            println!("worked={worked}");
        }
        other => panic!("unknown scenario {other}"),
    }
}
