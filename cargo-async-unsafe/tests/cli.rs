//! cargo's flags select what they say, on the `members` fixture (a virtual
//! workspace: `app` with a default feature `net`, an optional `jobs`, a
//! binary, tests/, examples/ and benches/ targets, `#[cfg(test)]` code, live
//! and stale allowances; `worker` with `tests = false`), and on throwaway
//! copies where a test needs a manifest changed. Findings are compared as
//! `file:line` lists from the JSON format.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_cargo-async-unsafe");

fn members() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/members")
}

fn run_in(dir: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("async-unsafe").args(args);
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    cmd.output().expect("the checker runs")
}

/// `file:line` of each finding (and stale allowance) on `manifest`.
fn places_of(manifest: &Path, args: &[&str]) -> Vec<String> {
    let mut all = vec![
        "--offline",
        "--message-format",
        "json",
        "--manifest-path",
        manifest.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let out = run_in(None, &all);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{}:{}", v["file"].as_str().unwrap(), v["line"])
        })
        .collect()
}

fn places(args: &[&str]) -> Vec<String> {
    places_of(&members().join("Cargo.toml"), args)
}

const LIB: &str = "app/src/lib.rs:12";
const LIB_TEST: &str = "app/src/lib.rs:36";
const NET: &str = "app/src/net.rs:2";
const JOBS: &str = "app/src/jobs.rs:2";
const BIN_MAIN: &str = "app/src/main.rs:3";
const IT: &str = "app/tests/it.rs:3";
const EXAMPLE: &str = "app/examples/demo.rs:2";
const BENCH: &str = "app/benches/speed.rs:2";
const WORKER: &str = "worker/src/lib.rs:8";
const WORKER_TEST: &str = "worker/src/lib.rs:15";

fn sorted(mut v: Vec<&str>) -> Vec<String> {
    v.sort_unstable();
    v.into_iter().map(str::to_owned).collect()
}

#[test]
fn a_virtual_manifest_checks_every_member_and_every_target() {
    let all = sorted(vec![
        LIB, LIB_TEST, NET, BIN_MAIN, IT, EXAMPLE, BENCH, WORKER,
    ]);
    assert_eq!(places(&[]), all);
    assert_eq!(places(&["--all-targets"]), all);
    assert_eq!(places(&["--workspace"]), all);
}

#[test]
fn packages_are_selected_by_p_workspace_and_exclude() {
    let app = sorted(vec![LIB, LIB_TEST, NET, BIN_MAIN, IT, EXAMPLE, BENCH]);
    assert_eq!(places(&["-p", "app"]), app);
    assert_eq!(places(&["--package", "worker"]), [WORKER]);
    assert_eq!(places(&["-p", "worker", "-p", "app"]), places(&[]));
    assert_eq!(places(&["--workspace", "--exclude", "worker"]), app);
    assert_eq!(places(&["--workspace", "--exclude", "app"]), [WORKER]);
    // A member's own manifest selects that member, as cargo does.
    assert_eq!(
        places_of(&members().join("worker/Cargo.toml"), &[]),
        [WORKER]
    );
    // So does the current directory without --manifest-path.
    let out = run_in(
        Some(&members().join("worker/src")),
        &["--offline", "--message-format", "json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    assert!(stdout.contains("\"file\":\"worker/src/lib.rs\",\"line\":8"));
    let manifest = members().join("Cargo.toml");
    let out = run_in(
        None,
        &[
            "--offline",
            "--manifest-path",
            manifest.to_str().unwrap(),
            "-p",
            "nope",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: package `nope` not found in workspace (members: app, worker)\n"
    );
}

#[test]
fn target_flags_select_targets() {
    let app = |flags: &[&str]| {
        let mut args = vec!["-p", "app"];
        args.extend_from_slice(flags);
        places(&args)
    };
    assert_eq!(app(&["--lib"]), sorted(vec![LIB, LIB_TEST, NET]));
    assert_eq!(app(&["--bins"]), [BIN_MAIN]);
    assert_eq!(app(&["--tests"]), [IT]);
    assert_eq!(app(&["--examples"]), [EXAMPLE]);
    assert_eq!(app(&["--benches"]), [BENCH]);
    assert_eq!(app(&["--bins", "--benches"]), sorted(vec![BENCH, BIN_MAIN]));
}

#[test]
fn features_select_the_modules_they_gate() {
    let lib = |flags: &[&str]| {
        let mut args = vec!["-p", "app", "--lib"];
        args.extend_from_slice(flags);
        places(&args)
    };
    assert_eq!(lib(&["--no-default-features"]), sorted(vec![LIB, LIB_TEST]));
    assert_eq!(
        lib(&["--features", "jobs"]),
        sorted(vec![JOBS, LIB, LIB_TEST, NET])
    );
    assert_eq!(
        lib(&["-F", "jobs", "--no-default-features"]),
        sorted(vec![JOBS, LIB, LIB_TEST])
    );
    assert_eq!(
        lib(&["--all-features"]),
        sorted(vec![JOBS, LIB, LIB_TEST, NET])
    );
}

#[test]
fn test_code_is_marked_and_can_be_left_out() {
    let manifest = members().join("Cargo.toml");
    let out = run_in(
        None,
        &[
            "--offline",
            "--message-format",
            "json",
            "--manifest-path",
            manifest.to_str().unwrap(),
        ],
    );
    let tests: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.ends_with("\"test\":true}"))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{}:{}", v["file"].as_str().unwrap(), v["line"])
        })
        .collect();
    // A #[tokio::test] in a #[cfg(test)] module, a tests/ and a benches/ target.
    assert_eq!(tests, sorted(vec![BENCH, LIB_TEST, IT]));
    assert_eq!(
        places(&["--exclude-tests"]),
        sorted(vec![LIB, NET, BIN_MAIN, EXAMPLE, WORKER])
    );
}

