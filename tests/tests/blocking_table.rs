//! The README's table of what blocking APIs do in each execution context,
//! measured: `src/bin/blocking_table.rs` is built in release mode (where
//! tokio's debug-only checks are gone) and every cell runs in a child process
//! of its own, against the throwaway PostgreSQL cluster. A child that gives
//! no answer within `STALL_AFTER` is killed and reported as a stall.
//!
//! The test fails when the README's table differs, printing the new one; run
//! it with `UPDATE_README=1` to write the new table into the README.

use std::fs;
use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tests::{cargo, postgres_cluster, workspace_root};

/// How long a cell may take before it counts as a stall. Every cell that
/// answers does so in well under a second.
const STALL_AFTER: Duration = Duration::from_secs(10);

const BEGIN: &str = "<!-- blocking-table:begin (tests/tests/blocking_table.rs) -->";
const END: &str = "<!-- blocking-table:end -->";

/// The binary's call names, with the unguarded and the guarded row labels.
const CALLS: [(&str, &str, &str); 6] = [
    (
        "postgres-connect",
        "`postgres::Client::connect`",
        "guarded: `async_unsafe_runtime::postgres::Client::connect`",
    ),
    (
        "postgres-query",
        "`postgres::Client::query`",
        "guarded: `async_unsafe_runtime::postgres::Client::query`",
    ),
    (
        "postgres-drop",
        "dropping a `postgres::Client`",
        "guarded: dropping an `async_unsafe_runtime::postgres::Client`",
    ),
    (
        "r2d2-get",
        "`r2d2::Pool::get` (`r2d2_postgres`, an idle connection)",
        "guarded: `GuardedPool::get`",
    ),
    (
        "r2d2-get-exhausted",
        "`r2d2::Pool::get`, the only connection held by a task for 200 ms",
        "guarded: `GuardedPool::get`",
    ),
    (
        "reqwest-get",
        "`reqwest::blocking::Client::get(url).send()`, the server a task",
        "guarded: `SyncOnly::get` first",
    ),
];

/// The binary's context names, with the column titles.
const CONTEXTS: [(&str, &str); 4] = [
    ("worker", "task on a tokio worker"),
    ("root", "`#[tokio::main]` root"),
    ("spawn_blocking", "`spawn_blocking`"),
    ("thread", "plain thread"),
];

#[test]
fn the_readme_table_is_what_a_release_build_does() {
    let params = postgres_cluster::shared().database("blocking_table");
    cargo(
        [
            "build",
            "--quiet",
            "--release",
            "-p",
            "tests",
            "--bin",
            "blocking_table",
        ],
        "blocking-table",
    );
    let exe = workspace_root().join("target/blocking-table/release/blocking_table");

    let mut table = String::from("| call |");
    for (_, title) in CONTEXTS {
        table += &format!(" {title} |");
    }
    table += "\n|---|";
    table += &"---|".repeat(CONTEXTS.len());
    table += "\n";
    for (call, unguarded, guarded) in CALLS {
        for (mode, label) in [("unguarded", unguarded), ("guarded", guarded)] {
            table += &format!("| {label} |");
            for (context, _) in CONTEXTS {
                let outcome = run_cell(&exe, call, context, mode, &params);
                table += &format!(" {outcome} |");
            }
            table += "\n";
        }
    }

    let readme_path = workspace_root().join("README.md");
    let readme = fs::read_to_string(&readme_path).unwrap();
    let start = readme
        .find(BEGIN)
        .expect("README lacks the table's begin marker")
        + BEGIN.len();
    let end = readme
        .find(END)
        .expect("README lacks the table's end marker");
    let current = readme[start..end].trim();
    if current != table.trim() {
        if std::env::var_os("UPDATE_README").is_some() {
            let updated = format!("{}\n{}{}", &readme[..start], table, &readme[end..]);
            fs::write(&readme_path, updated).unwrap();
        } else {
            panic!(
                "README.md's table differs from what the release build does \
                 (UPDATE_README=1 rewrites it):\n{table}"
            );
        }
    }
}

/// Runs one cell and says what happened: `OK`, the guard's error, another
/// error, a panic (its message's first sentence), an abort, or a stall.
fn run_cell(exe: &std::path::Path, call: &str, context: &str, mode: &str, params: &str) -> String {
    let mut child = Command::new(exe)
        .args([call, context, mode, params])
        .env_remove("ALLOW_ASYNC_UNSAFE")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read both pipes while waiting, so a chatty child cannot block on them.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + STALL_AFTER;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
    let Some(status) = status else {
        return format!("stall (no answer in {} s)", STALL_AFTER.as_secs());
    };
    let panics: Vec<String> = stderr
        .lines()
        .zip(stderr.lines().skip(1))
        .filter(|(line, _)| line.contains(" panicked at "))
        .map(|(_, message)| first_sentence(message))
        .collect();
    match (status.code(), stdout.trim()) {
        (Some(0), "OK") => "OK".into(),
        (Some(0), answer) => match answer.strip_prefix("ERR ") {
            Some(err) if err.starts_with(async_unsafe_runtime::DEFAULT_MESSAGE) => {
                "`Err(SynchronousOnlyOperation)`".into()
            }
            Some(err) => format!("error: {}", first_sentence(err)),
            None => panic!("{call} {context} {mode}: unexpected answer {answer:?}"),
        },
        (Some(101), _) if !panics.is_empty() => format!("panic: \"{}\"", panics[0]),
        (None, _) if !panics.is_empty() => {
            format!("abort, a panic in a panic: \"{}\"", panics[0])
        }
        _ => panic!("{call} {context} {mode}: {status}\n{stdout}\n{stderr}"),
    }
}

fn first_sentence(text: &str) -> String {
    let text = text.trim();
    let end = text.find(". ").unwrap_or(text.len());
    text[..end].trim_end_matches('.').to_owned()
}
