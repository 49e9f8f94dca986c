//! What to check, from `cargo metadata` (read with the `cargo_metadata`
//! crate): the crates (targets) of the selected packages, each with the
//! features cargo resolved and the names its code gives its dependencies, the
//! dependencies' library sources, and the user's lists from
//! `[package.metadata.async-unsafe]` and `[workspace.metadata.async-unsafe]`.
//!
//! Selection follows cargo: `-p NAME` (repeatable) selects those workspace
//! members; `--workspace` every member but the `--exclude`d ones; else the
//! default members cargo reports: the package of the manifest given (or of
//! the current directory), or for a virtual manifest its `default-members`,
//! else every member.
//! Of each selected package every target is checked (library, binaries,
//! tests, examples, benches; not build scripts) unless `--lib`, `--bins`,
//! `--tests`, `--examples`, `--benches` narrow it; a target whose
//! `required-features` are not all on is left out, as cargo would. Every other
//! package in the metadata is a dependency: only its library is scanned, for
//! `#[async_unsafe]`.
//!
//! Dependencies are named as the code names them: a renamed dependency
//! (`foo = { package = "bar" }`) is `foo` in the code of the package that
//! renames it (cargo's resolve graph says so). Tests, examples and benches see
//! the dev-dependencies and their package's library too.
//!
//! When `cargo metadata` cannot resolve the dependencies (a git dependency
//! with no network, a registry that cannot be reached offline), the check runs
//! on `cargo metadata --no-deps` with a warning: the dependencies are then
//! known by their declared names only and their marks are not read.

use std::path::PathBuf;

use cargo_metadata::{
    CargoOpt, DependencyKind, Metadata, MetadataCommand, Package, PackageId, TargetKind,
};
use serde_json::Value;

use crate::known::Category;

/// Which targets of the selected packages to check (none set: all of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Kinds {
    pub(crate) lib: bool,
    pub(crate) bins: bool,
    pub(crate) tests: bool,
    pub(crate) examples: bool,
    pub(crate) benches: bool,
}

/// What the user asked cargo for: the package selection, targets, features
/// and cargo's own options.
#[derive(Debug, Clone, Default)]
pub(crate) struct Request {
    pub(crate) manifest: Option<PathBuf>,
    pub(crate) packages: Vec<String>,
    pub(crate) workspace: bool,
    pub(crate) exclude: Vec<String>,
    pub(crate) kinds: Kinds,
    pub(crate) features: Vec<String>,
    pub(crate) all_features: bool,
    pub(crate) no_default_features: bool,
    pub(crate) offline: bool,
    pub(crate) locked: bool,
}

/// One crate to parse: a target of a selected package.
#[derive(Debug, Clone)]
pub(crate) struct TargetSpec {
    /// The crate name as code spells it (`-` replaced by `_`).
    pub(crate) name: String,
    /// The crate root file.
    pub(crate) src_path: PathBuf,
    /// Whether this is a library target (other crates may name it).
    pub(crate) is_lib: bool,
    /// A `tests/` or `benches/` target: all of it is test code.
    pub(crate) test: bool,
    /// The package's features that are on.
    pub(crate) features: Vec<String>,
    /// The crates its code can name: (name in code, the dependency's library
    /// name), renames followed.
    pub(crate) deps: Vec<(String, String)>,
    /// The package, as cargo identifies it (for `cargo-json` records).
    pub(crate) package_id: PackageId,
    /// The package's manifest.
    pub(crate) manifest_path: PathBuf,
    /// `tests = false` in the package's (or the workspace's) metadata table:
    /// findings in its test code are left out.
    pub(crate) exclude_tests: bool,
    /// The target as cargo describes it (for `cargo-json` records).
    pub(crate) target: cargo_metadata::Target,
}
/// A dependency's library: scanned for marked items only.
#[derive(Debug, Clone)]
pub(crate) struct DepSpec {
    /// The crate name as code spells it.
    pub(crate) name: String,
    /// The library's root file.
    pub(crate) src_path: PathBuf,
}

