//! The `cargo-json` format: what `cargo check --message-format=json` prints,
//! so that rust-analyzer (`rust-analyzer.check.overrideCommand`) shows the
//! findings inline and any tool that reads cargo's messages reads ours. One
//! `{"reason":"compiler-message",...}` record a finding, with the package id,
//! manifest and target of the crate the file belongs to, and a `message` in
//! rustc's diagnostic shape: `level` `warning`, a `code` (`async_unsafe::`
//! and the rule), one primary span (`file_name` relative to the workspace
//! root, byte offsets, 1-based lines and character columns, the source
//! lines with their highlights), children for the chain note and the help
//! line, and `rendered` (the human format's text). A
//! `{"reason":"build-finished","success":true}` record ends the stream, as
//! cargo's does.

use serde_json::{Value, json};

use super::human::{diagnostic, renderer};
use super::{Place, Report, STALE_HELP, STALE_TITLE, Sources, UNUSED_ALLOW, notes, title};
use crate::workspace::TargetSpec;

fn child(level: &str, message: &str) -> Value {
    json!({
        "$message_type": "diagnostic",
        "message": message,
        "code": null,
        "level": level,
        "spans": [],
        "children": [],
        "rendered": null,
    })
}

fn span(place: &Place, sources: &Sources) -> Value {
    let bytes = sources.bytes(place).unwrap_or(0..0);
    let text: Vec<Value> = (place.line..=place.end_line)
        .map(|n| {
            let line = sources.line(&place.file, n).unwrap_or_default();
            let start = if n == place.line { place.column } else { 1 };
            let end = if n == place.end_line {
                place.end_column
            } else {
                line.chars().count() + 1
            };
            json!({"text": line, "highlight_start": start, "highlight_end": end})
        })
        .collect();
    json!({
        "file_name": place.file,
        "byte_start": bytes.start,
        "byte_end": bytes.end,
        "line_start": place.line,
        "line_end": place.end_line,
        "column_start": place.column,
        "column_end": place.end_column,
        "is_primary": true,
        "text": text,
        "label": null,
        "suggested_replacement": null,
        "suggestion_applicability": null,
        "expansion": null,
    })
}

fn record(
    r: &Report,
    sources: &Sources,
    rule: &str,
    title: &str,
    place: &Place,
    notes: &[(bool, String)],
) -> String {
    let origin: &TargetSpec = r.origins.get(&place.file).copied().unwrap_or(r.fallback);
    let mut rendered = diagnostic(&renderer(false), sources, title, place, notes);
    rendered.push('\n');
    let children: Vec<Value> = notes
        .iter()
        .map(|(help, text)| child(if *help { "help" } else { "note" }, text))
        .collect();
    let value = json!({
        "reason": "compiler-message",
        "package_id": origin.package_id,
        "manifest_path": origin.manifest_path,
        "target": origin.target,
        "message": {
            "$message_type": "diagnostic",
            "message": title,
            "code": {"code": format!("async_unsafe::{rule}"), "explanation": null},
            "level": "warning",
            "spans": [span(place, sources)],
            "children": children,
            "rendered": rendered,
        },
    });
    let mut line = value.to_string();
    line.push('\n');
    line
}

pub(super) fn render(r: &Report, sources: &Sources) -> String {
    let mut out = String::new();
    for f in r.findings {
        out.push_str(&record(
            r,
            sources,
            super::rule(f.reason),
            &title(f),
            &Place::of(f),
            &notes(f),
        ));
    }
    for s in r.stale {
        out.push_str(&record(
            r,
            sources,
            UNUSED_ALLOW,
            STALE_TITLE,
            &Place::of_stale(s, sources),
            &[(true, STALE_HELP.to_owned())],
        ));
    }
    out.push_str("{\"reason\":\"build-finished\",\"success\":true}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_over_several_lines_highlights_each_to_its_end() {
        let dir = std::env::temp_dir().join(format!("cau-span-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.rs"), "fn f() {\n    x(1,\n      2é);\n}\n").unwrap();
        let sources = Sources::new(&dir);
        let place = Place {
            file: "a.rs".into(),
            line: 2,
            column: 5,
            end_line: 3,
            end_column: 10,
        };
        let span = span(&place, &sources);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            span["text"],
            json!([
                {"text": "    x(1,", "highlight_start": 5, "highlight_end": 9},
                {"text": "      2é);", "highlight_start": 1, "highlight_end": 10},
            ])
        );
        assert_eq!(span["byte_start"], 13);
        // Up to the `;`: "x(1,\n      2é)" is 14 characters, 15 bytes.
        assert_eq!(span["byte_end"], 13 + 15);
    }
}
