//! `cargo async-unsafe`: finds blocking calls reachable from async code,
//! before the program runs, on stable Rust.
//!
//! The path a run takes, one file each: `main` (the command line, with
//! clap: cargo's flags) → `workspace` (`cargo metadata` through
//! `cargo_metadata`: the selected packages' targets, features, dependencies,
//! the user's lists) → `tree` (module trees, parsed in parallel) → `parse`
//! (files → items and calls) → `cfg` (modules the features compile out,
//! test-only modules) → `resolve` (names → items, receiver types) → `graph`
//! (async roots, call chains, chain breakers, used allowances) with `known`
//! (what blocks, and what to write instead) → `report` (human, json,
//! cargo-json, sarif or github).
//!
//! It is syntactic: it sees what the source says, not what the compiler
//! infers. What it cannot see is listed in each module's docs and in the
//! README (macro expansions, dispatch through generics and trait objects
//! beyond "every impl", method calls on values of unknown type when several
//! impls share the name, functions passed by name, crate renames).
//!
//! Exit status: 0 nothing found, 1 findings (or, with
//! `--warn-unused-allows`, stale allowances), 2 the command line or the
//! input could not be read (or a file of a checked crate could not be parsed
//! and nothing was found in the rest: the check is incomplete).

mod cfg;
mod graph;
mod known;
mod parse;
mod report;
mod resolve;
mod tree;
mod workspace;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

use crate::report::{Format, Report, Stale};
use crate::workspace::{Kinds, Request};

/// Finds blocking calls reachable from async code.
///
/// Exit status: 0 nothing found, 1 findings (or, with --warn-unused-allows,
/// a stale allowance), 2 the input could not be read or the check is
/// incomplete.
#[derive(Debug, Parser)]
#[command(name = "cargo-async-unsafe", bin_name = "cargo async-unsafe", version)]
struct Args {
    /// Path to Cargo.toml [default: the one cargo finds from the current directory]
    #[arg(long, value_name = "PATH", help_heading = "Manifest Options")]
    manifest_path: Option<PathBuf>,
    /// Package to check (repeatable)
    #[arg(
        short,
        long = "package",
        value_name = "SPEC",
        help_heading = "Package Selection"
    )]
    package: Vec<String>,
    /// Check all packages in the workspace
    #[arg(long, alias = "all", help_heading = "Package Selection")]
    workspace: bool,
    /// Exclude packages from the check (with --workspace)
    #[arg(
        long,
        value_name = "SPEC",
        requires = "workspace",
        help_heading = "Package Selection"
    )]
    exclude: Vec<String>,
    /// Check only this package's library
    #[arg(long, help_heading = "Target Selection")]
    lib: bool,
    /// Check all binaries
    #[arg(long, help_heading = "Target Selection")]
    bins: bool,
    /// Check all test targets (`tests/`)
    #[arg(long, help_heading = "Target Selection")]
    tests: bool,
    /// Check all examples
    #[arg(long, help_heading = "Target Selection")]
    examples: bool,
    /// Check all benches
    #[arg(long, help_heading = "Target Selection")]
    benches: bool,
    /// Check all targets (the default when no target is named)
    #[arg(long, help_heading = "Target Selection")]
    all_targets: bool,
    /// Space or comma separated list of features to activate
    #[arg(
        short = 'F',
        long,
        value_name = "FEATURES",
        help_heading = "Feature Selection"
    )]
    features: Vec<String>,
    /// Activate all available features
    #[arg(long, help_heading = "Feature Selection")]
    all_features: bool,
    /// Do not activate the `default` feature
    #[arg(long, help_heading = "Feature Selection")]
    no_default_features: bool,
    /// Leave findings in test code out (`#[test]` functions, `#[cfg(test)]`
    /// modules, tests/ and benches/ targets)
    #[arg(long)]
    exclude_tests: bool,
    /// Report each `// async-unsafe: allow` that silences nothing
    #[arg(long)]
    warn_unused_allows: bool,
    /// Also show findings that are only possible (a method call on a value
    /// of unknown type, or a closure given to an unknown function, on the
    /// way): the human format counts them otherwise; the machine formats
    /// always carry them, with their confidence
    #[arg(long)]
    possible: bool,
    /// Output format
    #[arg(
        long,
        alias = "format",
        value_enum,
        value_name = "FMT",
        default_value_t = Format::Human
    )]
    message_format: Format,
    /// Coloring of the human format
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = Color::Auto)]
    color: Color,
    /// Print findings only: no summary line, no warnings
    #[arg(short, long)]
    quiet: bool,
    /// Run without accessing the network
    #[arg(long, help_heading = "Manifest Options")]
    offline: bool,
    /// Assert that `Cargo.lock` will remain unchanged
    #[arg(long, help_heading = "Manifest Options")]
    locked: bool,
    /// Parse on N threads [default: one per core]
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
}

