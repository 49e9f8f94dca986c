//! Helpers for the integration tests under `tests/`.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

pub mod contexts;
pub mod corpus;

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