/// The user's additions to the built-in list.
#[derive(Debug, Clone, Default)]
pub(crate) struct UserLists {
    /// Paths (`a::b::c`, or a prefix ending in `::*`) that block.
    pub(crate) blocking: Vec<String>,
    /// Paths that must never be reported, nor followed.
    pub(crate) allow: Vec<String>,
    /// Built-in categories that are off by default, turned on.
    pub(crate) enable: Vec<Category>,
    /// Functions that run the closures or functions handed to them off the
    /// event loop (paths, `*::name` or `prefix::*`).
    pub(crate) breakers: Vec<String>,
    /// `tests = false` in the workspace's table: leave findings in test code
    /// out (a package's own `tests` is on its [`TargetSpec`]).
    pub(crate) exclude_tests: bool,
}

/// Everything `cargo metadata` told us.
#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    /// The workspace root: reported paths are relative to it.
    pub(crate) root: PathBuf,
    /// The crates to check.
    pub(crate) targets: Vec<TargetSpec>,
    /// The dependencies' libraries.
    pub(crate) deps: Vec<DepSpec>,
    /// The user's lists, package and workspace tables merged.
    pub(crate) lists: UserLists,
    /// Things the user should know (a fallback to `--no-deps`, an
    /// `--exclude` that names no member).
    pub(crate) warnings: Vec<String>,
}

/// Runs `cargo metadata` as `request` says and reads the answer.
///
/// Errors are complete sentences for the user (exit status 2).
pub(crate) fn load(request: &Request) -> Result<Workspace, String> {
    if let Some(manifest) = &request.manifest {
        if !manifest.is_file() {
            return Err(format!(
                "could not read manifest `{}`: no such file",
                manifest.display()
            ));
        }
    }
    let mut cmd = MetadataCommand::new();
    if let Some(manifest) = &request.manifest {
        cmd.manifest_path(manifest);
    }
    if !request.features.is_empty() {
        cmd.features(CargoOpt::SomeFeatures(request.features.clone()));
    }
    if request.all_features {
        cmd.features(CargoOpt::AllFeatures);
    }
    if request.no_default_features {
        cmd.features(CargoOpt::NoDefaultFeatures);
    }
    let mut options = Vec::new();
    if request.offline {
        options.push("--offline".to_owned());
    }
    if request.locked {
        options.push("--locked".to_owned());
    }
    cmd.other_options(options);
    let mut warnings = Vec::new();
    let meta = match cmd.exec() {
        Ok(meta) => meta,
        Err(cargo_metadata::Error::CargoMetadata { stderr }) => {
            let fallback = if may_fall_back(request.locked, &stderr) {
                cmd.no_deps().exec().ok()
            } else {
                None
            };
            match fallback {
                Some(meta) => {
                    warnings.push(format!(
                        "`cargo metadata` could not resolve the dependencies ({}); checking \
                         with `--no-deps`: dependencies are known by their declared names and \
                         their `#[async_unsafe]` marks are not read",
                        cause(&stderr)
                    ));
                    meta
                }
                None => {
                    return Err(format!("`cargo metadata` failed:\n{}", stderr.trim_end()));
                }
            }
        }
        Err(e) => return Err(format!("could not run `cargo metadata`: {e}")),
    };
    let mut ws = from_metadata(&meta, request)?;
    warnings.append(&mut ws.warnings);
    ws.warnings = warnings;
    Ok(ws)
}

/// Whether to try `--no-deps` after `cargo metadata` failed with `stderr`:
/// not when `--locked` is what refused (the user asked for that check).
fn may_fall_back(locked: bool, stderr: &str) -> bool {
    !(locked && stderr.contains("--locked"))
}

/// The first `error:` line of cargo's message, or its first line.
fn cause(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let first = lines
        .iter()
        .find(|l| l.starts_with("error"))
        .or(lines.first())
        .copied()
        .unwrap_or("no message");
    // The cause cargo gives under "Caused by:" names what failed to fetch.
    match lines.iter().position(|l| *l == "Caused by:") {
        Some(i) if i + 1 < lines.len() => format!("{first} caused by: {}", lines[i + 1]),
        _ => first.to_owned(),
    }
}

