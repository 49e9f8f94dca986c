//! The checker on the workspace's own `examples/`: exactly their deliberate
//! mistakes (the service's wrong route, the quickstart's direct call, the
//! service tests' refused and captured calls), as recorded in
//! `tests/examples.expected.jsonl`, and exit status 1.

use std::path::Path;
use std::process::Command;

#[test]
fn the_examples_deliberate_mistakes_and_nothing_else() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = crate_dir.join("../examples/Cargo.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-async-unsafe"))
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--format", "json", "--offline"])
        .output()
        .expect("the checker runs");
    let found = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let expected = std::fs::read_to_string(crate_dir.join("tests/examples.expected.jsonl"))
        .expect("tests/examples.expected.jsonl");
    assert_eq!(
        found, expected,
        "the findings on examples/ differ from tests/examples.expected.jsonl; after changing \
         the examples, regenerate it as CONTRIBUTING.md says and read the diff\nstderr: {stderr}"
    );
    assert_eq!(stderr, "", "stderr");
    assert_eq!(out.status.code(), Some(1), "exit status");
}
