//! `syscalls::watch` under the process-wide modes, each in a child process
//! (`src/bin/syscalls_child.rs`): warn lets the call through and reports it,
//! deny aborts before the call with a report naming it and the line; a
//! forked child is not slowed down; a program that never watches is as
//! before.

use std::path::PathBuf;
use std::process::Command;

use tests::child::run;

const CHILD: &str = env!("CARGO_BIN_EXE_syscalls_child");
const CHILD_SOURCE: &str = "syscalls_child.rs";

fn scratch(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "async-unsafe-syscalls-modes-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

fn value<'a>(lines: &'a [String], key: &str) -> &'a str {
    lines
        .iter()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key}= in {lines:?}"))
}

#[test]
fn warn_mode_lets_the_call_through_and_reports_it_with_the_line() {
    let path = scratch("warn");
    let out = run(CHILD, &["warn", path.to_str().unwrap()], []);
    assert_eq!(value(&out.lines, "written"), "true", "{}", out.stderr);
    let line = value(&out.lines, "line");
    let report = out
        .stderr
        .lines()
        .find(|l| l.contains("std::fs::write (open64)"))
        .unwrap_or_else(|| panic!("no report of open64: {}", out.stderr));
    assert!(
        report.starts_with("warning: async-safety violation let through (warn mode)"),
        "{report}"
    );
    assert!(
        report.contains(&format!("{CHILD_SOURCE}:{line}")),
        "{report}"
    );
    assert!(report.contains("in tokio task"), "{report}");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn allow_mode_lets_calls_through_and_reports_the_first_once() {
    let path = scratch("allow");
    let out = run(CHILD, &["allow", path.to_str().unwrap()], []);
    assert_eq!(out.lines, ["written=true"], "{}", out.stderr);
    // open64, write, open64 and read again: one report for the process.
    assert_eq!(
        out.stderr.matches("async-safety guard overridden").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("std::fs::write (open64)"),
        "{}",
        out.stderr
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn deny_mode_aborts_before_the_call_with_a_report_naming_it_and_the_line() {
    let path = scratch("deny");
    let out = Command::new(CHILD)
        .args(["deny", path.to_str().unwrap()])
        .env_remove("ALLOW_ASYNC_UNSAFE")
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains("survived"), "{stdout}");
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("line="))
        .unwrap_or_else(|| panic!("{stdout}\n{stderr}"));
    assert!(
        stderr.contains("error: blocking system call in an async context"),
        "{stderr}"
    );
    assert!(
        stderr.contains("(`std::fs::write (open64)` at "),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{CHILD_SOURCE}:{line})")),
        "{stderr}"
    );
    // The stack follows the report, from the hook on.
    assert!(stderr.contains("stack:\n  open64 at "), "{stderr}");
    // Aborted before the call was made: the file was never created.
    assert!(!path.exists(), "{path:?} was created");
}

#[test]
fn a_forked_child_from_a_captured_task_is_not_slowed_down() {
    let out = run(CHILD, &["fork"], []);
    let unwatched: u64 = value(&out.lines, "unwatched_ms").parse().unwrap();
    let watched: u64 = value(&out.lines, "watched_ms").parse().unwrap();
    // std's exec-error wait on the fork path is on the default allow list.
    assert_eq!(value(&out.lines, "violations"), "0", "{}", out.stderr);
    // The hazard this guards against was a 5 s wait in the child; leave
    // room for a loaded machine, not for that.
    assert!(
        watched <= unwatched + 1000,
        "watched {watched} ms, unwatched {unwatched} ms"
    );
}

#[test]
fn standard_output_is_exempt_until_it_is_not_and_standard_error_always() {
    // The child's standard output is a pipe in blocking mode (this test
    // reads it), its standard error too.
    let out = run(CHILD, &["standard_streams"], []);
    let [
        exempt,
        exempt_violations,
        judged,
        judged_violations,
        on_stderr,
    ] = &out.lines[..]
    else {
        panic!("{:?}\n{}", out.lines, out.stderr);
    };
    assert_eq!(
        [exempt, exempt_violations, judged, on_stderr],
        [
            "exempt",
            "exempt_violations=0",
            "judged",
            "stderr_violations=0"
        ],
        "{}",
        out.stderr
    );
    // One write(1, ..), named with the operation that made it.
    let function = judged_violations
        .strip_prefix("judged_violations=")
        .unwrap();
    assert!(
        function.ends_with(" (write)") && !function.contains(','),
        "{function}"
    );
    assert!(function.contains("std::io"), "{function}");
}

#[test]
fn a_program_that_never_watches_behaves_as_before() {
    let path = scratch("never");
    let out = run(CHILD, &["never_watched", path.to_str().unwrap()], []);
    assert_eq!(
        out.lines,
        ["watching=false", "worked=true"],
        "{}",
        out.stderr
    );
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    let path = scratch("unwatched");
    let out = run(CHILD, &["unwatched", path.to_str().unwrap()], []);
    assert_eq!(
        out.lines,
        ["watching=false", "worked=true"],
        "{}",
        out.stderr
    );
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(scratch("never"));
}
