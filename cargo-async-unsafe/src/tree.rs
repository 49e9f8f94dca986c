//! Crates → files: the module tree of every crate to check, read breadth
//! first from its root, each level's files parsed in parallel; and the
//! dependencies' files that mention `async_unsafe` (the others cannot mark
//! anything), placed in the module their path implies.
//!
//! Limits: in a dependency, `#[path]` and inline `mod` re-rooting are not
//! followed (its module path comes from the file's path), and directories
//! named `tests`, `benches`, `examples` or `target` are not read.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::parse::{FileError, ModuleIr, ParsedFile, parse_file};
use crate::workspace::Workspace;

/// One crate's parsed modules.
#[derive(Debug)]
pub(crate) struct Crate {
    /// The crate name code uses.
    pub(crate) name: String,
    /// A crate to check (else a dependency, read for its marks only).
    pub(crate) checked: bool,
    /// A library (other crates may name it).
    pub(crate) is_lib: bool,
    /// Test code as a whole: a `tests/` or `benches/` target.
    pub(crate) test: bool,
    /// The package's features that are on (empty for dependencies).
    pub(crate) features: Vec<String>,
    /// Dependencies renamed in `Cargo.toml` (`foo = { package = "bar" }`):
    /// the name code uses, and the library's own name.
    pub(crate) renames: Vec<(String, String)>,
    /// Files, as reported: relative to the workspace root when under it.
    pub(crate) files: Vec<String>,
    pub(crate) modules: Vec<ModuleIr>,
}

/// Everything read, and the files that were skipped.
pub(crate) struct Loaded {
    pub(crate) crates: Vec<Crate>,
    /// Files of checked crates that could not be read or parsed.
    pub(crate) errors: Vec<FileError>,
    /// Dependency files skipped, and `mod` declarations with no file.
    pub(crate) warnings: Vec<String>,
    /// How many files were parsed.
    pub(crate) files_parsed: usize,
}

struct Job {
    krate: usize,
    path: PathBuf,
    module: Vec<String>,
    child_dir: PathBuf,
    /// Dependency file: parse only if it mentions `async_unsafe`.
    marks_only: bool,
}

