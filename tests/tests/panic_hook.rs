//! The detector and the application's panic hook, each scenario in a process
//! of its own (`tests/src/bin/detect_child.rs`): hooks that exit the process
//! (status 3) or chain, installed before or after the first probe, and guarded
//! calls made while a thread unwinds.

/// Runs a scenario; returns its standard output, or panics with the status.
fn scenario(name: &str) -> Vec<String> {
    tests::child::run(env!("CARGO_BIN_EXE_detect_child"), &[name], []).lines
}

#[test]
fn exit_hook_installed_first_never_sees_a_probe() {
    assert_eq!(scenario("exit_hook_first"), ["refused=5"]);
    assert_eq!(scenario("chaining_exit_hook_first"), ["refused=5"]);
}

#[test]
fn exit_hook_replacing_ours_after_the_first_probe_never_sees_one() {
    assert_eq!(
        scenario("exit_hook_after_first_probe"),
        ["refused=1", "refused=5"]
    );
}

#[test]
fn chaining_hook_installed_after_the_first_probe_sees_one_probe_only() {
    assert_eq!(
        scenario("chaining_hook_after_first_probe"),
        ["refused=1", "seen=1", "refused=5"]
    );
}

#[test]
fn without_panics_no_hook_sees_anything_and_only_corner_cases_are_missed() {
    assert_eq!(
        scenario("chaining_exit_hook_without_panics"),
        ["refused=0", "refused_at_root=true"]
    );
}

#[test]
fn guarded_calls_while_unwinding_never_abort() {
    assert_eq!(
        scenario("calls_while_unwinding"),
        [
            // While unwinding the probe is skipped: the corner case is missed.
            "refused_unwinding_in_corner_case=false",
            "refused_unwinding_at_root=true",
            "refused=1",
        ]
    );
}
