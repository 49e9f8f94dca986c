//! The guard in a `panic = "abort"` build (the workspace's `panic-abort`
//! profile): it must never abort on a guarded call, must still refuse calls in
//! tasks and current_thread roots, and must allow every sync context.

use std::path::Path;
use std::process::Command;

#[test]
fn guard_in_a_panic_abort_build() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = Command::new(env!("CARGO"))
        .current_dir(root)
        .args([
            "run",
            "--quiet",
            "--profile",
            "panic-abort",
            "-p",
            "examples",
            "--example",
            "panic_abort",
        ])
        // A target directory of its own: this test's own cargo holds the main one.
        .env("CARGO_TARGET_DIR", root.join("target").join("panic-abort"))
        .env_remove("ALLOW_ASYNC_UNSAFE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "status {:?}\n{stdout}\n{stderr}",
        out.status
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "panic_strategy=abort",
            "worker_task=refused",
            "current_thread_task=refused",
            "current_thread_root=refused",
            "multi_thread_root=allowed",
            "spawn_blocking=allowed",
            "block_in_place=allowed",
            "enter_guard=allowed",
            "plain_thread=allowed",
        ],
        "{stderr}"
    );
}
