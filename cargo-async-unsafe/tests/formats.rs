//! The five output formats on the `members` fixture (two packages, test
//! code, live and stale allowances), each compared with its expected file
//! (`tests/fixtures/members/expected.{txt,jsonl,cargo.jsonl,sarif,github}`;
//! absolute paths written as `$DIR`); the `cargo-json` records read as
//! rust-analyzer's flycheck reads them (it deserializes each line into
//! `cargo_metadata::Message`, then reads the diagnostic's level, code,
//! message, spans and their source lines, children and rendered text); the
//! SARIF log validated against the SARIF 2.1.0 JSON schema.

use std::path::{Path, PathBuf};
use std::process::Command;

use cargo_metadata::Message;
use cargo_metadata::diagnostic::DiagnosticLevel;

const BIN: &str = env!("CARGO_BIN_EXE_cargo-async-unsafe");

fn members() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/members")
}

/// The checker's stdout on the fixture, with `--warn-unused-allows`, and
/// its exit status.
fn check(format: &str) -> (String, Option<i32>) {
    let manifest = members().join("Cargo.toml");
    let out = Command::new(BIN)
        .args(["async-unsafe", "--offline", "--warn-unused-allows"])
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--message-format", format])
        .output()
        .expect("the checker runs");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{format}: stderr");
    (String::from_utf8(out.stdout).unwrap(), out.status.code())
}

#[test]
fn each_format_is_exactly_its_expected_file() {
    let dir = members();
    for (format, file) in [
        ("human", "expected.txt"),
        ("json", "expected.jsonl"),
        ("cargo-json", "expected.cargo.jsonl"),
        ("sarif", "expected.sarif"),
        ("github", "expected.github"),
    ] {
        let (stdout, status) = check(format);
        let stdout = stdout.replace(dir.to_str().unwrap(), "$DIR");
        let expected = std::fs::read_to_string(dir.join(file)).unwrap();
        assert_eq!(stdout, expected, "{format}: output differs from {file}");
        assert_eq!(status, Some(1), "{format}: exit status");
    }
}

#[test]
fn cargo_json_records_read_as_rust_analyzer_reads_them() {
    let (stdout, _) = check("cargo-json");
    let (human, _) = check("human");
    let ids: Vec<String> = cargo_metadata::MetadataCommand::new()
        .manifest_path(members().join("Cargo.toml"))
        .other_options(vec!["--offline".to_owned()])
        .exec()
        .unwrap()
        .workspace_members
        .into_iter()
        .map(|id| id.repr)
        .collect();
    let mut diagnostics = 0;
    let mut finished = false;
    for line in stdout.lines() {
        // rust-analyzer: `JsonMessage::Cargo(cargo_metadata::Message)`.
        let message: Message = serde_json::from_str(line).unwrap();
        let msg = match message {
            Message::CompilerMessage(msg) => msg,
            Message::BuildFinished(done) => {
                assert!(done.success);
                finished = true;
                continue;
            }
            other => panic!("unexpected record {other:?}"),
        };
        assert!(!finished, "a record after build-finished");
        assert!(ids.contains(&msg.package_id.repr), "{}", msg.package_id);
        let d = msg.message;
        assert_eq!(d.level, DiagnosticLevel::Warning);
        let code = d.code.as_ref().unwrap().code.clone();
        assert!(code.starts_with("async_unsafe::"), "{code}");
        assert_eq!(d.spans.len(), 1);
        let span = &d.spans[0];
        assert!(span.is_primary);
        // The file, relative to the workspace root, as rust-analyzer resolves it.
        let source = std::fs::read_to_string(members().join(&span.file_name)).unwrap();
        // The record names the target the file is compiled in.
        let kind = |k: &str| k.to_owned();
        let expected = match span.file_name.as_str() {
            "app/src/lib.rs" | "app/src/net.rs" => ("app", kind("lib")),
            "app/src/main.rs" => ("app", kind("bin")),
            "app/tests/it.rs" => ("it", kind("test")),
            "app/examples/demo.rs" => ("demo", kind("example")),
            "app/benches/speed.rs" => ("speed", kind("bench")),
            "worker/src/lib.rs" => ("worker", kind("lib")),
            other => panic!("unexpected file {other}"),
        };
        assert_eq!(
            (msg.target.name.as_str(), msg.target.kind[0].to_string()),
            expected
        );
        let package_dir = span.file_name.split('/').next().unwrap();
        assert!(
            msg.package_id
                .repr
                .contains(&format!("/members/{package_dir}#"))
        );
        // rust-analyzer reads `text[line - line_start]` for each line of the span.
        assert!(span.line_start >= 1 && span.line_end >= span.line_start);
        assert_eq!(span.text.len(), span.line_end - span.line_start + 1);
        let lines: Vec<&str> = source.lines().collect();
        for (i, text) in span.text.iter().enumerate() {
            assert_eq!(text.text, lines[span.line_start - 1 + i]);
        }
        let first = &span.text[0];
        assert_eq!(first.highlight_start, span.column_start);
        assert!(span.column_start >= 1);
        // The byte range is the highlighted text.
        let highlighted = &source[span.byte_start as usize..span.byte_end as usize];
        let on_line: String = first
            .text
            .chars()
            .skip(span.column_start - 1)
            .take(first.highlight_end - first.highlight_start)
            .collect();
        assert!(
            highlighted.starts_with(&on_line),
            "{highlighted:?} vs {on_line:?}"
        );
        assert!(!highlighted.is_empty());
        // The help line is a child; the rendered text is the human format's.
        assert!(
            d.children
                .iter()
                .any(|c| c.level == DiagnosticLevel::Help && !c.message.is_empty())
        );
        let rendered = d.rendered.unwrap();
        assert!(rendered.starts_with(&format!("warning: {}\n", d.message)));
        assert!(human.contains(&rendered), "{rendered}");
        diagnostics += 1;
    }
    assert!(finished, "no build-finished record");
    assert_eq!(diagnostics, stdout.lines().count() - 1);
    assert!(diagnostics >= 8, "{diagnostics} records");
}

