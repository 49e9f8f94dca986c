//! Findings out, in the format asked for: `human` (rustc's diagnostics with
//! the source line, `human.rs`), `json` (one object a line, `json.rs`),
//! `cargo-json` (cargo's `compiler-message` records, for editors,
//! `cargo_json.rs`), `sarif` (SARIF 2.1.0 for code scanning, `sarif.rs`) and
//! `github` (GitHub Actions workflow commands, `github.rs`).
//!
//! Every format says the same of a finding: where the call is (the call in
//! the async body, where the fix goes: from its first character to just past
//! its last), the blocking callee and why it blocks, the chain from the async
//! root, the help line (what to write instead), whether the chain is
//! `possible` (a method call on the way could mean several impls) and
//! whether it is in test code. With `--warn-unused-allows`, the stale
//! `// async-unsafe: allow` comments are reported the same way, as their own
//! rule. Paths are relative to the workspace root; lines and columns are
//! 1-based, columns count characters.

mod cargo_json;
mod github;
mod human;
mod json;
mod sarif;

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::rc::Rc;

use clap::ValueEnum;

use crate::graph::Finding;
use crate::known::{Category, Reason, suggestion};
use crate::workspace::TargetSpec;

/// `--message-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// rustc-style diagnostics with the source line
    #[value(alias = "text")]
    Human,
    /// One JSON object per finding, one a line
    Json,
    /// cargo's `--message-format=json` records (for rust-analyzer)
    CargoJson,
    /// SARIF 2.1.0 (for GitHub code scanning)
    Sarif,
    /// GitHub Actions annotations
    Github,
}

/// An `// async-unsafe: allow` comment that silences nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stale {
    pub(crate) file: String,
    pub(crate) line: usize,
    /// Where the comment starts.
    pub(crate) column: usize,
}

/// What to report, and how.
pub(crate) struct Report<'a> {
    pub(crate) findings: &'a [Finding],
    pub(crate) stale: &'a [Stale],
    /// The workspace root: the reported paths are relative to it.
    pub(crate) root: &'a Path,
    /// The target each checked file belongs to.
    pub(crate) origins: &'a HashMap<String, &'a TargetSpec>,
    /// The target for a file of none.
    pub(crate) fallback: &'a TargetSpec,
    /// Colour the human format.
    pub(crate) color: bool,
    /// No summary line.
    pub(crate) quiet: bool,
    /// Show `possible` findings in the human format (always in the others).
    pub(crate) possible: bool,
}

impl Report<'_> {
    /// The whole output.
    pub(crate) fn render(&self, format: Format) -> String {
        let sources = Sources::new(self.root);
        match format {
            Format::Human => human::render(self, &sources),
            Format::Json => json::render(self),
            Format::CargoJson => cargo_json::render(self, &sources),
            Format::Sarif => sarif::render(self),
            Format::Github => github::render(self),
        }
    }
}

/// The rule a stale allowance breaks (SARIF rule id, cargo-json code).
const UNUSED_ALLOW: &str = "unused-allow";

/// A stale allowance's title.
const STALE_TITLE: &str = "unused `// async-unsafe: allow`: it silences no blocking call";

/// A stale allowance's help.
const STALE_HELP: &str = "remove the comment: the code it excused does not block (any more)";

/// Why the callee blocks, after its name.
fn why(reason: Reason) -> &'static str {
    match reason {
        Reason::Marked => "is #[async_unsafe]",
        Reason::Builtin(_) => "blocks the thread",
        Reason::User => "is on the `blocking` list of the async-unsafe metadata",
    }
}

/// The first line of a finding.
fn title(f: &Finding) -> String {
    format!(
        "blocking call in async context: `{}` {}",
        f.callee,
        why(f.reason)
    )
}

/// The rule of a finding: its category, or `marked` / `blocking-list`.
fn rule(reason: Reason) -> &'static str {
    match reason {
        Reason::Builtin(c) => c.name(),
        Reason::Marked => "marked",
        Reason::User => "blocking-list",
    }
}

