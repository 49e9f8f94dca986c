//! Child processes for the tests whose state is process-wide (the override,
//! the environment read once, the panic hook): each scenario runs in a binary
//! of `src/bin/` of its own.

use std::process::{Command, Stdio};

use async_unsafe_runtime::ALLOW_ENV;

use crate::deadline::DEADLINE;

/// What a child process printed.
pub struct Output {
    /// Standard output, whole.
    pub stdout: String,
    /// Standard output, line by line.
    pub lines: Vec<String>,
    /// Standard error, whole.
    pub stderr: String,
}

/// Runs `program` with `args`, the override's variable and the backtrace
/// variables unset, then `env` set. Panics, with the status and both
/// outputs, when the child fails; kills it and panics when it has not ended
/// within [`DEADLINE`] (a deadlock in the child).
pub fn run<'a>(
    program: &str,
    args: &[&str],
    env: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Output {
    let child = Command::new(program)
        .args(args)
        .env_remove(ALLOW_ENV)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .envs(env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    let out = match result.recv_timeout(DEADLINE) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{program} {args:?}: not finished after {DEADLINE:?}, killed");
        }
    };
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {:?}\n{stdout}\n{stderr}",
        out.status
    );
    Output {
        lines: stdout.lines().map(String::from).collect(),
        stdout,
        stderr,
    }
}
