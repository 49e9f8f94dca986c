//! Real, well-tested crates from the registry, every synchronous function
//! guarded by `#[async_unsafe]`: their own test suites must still compile and
//! pass (outside async, so no guard fires). Run with `--nocapture` for counts.

use std::path::{Path, PathBuf};
use std::{fs, io};

use tests::{cargo, workspace_root};

/// Where cargo unpacked `name`, as the dev-dependency of this package resolved it.
fn package_dir(name: &str) -> PathBuf {
    let json = cargo(["metadata", "--format-version", "1"], "corpus");
    // Find `"name":"<name>"`, then the package's manifest path after it.
    let at = json
        .find(&format!("\"name\":\"{name}\",\"version\""))
        .expect("package in metadata");
    let key = "\"manifest_path\":\"";
    let start = at + json[at..].find(key).unwrap() + key.len();
    let end = start + json[start..].find('"').unwrap();
    PathBuf::from(&json[start..end])
        .parent()
        .unwrap()
        .to_path_buf()
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

/// Copies the crate, guards it, points it at our runtime crate, runs its tests.
fn guard_and_test(name: &str) {
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
    let runtime = workspace_root().join("async_unsafe_runtime");
    let mut manifest = fs::read_to_string(copy.join("Cargo.toml")).unwrap();
    manifest.push_str(&format!(
        "\n[dependencies.async_unsafe_runtime]\npath = {:?}\n\n[workspace]\n",
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
    println!("{name}: {guarded} functions guarded, {passed} tests passed, {failed} failed");
    assert!(guarded > 100, "{name}: only {guarded} functions guarded");
    assert!(
        passed > 0 && failed == 0,
        "{name}: {passed} passed, {failed} failed"
    );
    let _ = fs::remove_dir_all(&copy);
}

#[test]
fn semver_passes_its_own_tests_fully_guarded() {
    guard_and_test("semver");
}

#[test]
fn regex_syntax_passes_its_own_tests_fully_guarded() {
    guard_and_test("regex-syntax");
}
