//! The JSON format: one object a line. A finding: `file`, `line`, `column`,
//! `callee`, `chain`, `confidence` (`certain`/`possible`), `reason`
//! (`marked`/`builtin`/`user`), `category` (the built-in category, else
//! null), `suggestion` (the help line) and `test`. A stale allowance:
//! `file`, `line`, `column`, `reason` `unused-allow` and its `suggestion`.

use serde::Serialize;

use super::{Report, STALE_HELP, UNUSED_ALLOW};
use crate::known::{Category, suggestion};

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
    test: bool,
}

#[derive(Serialize)]
struct JsonStale<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    reason: &'static str,
    suggestion: &'static str,
}

fn line(out: &mut String, value: &impl Serialize) {
    // Structs of strings, numbers and booleans always serialize.
    out.push_str(&serde_json::to_string(value).unwrap_or_default());
    out.push('\n');
}

pub(super) fn render(r: &Report) -> String {
    let mut out = String::new();
    for f in r.findings {
        line(
            &mut out,
            &JsonFinding {
                file: &f.file,
                line: f.line,
                column: f.column,
                callee: &f.callee,
                chain: &f.chain,
                confidence: if f.certain { "certain" } else { "possible" },
                reason: f.reason.kind(),
                category: f.reason.category().map(Category::name),
                suggestion: suggestion(&f.callee, f.reason),
                test: f.test,
            },
        );
    }
    for s in r.stale {
        line(
            &mut out,
            &JsonStale {
                file: &s.file,
                line: s.line,
                column: s.column,
                reason: UNUSED_ALLOW,
                suggestion: STALE_HELP,
            },
        );
    }
    out
}