/// When to colour the human format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Color {
    /// On a terminal, unless NO_COLOR is set
    Auto,
    Always,
    Never,
}

impl Args {
    /// `cargo async-unsafe ...` runs us as `cargo-async-unsafe async-unsafe ...`.
    fn parse_from_env(
        raw: impl IntoIterator<Item = std::ffi::OsString>,
    ) -> Result<Args, clap::Error> {
        let mut raw: Vec<_> = raw.into_iter().collect();
        if raw.get(1).is_some_and(|a| a == "async-unsafe") {
            raw.remove(1);
        }
        Args::try_parse_from(raw)
    }

    fn request(&self) -> Request {
        let all = self.all_targets;
        Request {
            manifest: self.manifest_path.clone(),
            packages: self.package.clone(),
            workspace: self.workspace,
            exclude: self.exclude.clone(),
            kinds: Kinds {
                lib: self.lib || all,
                bins: self.bins || all,
                tests: self.tests || all,
                examples: self.examples || all,
                benches: self.benches || all,
            },
            features: self.features.clone(),
            all_features: self.all_features,
            no_default_features: self.no_default_features,
            offline: self.offline,
            locked: self.locked,
        }
    }

    fn color(&self) -> bool {
        match self.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        }
    }
}

/// The `// async-unsafe: allow` comments of the checked files that silence
/// nothing.
fn stale_allows(
    root: &std::path::Path,
    crates: &[tree::Crate],
    used: &std::collections::HashSet<(String, usize)>,
) -> Vec<Stale> {
    let mut files: Vec<&String> = crates
        .iter()
        .filter(|c| c.checked)
        .flat_map(|c| &c.files)
        .collect();
    files.sort();
    files.dedup();
    let mut out = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(root.join(file)) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        for line in parse::allow_comment_lines(&text) {
            if used.contains(&(file.clone(), line)) {
                continue;
            }
            let source = lines.get(line - 1).copied().unwrap_or("");
            let column = source
                .find("//")
                .map_or(1, |byte| source[..byte].chars().count() + 1);
            out.push(Stale {
                file: file.clone(),
                line,
                column,
            });
        }
    }
    out
}

