//! Child processes for the tests whose state is process-wide (the override,
//! the environment read once, the panic hook): each scenario runs in a binary
//! of `src/bin/` of its own.

use std::process::Command;

use async_unsafe_runtime::ALLOW_ENV;

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
/// outputs, when the child fails.
pub fn run<'a>(
    program: &str,
    args: &[&str],
    env: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Output {
    let out = Command::new(program)
        .args(args)
        .env_remove(ALLOW_ENV)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .envs(env)
        .output()
        .unwrap();
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
