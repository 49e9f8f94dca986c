//! The checker on fixture crates (`tests/fixtures/*`), each with the exact
//! expected text (`expected.txt`), JSON lines (`expected.jsonl`), standard
//! error (`expected.stderr`, empty when absent) and exit status.
//!
//! Every expected finding must be found, and nothing else: the comparison is
//! of the whole output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_cargo-async-unsafe");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the checker runs")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn check_fixture(name: &str, status: i32) {
    let dir = fixture(name);
    let manifest = dir.join("Cargo.toml");
    let manifest = manifest.to_str().unwrap();
    for (format, expected) in [("text", "expected.txt"), ("json", "expected.jsonl")] {
        // Not `--offline`: a fixture that declares real dependencies needs
        // them in cargo's cache, which a fresh machine fills from the
        // registry; the others have nothing to fetch.
        let out = run(&["--manifest-path", manifest, "--format", format]);
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            stdout,
            read(&dir.join(expected)),
            "{name}: {format} output differs\nstderr: {stderr}"
        );
        assert_eq!(stderr, read(&dir.join("expected.stderr")), "{name}: stderr");
        assert_eq!(out.status.code(), Some(status), "{name}: exit status");
    }
}

/// Direct, one and two helpers, a field's method, a trait object with two
/// impls (possible), a generic bound, an imported rename, `Self::`,
/// `super::`, `#[path]`, a `cfg`-ed module, async blocks and closures; and
/// none for sync_to_async, spawn_blocking, thread::spawn, thread::scope,
/// block_in_place, `// async-unsafe: allow` on the line and the item, and a
/// sync fn never reached.
#[test]
fn handlers_over_a_marked_repository() {
    check_fixture("handlers", 1);
}

/// A glob import and a `pub use` chain, a type alias over `Arc`, a typed
/// `let` and a struct literal, `?` on a constructor's `Result<Self, _>`, an
/// item nested in a function, `Self::` and `crate::` paths, a method of one
/// definition (certain) and of two (possible) on an unknown receiver; none for
/// `Vec::len` beside a marked `len`, nor again for the body of an awaited
/// `async fn`.
#[test]
fn names_and_receivers_are_resolved() {
    check_fixture("paths", 1);
}

/// `foo.rs` with its submodules in `foo/` (not a same-named file beside
/// it), `mod r#async;`, `mod.rs` layouts; a `cfg`-ed module without a file is
/// a warning, a plain one an error that makes the check incomplete.
#[test]
fn module_layouts_as_rustc_reads_them() {
    check_fixture("layout", 1);
}

/// The built-in list on the crates a package really declares (tokio,
/// futures, reqwest, rusqlite, r2d2, postgres): their items resolve into the
/// dependency, and must still be named by their public paths.
#[test]
fn declared_dependencies_keep_the_built_in_list() {
    check_fixture("declared_deps", 1);
}

/// Closures and functions passed by name run where their host runs them:
/// adapters and workspace functions that call their parameter (certain), an
/// unknown function (possible), a local closure called here (certain, and
/// not the function of the same name); none through a breaker: built-in, the
/// project's own wrapper that hands its parameter to one, a wrapper of that
/// wrapper, a configured path or `*::method`, deadpool's interact. A callee
/// reached first on a possible path and then on a certain one is certain.
#[test]
fn closures_run_where_their_host_runs_them() {
    check_fixture("closures", 1);
}

/// Calls in macro bodies of every common shape: select!'s arms (an async
/// block there is a root of its own), json!'s pairs and nested groups,
/// statements, and plain expression lists.
#[test]
fn calls_inside_macro_bodies() {
    check_fixture("macros", 1);
}

/// std::thread::sleep, reqwest::blocking::get, Handle::block_on,
/// Runtime::block_on, futures' block_on, std::fs, Command::output,
/// Receiver::recv, stdin's read_line; none for their async counterparts or in
/// sync code.
#[test]
fn well_known_blocking_apis() {
    check_fixture("blocking_apis", 1);
}

/// A dependency's marked function and impl, reached through a re-export in a
/// file the checker skips because it never names the attribute.
#[test]
fn marked_items_in_a_dependency() {
    check_fixture("uses_dep", 1);
}

/// `blocking` from the package table; `allow` from the workspace table
/// silences a built-in entry and a listed function.
#[test]
fn the_user_s_lists() {
    check_fixture("metadata_lists", 1);
}

/// A file that does not parse is reported on stderr and skipped; the
/// finding in the rest still makes the status 1.
#[test]
fn a_file_that_does_not_parse_is_skipped() {
    check_fixture("broken", 1);
}

/// Nothing found but a file skipped: the check is incomplete, status 2.
#[test]
fn nothing_found_with_a_file_skipped_is_status_2() {
    check_fixture("broken_only", 2);
}

#[test]
fn nothing_found_is_status_0() {
    check_fixture("clean", 0);
}

#[test]
fn a_missing_manifest_is_status_2_with_a_message() {
    let out = run(&["--manifest-path", "/nonexistent/Cargo.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr,
        "error: could not read manifest `/nonexistent/Cargo.toml`: no such file\n"
    );
}

#[test]
fn an_unreadable_manifest_is_status_2_with_cargo_s_message() {
    let dir = std::env::temp_dir().join(format!("cargo-async-unsafe-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("Cargo.toml");
    std::fs::write(&manifest, "[package\nname = ").unwrap();
    let out = run(&["--manifest-path", manifest.to_str().unwrap(), "--offline"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("error: `cargo metadata` failed:\n"),
        "{stderr}"
    );
    assert!(stderr.contains("Cargo.toml"), "{stderr}");
}

#[test]
fn bad_arguments_are_status_2_and_help_is_0() {
    let out = run(&["--format", "xml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("unknown format `xml`")
    );
    let out = run(&["async-unsafe", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("--manifest-path")
    );
}