fn display(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn root_job(krate: usize, src: &Path) -> Job {
    Job {
        krate,
        path: src.to_owned(),
        module: Vec::new(),
        child_dir: src.parent().unwrap_or(Path::new("")).to_owned(),
        marks_only: false,
    }
}

/// The child directory of a non-root file `a/b.rs` is `a/b`; of `mod.rs`, its own.
fn child_dir_of(file: &Path) -> PathBuf {
    let dir = file.parent().unwrap_or(Path::new(""));
    match file.file_stem().and_then(|s| s.to_str()) {
        Some("mod") | None => dir.to_owned(),
        Some(stem) => dir.join(stem),
    }
}

/// Every `.rs` file under `dir`, with the module path its location implies.
fn dep_files(dir: &Path, module: Vec<String>, out: &mut Vec<(PathBuf, Vec<String>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if path.is_dir() {
            if name.starts_with('.') || matches!(name, "target" | "tests" | "benches" | "examples")
            {
                continue;
            }
            let mut sub = module.clone();
            sub.push(name.to_owned());
            dep_files(&path, sub, out);
        } else if let Some(stem) = name.strip_suffix(".rs") {
            let mut m = module.clone();
            if !matches!(stem, "mod" | "lib" | "main") {
                m.push(stem.to_owned());
            }
            out.push((path, m));
        }
    }
}

/// Reads every crate of `ws` on `threads` threads (default: one per core).
pub(crate) fn load(ws: &Workspace, threads: Option<usize>) -> Loaded {
    let mut crates = Vec::new();
    let mut jobs = Vec::new();
    for t in &ws.targets {
        jobs.push(root_job(crates.len(), &t.src_path));
        crates.push(Crate {
            name: t.name.clone(),
            checked: true,
            is_lib: t.is_lib,
            test: t.test,
            features: t.features.clone(),
            renames: t
                .deps
                .iter()
                .filter(|(code, lib)| code != lib)
                .cloned()
                .collect(),
            files: Vec::new(),
            modules: Vec::new(),
        });
    }
    for d in &ws.deps {
        let mut files = Vec::new();
        if let Some(dir) = d.src_path.parent() {
            dep_files(dir, Vec::new(), &mut files);
        }
        for (path, module) in files {
            jobs.push(Job {
                krate: crates.len(),
                child_dir: child_dir_of(&path),
                path,
                module,
                marks_only: true,
            });
        }
        crates.push(Crate {
            name: d.name.clone(),
            checked: false,
            is_lib: true,
            test: false,
            features: Vec::new(),
            renames: Vec::new(),
            files: Vec::new(),
            modules: Vec::new(),
        });
    }

    let threads = threads
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1);
    let mut loaded = Loaded {
        crates,
        errors: Vec::new(),
        warnings: Vec::new(),
        files_parsed: 0,
    };
    while !jobs.is_empty() {
        let results = parse_level(&jobs, &loaded.crates, threads);
        let mut next = Vec::new();
        for (job, result) in jobs.into_iter().zip(results) {
            let krate = &mut loaded.crates[job.krate];
            match result {
                Ok(None) => {}
                Ok(Some((file_index, parsed))) => {
                    loaded.files_parsed += 1;
                    krate.files.push(display(&ws.root, &job.path));
                    debug_assert_eq!(krate.files.len() - 1, file_index);
                    let ParsedFile { modules, pending } = parsed;
                    krate.modules.extend(modules);
                    if job.marks_only {
                        continue;
                    }
                    for (module, candidates, gated) in pending {
                        match candidates.iter().find(|c| c.is_file()) {
                            // `a/b.rs` keeps its submodules in `a/b/`, as
                            // `a/b/mod.rs` does (the 2018 layout).
                            Some(path) => next.push(Job {
                                krate: job.krate,
                                child_dir: child_dir_of(path),
                                path: path.clone(),
                                module,
                                marks_only: false,
                            }),
                            // A module a `cfg` may leave out need not exist.
                            None if gated => loaded.warnings.push(format!(
                                "{}; it is behind a `cfg`, so it is taken as compiled out",
                                no_file(&ws.root, &module, &krate.name, &candidates)
                            )),
                            None => loaded.errors.push(FileError {
                                path: candidates.first().map_or_else(PathBuf::new, |c| {
                                    PathBuf::from(display(&ws.root, c))
                                }),
                                line: 0,
                                column: 0,
                                message: no_file(&ws.root, &module, &krate.name, &candidates),
                            }),
                        }
                    }
                }
                Err(err) if job.marks_only => loaded.warnings.push(format!(
                    "skipped dependency file {}:{}:{}: {}",
                    display(&ws.root, &err.path),
                    err.line,
                    err.column,
                    err.message
                )),
                Err(err) => loaded.errors.push(FileError {
                    path: PathBuf::from(display(&ws.root, &err.path)),
                    ..err
                }),
            }
        }
        jobs = next;
    }
    loaded
}

/// What a `mod` declaration whose file is missing is told as.
fn no_file(root: &Path, module: &[String], krate: &str, candidates: &[PathBuf]) -> String {
    let looked: Vec<String> = candidates.iter().map(|c| display(root, c)).collect();
    format!(
        "module `{}` of `{krate}` has no file (looked for {})",
        module.join("::"),
        looked.join(", ")
    )
}

/// A dependency file that marks nothing still matters for its re-exports
/// (`pub use r2d2::*;` makes `diesel::r2d2::Pool` be `r2d2::Pool`), its
/// modules, `extern crate`s and public type aliases: this keeps those statements, each
/// from its keyword to its `;`, and drops the rest, so the file is parsed at
/// a fraction of its size. Statements are lifted out of inline modules and
/// `cfg`s (a small imprecision); `None` when there are none.
fn reexports_only(text: &str) -> Option<String> {
    const STARTS: [&str; 5] = ["pub use ", "pub mod ", "pub type ", "mod ", "extern crate "];
    let mut out = String::new();
    let mut offset = 0;
    // One pass over the lines: only a line that starts with a keyword (after
    // indentation) can begin a statement we keep.
    for line in text.split_inclusive('\n') {
        let here = offset;
        offset += line.len();
        let trimmed = line.trim_start();
        let Some(start) = STARTS.iter().find(|s| trimmed.starts_with(**s)) else {
            continue;
        };
        let begin = here + (line.len() - trimmed.len());
        let rest = &text[begin..];
        let Some(len) = rest.find([';', '{']) else {
            continue;
        };
        if rest.as_bytes()[len] == b'{' && *start != "pub use " {
            // An inline module or a generic alias with a body: not ours.
            continue;
        }
        let Some(end) = rest.find(';') else {
            continue;
        };
        out.push_str(&rest[..=end]);
        out.push('\n');
    }
    (!out.is_empty()).then_some(out)
}