/// A rule: its id, a one-line description and its help text.
struct Rule {
    id: &'static str,
    description: String,
    help: &'static str,
}

/// Every rule, in report order: the built-in categories, marked and listed
/// functions, stale allowances.
fn rules() -> Vec<Rule> {
    let mut out: Vec<Rule> = Category::ALL
        .iter()
        .map(|c| Rule {
            id: c.name(),
            description: format!("blocking call in async context ({} API)", c.name()),
            help: c.help(),
        })
        .collect();
    out.push(Rule {
        id: "marked",
        description: "call of an #[async_unsafe] function in async context".into(),
        help: "run it off the event loop: `sync_to_async(move || ..).await` or \
               `tokio::task::spawn_blocking(move || ..).await`",
    });
    out.push(Rule {
        id: "blocking-list",
        description: "call of a function on the `blocking` list of the async-unsafe metadata \
                      in async context"
            .into(),
        help: "run it off the event loop: `sync_to_async(move || ..).await` or \
               `tokio::task::spawn_blocking(move || ..).await`",
    });
    out.push(Rule {
        id: UNUSED_ALLOW,
        description: "`// async-unsafe: allow` comment that silences nothing".into(),
        help: STALE_HELP,
    });
    out
}

/// The notes under a finding's title, in order: (is help, text).
fn notes(f: &Finding) -> Vec<(bool, String)> {
    let mut out = vec![
        (false, f.chain.join(" -> ")),
        (true, suggestion(&f.callee, f.reason)),
    ];
    if !f.certain {
        out.push((
            false,
            "possible: a method call on the way could mean several impls".into(),
        ));
    }
    if f.test {
        out.push((false, "in test code".into()));
    }
    out
}

/// The summary line of the human format.
fn summary(findings: usize, stale: usize) -> String {
    let mut parts = Vec::new();
    match findings {
        0 => {}
        1 => parts.push("1 blocking call in async context".to_owned()),
        n => parts.push(format!("{n} blocking calls in async context")),
    }
    match stale {
        0 => {}
        1 => parts.push("1 unused allowance".to_owned()),
        n => parts.push(format!("{n} unused allowances")),
    }
    if parts.is_empty() {
        "no blocking calls in async context\n".into()
    } else {
        format!("warning: {}\n", parts.join(", "))
    }
}

/// A place in a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
}

impl Place {
    fn of(f: &Finding) -> Place {
        Place {
            file: f.file.clone(),
            line: f.line,
            column: f.column,
            end_line: f.end_line,
            end_column: f.end_column,
        }
    }

    /// A stale comment: from `//` to the end of its line.
    /// A stale allowance's `//`, for the formats that do not read the
    /// source (SARIF, GitHub annotations).
    fn of_stale_marker(s: &Stale) -> Place {
        Place {
            file: s.file.clone(),
            line: s.line,
            column: s.column,
            end_line: s.line,
            end_column: s.column + 2,
        }
    }

    /// A stale allowance's whole comment, to the end of its line.
    fn of_stale(s: &Stale, sources: &Sources) -> Place {
        let end_column = sources
            .line(&s.file, s.line)
            .map_or(s.column, |l| l.chars().count() + 1);
        Place {
            file: s.file.clone(),
            line: s.line,
            column: s.column,
            end_line: s.line,
            end_column,
        }
    }
}

/// The checked files' text, read once each.
struct Sources<'a> {
    root: &'a Path,
    files: RefCell<HashMap<String, Option<Rc<str>>>>,
}

