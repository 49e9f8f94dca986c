//! Findings out: rustc-style text, or one JSON object per line.
//!
//! Text: a `warning:` line naming the callee and why it blocks, ` --> file:line:col`
//! (the call in the async body), a note with the chain, and for a `possible`
//! finding a note saying so; a count at the end. JSON (`--format json`): one
//! object per finding with `file`, `line`, `column`, `callee`, `chain`,
//! `confidence` (`certain`/`possible`) and `reason` (`marked`/`builtin`/`user`).
//! Paths are relative to the workspace root.

use std::fmt::Write as _;

use serde::Serialize;

use crate::graph::Finding;
use crate::known::{Category, Reason, suggestion};

#[derive(Serialize)]
struct JsonFinding<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    callee: &'a str,
    chain: &'a [String],
    confidence: &'static str,
    reason: &'static str,
    category: Option<&'static str>,
    suggestion: String,
}

fn why(reason: Reason) -> &'static str {
    match reason {
        Reason::Marked => "is #[async_unsafe]",
        Reason::Builtin(_) => "blocks the thread",
        Reason::User => "is on the `blocking` list of the async-unsafe metadata",
    }
}

/// The text report.
pub(crate) fn text(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let _ = writeln!(
            out,
            "warning: blocking call in async context: `{}` {}",
            f.callee,
            why(f.reason)
        );
        let _ = writeln!(out, " --> {}:{}:{}", f.file, f.line, f.column);
        let _ = writeln!(out, "  = note: {}", f.chain.join(" -> "));
        let _ = writeln!(out, "  = help: {}", suggestion(&f.callee, f.reason));
        if !f.certain {
            let _ = writeln!(
                out,
                "  = note: possible: a method call on the way could mean several impls"
            );
        }
        out.push('\n');
    }
    match findings.len() {
        0 => out.push_str("no blocking calls in async context\n"),
        1 => out.push_str("warning: 1 blocking call in async context\n"),
        n => {
            let _ = writeln!(out, "warning: {n} blocking calls in async context");
        }
    }
    out
}

/// The JSON-lines report.
pub(crate) fn json(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let line = JsonFinding {
            file: &f.file,
            line: f.line,
            column: f.column,
            callee: &f.callee,
            chain: &f.chain,
            confidence: if f.certain { "certain" } else { "possible" },
            reason: f.reason.kind(),
            category: f.reason.category().map(Category::name),
            suggestion: suggestion(&f.callee, f.reason),
        };
        // A struct of strings and numbers always serializes.
        out.push_str(&serde_json::to_string(&line).unwrap_or_default());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(certain: bool) -> Finding {
        Finding {
            file: "src/a.rs".into(),
            line: 3,
            column: 8,
            callee: "app::Repo::find".into(),
            chain: vec!["async fn h (src/a.rs:2)".into(), "Repo::find".into()],
            certain,
            reason: Reason::Marked,
        }
    }

    #[test]
    fn text_is_rustc_style() {
        assert_eq!(
            text(&[finding(false)]),
            "warning: blocking call in async context: `app::Repo::find` is #[async_unsafe]\n \
             --> src/a.rs:3:8\n  = note: async fn h (src/a.rs:2) -> Repo::find\n  \
             = help: run it off the event loop: `sync_to_async(move || ..).await` or \
             `tokio::task::spawn_blocking(move || ..).await` around the call to `find`\n  \
             = note: possible: a method call on the way could mean several impls\n\n\
             warning: 1 blocking call in async context\n"
        );
        assert_eq!(text(&[]), "no blocking calls in async context\n");
    }

    #[test]
    fn json_is_one_object_a_line() {
        let out = json(&[finding(true), finding(false)]);
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["confidence"], "certain");
        assert_eq!(lines[1]["confidence"], "possible");
        assert_eq!(lines[0]["chain"][1], "Repo::find");
        assert_eq!(lines[0]["column"], 8);
    }
}