/// The SARIF 2.1.0 schema, as the `serde-sarif` crate ships it (the
/// package is a dev-dependency, so it is on disk wherever the tests build).
fn sarif_schema() -> serde_json::Value {
    let meta = cargo_metadata::MetadataCommand::new()
        .manifest_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .exec()
        .unwrap();
    let package = meta
        .packages
        .iter()
        .find(|p| p.name.as_str() == "serde-sarif")
        .expect("serde-sarif is a dev-dependency");
    let schema = package
        .manifest_path
        .parent()
        .unwrap()
        .join("src/schema.json");
    serde_json::from_str(&std::fs::read_to_string(schema).unwrap()).unwrap()
}

#[test]
fn sarif_is_valid_sarif_2_1_0_with_one_rule_per_category() {
    let (stdout, _) = check("sarif");
    let log: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let schema = sarif_schema();
    assert_eq!(
        schema["title"],
        "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    );
    // The published schema's `language` pattern has a stray `]` (an
    // erratum), which jsonschema's check of the schema itself refuses; the
    // pattern is corrected here. The log's own strings are checked against
    // their formats (uri, date-time).
    let schema_text = serde_json::to_string(&schema).unwrap().replace(
        "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$",
        "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$",
    );
    let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The schema is not vacuous: a log without `version` fails it.
    let mut broken = log.clone();
    broken.as_object_mut().unwrap().remove("version");
    assert!(!validator.is_valid(&broken));
    // And serde-sarif's types read it.
    let _: serde_sarif::sarif::Sarif = serde_json::from_value(log.clone()).unwrap();

    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "sleep",
            "fs",
            "stdin",
            "net",
            "dns",
            "process",
            "sync-channel",
            "thread-join",
            "runtime-block-on",
            "tokio-blocking-in-async",
            "db",
            "http",
            "lock",
            "marked",
            "blocking-list",
            "unused-allow"
        ]
    );
    for rule in rules {
        assert!(!rule["help"]["text"].as_str().unwrap().is_empty());
    }
    for result in run["results"].as_array().unwrap() {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(result["ruleId"], rules[index]["id"]);
    }
}
