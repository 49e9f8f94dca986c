//! The guard in a `panic = "abort"` build (the workspace's `panic-abort`
//! profile): it must never abort on a guarded call, must still refuse calls in
//! tasks and current_thread roots, and must allow every sync context.

#[test]
fn guard_in_a_panic_abort_build() {
    let stdout = tests::cargo(
        [
            "run",
            "--quiet",
            "--profile",
            "panic-abort",
            "-p",
            "examples",
            "--example",
            "panic_abort",
        ],
        "panic-abort",
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
        ]
    );
}