/// Stack size of a parsing thread.
const STACK: usize = 16 << 20;

type JobResult = Result<Option<(usize, ParsedFile)>, FileError>;

/// Parses one level's files on every core. File indexes are assigned in job
/// order, so the result does not depend on scheduling.
fn parse_level(jobs: &[Job], crates: &[Crate], threads: usize) -> Vec<JobResult> {
    // Index each job's file would get if it is kept (parsed).
    let mut counts: Vec<usize> = crates.iter().map(|c| c.files.len()).collect();
    let run = |i: usize, counts: &[usize]| -> JobResult {
        let job = &jobs[i];
        if job.marks_only {
            let text = match std::fs::read_to_string(&job.path) {
                Ok(t) => t,
                Err(_) => return Ok(None),
            };
            if !text.contains("async_unsafe") {
                // Best effort: an extract that does not parse (statements
                // taken from inside a macro_rules!) is left out quietly.
                return Ok(reexports_only(&text).and_then(|reduced| {
                    crate::parse::parse_text(
                        &reduced,
                        &job.path,
                        job.module.clone(),
                        &job.child_dir,
                        counts[i],
                    )
                    .ok()
                    .map(|p| (counts[i], p))
                }));
            }
            crate::parse::parse_text(
                &text,
                &job.path,
                job.module.clone(),
                &job.child_dir,
                counts[i],
            )
            .map(|p| Some((counts[i], p)))
        } else {
            parse_file(&job.path, job.module.clone(), &job.child_dir, counts[i])
                .map(|p| Some((counts[i], p)))
        }
    };
    // File indexes are provisional: a skipped job does not take one, so they
    // are renumbered below in job order.
    let provisional: Vec<usize> = jobs
        .iter()
        .map(|j| {
            let c = &mut counts[j.krate];
            *c += 1;
            *c - 1
        })
        .collect();
    let threads = threads.min(jobs.len());
    let mut results: Vec<JobResult> = if threads <= 1 {
        (0..jobs.len()).map(|i| run(i, &provisional)).collect()
    } else {
        let next = AtomicUsize::new(0);
        let slots: Mutex<Vec<Option<JobResult>>> =
            Mutex::new((0..jobs.len()).map(|_| None).collect());
        std::thread::scope(|s| {
            for _ in 0..threads {
                let work = || {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= jobs.len() {
                            break;
                        }
                        let r = run(i, &provisional);
                        slots.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                    }
                };
                // syn and the visitors recurse with the nesting of the code:
                // give workers the main thread's room. If no thread can be
                // had, the jobs left are done below, on this one.
                let _ = std::thread::Builder::new()
                    .stack_size(STACK)
                    .spawn_scoped(s, work);
            }
        });
        slots
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .into_iter()
            .enumerate()
            // A job no thread took (none could be spawned) is done here.
            .map(|(i, r)| r.unwrap_or_else(|| run(i, &provisional)))
            .collect()
    };
    // Renumber: kept files take consecutive indexes per crate, in job order.
    let mut counts: Vec<usize> = crates.iter().map(|c| c.files.len()).collect();
    for (job, r) in jobs.iter().zip(results.iter_mut()) {
        if let Ok(Some((index, parsed))) = r {
            let fixed = counts[job.krate];
            counts[job.krate] += 1;
            *index = fixed;
            for m in &mut parsed.modules {
                m.file = fixed;
            }
        }
    }
    results
}
