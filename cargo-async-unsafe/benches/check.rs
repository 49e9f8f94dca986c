//! A full check of a generated 50 000-line workspace: `cargo metadata`,
//! reading and parsing every module, resolving, walking the call graph,
//! printing JSON. The target is at most 2 s.
//!
//! `cargo bench -p cargo-async-unsafe --bench check`

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};

const BIN: &str = env!("CARGO_BIN_EXE_cargo-async-unsafe");
const MODULES: usize = 200;
const FNS_PER_MODULE: usize = 12;
/// Every this many modules, one handler calls the repository directly.
const WRONG_EVERY: usize = 10;

/// One module: a marked repository, a helper type, and chains of helpers
/// called from handlers that mostly use `sync_to_async` correctly.
fn module(i: usize) -> String {
    let next = (i + 1) % MODULES;
    let mut s = format!(
        "//! Generated module {i}.\n\
         use std::sync::Arc;\n\n\
         use async_unsafe_runtime::{{async_unsafe, sync_to_async}};\n\
         use crate::m{next}::Helper{next};\n\n\
         pub struct Repo{i} {{\n    pub conn: u32,\n}}\n\n\
         #[async_unsafe]\n\
         impl Repo{i} {{\n    pub fn load_{i}(&self, id: u32) -> u32 {{\n        id + self.conn\n    }}\n}}\n\n\
         pub struct Helper{i};\n\n\
         impl Helper{i} {{\n    pub fn assist_{i}(&self, x: u32) -> u32 {{\n        x * 2\n    }}\n}}\n\n"
    );
    for k in 0..FNS_PER_MODULE {
        let call_next = if k + 1 < FNS_PER_MODULE {
            format!("helper_{i}_{}(repo, z)", k + 1)
        } else {
            format!("Helper{next}.assist_{next}(z)")
        };
        let _ = write!(
            s,
            "pub fn helper_{i}_{k}(repo: &Repo{i}, x: u32) -> u32 {{\n    \
                 let y = x + {k};\n    \
                 let z = y.wrapping_mul(2);\n    \
                 if z > 10 {{\n        {call_next}\n    }} else {{\n        z + repo.conn\n    }}\n}}\n\n\
             pub async fn handler_{i}_{k}(repo: Arc<Repo{i}>) -> u32 {{\n    \
                 let r = repo.clone();\n    \
                 let a = sync_to_async(move || r.load_{i}(1)).await;\n    \
                 let b = helper_{i}_{k}(&repo, a);\n    \
                 let v: Vec<u32> = (0..b).map(|n| n + 1).collect();\n    \
                 println!(\"{{}}\", v.len());\n    \
                 b\n}}\n\n"
        );
    }
    if i % WRONG_EVERY == 0 {
        let _ = write!(
            s,
            "pub async fn wrong_{i}(repo: Arc<Repo{i}>) -> u32 {{\n    repo.load_{i}(2)\n}}\n"
        );
    }
    s
}

/// Writes the workspace; returns its manifest and its line count.
fn generate(dir: &Path) -> (PathBuf, usize) {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let manifest = dir.join("Cargo.toml");
    std::fs::write(
        &manifest,
        "[package]\nname = \"big\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    let mut lib = String::new();
    let mut lines = 0;
    for i in 0..MODULES {
        let _ = writeln!(lib, "pub mod m{i};");
        let text = module(i);
        lines += text.lines().count();
        std::fs::write(src.join(format!("m{i}.rs")), text).unwrap();
    }
    lines += lib.lines().count();
    std::fs::write(src.join("lib.rs"), lib).unwrap();
    (manifest, lines)
}

fn check(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("cargo-async-unsafe-bench-{}", std::process::id()));
    let (manifest, lines) = generate(&dir);
    assert!(lines >= 50_000, "generated only {lines} lines");
    println!(
        "generated workspace: {lines} lines in {} files",
        MODULES + 1
    );
    let run = |jobs: Option<&str>| {
        let mut cmd = Command::new(BIN);
        if let Some(jobs) = jobs {
            cmd.args(["--jobs", jobs]);
        }
        let out = cmd
            .args(["--offline", "--format", "json", "--manifest-path"])
            .arg(&manifest)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let found = run(None)
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert_eq!(
        found,
        MODULES.div_ceil(WRONG_EVERY),
        "one finding per wrong handler"
    );
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    // One thread per core, and its single-threaded twin in the same run.
    group.bench_function("generated_50k_lines", |b| b.iter(|| run(None)));
    group.bench_function("generated_50k_lines_one_thread", |b| {
        b.iter(|| run(Some("1")))
    });
    group.finish();
    std::fs::remove_dir_all(&dir).unwrap();
}

criterion_group!(benches, check);
criterion_main!(benches);
