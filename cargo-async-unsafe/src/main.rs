//! `cargo async-unsafe`: finds blocking calls reachable from async code,
//! before the program runs, on stable Rust.
//!
//! The path a run takes, one file each: `workspace` (cargo metadata: crates,
//! dependencies, the user's lists) → `tree` (module trees, parsed in
//! parallel) → `parse` (files → items and calls) → `resolve` (names → items,
//! receiver types) → `graph` (async roots, call chains, chain breakers) with
//! `known` (what blocks) → `report` (rustc-style text or JSON lines).
//!
//! It is syntactic: it sees what the source says, not what the compiler
//! infers. What it cannot see is listed in each module's docs and in the
//! README (macro expansions, dispatch through generics and trait objects
//! beyond "every impl", method calls on values of unknown type when several
//! impls share the name, functions passed by name, crate renames).
//!
//! Exit status: 0 nothing found, 1 findings, 2 the input could not be read
//! (or a file of a checked crate could not be parsed and nothing was found in
//! the rest: the check is incomplete).

mod graph;
mod known;
mod parse;
mod report;
mod resolve;
mod tree;
mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
Finds blocking calls reachable from async code.

Usage: cargo async-unsafe [OPTIONS]

Options:
      --manifest-path <PATH>  Cargo.toml of the package or workspace to check
                              [default: the one cargo finds from the current directory]
      --workspace             Check every workspace member, not only the selected package
      --format <text|json>    Output format [default: text]
      --offline               Pass --offline to cargo metadata
  -j, --jobs <N>              Parse on N threads [default: one per core]
  -h, --help                  Print this help

Exit status: 0 nothing found, 1 findings, 2 the input could not be read.
";

#[derive(Debug, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

#[derive(Debug)]
struct Args {
    manifest: Option<PathBuf>,
    workspace: bool,
    format: Format,
    offline: bool,
    jobs: Option<usize>,
}

fn parse_args(mut raw: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args {
        manifest: None,
        workspace: false,
        format: Format::Text,
        offline: false,
        jobs: None,
    };
    let mut first = true;
    while let Some(arg) = raw.next() {
        // `cargo async-unsafe ...` runs us as `cargo-async-unsafe async-unsafe ...`.
        if std::mem::take(&mut first) && arg == "async-unsafe" {
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| raw.next())
                .ok_or_else(|| format!("`{what}` needs a value"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--manifest-path" => args.manifest = Some(PathBuf::from(value("--manifest-path")?)),
            "--format" => {
                args.format = match value("--format")?.as_str() {
                    "text" => Format::Text,
                    "json" => Format::Json,
                    other => return Err(format!("unknown format `{other}` (text or json)")),
                }
            }
            "--workspace" => args.workspace = true,
            "--offline" => args.offline = true,
            "-j" | "--jobs" => {
                let v = value("--jobs")?;
                match v.parse::<usize>() {
                    Ok(n) if n > 0 => args.jobs = Some(n),
                    _ => return Err(format!("`--jobs` needs a positive number, not `{v}`")),
                }
            }
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    Ok(Some(args))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let ws = match workspace::load(args.manifest.as_deref(), args.workspace, args.offline) {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let loaded = tree::load(&ws, args.jobs);
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
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
    let program = resolve::Program::new(&loaded.crates);
    let lists = known::Lists::new(ws.lists.clone());
    let findings = graph::find(&program, &lists);
    match args.format {
        Format::Text => print!("{}", report::text(&findings)),
        Format::Json => print!("{}", report::json(&findings)),
    }
    // An incomplete check says so whatever it found; with findings the
    // status is still 1 (they are real), without them 2 (nothing is proven).
    if !loaded.errors.is_empty() {
        eprintln!(
            "error: the check is incomplete: {} file(s) or module(s) skipped",
            loaded.errors.len()
        );
    }
    if !findings.is_empty() {
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

    fn args(list: &[&str]) -> Result<Option<Args>, String> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn arguments_as_cargo_passes_them() {
        let a = args(&[
            "async-unsafe",
            "--manifest-path",
            "x/Cargo.toml",
            "--format=json",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(a.manifest, Some(PathBuf::from("x/Cargo.toml")));
        assert_eq!(a.format, Format::Json);
        assert!(args(&["--help"]).unwrap().is_none());
        assert!(args(&["--format", "xml"]).unwrap_err().contains("xml"));
        assert!(
            args(&["--manifest-path"])
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(args(&["--bogus"]).unwrap_err().contains("--bogus"));
        assert_eq!(args(&["-j", "3"]).unwrap().unwrap().jobs, Some(3));
        assert!(args(&["--jobs=0"]).unwrap_err().contains("positive"));
    }
}