fn is_lib_kind(k: &TargetKind) -> bool {
    matches!(
        k,
        TargetKind::Lib
            | TargetKind::RLib
            | TargetKind::DyLib
            | TargetKind::CDyLib
            | TargetKind::StaticLib
            | TargetKind::ProcMacro
    )
}

fn lib_name(package: &Package) -> Option<String> {
    package
        .targets
        .iter()
        .find(|t| t.kind.iter().any(is_lib_kind))
        .map(|t| t.name.replace('-', "_"))
}

/// Whether `kinds` asks for a target of these kinds.
fn wanted(kinds: Kinds, target: &[TargetKind]) -> bool {
    if kinds == Kinds::default() {
        return true;
    }
    target.iter().any(|k| match k {
        TargetKind::Bin => kinds.bins,
        TargetKind::Test => kinds.tests,
        TargetKind::Example => kinds.examples,
        TargetKind::Bench => kinds.benches,
        k => is_lib_kind(k) && kinds.lib,
    })
}

/// The packages to check, as indices into `meta.packages`.
fn select(
    meta: &Metadata,
    request: &Request,
    warnings: &mut Vec<String>,
) -> Result<Vec<usize>, String> {
    let members: Vec<usize> = meta
        .packages
        .iter()
        .enumerate()
        .filter(|(_, p)| meta.workspace_members.contains(&p.id))
        .map(|(i, _)| i)
        .collect();
    let name = |i: &usize| meta.packages[*i].name.as_str();
    if !request.packages.is_empty() {
        let mut out = Vec::new();
        for wanted in &request.packages {
            match members.iter().find(|i| name(i) == wanted) {
                Some(i) => out.push(*i),
                None => {
                    let names: Vec<&str> = members.iter().map(name).collect();
                    return Err(format!(
                        "package `{wanted}` not found in workspace (members: {})",
                        names.join(", ")
                    ));
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        return Ok(out);
    }
    if request.workspace {
        for excluded in &request.exclude {
            if !members.iter().any(|i| name(i) == excluded) {
                warnings.push(format!(
                    "excluded package `{excluded}` not found in workspace"
                ));
            }
        }
        return Ok(members
            .into_iter()
            .filter(|i| !request.exclude.iter().any(|e| e == name(i)))
            .collect());
    }
    // Cargo's own default: the package of the manifest (or of the current
    // directory), else the workspace's `default-members`, else every member.
    if meta.workspace_default_members.is_available() {
        let defaults: &[PackageId] = &meta.workspace_default_members;
        return Ok(members
            .into_iter()
            .filter(|i| defaults.contains(&meta.packages[*i].id))
            .collect());
    }
    // Cargo before 1.71 does not say: the resolve graph's root, if any.
    let root = meta.resolve.as_ref().and_then(|r| r.root.as_ref());
    if let Some(i) = members
        .iter()
        .find(|i| Some(&meta.packages[**i].id) == root)
    {
        return Ok(vec![*i]);
    }
    Ok(members)
}

/// The features on in `package`: cargo's resolve says, or (with
/// `--no-deps`) the request expanded through the package's feature table.
fn features_of(meta: &Metadata, package: &Package, request: &Request) -> Vec<String> {
    if let Some(resolve) = &meta.resolve {
        if let Some(node) = resolve.nodes.iter().find(|n| n.id == package.id) {
            return node.features.iter().map(|f| f.to_string()).collect();
        }
    }
    let mut on: Vec<String> = Vec::new();
    let mut todo: Vec<String> = if request.all_features {
        package.features.keys().cloned().collect()
    } else {
        let mut asked: Vec<String> = request
            .features
            .iter()
            .flat_map(|f| f.split([',', ' ']))
            .filter_map(|f| match f.split_once('/') {
                Some((pkg, feat)) if pkg == package.name.as_str() => Some(feat.to_owned()),
                Some(_) => None,
                None => Some(f.to_owned()),
            })
            .filter(|f| !f.is_empty())
            .collect();
        if !request.no_default_features {
            asked.push("default".to_owned());
        }
        asked
    };
    while let Some(f) = todo.pop() {
        if on.contains(&f) {
            continue;
        }
        if let Some(implied) = package.features.get(&f) {
            todo.extend(implied.iter().filter(|i| !i.contains([':', '/'])).cloned());
            on.push(f);
        }
    }
    on.sort();
    on
}

/// The crates `package`'s code names: (name in code, library name), with
/// or without its dev-dependencies.
fn deps_of(meta: &Metadata, package: &Package, dev: bool) -> Vec<(String, String)> {
    let kind_ok = |k: DependencyKind| {
        k == DependencyKind::Normal || (dev && k == DependencyKind::Development)
    };
    let mut out = Vec::new();
    let node = meta
        .resolve
        .as_ref()
        .and_then(|r| r.nodes.iter().find(|n| n.id == package.id));
    match node {
        Some(node) => {
            for dep in &node.deps {
                if !dep.dep_kinds.iter().any(|k| kind_ok(k.kind)) {
                    continue;
                }
                let lib = meta
                    .packages
                    .iter()
                    .find(|p| p.id == dep.pkg)
                    .and_then(lib_name);
                if let Some(lib) = lib {
                    out.push((dep.name.replace('-', "_"), lib));
                }
            }
        }
        None => {
            for dep in package.dependencies.iter().filter(|d| kind_ok(d.kind)) {
                let in_code = dep.rename.as_ref().unwrap_or(&dep.name).replace('-', "_");
                let lib = meta
                    .packages
                    .iter()
                    .find(|p| p.name.as_str() == dep.name)
                    .and_then(lib_name)
                    .unwrap_or_else(|| dep.name.replace('-', "_"));
                out.push((in_code, lib));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Reads the metadata.
pub(crate) fn from_metadata(meta: &Metadata, request: &Request) -> Result<Workspace, String> {
    let mut ws = Workspace {
        root: meta.workspace_root.clone().into_std_path_buf(),
        targets: Vec::new(),
        deps: Vec::new(),
        lists: UserLists::default(),
        warnings: Vec::new(),
    };
    if let Some(table) = meta.workspace_metadata.get("async-unsafe") {
        read_lists(table, "[workspace.metadata.async-unsafe]", &mut ws.lists)?;
    }
    let selected = select(meta, request, &mut ws.warnings)?;
    for (i, package) in meta.packages.iter().enumerate() {
        if !selected.contains(&i) {
            if let Some(lib) = package
                .targets
                .iter()
                .find(|t| t.kind.iter().any(is_lib_kind))
            {
                ws.deps.push(DepSpec {
                    name: lib.name.replace('-', "_"),
                    src_path: lib.src_path.clone().into_std_path_buf(),
                });
            }
            continue;
        }
        let mut exclude_tests = ws.lists.exclude_tests;
        if let Some(table) = package.metadata.get("async-unsafe") {
            let origin = format!("[package.metadata.async-unsafe] of `{}`", package.name);
            let workspace_says = ws.lists.exclude_tests;
            read_lists(table, &origin, &mut ws.lists)?;
            // `tests` of a package's table is for that package only.
            exclude_tests = ws.lists.exclude_tests;
            ws.lists.exclude_tests = workspace_says;
        }
        let features = features_of(meta, package, request);
        let own_lib = lib_name(package);
        for target in &package.targets {
            if target.kind.contains(&TargetKind::CustomBuild)
                || !wanted(request.kinds, &target.kind)
                || !target
                    .required_features
                    .iter()
                    .all(|f| features.contains(f))
            {
                continue;
            }
            let is_lib = target.kind.iter().any(is_lib_kind);
            let dev = target.kind.iter().any(|k| {
                matches!(
                    k,
                    TargetKind::Test | TargetKind::Bench | TargetKind::Example
                )
            });
            let mut deps = deps_of(meta, package, dev);
            if let (false, Some(lib)) = (is_lib, &own_lib) {
                deps.push((lib.clone(), lib.clone()));
            }
            ws.targets.push(TargetSpec {
                name: target.name.replace('-', "_"),
                src_path: target.src_path.clone().into_std_path_buf(),
                is_lib,
                test: target
                    .kind
                    .iter()
                    .any(|k| matches!(k, TargetKind::Test | TargetKind::Bench)),
                features: features.clone(),
                deps,
                package_id: package.id.clone(),
                manifest_path: package.manifest_path.clone().into_std_path_buf(),
                exclude_tests,
                target: target.clone(),
            });
        }
    }
    if ws.targets.is_empty() {
        return Err(
            "no target selected: nothing to check (see --lib, --bins, --tests, \
                    --examples, --benches and the targets' required-features)"
                .into(),
        );
    }
    Ok(ws)
}

fn read_lists(table: &Value, origin: &str, lists: &mut UserLists) -> Result<(), String> {
    let Some(obj) = table.as_object() else {
        return Err(format!("{origin} must be a table"));
    };
    for (key, value) in obj {
        let dest = match key.as_str() {
            "blocking" => &mut lists.blocking,
            "allow" => &mut lists.allow,
            "breakers" => &mut lists.breakers,
            "tests" => {
                match value.as_bool() {
                    Some(tests) => lists.exclude_tests = !tests,
                    None => return Err(format!("{origin}: `tests` must be true or false")),
                }
                continue;
            }
            "enable" => {
                for name in strings(value, origin, key)? {
                    let category = Category::from_name(name).ok_or_else(|| {
                        let names: Vec<&str> = Category::ALL.iter().map(|c| c.name()).collect();
                        format!(
                            "{origin}: `enable` names an unknown category `{name}` (one of {})",
                            names.join(", ")
                        )
                    })?;
                    lists.enable.push(category);
                }
                continue;
            }
            other => {
                return Err(format!(
                    "{origin}: unknown key `{other}` (expected `blocking`, `allow`, `breakers`, `enable` or `tests`)"
                ));
            }
        };
        dest.extend(strings(value, origin, key)?.map(str::to_owned));
    }
    Ok(())
}

/// The strings of an array value, or an error naming the key.
fn strings<'v>(
    value: &'v Value,
    origin: &str,
    key: &str,
) -> Result<impl Iterator<Item = &'v str>, String> {
    let Some(items) = value.as_array() else {
        return Err(format!("{origin}: `{key}` must be an array of strings"));
    };
    if let Some(bad) = items.iter().find(|i| !i.is_string()) {
        return Err(format!("{origin}: `{key}` must hold strings, found {bad}"));
    }
    Ok(items.iter().filter_map(Value::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target(name: &str, kind: &str, src: &str) -> Value {
        json!({"name": name, "kind": [kind], "crate_types": [kind], "src_path": src,
               "edition": "2021", "doctest": false, "test": true, "doc": false,
               "required-features": if name == "needs-x" { json!(["x"]) } else { json!([]) }})
    }

    fn package(id: &str, name: &str, metadata: Value, targets: Vec<Value>, deps: Value) -> Value {
        json!({"id": id, "name": name, "version": "0.1.0", "metadata": metadata,
               "targets": targets, "dependencies": deps, "features": {"default": ["x"], "x": [], "y": ["x"]},
               "manifest_path": format!("/ws/{name}/Cargo.toml"), "authors": [],
               "categories": [], "keywords": [], "edition": "2021", "source": null,
               "license": null, "license_file": null, "description": null, "readme": null,
               "repository": null, "homepage": null, "documentation": null, "links": null,
               "publish": null, "default_run": null, "rust_version": null})
    }

    fn meta(metadata: Value, resolve: bool) -> Metadata {
        let renamed = json!([
            {"name": "dep", "rename": "renamed", "kind": null, "req": "^1", "optional": false,
             "uses_default_features": true, "features": [], "target": null, "source": null,
             "registry": null, "path": null},
            {"name": "tester", "rename": null, "kind": "dev", "req": "^1", "optional": false,
             "uses_default_features": true, "features": [], "target": null, "source": null,
             "registry": null, "path": null}
        ]);
        let resolve = if resolve {
            json!({"root": null, "nodes": [
                {"id": "a 0.1.0", "dependencies": ["dep 1.0.0", "tester 1.0.0"], "features": ["x"], "deps": [
                    {"name": "renamed", "pkg": "dep 1.0.0", "dep_kinds": [{"kind": null, "target": null}]},
                    {"name": "tester", "pkg": "tester 1.0.0", "dep_kinds": [{"kind": "dev", "target": null}]}]},
                {"id": "b 0.1.0", "dependencies": [], "features": [], "deps": []}
            ]})
        } else {
            Value::Null
        };
        let mut packages = vec![
            package(
                "a 0.1.0",
                "a-crate",
                metadata,
                vec![
                    target("a-crate", "lib", "/ws/a/src/lib.rs"),
                    target("build-script-build", "custom-build", "/ws/a/build.rs"),
                    target("it", "test", "/ws/a/tests/it.rs"),
                    target("needs-x", "bin", "/ws/a/src/bin/x.rs"),
                    target("demo", "example", "/ws/a/examples/demo.rs"),
                    target("speed", "bench", "/ws/a/benches/speed.rs"),
                ],
                renamed,
            ),
            package(
                "b 0.1.0",
                "b",
                Value::Null,
                vec![target("b", "lib", "/ws/b/src/lib.rs")],
                json!([]),
            ),
        ];
        if resolve.is_object() {
            packages.push(package(
                "dep 1.0.0",
                "dep",
                Value::Null,
                vec![
                    target("dep_lib", "lib", "/reg/dep/src/lib.rs"),
                    target("tool", "bin", "/reg/dep/src/main.rs"),
                ],
                json!([]),
            ));
            packages.push(package(
                "tester 1.0.0",
                "tester",
                Value::Null,
                vec![target("tester", "lib", "/reg/tester/src/lib.rs")],
                json!([]),
            ));
        }
        let m = json!({
            "workspace_root": "/ws",
            "target_directory": "/ws/target",
            "workspace_members": ["a 0.1.0", "b 0.1.0"],
            "workspace_default_members": ["a 0.1.0"],
            "resolve": resolve,
            "packages": packages,
            "metadata": null,
            "version": 1
        });
        serde_json::from_value(m).unwrap()
    }

    fn request() -> Request {
        Request::default()
    }

    fn names(ws: &Workspace) -> Vec<&str> {
        ws.targets.iter().map(|t| &*t.name).collect()
    }

    #[test]
    fn the_default_members_are_selected_and_the_rest_are_dependencies() {
        let m = meta(Value::Null, true);
        let ws = from_metadata(&m, &request()).unwrap();
        assert_eq!(names(&ws), ["a_crate", "it", "needs_x", "demo", "speed"]);
        let kinds: Vec<_> = ws.targets.iter().map(|t| (t.is_lib, t.test)).collect();
        assert_eq!(
            kinds,
            [
                (true, false),
                (false, true),
                (false, false),
                (false, false),
                (false, true)
            ]
        );
        let deps: Vec<_> = ws.deps.iter().map(|d| &*d.name).collect();
        assert_eq!(deps, ["b", "dep_lib", "tester"]);
        assert_eq!(ws.targets[0].features, ["x"]);
        assert_eq!(ws.targets[0].package_id.repr, "a 0.1.0");
        assert_eq!(ws.root, std::path::Path::new("/ws"));
    }

    #[test]
    fn renamed_and_dev_dependencies_are_named_as_the_code_names_them() {
        let m = meta(Value::Null, true);
        let ws = from_metadata(&m, &request()).unwrap();
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(ws.targets[0].deps, [pair("renamed", "dep_lib")]);
        assert_eq!(
            ws.targets[1].deps,
            [
                pair("renamed", "dep_lib"),
                pair("tester", "tester"),
                pair("a_crate", "a_crate")
            ]
        );
        // Without the resolve graph: the declared names, the package name as library name.
        let m = meta(Value::Null, false);
        let ws = from_metadata(&m, &request()).unwrap();
        assert_eq!(ws.targets[0].deps, [pair("renamed", "dep")]);
        assert_eq!(ws.targets[0].features, ["default", "x"]);
    }

    #[test]
    fn features_without_resolve_follow_the_feature_table() {
        let m = meta(Value::Null, false);
        let a = &m.packages[0];
        let ask = |features: &[&str], all: bool, no_default: bool| {
            let r = Request {
                features: features.iter().map(|f| f.to_string()).collect(),
                all_features: all,
                no_default_features: no_default,
                ..Request::default()
            };
            features_of(&m, a, &r)
        };
        assert_eq!(ask(&[], false, true), Vec::<String>::new());
        assert_eq!(ask(&["y"], false, true), ["x", "y"]);
        assert_eq!(ask(&["a-crate/y", "b/z"], false, true), ["x", "y"]);
        assert_eq!(ask(&["b/y"], false, true), Vec::<String>::new());
        assert_eq!(ask(&[], true, true), ["default", "x", "y"]);
        assert_eq!(ask(&["nope"], false, true), Vec::<String>::new());
    }

    #[test]
    fn packages_workspace_exclude_and_default_members() {
        let m = meta(Value::Null, true);
        let ask = |r: Request| from_metadata(&m, &r);
        let ws = ask(Request {
            packages: vec!["b".into()],
            ..request()
        })
        .unwrap();
        assert_eq!(names(&ws), ["b"]);
        let err = ask(Request {
            packages: vec!["nope".into()],
            ..request()
        })
        .unwrap_err();
        assert_eq!(
            err,
            "package `nope` not found in workspace (members: a-crate, b)"
        );
        let ws = ask(Request {
            workspace: true,
            exclude: vec!["a-crate".into(), "zz".into()],
            ..request()
        })
        .unwrap();
        assert_eq!(names(&ws), ["b"]);
        assert_eq!(
            ws.warnings,
            ["excluded package `zz` not found in workspace"]
        );
        assert_eq!(ws.deps.len(), 3);
        let ws = ask(Request {
            workspace: true,
            ..request()
        })
        .unwrap();
        assert_eq!(ws.targets.len(), 6);
        // Without -p or --workspace: the default members cargo reports.
        assert_eq!(ask(request()).unwrap().targets.len(), 5);
        let with_defaults = |defaults: Value, root: Value| {
            let mut v = serde_json::to_value(&m).unwrap();
            v["workspace_default_members"] = defaults;
            v["resolve"]["root"] = root;
            let m: Metadata = serde_json::from_value(v).unwrap();
            from_metadata(&m, &request()).map(|ws| names(&ws).join(" "))
        };
        assert_eq!(with_defaults(json!(["b 0.1.0"]), Value::Null).unwrap(), "b");
        // From cargo before 1.71, which does not report them: the resolve
        // root, else every member.
        assert_eq!(with_defaults(Value::Null, json!("b 0.1.0")).unwrap(), "b");
        assert_eq!(
            with_defaults(Value::Null, Value::Null)
                .unwrap()
                .split(' ')
                .count(),
            6
        );
    }

    #[test]
    fn target_kinds_and_required_features_select_targets() {
        let m = meta(Value::Null, true);
        let ask = |kinds: Kinds| {
            let r = Request { kinds, ..request() };
            from_metadata(&m, &r).map(|ws| names(&ws).join(" "))
        };
        let k = Kinds::default();
        assert_eq!(ask(Kinds { lib: true, ..k }).unwrap(), "a_crate");
        assert_eq!(ask(Kinds { bins: true, ..k }).unwrap(), "needs_x");
        assert_eq!(ask(Kinds { tests: true, ..k }).unwrap(), "it");
        assert_eq!(
            ask(Kinds {
                examples: true,
                ..k
            })
            .unwrap(),
            "demo"
        );
        assert_eq!(
            ask(Kinds {
                benches: true,
                tests: true,
                ..k
            })
            .unwrap(),
            "it speed"
        );
        // Without feature x, the binary that requires it is left out.
        let mut m = meta(Value::Null, true);
        m.resolve.as_mut().unwrap().nodes[0].features.clear();
        let r = Request {
            kinds: Kinds { bins: true, ..k },
            ..request()
        };
        let err = from_metadata(&m, &r).unwrap_err();
        assert!(err.starts_with("no target selected"), "{err}");
    }

    #[test]
    fn user_lists_are_read_and_bad_ones_refused() {
        let good = json!({"async-unsafe": {"blocking": ["a::db::*"], "allow": ["a::x"]}});
        let mut m = meta(good, true);
        m.workspace_metadata = json!({"async-unsafe": {"allow": ["w::y"]}});
        let ws = from_metadata(&m, &request()).unwrap();
        assert_eq!(ws.lists.blocking, ["a::db::*"]);
        assert_eq!(ws.lists.allow, ["w::y", "a::x"]);
        assert!(!ws.lists.exclude_tests && !ws.targets[0].exclude_tests);
        let more = json!({"async-unsafe": {"enable": ["lock"], "breakers": ["a::run_blocking"], "tests": false}});
        let ws = from_metadata(&meta(more, true), &request()).unwrap();
        assert_eq!(ws.lists.enable, [Category::Lock]);
        assert_eq!(ws.lists.breakers, ["a::run_blocking"]);
        // The package's `tests` is for its own targets, not the others.
        assert!(!ws.lists.exclude_tests && ws.targets[0].exclude_tests);
        let all = Request {
            workspace: true,
            ..request()
        };
        let mut m = meta(json!({"async-unsafe": {"tests": false}}), true);
        let ws = from_metadata(&m, &all).unwrap();
        let per_target: Vec<_> = ws
            .targets
            .iter()
            .map(|t| (&*t.name, t.exclude_tests))
            .collect();
        assert_eq!(per_target.last(), Some(&("b", false)));
        assert!(per_target[..5].iter().all(|(_, e)| *e));
        // The workspace's `tests` holds for every package that does not say otherwise.
        m.workspace_metadata = json!({"async-unsafe": {"tests": false}});
        m.packages[0].metadata = json!({"async-unsafe": {"tests": true}});
        let ws = from_metadata(&m, &all).unwrap();
        let per_target: Vec<_> = ws.targets.iter().map(|t| t.exclude_tests).collect();
        assert_eq!(per_target, [false, false, false, false, false, true]);
        assert!(ws.lists.exclude_tests);
        let err = from_metadata(
            &meta(json!({"async-unsafe": {"enable": ["locks"]}}), true),
            &request(),
        )
        .unwrap_err();
        assert!(
            err.contains("unknown category `locks`") && err.contains("sync-channel"),
            "{err}"
        );
        for (bad, says) in [
            (
                json!({"async-unsafe": {"blocking": "a::db"}}),
                "must be an array",
            ),
            (
                json!({"async-unsafe": {"blocking": [1]}}),
                "must hold strings",
            ),
            (
                json!({"async-unsafe": {"blockng": []}}),
                "unknown key `blockng`",
            ),
            (
                json!({"async-unsafe": {"tests": "no"}}),
                "`tests` must be true or false",
            ),
            (json!({"async-unsafe": 3}), "must be a table"),
        ] {
            let err = from_metadata(&meta(bad, true), &request()).unwrap_err();
            assert!(
                err.contains("[package.metadata.async-unsafe] of `a-crate`") && err.contains(says),
                "{err}"
            );
        }
    }

    #[test]
    fn a_refused_lock_is_not_worked_around() {
        assert!(may_fall_back(false, "error: failed to fetch"));
        assert!(may_fall_back(
            false,
            "error: lock file needs updating, --locked"
        ));
        assert!(may_fall_back(true, "error: failed to fetch"));
        assert!(!may_fall_back(
            true,
            "error: cannot update the lock file because --locked was passed"
        ));
    }

    #[test]
    fn cause_names_the_error_and_what_caused_it() {
        let stderr = "    Updating git repository `https://example.invalid/x`\nerror: failed to get `x` as a dependency of package `a v0.1.0`\n\nCaused by:\n  failed to load source for dependency `x`\n";
        assert_eq!(
            cause(stderr),
            "error: failed to get `x` as a dependency of package `a v0.1.0` caused by: failed to load source for dependency `x`"
        );
        assert_eq!(cause("warning: odd\n"), "warning: odd");
        // "Caused by:" as the last line: nothing to add.
        assert_eq!(cause("error: x\nCaused by:\n"), "error: x");
        assert_eq!(cause(""), "no message");
    }
}
