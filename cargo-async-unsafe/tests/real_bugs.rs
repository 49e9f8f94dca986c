//! Recall on real bugs: each fixture under `tests/fixtures/real/*` is reduced
//! from a public repository at the commit before a reported blocking-in-async
//! bug was fixed (`ORIGIN` names the repository, commit, licence and issue).
//! It keeps the repository's module layout, names and call chain, and its
//! `Cargo.toml` declares the dependencies the repository declared, so that
//! the checker sees what it sees in real code.
//!
//! `expected_sites.txt` lists the call sites the fix changed, one a line:
//!
//! ```text
//! <file>:<line>[-<line>] <callee> [<file>:<line> of a sync fn on the chain ...] -- how async code reaches it
//! ```
//!
//! A site is found when a finding names the callee (`path::*` stands for any
//! callee under `path`) and either points into the
//! line range (the call written in the async fn itself) or has one of the
//! listed sync functions in its chain (the call reached through helpers: the
//! finding is reported where the async code calls the first helper). Only
//! recall is asserted here; other findings in a fixture are not judged.
//!
//! Each run has a deadline ([`DEADLINE`]): a checker that takes longer is
//! killed and the fixture's sites count as missed, with its name in the
//! failure message.
//!
//! The checker is run without `--offline`: `cargo metadata` resolves the
//! fixtures' real dependencies from each `Cargo.lock`, and downloads them from
//! crates.io the first time, as CI's machine reaches crates.io.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_cargo-async-unsafe");

/// How long the checker may take on one fixture (`cargo metadata` included)
/// before the run counts as a failure: a slow or hanging checker fails the
/// test with the fixture's name instead of holding CI.
const DEADLINE: Duration = Duration::from_secs(240);

/// Runs the checker on `manifest`: its standard output and error, or `None`
/// when it did not finish within [`DEADLINE`] (it is then killed).
fn check(manifest: &Path) -> Option<(String, String)> {
    let mut child = Command::new(BIN)
        .args([
            "--manifest-path",
            manifest.to_str().unwrap(),
            "--format",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the checker runs");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (done, finished) = mpsc::channel();
    let reader = thread::spawn(move || {
        let err = thread::spawn(move || {
            let mut text = String::new();
            stderr.read_to_string(&mut text).map(|_| text)
        });
        let mut out = String::new();
        let out = stdout.read_to_string(&mut out).map(|_| out);
        let err = err.join().unwrap();
        // The receiver is gone only when the deadline passed.
        let _ = done.send(());
        (out, err)
    });
    let in_time = finished.recv_timeout(DEADLINE).is_ok();
    if !in_time {
        let _ = child.kill();
    }
    child.wait().expect("the checker is waited for");
    let (out, err) = reader.join().unwrap();
    in_time.then(|| (out.unwrap(), err.unwrap()))
}

/// One fixed call site of a fixture.
#[derive(Debug)]
struct Site {
    file: String,
    lines: (u64, u64),
    callee: String,
    via: Vec<(String, u64)>,
    text: String,
}

fn split_location(location: &str) -> (String, &str) {
    let (file, lines) = location
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("`{location}` is not <file>:<line>"));
    (file.to_string(), lines)
}

fn parse_sites(text: &str) -> Vec<Site> {
    let mut sites = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields = line.split(" -- ").next().unwrap_or(line);
        let mut words = fields.split_whitespace();
        let (file, range) = split_location(words.next().expect("a location"));
        let (first, last) = match range.split_once('-') {
            Some((a, b)) => (a.parse().unwrap(), b.parse().unwrap()),
            None => {
                let n = range.parse().unwrap();
                (n, n)
            }
        };
        let callee = words.next().expect("a callee").to_string();
        let via = words
            .map(|w| {
                let (file, n) = split_location(w);
                (file, n.parse().unwrap())
            })
            .collect();
        sites.push(Site {
            file,
            lines: (first, last),
            callee,
            via,
            text: line.to_string(),
        });
    }
    sites
}

/// A chain frame reads `name (file:line)`; its location, if it has one.
fn frame_location(frame: &str) -> Option<(String, u64)> {
    let inner = frame.strip_suffix(')')?.rsplit_once(" (")?.1;
    let (file, line) = inner.rsplit_once(':')?;
    Some((file.to_string(), line.parse().ok()?))
}

/// The expected callee, or with a trailing `::*` any callee under that path
/// (for builder chains such as `client.get(url).send()`, where which method of
/// the chain the checker names is not the point).
fn callee_matches(expected: &str, callee: &str) -> bool {
    match expected.strip_suffix('*') {
        Some(prefix) => callee.starts_with(prefix) && prefix.ends_with("::"),
        None => callee == expected,
    }
}

