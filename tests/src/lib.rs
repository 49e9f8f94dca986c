//! Helpers shared by the integration tests under `tests/` and the binaries
//! under `src/bin/`: the guarded fixtures, the runtimes, panics provoked on
//! purpose, child processes, deadlines, the context table, the corpus rewriter and the
//! throwaway PostgreSQL cluster.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use async_unsafe_runtime::{SynchronousOnlyOperation, async_unsafe};

pub mod child;
pub mod contexts;
pub mod corpus;
pub mod deadline;
pub mod panics;
pub mod postgres_cluster;
pub mod runtimes;

/// The guarded function the tests call: error mode, so a refusal is an
/// `Err`. Its path in a refusal is `tests::guarded`.
#[async_unsafe]
pub fn guarded() -> Result<(), SynchronousOnlyOperation> {
    Ok(())
}

/// The guarded function in panic mode: a refusal panics. Its path in a
/// refusal is `tests::guarded_panics`.
#[async_unsafe]
pub fn guarded_panics() {}

/// The workspace's root folder.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// Runs the cargo that builds these tests, from the workspace root, with a
/// target directory of its own under `target/` (the main one is held by the
/// running `cargo test`) and the guard's override unset. Returns standard
/// output; panics with both outputs when cargo fails.
pub fn cargo<I: AsRef<OsStr>>(args: impl IntoIterator<Item = I>, target: &str) -> String {
    let out = Command::new(env!("CARGO"))
        .current_dir(workspace_root())
        .args(args)
        .env(
            "CARGO_TARGET_DIR",
            workspace_root().join("target").join(target),
        )
        .env_remove("ALLOW_ASYNC_UNSAFE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "cargo failed: {:?}\n{stdout}\n{stderr}",
        out.status
    );
    stdout
}