/// A copy of the fixture in a fresh directory, for tests that change it.
fn copy_members(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cargo-async-unsafe-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&members(), &dir);
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn tests_false_in_a_package_table_leaves_out_that_package_s_test_code_only() {
    // worker's table says `tests = false`: its async test is not reported,
    // app's test code is.
    assert!(!places(&[]).contains(&WORKER_TEST.to_owned()));
    assert!(places(&[]).contains(&LIB_TEST.to_owned()));
    // Without the key, it is.
    let dir = copy_members("tests-key");
    let manifest = dir.join("worker/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("tests = false", "")).unwrap();
    let found = places_of(&dir.join("Cargo.toml"), &["-p", "worker"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found, [WORKER, WORKER_TEST]);
}

#[test]
fn warn_unused_allows_finds_the_stale_comments_and_not_the_live_ones() {
    let args = ["-p", "app", "--lib", "--no-default-features"];
    assert_eq!(places(&args), sorted(vec![LIB, LIB_TEST]));
    let mut with = args.to_vec();
    with.push("--warn-unused-allows");
    // Lines 17 (on a blocking call) and 20 (over a blocking fn) are live;
    // 27 (a sum), 28 (over a Duration), 46 (over a call to a function that
    // does not block) and 49 (over a function that does not block) are
    // stale: reported after the findings.
    assert_eq!(
        places(&with),
        [
            LIB,
            LIB_TEST,
            "app/src/lib.rs:27",
            "app/src/lib.rs:28",
            "app/src/lib.rs:46",
            "app/src/lib.rs:49"
        ]
    );
    // Live comments still silence their calls: with them gone, both are found.
    let dir = copy_members("allows");
    let lib = dir.join("app/src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, text.replace("// async-unsafe: allow", "//")).unwrap();
    let found = places_of(&dir.join("Cargo.toml"), &with);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        found,
        sorted(vec![
            LIB,
            "app/src/lib.rs:17",
            "app/src/lib.rs:22",
            LIB_TEST
        ])
    );
}

#[test]
fn stale_allowances_alone_make_the_status_1() {
    let manifest = members().join("Cargo.toml");
    let m = manifest.to_str().unwrap();
    // The worker has no allowance: 1 for its finding either way.
    let out = run_in(
        None,
        &[
            "--offline",
            "--manifest-path",
            m,
            "-p",
            "app",
            "--lib",
            "--no-default-features",
            "--exclude-tests",
            "--warn-unused-allows",
            "-q",
        ],
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout.matches("unused `// async-unsafe: allow`").count(), 4);
}

#[test]
fn colour_is_off_unless_asked_and_quiet_drops_the_summary() {
    let m = members().join("Cargo.toml");
    let m = m.to_str().unwrap();
    let text = |flags: &[&str]| {
        let mut args = vec!["--offline", "--manifest-path", m, "-p", "worker"];
        args.extend_from_slice(flags);
        String::from_utf8(run_in(None, &args).stdout).unwrap()
    };
    let plain = text(&[]);
    assert!(!plain.contains('\u{1b}'));
    assert!(
        plain.ends_with("\nwarning: 1 blocking call in async context\n"),
        "{plain}"
    );
    assert_eq!(text(&["--color", "never"]), plain);
    let coloured = text(&["--color", "always"]);
    assert!(coloured.contains("\u{1b}["), "{coloured}");
    // The same text once the escapes are gone.
    let mut stripped = String::new();
    let mut rest = coloured.as_str();
    while let Some(i) = rest.find('\u{1b}') {
        stripped.push_str(&rest[..i]);
        let end = rest[i..].find('m').unwrap();
        rest = &rest[i + end + 1..];
    }
    stripped.push_str(rest);
    assert_eq!(stripped, plain);
    let quiet = text(&["-q"]);
    assert_eq!(
        quiet,
        plain.replace("warning: 1 blocking call in async context\n", "")
    );
}

#[test]
fn locked_is_passed_to_cargo_and_not_worked_around() {
    let dir = copy_members("locked");
    std::fs::remove_file(dir.join("Cargo.lock")).unwrap();
    let manifest = dir.join("Cargo.toml");
    let out = run_in(
        None,
        &[
            "--offline",
            "--locked",
            "--manifest-path",
            manifest.to_str().unwrap(),
        ],
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("error: `cargo metadata` failed:"),
        "{stderr}"
    );
    assert!(stderr.contains("--locked"), "{stderr}");
}

#[test]
fn a_dependency_that_cannot_be_fetched_falls_back_to_no_deps_with_a_warning() {
    let dir = copy_members("no-deps");
    let manifest = dir.join("worker/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace(
            "[package.metadata",
            "[dependencies]\nunfetchable = { git = \"https://example.invalid/unfetchable\" }\n\n[package.metadata",
        ),
    )
    .unwrap();
    let root = dir.join("Cargo.toml");
    let out = run_in(
        None,
        &[
            "--offline",
            "--message-format",
            "json",
            "--manifest-path",
            root.to_str().unwrap(),
            "-p",
            "worker",
        ],
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("warning: `cargo metadata` could not resolve the dependencies (error: "),
        "{stderr}"
    );
    assert!(
        stderr.contains("unfetchable"),
        "the cause names the dependency: {stderr}"
    );
    assert!(stderr.contains("checking with `--no-deps`"), "{stderr}");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);
}