fn is_found(site: &Site, findings: &[Value]) -> bool {
    findings.iter().any(|finding| {
        if !callee_matches(&site.callee, finding["callee"].as_str().unwrap_or_default()) {
            return false;
        }
        let file = finding["file"].as_str().unwrap_or_default();
        let line = finding["line"].as_u64().unwrap_or_default();
        if file == site.file && (site.lines.0..=site.lines.1).contains(&line) {
            return true;
        }
        finding["chain"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|frame| frame_location(frame.as_str()?))
            .any(|frame| site.via.contains(&frame))
    })
}

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/fixtures/real exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn parses_a_range_a_callee_and_the_chain_s_sync_fns() {
    let sites = parse_sites(
        "# comment\n\nsrc/a.rs:9-11 std::process::Command::output src/a.rs:5 src/b.rs:2 -- x -> y\n",
    );
    assert_eq!(sites.len(), 1);
    assert_eq!(sites[0].file, "src/a.rs");
    assert_eq!(sites[0].lines, (9, 11));
    assert_eq!(sites[0].callee, "std::process::Command::output");
    assert_eq!(
        sites[0].via,
        vec![("src/a.rs".to_string(), 5), ("src/b.rs".to_string(), 2)]
    );
}

#[test]
fn a_site_is_found_at_its_lines_or_through_a_listed_helper() {
    let site = &parse_sites("src/a.rs:9-11 x::f src/h.rs:5 -- chain")[0];
    let finding = |file: &str, line: u64, callee: &str, chain: &[&str]| serde_json::json!({"file": file, "line": line, "callee": callee, "chain": chain});
    assert!(is_found(site, &[finding("src/a.rs", 11, "x::f", &[])]));
    assert!(!is_found(site, &[finding("src/a.rs", 12, "x::f", &[])]));
    assert!(!is_found(site, &[finding("src/a.rs", 10, "x::g", &[])]));
    let through = ["async fn a (src/m.rs:1)", "h (src/h.rs:5)", "x::f"];
    assert!(is_found(site, &[finding("src/m.rs", 2, "x::f", &through)]));
    let elsewhere = ["async fn a (src/m.rs:1)", "h (src/h.rs:6)", "x::f"];
    assert!(!is_found(
        site,
        &[finding("src/m.rs", 2, "x::f", &elsewhere)]
    ));
}

#[test]
fn a_trailing_star_matches_any_callee_under_the_path() {
    assert!(callee_matches(
        "reqwest::blocking::*",
        "reqwest::blocking::Client::get"
    ));
    assert!(!callee_matches("reqwest::blocking::*", "reqwest::get"));
    assert!(!callee_matches(
        "reqwest::blocking*",
        "reqwest::blockingx::get"
    ));
    assert!(callee_matches("std::fs::read", "std::fs::read"));
    assert!(!callee_matches("std::fs::read", "std::fs::read_dir"));
}

#[test]
fn every_fixed_call_site_of_the_real_bugs_is_found() {
    let dirs = fixtures();
    assert!(dirs.len() >= 12, "{} real fixtures", dirs.len());
    let (mut found, mut total) = (0, 0);
    let mut report = String::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let expected = std::fs::read_to_string(dir.join("expected_sites.txt"))
            .unwrap_or_else(|e| panic!("{name}: expected_sites.txt: {e}"));
        let sites = parse_sites(&expected);
        assert!(!sites.is_empty(), "{name}: no expected site");
        let Some((stdout, stderr)) = check(&dir.join("Cargo.toml")) else {
            total += sites.len();
            writeln!(
                report,
                "{name}: the checker did not finish within {} s; {} sites not found",
                DEADLINE.as_secs(),
                sites.len()
            )
            .unwrap();
            continue;
        };
        let findings: Vec<Value> = stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {line}\n{stderr}"))
            })
            .collect();
        for site in &sites {
            total += 1;
            if is_found(site, &findings) {
                found += 1;
            } else {
                writeln!(report, "{name}: missed {}", site.text).unwrap();
                if !stderr.is_empty() {
                    writeln!(report, "{name}: stderr: {}", stderr.trim_end()).unwrap();
                }
            }
        }
    }
    println!(
        "real bugs: {found}/{total} fixed call sites found in {} fixtures",
        dirs.len()
    );
    assert!(found == total, "real bugs: {found}/{total} found\n{report}");
}
