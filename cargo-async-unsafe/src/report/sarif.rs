//! The `sarif` format: one SARIF 2.1.0 log for GitHub code scanning (and
//! any SARIF viewer). The tool's driver lists one rule per built-in
//! category, one for marked functions, one for the user's `blocking` list
//! and one for stale allowances, each with its help text; each finding is
//! a `warning` result naming its rule, with the help line in its message,
//! one location (the artifact's `uri` relative to the workspace root, under
//! `uriBaseId` `%SRCROOT%`; columns count Unicode code points, as
//! `columnKind` says) and, in `properties`, the callee, the chain, the
//! confidence and whether it is in test code.

use serde_json::{Value, json};

use super::{Place, Report, STALE_HELP, STALE_TITLE, UNUSED_ALLOW, notes, rule, rules, title};

fn location(place: &Place) -> Value {
    json!([{
        "physicalLocation": {
            "artifactLocation": {"uri": place.file, "uriBaseId": "%SRCROOT%"},
            "region": {
                "startLine": place.line,
                "startColumn": place.column,
                "endLine": place.end_line,
                "endColumn": place.end_column,
            },
        },
    }])
}

pub(super) fn render(r: &Report) -> String {
    let rules = rules();
    let index = |id: &str| rules.iter().position(|r| r.id == id);
    let driver_rules: Vec<Value> = rules
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id,
                "name": rule.id,
                "shortDescription": {"text": rule.description},
                "fullDescription": {"text": rule.description},
                "help": {"text": rule.help},
                "defaultConfiguration": {"level": "warning"},
                "properties": {"tags": ["async", "blocking"]},
            })
        })
        .collect();
    let mut results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let id = rule(f.reason);
            let text = notes(f)
                .into_iter()
                .map(|(help, note)| format!("\n{}: {note}", if help { "help" } else { "note" }))
                .fold(title(f), |acc, n| acc + &n);
            json!({
                "ruleId": id,
                "ruleIndex": index(id),
                "level": "warning",
                "message": {"text": text},
                "locations": location(&Place::of(f)),
                "properties": {
                    "callee": f.callee,
                    "chain": f.chain,
                    "confidence": if f.certain { "certain" } else { "possible" },
                    "test": f.test,
                },
            })
        })
        .collect();
    results.extend(r.stale.iter().map(|s| {
        let place = Place::of_stale_marker(s);
        json!({
            "ruleId": UNUSED_ALLOW,
            "ruleIndex": index(UNUSED_ALLOW),
            "level": "warning",
            "message": {"text": format!("{STALE_TITLE}\nhelp: {STALE_HELP}")},
            "locations": location(&place),
        })
    }));
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "cargo-async-unsafe",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": driver_rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    // A json! value always serializes.
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_default();
    out.push('\n');
    out
}
