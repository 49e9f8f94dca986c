//! What to check, from `cargo metadata`: the crates (targets) of the selected
//! packages, the dependencies' library sources, and the user's lists from
//! `[package.metadata.async-unsafe]` and `[workspace.metadata.async-unsafe]`.
//!
//! Selection follows cargo: a manifest with a `[package]` selects that package
//! (even inside a larger workspace), a virtual manifest selects every member;
//! `--workspace` selects every member either way. Every other package in the
//! metadata (registry crates, path crates, workspace members not selected) is
//! a dependency: only its library target is scanned, for `#[async_unsafe]`.
//!
//! Limits: crate renames in `[dependencies]` (`foo = { package = "bar" }`) are
//! not followed; a dependency is known by its library target's name.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::known::Category;

/// One crate to parse: a target of a selected package.
#[derive(Debug, Clone)]
pub(crate) struct TargetSpec {
    /// The crate name as code spells it (`-` replaced by `_`).
    pub(crate) name: String,
    /// The crate root file.
    pub(crate) src_path: PathBuf,
    /// Whether this is a library target (other crates may name it).
    pub(crate) is_lib: bool,
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
}

/// Runs `cargo metadata` on `manifest` and reads the answer.
///
/// Errors are complete sentences for the user (exit status 2).
pub(crate) fn load(
    manifest: Option<&Path>,
    all_members: bool,
    offline: bool,
) -> Result<Workspace, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["metadata", "--format-version", "1"]);
    if let Some(manifest) = manifest {
        if !manifest.is_file() {
            return Err(format!(
                "could not read manifest `{}`: no such file",
                manifest.display()
            ));
        }
        cmd.arg("--manifest-path").arg(manifest);
    }
    if offline {
        cmd.arg("--offline");
    }
    let output = cmd
        .output()
        .map_err(|e| format!("could not run `cargo metadata`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo metadata` failed:\n{}",
            String::from_utf8_lossy(&output.stderr).trim_end()
        ));
    }
    let meta: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("could not read `cargo metadata` output: {e}"))?;
    from_metadata(&meta, all_members)
}

fn str_field<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("`cargo metadata` output has no `{key}` string"))
}

/// Reads the parsed `cargo metadata` JSON.
pub(crate) fn from_metadata(meta: &Value, all_members: bool) -> Result<Workspace, String> {
    let root = PathBuf::from(str_field(meta, "workspace_root")?);
    let members: Vec<&str> = meta
        .get("workspace_members")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let resolve_root = meta
        .get("resolve")
        .and_then(|r| r.get("root"))
        .and_then(Value::as_str);
    let selected: Vec<&str> = match resolve_root {
        Some(id) if !all_members => vec![id],
        _ => members.clone(),
    };
    let packages = meta
        .get("packages")
        .and_then(Value::as_array)
        .ok_or("`cargo metadata` output has no `packages` list")?;

    let mut ws = Workspace {
        root,
        targets: Vec::new(),
        deps: Vec::new(),
        lists: UserLists::default(),
    };
    if let Some(table) = meta.get("metadata").and_then(|m| m.get("async-unsafe")) {
        read_lists(table, "[workspace.metadata.async-unsafe]", &mut ws.lists)?;
    }
    for package in packages {
        let id = str_field(package, "id")?;
        let name = str_field(package, "name")?;
        let targets = package
            .get("targets")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("package `{name}` has no targets in `cargo metadata`"))?;
        if selected.contains(&id) {
            if let Some(table) = package.get("metadata").and_then(|m| m.get("async-unsafe")) {
                let origin = format!("[package.metadata.async-unsafe] of `{name}`");
                read_lists(table, &origin, &mut ws.lists)?;
            }
            for target in targets {
                let kinds = target_kinds(target);
                if kinds.iter().any(|k| k == "custom-build") {
                    continue;
                }
                ws.targets.push(TargetSpec {
                    name: str_field(target, "name")?.replace('-', "_"),
                    src_path: PathBuf::from(str_field(target, "src_path")?),
                    is_lib: is_lib(&kinds),
                });
            }
        } else if let Some(lib) = targets.iter().find(|t| is_lib(&target_kinds(t))) {
            ws.deps.push(DepSpec {
                name: str_field(lib, "name")?.replace('-', "_"),
                src_path: PathBuf::from(str_field(lib, "src_path")?),
            });
        }
    }
    if ws.targets.is_empty() {
        return Err("no package selected: the manifest names no crate to check".into());
    }
    Ok(ws)
}