fn main() -> ExitCode {
    let args = match Args::parse_from_env(std::env::args_os()) {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let ws = match workspace::load(&args.request()) {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut loaded = tree::load(&ws, args.jobs.map(|n| n as usize));
    if !args.quiet {
        for w in ws.warnings.iter().chain(&loaded.warnings) {
            eprintln!("warning: {w}");
        }
    }
    for e in &loaded.errors {
        if e.line == 0 {
            eprintln!("error: {}: {}; skipped", e.path.display(), e.message);
        } else {
            eprintln!(
                "error: could not parse {}:{}:{}: {}; file skipped",
                e.path.display(),
                e.line,
                e.column,
                e.message
            );
        }
    }
    cfg::drop_compiled_out(&mut loaded.crates);
    let program = resolve::Program::new(&loaded.crates);
    let lists = known::Lists::new(ws.lists.clone());
    let mut findings = graph::find(&program, &lists);
    let stale = if args.warn_unused_allows {
        stale_allows(
            &ws.root,
            &loaded.crates,
            &graph::used_allows(&program, &lists),
        )
    } else {
        Vec::new()
    };
    // Which target each checked file belongs to (tree::load lists the
    // targets first, in the workspace's order): for cargo-json records
    // and the packages' `tests = false`.
    let mut origins = HashMap::new();
    for (krate, target) in loaded.crates.iter().zip(&ws.targets) {
        for file in &krate.files {
            origins.entry(file.clone()).or_insert(target);
        }
    }
    findings.retain(|f| {
        let excluded = args.exclude_tests || origins.get(&f.file).is_some_and(|t| t.exclude_tests);
        !(f.test && excluded)
    });
    let report = Report {
        findings: &findings,
        stale: &stale,
        root: &ws.root,
        origins: &origins,
        fallback: &ws.targets[0],
        color: args.color(),
        quiet: args.quiet,
        possible: args.possible,
    };
    print!("{}", report.render(args.message_format));
    // An incomplete check says so whatever it found; with findings the
    // status is still 1 (they are real), without them 2 (nothing is proven).
    if !loaded.errors.is_empty() {
        eprintln!(
            "error: the check is incomplete: {} file(s) or module(s) skipped",
            loaded.errors.len()
        );
    }
    // Findings the user is shown make the status 1: possible ones only
    // with `--possible` (the machine formats carry them either way).
    let shown = findings.iter().any(|f| f.certain || args.possible);
    if shown || !stale.is_empty() {
        ExitCode::from(1)
    } else if !loaded.errors.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, clap::Error> {
        let mut raw = vec!["cargo-async-unsafe"];
        raw.extend_from_slice(list);
        Args::parse_from_env(raw.into_iter().map(Into::into))
    }

    #[test]
    fn arguments_as_cargo_passes_them() {
        let a = args(&[
            "async-unsafe",
            "--manifest-path",
            "x/Cargo.toml",
            "--format=json",
        ])
        .unwrap();
        assert_eq!(a.manifest_path, Some(PathBuf::from("x/Cargo.toml")));
        assert_eq!(a.message_format, Format::Json);
        for (flag, format) in [
            ("text", Format::Human),
            ("human", Format::Human),
            ("cargo-json", Format::CargoJson),
            ("sarif", Format::Sarif),
            ("github", Format::Github),
        ] {
            assert_eq!(
                args(&["--message-format", flag]).unwrap().message_format,
                format
            );
        }
        assert_eq!(args(&[]).unwrap().message_format, Format::Human);
        let err = args(&["--format", "xml"]).unwrap_err();
        assert!(err.to_string().contains("xml") && err.use_stderr());
        assert!(!args(&["--help"]).unwrap_err().use_stderr());
        assert!(!args(&["--version"]).unwrap_err().use_stderr());
        assert!(args(&["--manifest-path"]).is_err());
        assert!(
            args(&["--bogus"])
                .unwrap_err()
                .to_string()
                .contains("--bogus")
        );
        assert_eq!(args(&["-j", "3"]).unwrap().jobs, Some(3));
        assert!(args(&["--jobs=0"]).is_err());
        // --exclude only with --workspace, as cargo has it.
        assert!(args(&["--exclude", "a"]).is_err());
    }

    #[test]
    fn cargo_s_flags_become_the_request() {
        let a = args(&[
            "-p",
            "a",
            "--package",
            "b",
            "--workspace",
            "--exclude",
            "c",
            "--lib",
            "--tests",
            "--features",
            "x,y",
            "-F",
            "z",
            "--no-default-features",
            "--offline",
            "--locked",
        ])
        .unwrap();
        let r = a.request();
        assert_eq!(r.packages, ["a", "b"]);
        assert!(r.workspace && r.offline && r.locked && r.no_default_features && !r.all_features);
        assert_eq!(r.exclude, ["c"]);
        assert_eq!(r.features, ["x,y", "z"]);
        let k = Kinds::default();
        assert_eq!(
            r.kinds,
            Kinds {
                lib: true,
                tests: true,
                ..k
            }
        );
        let all = args(&["--all-targets", "--all-features"])
            .unwrap()
            .request();
        assert_eq!(
            all.kinds,
            Kinds {
                lib: true,
                bins: true,
                tests: true,
                examples: true,
                benches: true
            }
        );
        assert!(all.all_features);
        assert_eq!(
            args(&["--bins", "--examples", "--benches"])
                .unwrap()
                .request()
                .kinds,
            Kinds {
                bins: true,
                examples: true,
                benches: true,
                ..k
            }
        );
        assert_eq!(args(&[]).unwrap().request().kinds, k);
    }

    #[test]
    fn colour_follows_the_flag() {
        assert!(args(&["--color", "always"]).unwrap().color());
        assert!(!args(&["--color", "never"]).unwrap().color());
        // Test output is captured, not a terminal.
        assert!(!args(&["--color", "auto"]).unwrap().color());
        assert!(args(&["--color", "sometimes"]).is_err());
        let q = args(&["-q", "--exclude-tests", "--warn-unused-allows"]).unwrap();
        assert!(q.quiet && q.exclude_tests && q.warn_unused_allows);
    }
}
