//! Helpers for the integration tests under `tests/`.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

pub mod contexts;
pub mod corpus;
pub mod postgres_cluster;

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

/// Runs `f` once in each async context a guarded call must refuse: a task
/// on a multi-thread worker, a multi-thread `block_on` root, and a `LocalSet`
/// task on a current_thread runtime. `f` gets the context's name.
pub fn in_each_async_context(f: impl Fn(&'static str) + Send + Sync + 'static) {
    let f = std::sync::Arc::new(f);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let task = std::sync::Arc::clone(&f);
    rt.block_on(rt.spawn(async move { task("task") })).unwrap();
    rt.block_on(async { f("multi-thread root") });
    let local_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    let in_local = std::sync::Arc::clone(&f);
    local
        .block_on(&local_rt, async move {
            tokio::task::spawn_local(async move { in_local("LocalSet task") }).await
        })
        .unwrap();
}