fn target_kinds(target: &Value) -> Vec<String> {
    target
        .get("kind")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn is_lib(kinds: &[String]) -> bool {
    kinds
        .iter()
        .any(|k| matches!(k.as_str(), "lib" | "rlib" | "dylib" | "proc-macro"))
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
                    "{origin}: unknown key `{other}` (expected `blocking`, `allow`, `breakers` or `enable`)"
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

    fn meta(root_pkg: Option<&str>, metadata: Value) -> Value {
        json!({
            "workspace_root": "/ws",
            "workspace_members": ["a 0.1.0", "b 0.1.0"],
            "resolve": {"root": root_pkg},
            "packages": [
                {"id": "a 0.1.0", "name": "a-crate", "metadata": metadata, "targets": [
                    {"name": "a-crate", "kind": ["lib"], "src_path": "/ws/a/src/lib.rs"},
                    {"name": "build-script-build", "kind": ["custom-build"], "src_path": "/ws/a/build.rs"},
                    {"name": "it", "kind": ["test"], "src_path": "/ws/a/tests/it.rs"}]},
                {"id": "b 0.1.0", "name": "b", "metadata": null, "targets": [
                    {"name": "b", "kind": ["lib"], "src_path": "/ws/b/src/lib.rs"}]},
                {"id": "dep 1.0.0", "name": "dep", "metadata": null, "targets": [
                    {"name": "dep", "kind": ["lib"], "src_path": "/reg/dep/src/lib.rs"},
                    {"name": "tool", "kind": ["bin"], "src_path": "/reg/dep/src/main.rs"}]}
            ]
        })
    }

    #[test]
    fn a_package_manifest_selects_that_package_and_the_rest_are_dependencies() {
        let ws = from_metadata(&meta(Some("a 0.1.0"), Value::Null), false).unwrap();
        let names: Vec<_> = ws.targets.iter().map(|t| (&*t.name, t.is_lib)).collect();
        assert_eq!(names, [("a_crate", true), ("it", false)]);
        let deps: Vec<_> = ws.deps.iter().map(|d| &*d.name).collect();
        assert_eq!(deps, ["b", "dep"]);
    }

    #[test]
    fn a_virtual_manifest_or_workspace_flag_selects_every_member() {
        for (root, all) in [(None, false), (Some("a 0.1.0"), true)] {
            let ws = from_metadata(&meta(root, Value::Null), all).unwrap();
            assert_eq!(ws.targets.len(), 3);
            assert_eq!(ws.deps.len(), 1);
        }
    }

    #[test]
    fn user_lists_are_read_and_bad_ones_refused() {
        let good = json!({"async-unsafe": {"blocking": ["a::db::*"], "allow": ["a::x"]}});
        let mut m = meta(Some("a 0.1.0"), good);
        m["metadata"] = json!({"async-unsafe": {"allow": ["w::y"]}});
        let ws = from_metadata(&m, false).unwrap();
        assert_eq!(ws.lists.blocking, ["a::db::*"]);
        assert_eq!(ws.lists.allow, ["w::y", "a::x"]);
        let more = json!({"async-unsafe": {"enable": ["lock"], "breakers": ["a::run_blocking"]}});
        let ws = from_metadata(&meta(Some("a 0.1.0"), more), false).unwrap();
        assert_eq!(ws.lists.enable, [Category::Lock]);
        assert_eq!(ws.lists.breakers, ["a::run_blocking"]);
        let err = from_metadata(
            &meta(
                Some("a 0.1.0"),
                json!({"async-unsafe": {"enable": ["locks"]}}),
            ),
            false,
        )
        .unwrap_err();
        assert!(
            err.contains("unknown category `locks`") && err.contains("sync-channel"),
            "{err}"
        );
        for bad in [
            json!({"async-unsafe": {"blocking": "a::db"}}),
            json!({"async-unsafe": {"blocking": [1]}}),
            json!({"async-unsafe": {"blockng": []}}),
            json!({"async-unsafe": 3}),
        ] {
            let err = from_metadata(&meta(Some("a 0.1.0"), bad), false).unwrap_err();
            assert!(
                err.contains("[package.metadata.async-unsafe] of `a-crate`"),
                "{err}"
            );
        }
    }
}
