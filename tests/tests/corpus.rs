//! Real, well-tested crates from the registry, every synchronous function
//! guarded by `#[async_unsafe]`.
//!
//! What this proves: the attribute compiles on every function shape these
//! crates contain (generics, lifetimes, trait impls, `fmt` impls, unsafe,
//! `impl Trait`, ...), and keeps their behaviour: their own test suites, run
//! outside async, still pass. And the guard really sits in those functions: a
//! test added to each copy calls a sample of its guarded public functions
//! from a tokio task, where each must be refused (a panic naming the
//! function, since the rewrite puts `panic` on functions returning the
//! crate's own `Result`), and from the blocking pool, where it must run.
//! It does not prove the guard fires in every function: that is what the
//! macro's own tests (`shapes.rs`, `ui.rs`) are for. Run with `--nocapture`
//! for counts.

use std::path::{Path, PathBuf};
use std::{fs, io};

use serde_json::Value;
use tests::{cargo, workspace_root};

/// Where cargo unpacked `name`, as the dev-dependency of this package
/// resolved it: `cargo metadata`'s resolve graph, read with a JSON parser.
fn package_dir(name: &str) -> PathBuf {
    let json = cargo(["metadata", "--format-version", "1"], "corpus");
    let metadata: Value = serde_json::from_str(&json).expect("cargo metadata's JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let package = |id: &str| {
        packages
            .iter()
            .find(|p| p["id"] == id)
            .unwrap_or_else(|| panic!("package {id} in metadata"))
    };
    let this = packages
        .iter()
        .find(|p| p["name"] == "tests" && p["source"].is_null())
        .expect("this package in metadata");
    let node = metadata["resolve"]["nodes"]
        .as_array()
        .expect("a resolve graph")
        .iter()
        .find(|n| n["id"] == this["id"])
        .expect("this package in the resolve graph");
    let dependency = node["deps"]
        .as_array()
        .expect("dependencies")
        .iter()
        .map(|dep| package(dep["pkg"].as_str().expect("a package id")))
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} is no dependency of this package"));
    let manifest = dependency["manifest_path"]
        .as_str()
        .expect("a manifest path");
    Path::new(manifest).parent().unwrap().to_path_buf()
}

fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// A test written into each guarded copy: every `(function, call)` of the
/// sample runs on the blocking pool, then is refused from a task.
const SAMPLE_TEST: &str = r#"
//! Written by async-unsafe's corpus test.

#[test]
fn async_unsafe_refuses_in_a_task() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let cases: &[(&str, fn())] = &[SAMPLE];
    for &(function, call) in cases {
        rt.block_on(rt.spawn_blocking(call))
            .unwrap_or_else(|err| panic!("{function} on the blocking pool: {err}"));
        let err = rt
            .block_on(rt.spawn(async move { call() }))
            .expect_err(function);
        let payload = err.into_panic();
        let text = payload.downcast_ref::<String>().map_or("", String::as_str);
        assert!(
            text.starts_with(async_unsafe_runtime::DEFAULT_MESSAGE)
                && text.contains(&format!("(`{function}` at src/")),
            "{function}: {text}"
        );
    }
}
"#;

/// Copies the crate, guards it, points it at our runtime crate, adds the
/// sample test, runs its tests.
fn guard_and_test(name: &str, sample: &[(&str, &str)]) {
    let copy = std::env::temp_dir()
        .join(format!("async-unsafe-corpus-{}", std::process::id()))
        .join(name);
    let _ = fs::remove_dir_all(&copy);
    copy_dir(&package_dir(name), &copy).unwrap();
    let _ = fs::remove_file(copy.join("Cargo.lock"));

    let mut guarded = 0;
    for dir in ["src", "tests"] {
        if copy.join(dir).is_dir() {
            guarded += tests::corpus::guard_all(&copy.join(dir)).unwrap();
        }
    }
    let cases: String = sample
        .iter()
        .map(|(function, call)| format!("\n        ({function:?}, || {{ let _ = {call}; }}),"))
        .collect();
    fs::create_dir_all(copy.join("tests")).unwrap();
    fs::write(
        copy.join("tests/async_unsafe_fires.rs"),
        SAMPLE_TEST.replace("SAMPLE", &cases),
    )
    .unwrap();
    let runtime = workspace_root().join("async_unsafe_runtime");
    let mut manifest = fs::read_to_string(copy.join("Cargo.toml")).unwrap();
    manifest.push_str(&format!(
        "\n[dependencies.async_unsafe_runtime]\npath = {:?}\n\n\
         [dev-dependencies.tokio]\nversion = \"1\"\nfeatures = [\"rt\"]\n\n\
         [[test]]\nname = \"async_unsafe_fires\"\npath = \"tests/async_unsafe_fires.rs\"\n\n\
         [workspace]\n",
        runtime.display().to_string()
    ));
    fs::write(copy.join("Cargo.toml"), manifest).unwrap();

    let manifest = copy.join("Cargo.toml");
    let stdout = cargo(
        [
            "test".as_ref(),
            "--manifest-path".as_ref(),
            manifest.as_os_str(),
        ],
        "corpus",
    );
    let (mut passed, mut failed) = (0, 0);
    for line in stdout.lines().filter(|l| l.starts_with("test result:")) {
        let count = |word: &str| -> u64 {
            let before = &line[..line.find(word).unwrap()];
            before
                .trim_end()
                .rsplit(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        passed += count(" passed");
        failed += count(" failed");
    }
    println!(
        "{name}: {guarded} functions guarded, {passed} tests passed, {failed} failed, \
         {} sampled functions refused in a task",
        sample.len()
    );
    assert!(guarded > 100, "{name}: only {guarded} functions guarded");
    assert!(
        passed > 0 && failed == 0,
        "{name}: {passed} passed, {failed} failed"
    );
    assert!(
        stdout.contains("test async_unsafe_refuses_in_a_task ... ok"),
        "{name}: the sample test did not run:\n{stdout}"
    );
    let _ = fs::remove_dir_all(&copy);
}

// The samples are refused on entry, before any value with a guarded `Drop`
// exists: the rewrite guards `Drop::drop` too, and a guarded destructor run
// while a refused call unwinds in async would panic again, and abort.

#[test]
fn semver_passes_its_own_tests_fully_guarded() {
    guard_and_test(
        "semver",
        &[
            (
                "semver::Version::parse",
                "semver::Version::parse(\"1.2.3\")",
            ),
            (
                "semver::VersionReq::parse",
                "semver::VersionReq::parse(\">=1.2\")",
            ),
            (
                "semver::Comparator::parse",
                "semver::Comparator::parse(\"^1\")",
            ),
            (
                "semver::Prerelease::new",
                "semver::Prerelease::new(\"alpha.1\")",
            ),
            (
                "semver::BuildMetadata::new",
                "semver::BuildMetadata::new(\"b1\")",
            ),
        ],
    );
}

#[test]
fn regex_syntax_passes_its_own_tests_fully_guarded() {
    guard_and_test(
        "regex-syntax",
        &[
            ("regex_syntax::escape", "regex_syntax::escape(\"a.b\")"),
            (
                "regex_syntax::is_meta_character",
                "regex_syntax::is_meta_character('.')",
            ),
            (
                "regex_syntax::parser::parse",
                "regex_syntax::parse(\"a+|b\")",
            ),
            (
                "regex_syntax::ast::parse::Parser::new",
                "regex_syntax::ast::parse::Parser::new()",
            ),
        ],
    );
}
