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
/// a warning, a plain one an error that makes the check incomplete; an
/// async fn in a `#[cfg(test)]` module is test code though not a test.
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
/// Also: a closure kept by a std function (`set_hook`) is possible; a local
/// bound after a call does not hide the function the call names; wrappers
/// are followed five levels, whatever was asked first; a function that passes
/// its parameter on to one that is no breaker is none; a possible step stays
/// possible down a helper's chain; of two chains the shorter is shown.
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

/// Receivers typed through let-else, if let, match values, Weak::upgrade,
/// ok_or(..)?, a guard's lock().unwrap(), an extractor wrapper and r2d2's
/// pool; prelude names (String, Vec) resolve to the std paths a user lists.
#[test]
fn receivers_through_everyday_code() {
    check_fixture("receivers", 1);
}

/// The APIs beyond the first list, each with its category (io::copy, stdin
/// lines, TcpListener, UdpSocket, DNS, sync channels, joins, barriers,
/// condvars, child waits, tokio's blocking_* forms) and the opt-in locks.
#[test]
fn more_blocking_apis_in_their_categories() {
    check_fixture("more_apis", 1);
}

/// A dependency renamed in Cargo.toml (`http = { package = "reqwest" }`,
/// while a real `http` crate is in the graph too) is the renamed library.
#[test]
fn a_renamed_dependency_is_its_library() {
    check_fixture("renamed_dep", 1);
}

/// A method on a value of unknown type: each of up to four methods of the
/// name is a possible finding; five or more are not guessed at; a name only
/// blocking APIs have (`blocking_recv`) is a possible built-in finding.
#[test]
fn guesses_by_name_are_possible_and_bounded() {
    check_fixture("guesses", 0);
}

/// A branch that runs only outside a runtime (`if Handle::try_current()
/// .is_err()`, the `else` of `if let Ok(h) = Handle::try_current()`, the
/// `Err` arm of a match on it) is not async code; the other branch is.
#[test]
fn code_guarded_by_no_runtime_is_not_async() {
    check_fixture("runtime_guards", 1);
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
/// file the checker skips because it never names the attribute. The
/// dependency's unmarked function that sleeps is not followed: a dependency
/// is read for its marks only.
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

/// The mark alone on the line above a call, or on an item's own lines
/// (attributes included, for functions and `impl` blocks alike) or alone
/// above them; a mark ending the line above covers that line only, for a
/// call and for an item (it used to silence the next function).
#[test]
fn allow_comments_follow_one_rule_for_calls_and_items() {
    check_fixture("allow_comments", 1);
}

/// A dependency (`old_util`) whose library is named like a checked
/// workspace library (`util`): `util::` names the workspace's.
#[test]
fn a_checked_library_wins_over_a_dependency_of_the_same_name() {
    check_fixture("same_lib_name", 1);
}

/// async fn -> helper -> trait object with two impls -> blocking call: the
/// helper's hop is certain, the trait object's is not, so both findings are
/// `possible` (in JSON; the text counts them, and the status is 0).
#[test]
fn an_uncertain_hop_past_the_first_makes_the_finding_possible() {
    check_fixture("dyn_two_hops", 0);
}

/// Possible findings are counted in the text, shown with `--possible` (then
/// the status is 1), and always in JSON with their confidence.
#[test]
fn possible_findings_are_counted_unless_asked_for() {
    let manifest = fixture("dyn_two_hops").join("Cargo.toml");
    let manifest = manifest.to_str().unwrap();
    let text = |extra: &[&str]| {
        let mut args = vec!["--manifest-path", manifest, "--color", "never"];
        args.extend_from_slice(extra);
        let out = run(&args);
        (String::from_utf8(out.stdout).unwrap(), out.status.code())
    };
    let (hidden, status) = text(&[]);
    assert_eq!(status, Some(0), "{hidden}");
    assert!(!hidden.contains("std::fs::read_to_string"), "{hidden}");
    assert!(
        hidden.ends_with(
            "no blocking calls in async context\nnote: 2 more calls may block: a method or \
             closure on the way could mean something else (`--possible` shows them)\n"
        ),
        "{hidden}"
    );
    let (shown, status) = text(&["--possible"]);
    assert_eq!(status, Some(1), "{shown}");
    assert_eq!(shown.matches("= note: possible").count(), 2, "{shown}");
    assert!(
        shown.ends_with("warning: 2 blocking calls in async context\n"),
        "{shown}"
    );
    let (json, _) = text(&["--message-format", "json"]);
    assert_eq!(
        json.matches("\"confidence\":\"possible\"").count(),
        2,
        "{json}"
    );
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
fn bad_arguments_are_status_2_and_help_and_version_are_0() {
    let out = run(&["--format", "xml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("invalid value 'xml' for '--message-format <FMT>'")
            && stderr.contains("[possible values: human, json, cargo-json, sarif, github]"),
        "{stderr}"
    );
    let out = run(&["async-unsafe", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--manifest-path",
        "--package",
        "--workspace",
        "--exclude",
        "--all-targets",
        "--lib",
        "--bins",
        "--tests",
        "--examples",
        "--benches",
        "--features",
        "--all-features",
        "--no-default-features",
        "--offline",
        "--locked",
        "--color",
        "--quiet",
        "--jobs",
        "--message-format",
        "--exclude-tests",
        "--warn-unused-allows",
        "Usage: cargo async-unsafe",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help:\n{help}");
    }
    let out = run(&["async-unsafe", "--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("cargo-async-unsafe {}\n", env!("CARGO_PKG_VERSION"))
    );
}