impl<'a> Sources<'a> {
    fn new(root: &'a Path) -> Sources<'a> {
        Sources {
            root,
            files: RefCell::new(HashMap::new()),
        }
    }

    fn text(&self, file: &str) -> Option<Rc<str>> {
        self.files
            .borrow_mut()
            .entry(file.to_owned())
            .or_insert_with(|| {
                std::fs::read_to_string(self.root.join(file))
                    .ok()
                    .map(Rc::from)
            })
            .clone()
    }

    /// Line `line` (1-based) without its end.
    fn line(&self, file: &str, line: usize) -> Option<String> {
        let text = self.text(file)?;
        text.lines().nth(line.checked_sub(1)?).map(str::to_owned)
    }

    /// The byte range of `place` in its file.
    fn bytes(&self, place: &Place) -> Option<Range<usize>> {
        let text = self.text(&place.file)?;
        let start = byte_offset(&text, place.line, place.column)?;
        let end = byte_offset(&text, place.end_line, place.end_column)?;
        Some(start..end.max(start))
    }
}

/// The byte offset of (line, column), both 1-based, column in characters;
/// a column past the line's end is its end.
fn byte_offset(text: &str, line: usize, column: usize) -> Option<usize> {
    let mut start = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let body = l.trim_end_matches(['\n', '\r']);
            let within = body
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(body.len(), |(b, _)| b);
            return Some(start + within);
        }
        start += l.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::known::Category;

    /// A finding in `src/a.rs`.
    pub(super) fn finding(certain: bool) -> Finding {
        Finding {
            file: "src/a.rs".into(),
            line: 3,
            column: 5,
            callee: "app::Repo::find".into(),
            chain: vec!["async fn h (src/a.rs:2)".into(), "Repo::find".into()],
            certain,
            reason: Reason::Marked,
            end_line: 3,
            end_column: 16,
            test: false,
        }
    }

    #[test]
    fn byte_offsets_count_characters_and_stop_at_the_line_end() {
        let text = "ab\néé x\r\nlast";
        assert_eq!(byte_offset(text, 1, 1), Some(0));
        assert_eq!(byte_offset(text, 1, 3), Some(2));
        assert_eq!(byte_offset(text, 2, 2), Some(5));
        assert_eq!(byte_offset(text, 2, 4), Some(8));
        assert_eq!(byte_offset(text, 2, 40), Some(9));
        assert_eq!(byte_offset(text, 3, 2), Some(12));
        assert_eq!(byte_offset(text, 4, 1), None);
    }

    #[test]
    fn summaries_count_findings_and_stale_allowances() {
        assert_eq!(summary(0, 0), "no blocking calls in async context\n");
        assert_eq!(summary(1, 0), "warning: 1 blocking call in async context\n");
        assert_eq!(
            summary(2, 0),
            "warning: 2 blocking calls in async context\n"
        );
        assert_eq!(summary(0, 1), "warning: 1 unused allowance\n");
        assert_eq!(
            summary(3, 2),
            "warning: 3 blocking calls in async context, 2 unused allowances\n"
        );
    }

