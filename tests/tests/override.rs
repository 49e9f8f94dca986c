//! Django's AsyncUnsafeTest, ported: the default message, and the overrides
//! (environment variable and programmatic switch) that suppress the error. Each
//! case runs in a child process, since both overrides are process-wide.

use async_unsafe_runtime::{ALLOW_ENV, DEFAULT_MESSAGE, Override, set_override};
use tests::child::Output;
use tests::guarded;

const WARNING: &str = "async-safety guard overridden";

fn child(scenario: &str, env: Option<&str>) -> Output {
    child_with(scenario, env.map(|value| (ALLOW_ENV, value)))
}

fn child_with<'a>(scenario: &str, env: impl IntoIterator<Item = (&'a str, &'a str)>) -> Output {
    tests::child::run(env!("CARGO_BIN_EXE_override_child"), &[scenario], env)
}

/// Runs the `env` scenario with `ALLOW_ASYNC_UNSAFE=value` and checks that
/// both calls were `refused` and the override is active when they were not.
fn env_child(value: Option<&str>, refused: bool) -> Output {
    let out = child("env", value);
    assert_eq!(
        out.lines,
        [
            format!("refused_in_root={refused}"),
            format!("refused_in_task={refused}"),
            format!("active={}", !refused),
        ],
        "{ALLOW_ENV}={value:?}"
    );
    out
}

#[test]
fn async_unsafe_default_message() {
    set_override(Override::Deny);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt.block_on(async { guarded() }).unwrap_err();
    assert_eq!(
        err.message(),
        "You cannot call this from an async context - use a thread or sync_to_async."
    );
    assert_eq!(err.message(), DEFAULT_MESSAGE);
    assert!(err.to_string().starts_with(DEFAULT_MESSAGE));
}

#[test]
fn env_values_that_keep_the_guard_on() {
    for value in [
        None,
        Some(""),
        Some("  "),
        Some("0"),
        Some("false"),
        Some("FALSE"),
        Some(" no "),
        Some("Off"),
    ] {
        let out = env_child(value, true);
        assert!(!out.stderr.contains(WARNING), "{value:?}: {}", out.stderr);
        // The probe's swallowed panic never reaches the panic hook's output.
        assert!(
            !out.stderr.contains("panicked"),
            "{value:?}: {}",
            out.stderr
        );
    }
}

#[test]
fn env_values_that_suppress_the_error() {
    for value in ["1", "true", "True", "yes", "on", "anything"] {
        let out = env_child(Some(value), false);
        assert_eq!(
            out.stderr.matches(WARNING).count(),
            1,
            "{value:?}: {}",
            out.stderr
        );
        assert!(out.stderr.contains("tests::guarded"), "{}", out.stderr);
    }
}

#[test]
fn env_warn_lets_through_and_reports_every_violation() {
    for value in ["warn", " WARN "] {
        let out = env_child(Some(value), false);
        let reports: Vec<_> = out
            .stderr
            .lines()
            .filter(|l| l.contains("warn mode"))
            .collect();
        assert_eq!(reports.len(), 2, "{}", out.stderr);
        for report in reports {
            assert!(report.contains("tests::guarded"), "{report}");
            assert!(report.contains("tests/src/lib.rs:"), "{report}");
            assert!(report.contains(DEFAULT_MESSAGE), "{report}");
        }
    }
}

#[test]
fn warn_mode_is_rate_limited_and_counts_what_it_suppresses() {
    let out = child("flood", None);
    assert_eq!(out.lines, ["active=true", "refused=0", "refused=0"]);
    let reports: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("warn mode"))
        .collect();
    // Ten per one-second bucket: the 1000 calls take well under a second, but
    // may straddle one bucket boundary; the last call is in a later bucket.
    assert!(
        (11..=21).contains(&reports.len()),
        "{} reports:\n{}",
        reports.len(),
        out.stderr
    );
    let suppressed = |line: &str| -> u64 {
        line.strip_suffix(" more suppressed since the last report)")
            .and_then(|line| line.rsplit_once(" ("))
            .map_or(0, |(_, n)| n.parse().unwrap())
    };
    // Every one of the 1001 violations is reported, or counted in a report;
    // the last report carries what the flood's last bucket suppressed.
    let accounted: u64 = reports.iter().map(|l| 1 + suppressed(l)).sum();
    assert_eq!(accounted, 1001, "{}", out.stderr);
    assert!(suppressed(reports.last().unwrap()) > 0, "{}", out.stderr);
}

#[test]
fn the_environment_is_read_once() {
    for (env, first) in [(None, "Deny"), (Some("1"), "Allow"), (Some("warn"), "Warn")] {
        let out = child("env_read_once", env);
        let refused = first == "Deny";
        assert_eq!(
            out.lines,
            [
                format!("override={first}"),
                format!("override={first}"),
                format!("refused_in_task={refused}"),
            ],
            "{ALLOW_ENV}={env:?}"
        );
    }
}

/// What the `switch` scenario prints, given the override in force in each of
/// its four phases (the environment's, `Allow`, `Deny`, the environment's
/// again): the override, then whether each of the phase's calls (one, two,
/// two, one) was refused, which must be exactly when it is `Deny`.
fn switch_lines(phases: [&str; 4]) -> Vec<String> {
    phases
        .into_iter()
        .zip([1, 2, 2, 1])
        .flat_map(|(phase, calls)| {
            let refused = format!("refused={}", phase == "Deny");
            std::iter::once(format!("override={phase}")).chain(std::iter::repeat_n(refused, calls))
        })
        .collect()
}

#[test]
fn set_override_allows_denies_and_hands_back_to_the_environment() {
    let out = child("switch", None);
    assert_eq!(out.lines, switch_lines(["Deny", "Allow", "Deny", "Deny"]));
    assert_eq!(out.stderr.matches(WARNING).count(), 1, "{}", out.stderr);
}

#[test]
fn deny_beats_the_environment() {
    let out = child("switch", Some("1"));
    assert_eq!(out.lines, switch_lines(["Allow", "Allow", "Deny", "Allow"]));
}

#[test]
fn a_backtrace_is_captured_only_when_asked_for_and_clones_share_it() {
    for (env, captured) in [
        (vec![], false),
        (vec![("RUST_BACKTRACE", "0")], false),
        (
            vec![("RUST_LIB_BACKTRACE", "0"), ("RUST_BACKTRACE", "1")],
            false,
        ),
        (vec![("RUST_BACKTRACE", "1")], true),
        (vec![("RUST_LIB_BACKTRACE", "1")], true),
    ] {
        let out = child_with("backtrace", env.clone());
        let status = if captured { "Captured" } else { "Disabled" };
        assert_eq!(
            out.lines,
            [
                format!("status={status}"),
                "shared=true".into(),
                format!("names_caller={captured}"),
            ],
            "{env:?}"
        );
    }
}