    #[test]
    fn rules_cover_every_category_and_the_other_reasons() {
        let ids: Vec<&str> = rules().iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), Category::ALL.len() + 3);
        for reason in [Reason::Marked, Reason::User]
            .into_iter()
            .chain(Category::ALL.map(Reason::Builtin))
        {
            assert!(ids.contains(&rule(reason)), "{reason:?}");
        }
        assert!(ids.contains(&UNUSED_ALLOW));
        assert_eq!(rule(Reason::Builtin(Category::Fs)), "fs");
        assert_eq!(rule(Reason::User), "blocking-list");
    }

    #[test]
    fn notes_say_possible_and_test_code() {
        let mut f = finding(true);
        assert_eq!(notes(&f).len(), 2);
        assert!(notes(&f)[1].0);
        f.certain = false;
        f.test = true;
        let n = notes(&f);
        assert_eq!(n.len(), 4);
        assert!(n[2].1.starts_with("possible"));
        assert_eq!(n[3], (false, "in test code".to_owned()));
    }

    /// A target for the report's origins.
    fn spec() -> TargetSpec {
        TargetSpec {
            name: "a".into(),
            src_path: "/ws/src/lib.rs".into(),
            is_lib: true,
            test: false,
            features: Vec::new(),
            deps: Vec::new(),
            package_id: cargo_metadata::PackageId {
                repr: "path+file:///ws#a@0.1.0".into(),
            },
            manifest_path: "/ws/Cargo.toml".into(),
            exclude_tests: false,
            target: serde_json::from_value(serde_json::json!({
                "name": "a", "kind": ["lib"], "crate_types": ["lib"],
                "src_path": "/ws/src/lib.rs", "edition": "2021"
            }))
            .unwrap(),
        }
    }

    /// Every format, for `findings` in files that do not exist.
    fn render_all(findings: &[Finding]) -> Vec<(Format, String)> {
        let spec = spec();
        let origins = HashMap::new();
        let report = Report {
            findings,
            stale: &[],
            root: Path::new("/nonexistent"),
            origins: &origins,
            fallback: &spec,
            color: false,
            quiet: false,
            possible: true,
        };
        [
            Format::Human,
            Format::Json,
            Format::CargoJson,
            Format::Sarif,
            Format::Github,
        ]
        .into_iter()
        .map(|f| (f, report.render(f)))
        .collect()
    }

    #[test]
    fn every_category_s_help_line_is_in_every_format() {
        for category in Category::ALL {
            let callee = crate::known::BUILTIN
                .iter()
                .find(|(_, c)| *c == category)
                .map(|(p, _)| p.trim_end_matches("::*").to_owned())
                .unwrap();
            let f = Finding {
                callee: callee.clone(),
                reason: Reason::Builtin(category),
                ..finding(true)
            };
            let help = suggestion(&callee, f.reason);
            assert!(!help.is_empty());
            for (format, out) in render_all(&[f]) {
                let expected = match format {
                    Format::Human => format!("= help: {help}\n"),
                    Format::Github => format!("%0Ahelp: {help}"),
                    Format::Sarif => {
                        let log: serde_json::Value = serde_json::from_str(&out).unwrap();
                        let rules = &log["runs"][0]["tool"]["driver"]["rules"];
                        let rule = rules
                            .as_array()
                            .unwrap()
                            .iter()
                            .find(|r| r["id"] == category.name())
                            .unwrap();
                        assert_eq!(rule["help"]["text"], category.help());
                        serde_json::to_string(&format!("\nhelp: {help}"))
                            .unwrap()
                            .trim_matches('"')
                            .to_owned()
                    }
                    _ => serde_json::to_string(&help).unwrap(),
                };
                assert!(
                    out.contains(&expected),
                    "{category:?} in {format:?}: {expected} not in {out}"
                );
            }
        }
    }

    #[test]
    fn the_help_lines_say_what_to_write_instead() {
        let help = |callee: &str, category| suggestion(callee, Reason::Builtin(category));
        assert_eq!(
            help("std::thread::sleep", Category::Sleep),
            "use `tokio::time::sleep(..).await`"
        );
        assert_eq!(
            help("std::fs::read", Category::Fs),
            "use `tokio::fs::read(..).await`"
        );
        assert!(help("reqwest::blocking::get", Category::Http).contains("reqwest::Client"));
        assert!(help("r2d2::Pool::get", Category::Db).contains("spawn_blocking"));
        assert!(
            help("tokio::runtime::Handle::block_on", Category::RuntimeBlockOn)
                .starts_with("`.await` the future")
        );
        assert!(suggestion("app::Repo::find", Reason::Marked).contains("sync_to_async"));
    }

    #[test]
    fn a_file_that_cannot_be_read_is_still_located() {
        let out = render_all(&[finding(false)]);
        assert!(out[0].1.contains("--> src/a.rs:3:5\n"), "{}", out[0].1);
        assert!(out[0].1.contains("= note: possible"), "{}", out[0].1);
        let record: serde_json::Value =
            serde_json::from_str(out[2].1.lines().next().unwrap()).unwrap();
        assert_eq!(record["package_id"], "path+file:///ws#a@0.1.0");
        assert_eq!(record["message"]["spans"][0]["line_start"], 3);
        assert_eq!(record["message"]["spans"][0]["column_end"], 16);
    }
}
