//! Names → items: what a call names, after `use` imports and renames,
//! `crate::`/`self::`/`super::` paths, `Self::` and `Type::` associated
//! functions, re-exports (`pub use`) through workspace modules, and glob
//! imports of workspace modules.
//!
//! Method calls are resolved by the receiver's type when syntax tells it:
//! `self`, a parameter or `let` with a written type (axum's `State(x):
//! State<T>` included), a struct literal, `Type::f(..)` (a workspace
//! function's declared return type, else `Type` itself), a field of a
//! workspace struct, through `?`, `.await`, `.unwrap()`, `.lock()`,
//! `.clone()`, type aliases and `Arc`/`Rc`/`Box`/guards. A receiver typed
//! `dyn Trait`, `impl Trait` or a generic `T: Trait` means every workspace impl
//! of that trait. When the type is unknown, the method is found by name: one
//! workspace definition of that name is `certain`, several are `possible`.
//!
//! Limits: no trait solving, no inference through generic functions or
//! closures' return types, no auto-deref beyond the wrappers above; `impl`
//! blocks are keyed by their self type's path, so two types of one name in a
//! module tree are told apart but a type reached through an unresolvable path
//! is not.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::known;
use crate::parse::{Call, Callee, ExprTy, FnIr, ModuleIr, TypeIr};
use crate::tree::Crate;

/// A function: crate, module, index in the module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct FnId {
    pub(crate) krate: usize,
    pub(crate) module: usize,
    pub(crate) index: usize,
}

/// A resolved type.
#[derive(Clone, Debug)]
pub(crate) enum Ty {
    /// A path type and its type arguments.
    Named(Vec<String>, Vec<Ty>),
    /// Some implementor of these traits.
    Traits(Vec<Vec<String>>),
    /// A tuple.
    Tuple(Vec<Option<Ty>>),
}

/// What a call reaches.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// A function parsed from the workspace or a dependency.
    Fn(FnId),
    /// Something outside: its path.
    Ext(String),
}

/// A call's target and whether it is the only one the call can mean.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    pub(crate) target: Target,
    pub(crate) certain: bool,
}

/// Where a name is looked up.
#[derive(Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub(crate) krate: usize,
    pub(crate) module: usize,
    pub(crate) func: Option<&'a FnIr>,
    /// The line the name is used on: a local is its latest binding above.
    pub(crate) at: usize,
}

const DEPTH: usize = 12;

/// The most methods of one name a call on a value of unknown type is
/// matched with.
const MAX_GUESSES: usize = 4;

/// The canonical paths a module's glob imports lead to.
type GlobTargets = Rc<Vec<Vec<String>>>;

/// The crates and the indexes built over them.
pub(crate) struct Program<'a> {
    pub(crate) crates: &'a [Crate],
    lib_by_name: HashMap<&'a str, usize>,
    /// The names each module declares: free functions, types, traits,
    /// aliases, child modules.
    declared: Vec<Vec<HashSet<&'a str>>>,
    modules: Vec<HashMap<&'a [String], Vec<usize>>>,
    by_path: HashMap<String, Vec<FnId>>,
    by_trait: HashMap<(String, String), Vec<FnId>>,
    by_name: HashMap<&'a str, Vec<FnId>>,
    dep_tail: HashMap<(usize, String), Vec<FnId>>,
    structs: HashMap<String, (usize, usize, usize)>,
    aliases: HashMap<String, (usize, usize, usize)>,
    traits: HashSet<String>,
    /// Memo of [`Program::glob_targets`].
    globs: RefCell<HashMap<(usize, usize), GlobTargets>>,
    /// Memo of [`Program::resolve_path`] outside functions.
    paths: RefCell<HashMap<PathKey, Vec<String>>>,
    /// The paths being resolved, to cut cycles.
    resolving: RefCell<HashSet<PathKey>>,
}

/// A path as written in a module: crate, module, segments.
type PathKey = (usize, usize, Vec<String>);

fn key(krate: usize) -> String {
    format!("#{krate}")
}

fn starts_upper(s: &str) -> bool {
    s.chars().next().is_some_and(char::is_uppercase)
}

impl<'a> Program<'a> {
    /// Indexes `crates`.
    pub(crate) fn new(crates: &'a [Crate]) -> Program<'a> {
        let mut lib_by_name = HashMap::new();
        // Checked libraries win over a dependency of the same name.
        for (i, c) in crates.iter().enumerate().rev() {
            if c.is_lib {
                lib_by_name.insert(c.name.as_str(), i);
            }
        }
        let modules = crates
            .iter()
            .map(|c| {
                let mut map: HashMap<&[String], Vec<usize>> = HashMap::new();
                for (i, m) in c.modules.iter().enumerate() {
                    map.entry(m.path.as_slice()).or_default().push(i);
                }
                map
            })
            .collect();
        let declared = crates
            .iter()
            .map(|c| {
                c.modules
                    .iter()
                    .map(|m| {
                        let fns = m
                            .fns
                            .iter()
                            .filter(|f| f.self_ty.is_none() && !f.in_trait_def)
                            .map(|f| f.name.as_str());
                        fns.chain(m.types.iter().map(String::as_str))
                            .chain(m.traits.iter().map(String::as_str))
                            .chain(m.aliases.iter().map(|(a, _)| a.as_str()))
                            .chain(m.children.iter().map(String::as_str))
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let mut p = Program {
            crates,
            lib_by_name,
            declared,
            modules,
            by_path: HashMap::new(),
            by_trait: HashMap::new(),
            by_name: HashMap::new(),
            dep_tail: HashMap::new(),
            structs: HashMap::new(),
            aliases: HashMap::new(),
            traits: HashSet::new(),
            globs: RefCell::new(HashMap::new()),
            paths: RefCell::new(HashMap::new()),
            resolving: RefCell::new(HashSet::new()),
        };
        for (k, c) in crates.iter().enumerate() {
            for (m, module) in c.modules.iter().enumerate() {
                let mut base = vec![key(k)];
                base.extend(module.path.iter().cloned());
                for (i, (name, _)) in module.fields.iter().enumerate() {
                    p.structs.insert(join(&base, name), (k, m, i));
                }
                for (i, (name, _)) in module.aliases.iter().enumerate() {
                    p.aliases.insert(join(&base, name), (k, m, i));
                }
                for t in &module.traits {
                    p.traits.insert(join(&base, t));
                }
            }
        }
        for (k, c) in crates.iter().enumerate() {
            for (m, module) in c.modules.iter().enumerate() {
                for (i, f) in module.fns.iter().enumerate() {
                    let id = FnId {
                        krate: k,
                        module: m,
                        index: i,
                    };
                    let scope = Scope {
                        krate: k,
                        module: m,
                        func: None,
                        at: usize::MAX,
                    };
                    let owner = p.owner_path(scope, f);
                    p.by_path.entry(join(&owner, &f.name)).or_default().push(id);
                    if let Some(t) = &f.trait_path {
                        let trait_key = if f.in_trait_def {
                            owner.join("::")
                        } else {
                            p.resolve_path(scope, t, 0).join("::")
                        };
                        if !f.in_trait_def || f.has_body || f.marked {
                            p.by_trait
                                .entry((trait_key, f.name.clone()))
                                .or_default()
                                .push(id);
                        }
                    }
                    if f.has_receiver && (f.has_body || f.marked) {
                        p.by_name.entry(f.name.as_str()).or_default().push(id);
                    }
                    if !c.checked && f.marked {
                        let tail = match (&f.self_ty, &f.trait_path) {
                            (Some(TypeIr::Path(segs, _)), _) => {
                                format!("{}::{}", segs.last().map_or("", |s| s), f.name)
                            }
                            (None, Some(t)) if f.in_trait_def => {
                                format!("{}::{}", t.last().map_or("", |s| s), f.name)
                            }
                            _ => f.name.clone(),
                        };
                        p.dep_tail.entry((k, tail)).or_default().push(id);
                    }
                }
            }
        }
        p
    }

    pub(crate) fn func(&self, id: FnId) -> &'a FnIr {
        &self.crates[id.krate].modules[id.module].fns[id.index]
    }

    fn module(&self, krate: usize, module: usize) -> &'a ModuleIr {
        &self.crates[krate].modules[module]
    }

    /// The file a function is in, as reported.
    pub(crate) fn file_of(&self, id: FnId) -> &'a str {
        let c = &self.crates[id.krate];
        &c.files[c.modules[id.module].file]
    }

    /// The path under which a function is found: its module, its impl's
    /// self type, or its trait.
    fn owner_path(&self, scope: Scope, f: &FnIr) -> Vec<String> {
        if f.in_trait_def {
            let mut p = self.module_path(scope.krate, scope.module);
            p.extend(f.trait_path.iter().flatten().cloned());
            return p;
        }
        match &f.self_ty {
            Some(TypeIr::Path(segs, _)) => self.resolve_path(scope, segs, 0),
            Some(_) => vec![key(scope.krate), "<impl>".into()],
            None => self.module_path(scope.krate, scope.module),
        }
    }

    fn module_path(&self, krate: usize, module: usize) -> Vec<String> {
        let mut p = vec![key(krate)];
        p.extend(self.module(krate, module).path.iter().cloned());
        p
    }

    /// A canonical path as the user reads it: `#3` becomes the crate's name.
    pub(crate) fn display(&self, canon: &[String]) -> String {
        let mut out = String::new();
        for (i, seg) in canon.iter().enumerate() {
            if i > 0 {
                out.push_str("::");
            }
            match seg.strip_prefix('#').and_then(|n| n.parse::<usize>().ok()) {
                Some(k) if i == 0 => out.push_str(&self.crates[k].name),
                _ => out.push_str(seg),
            }
        }
        out
    }

    /// `examples::notes::Notes::count`.
    pub(crate) fn fn_path(&self, id: FnId) -> String {
        let f = self.func(id);
        let scope = Scope {
            krate: id.krate,
            module: id.module,
            func: None,
            at: usize::MAX,
        };
        let mut p = self.owner_path(scope, f);
        p.push(f.name.clone());
        self.display(&p)
    }

    /// `Notes::count`, or `helper`.
    pub(crate) fn fn_short(&self, id: FnId) -> String {
        short_name(self.func(id))
    }
}

/// `Type::method`, `Trait::method`, or `function`, as written.
pub(crate) fn short_name(f: &FnIr) -> String {
    let owner = match (&f.self_ty, &f.trait_path) {
        (Some(TypeIr::Path(segs, _)), _) => segs.last().cloned(),
        (None, Some(t)) if f.in_trait_def => t.last().cloned(),
        _ => None,
    };
    match owner {
        Some(o) => format!("{o}::{}", f.name),
        None => f.name.clone(),
    }
}

impl<'a> Program<'a> {
    /// Module `m` of crate `k` declares an item (or a child module) `name`.
    fn declares(&self, k: usize, m: usize, name: &str) -> bool {
        self.declared[k][m].contains(name)
    }

    /// The library a crate names `name`: a dependency renamed in its
    /// `Cargo.toml`, or a library of that name.
    fn crate_named(&self, krate: usize, name: &str) -> Option<&usize> {
        let renamed = self.crates[krate]
            .renames
            .iter()
            .find(|(code, _)| code == name)
            .map(|(_, lib)| lib.as_str());
        self.lib_by_name.get(renamed.unwrap_or(name))
    }

    fn modules_at(&self, krate: usize, path: &[String]) -> &[usize] {
        self.modules[krate].get(path).map_or(&[], Vec::as_slice)
    }

    fn parsed_crate(&self, seg: &str) -> Option<usize> {
        seg.strip_prefix('#')?.parse().ok()
    }

    /// The canonical path `segs` names in `scope`: first segment `#k` for a
    /// parsed crate, else the external crate's name.
    pub(crate) fn resolve_path(&self, scope: Scope, segs: &[String], depth: usize) -> Vec<String> {
        if scope.func.is_some() {
            return self.resolve_uncached(scope, segs, depth);
        }
        // Outside a function a path means the same wherever it is asked
        // from: each (module, path) is resolved once, and a path met again
        // while it is being resolved (a cycle of imports and globs) is left
        // as written. Without this, re-exports in large dependencies
        // branched at every level of the depth limit.
        let key = (scope.krate, scope.module, segs.to_vec());
        if let Some(done) = self.paths.borrow().get(&key) {
            return done.clone();
        }
        if !self.resolving.borrow_mut().insert(key.clone()) {
            return segs.to_vec();
        }
        let done = self.resolve_uncached(scope, segs, depth);
        self.resolving.borrow_mut().remove(&key);
        self.paths.borrow_mut().insert(key, done.clone());
        done
    }

    fn resolve_uncached(&self, scope: Scope, segs: &[String], depth: usize) -> Vec<String> {
        let Some(first) = segs.first() else {
            return Vec::new();
        };
        if depth > DEPTH {
            return segs.to_vec();
        }
        let rest = &segs[1..];
        let module = self.module(scope.krate, scope.module);
        let with = |mut base: Vec<String>, rest: &[String]| {
            base.extend(rest.iter().cloned());
            base
        };
        let base = match first.as_str() {
            "crate" => with(vec![key(scope.krate)], rest),
            "self" => with(self.module_path(scope.krate, scope.module), rest),
            "super" => {
                let mut p = self.module_path(scope.krate, scope.module);
                let mut i = 0;
                while segs.get(i).is_some_and(|s| s == "super") {
                    if p.len() > 1 {
                        p.pop();
                    }
                    i += 1;
                }
                with(p, &segs[i..])
            }
            "Self" => match scope.func.and_then(|f| f.self_ty.as_ref()) {
                Some(TypeIr::Path(t, _)) => {
                    let inner = Scope {
                        func: None,
                        ..scope
                    };
                    with(self.resolve_path(inner, t, depth + 1), rest)
                }
                _ => match scope.func.and_then(|f| f.trait_path.as_ref()) {
                    Some(t) if scope.func.is_some_and(|f| f.in_trait_def) => {
                        let inner = Scope {
                            func: None,
                            ..scope
                        };
                        with(self.resolve_path(inner, t, depth + 1), rest)
                    }
                    _ => segs.to_vec(),
                },
            },
            name => {
                let generic = scope
                    .func
                    .and_then(|f| f.generics.iter().find(|(g, _)| g == name));
                if let (Some((_, bounds)), false) = (generic, rest.is_empty()) {
                    match bounds.first() {
                        Some(b) => with(self.resolve_path(scope, b, depth + 1), rest),
                        None => segs.to_vec(),
                    }
                } else if let Some(u) = module
                    .uses
                    .iter()
                    // `extern crate foo;` names the crate, not itself.
                    .filter(|u| u.path.len() != 1 || u.path[0] != name)
                    .find(|u| u.alias.as_deref() == Some(name))
                {
                    let inner = Scope {
                        func: None,
                        ..scope
                    };
                    with(self.resolve_path(inner, &u.path, depth + 1), rest)
                } else if self.declares(scope.krate, scope.module, name) {
                    with(self.module_path(scope.krate, scope.module), segs)
                } else if let Some(found) = self.through_globs(scope, name, depth) {
                    with(found, rest)
                } else if let Some(&k) = self.crate_named(scope.krate, name) {
                    with(vec![key(k)], rest)
                } else if let Some(full) = prelude(name) {
                    let mut p: Vec<String> = full.split("::").map(str::to_owned).collect();
                    p.extend(rest.iter().cloned());
                    p
                } else {
                    segs.to_vec()
                }
            }
        };
        self.normalize(base, depth + 1)
    }

    /// Where the glob imports of a module lead, worked out once per module.
    fn glob_targets(&self, scope: Scope, depth: usize) -> GlobTargets {
        let key = (scope.krate, scope.module);
        if let Some(t) = self.globs.borrow().get(&key) {
            return Rc::clone(t);
        }
        let module = self.module(scope.krate, scope.module);
        let inner = Scope {
            func: None,
            at: usize::MAX,
            ..scope
        };
        let targets: Vec<Vec<String>> = module
            .uses
            .iter()
            .filter(|u| u.alias.is_none())
            .map(|g| self.resolve_path(inner, &g.path, depth + 1))
            .collect();
        let targets = Rc::new(targets);
        // Not cached while a resolution deeper in the recursion may have
        // been cut short by the depth limit.
        if depth == 0 {
            self.globs.borrow_mut().insert(key, Rc::clone(&targets));
        }
        targets
    }

    fn through_globs(&self, scope: Scope, name: &str, depth: usize) -> Option<Vec<String>> {
        if self
            .module(scope.krate, scope.module)
            .uses
            .iter()
            .all(|u| u.alias.is_some())
        {
            return None;
        }
        for target in self.glob_targets(scope, depth).iter() {
            let Some(k) = target.first().and_then(|s| self.parsed_crate(s)) else {
                continue;
            };
            for &m in self.modules_at(k, &target[1..]) {
                let tm = self.module(k, m);
                if self.declares(k, m, name) {
                    let mut p = target.clone();
                    p.push(name.to_owned());
                    return Some(p);
                }
                if tm.uses.iter().any(|u| u.alias.as_deref() == Some(name)) {
                    let s = Scope {
                        krate: k,
                        module: m,
                        func: None,
                        at: usize::MAX,
                    };
                    return Some(self.resolve_path(s, &[name.to_owned()], depth + 1));
                }
            }
        }
        None
    }

    /// Follows a parsed crate's modules and re-exports down `canon`.
    fn normalize(&self, canon: Vec<String>, depth: usize) -> Vec<String> {
        let Some(k) = canon.first().and_then(|s| self.parsed_crate(s)) else {
            return canon;
        };
        if depth > DEPTH {
            return canon;
        }
        let mut i = 1;
        while i < canon.len() {
            let here = &canon[1..i];
            let seg = &canon[i];
            let ms = self.modules_at(k, here);
            if ms.iter().any(|&m| {
                let mi = self.module(k, m);
                mi.children.iter().any(|c| c == seg)
            }) || !self.modules_at(k, &canon[1..=i]).is_empty()
            {
                i += 1;
                continue;
            }
            if ms.iter().any(|&m| self.declares(k, m, seg)) {
                return canon;
            }
            for &m in ms {
                if let Some(u) = self
                    .module(k, m)
                    .uses
                    .iter()
                    .find(|u| u.alias.as_deref() == Some(seg.as_str()))
                {
                    let s = Scope {
                        krate: k,
                        module: m,
                        func: None,
                        at: usize::MAX,
                    };
                    let mut target = self.resolve_path(s, &u.path, depth + 1);
                    // A dependency's items keep the public path its users
                    // write (`tokio::runtime::Handle`, not the private module
                    // that defines it): the lists name that one. Re-exports
                    // of another crate's items are followed.
                    if !self.crates[k].checked && target.first() == canon.first() {
                        return canon;
                    }
                    target.extend(canon[i + 1..].iter().cloned());
                    return self.normalize(target, depth + 1);
                }
            }
            // A glob re-export of another crate (`pub use r2d2::*;` in
            // diesel's `r2d2` module): the name is that crate's.
            for &m in ms {
                let s = Scope {
                    krate: k,
                    module: m,
                    func: None,
                    at: usize::MAX,
                };
                for g in self.module(k, m).uses.iter().filter(|u| u.alias.is_none()) {
                    let target = self.resolve_path(s, &g.path, depth + 1);
                    let other = match target.first() {
                        Some(first) => first != &canon[0],
                        None => false,
                    };
                    let into_dep = target
                        .first()
                        .and_then(|f| self.parsed_crate(f))
                        .is_none_or(|t| !self.crates[t].checked);
                    if other && into_dep && !self.crates[k].checked {
                        let mut target = target;
                        target.extend(canon[i..].iter().cloned());
                        return self.normalize(target, depth + 1);
                    }
                }
            }
            return canon;
        }
        canon
    }

    /// The resolved type of a written type.
    pub(crate) fn type_of(&self, scope: Scope, t: &TypeIr, depth: usize) -> Option<Ty> {
        if depth > DEPTH {
            return None;
        }
        let ty = match t {
            TypeIr::Unknown => return None,
            TypeIr::Tuple(elems) => Ty::Tuple(
                elems
                    .iter()
                    .map(|e| self.type_of(scope, e, depth + 1))
                    .collect(),
            ),
            TypeIr::Traits(ts) => Ty::Traits(
                ts.iter()
                    .map(|t| self.resolve_path(scope, t, depth + 1))
                    .collect(),
            ),
            TypeIr::Path(segs, args) => {
                if segs.len() == 1 {
                    if segs[0] == "Self" {
                        let f = scope.func?;
                        let inner = Scope {
                            func: None,
                            ..scope
                        };
                        return match (&f.self_ty, &f.trait_path) {
                            (Some(st), _) => self.type_of(inner, st, depth + 1),
                            (None, Some(tp)) if f.in_trait_def => {
                                Some(Ty::Traits(vec![self.resolve_path(inner, tp, depth + 1)]))
                            }
                            _ => None,
                        };
                    }
                    if let Some((_, bounds)) = scope
                        .func
                        .and_then(|f| f.generics.iter().find(|(g, _)| *g == segs[0]))
                    {
                        return Some(Ty::Traits(
                            bounds
                                .iter()
                                .map(|b| self.resolve_path(scope, b, depth + 1))
                                .collect(),
                        ));
                    }
                }
                let canon = self.resolve_path(scope, segs, depth + 1);
                if let Some(&(k, m, i)) = self.aliases.get(&canon.join("::")) {
                    let s = Scope {
                        krate: k,
                        module: m,
                        func: None,
                        at: usize::MAX,
                    };
                    return self.type_of(s, &self.module(k, m).aliases[i].1, depth + 1);
                }
                Ty::Named(
                    canon,
                    args.iter()
                        .filter_map(|a| self.type_of(scope, a, depth + 1))
                        .collect(),
                )
            }
        };
        Some(peel(ty))
    }

    fn fn_scope(&self, id: FnId) -> Scope<'a> {
        Scope {
            krate: id.krate,
            module: id.module,
            func: Some(self.func(id)),
            at: usize::MAX,
        }
    }

    fn ret_type(&self, id: FnId, depth: usize) -> Option<Ty> {
        let f = self.func(id);
        self.type_of(self.fn_scope(id), f.ret.as_ref()?, depth + 1)
    }

    /// The type of an expression, as far as syntax tells.
    pub(crate) fn expr_type(&self, scope: Scope, e: &ExprTy, depth: usize) -> Option<Ty> {
        if depth > DEPTH {
            return None;
        }
        match e {
            ExprTy::Unknown => None,
            ExprTy::Ty(t) => self.type_of(scope, t, depth + 1),
            ExprTy::SelfValue => {
                self.type_of(scope, &TypeIr::Path(vec!["Self".into()], vec![]), depth + 1)
            }
            ExprTy::Local(name) => {
                let f = scope.func?;
                // The latest binding above the use, which shadows a
                // parameter; its value is read as of the line before the
                // end of its statement (`let c = match x { Ok(c) => c, .. };`
                // and `let Some(db) = db else { .. };` both resolve).
                let local = f
                    .locals
                    .iter()
                    .rev()
                    .filter(|(n, _, line)| n == name && *line <= scope.at)
                    .find_map(|(_, e, line)| {
                        let at = Scope {
                            at: line.saturating_sub(1),
                            ..scope
                        };
                        self.expr_type(at, e, depth + 1)
                    });
                if local.is_some() {
                    return local;
                }
                let (_, t) = f.params.iter().rev().find(|(n, _)| n == name)?;
                self.type_of(scope, t, depth + 1)
            }
            ExprTy::Try(inner) => self.expr_type(scope, inner, depth + 1).map(unwrap_one),
            ExprTy::TupleField(inner, i) => match self.expr_type(scope, inner, depth + 1)? {
                Ty::Tuple(mut elems) if *i < elems.len() => elems.swap_remove(*i),
                _ => None,
            },
            ExprTy::OneOf(branches) => branches
                .iter()
                .find_map(|b| self.expr_type(scope, b, depth + 1)),
            ExprTy::FirstArg(inner) => match self.expr_type(scope, inner, depth + 1)? {
                Ty::Named(_, mut args) if !args.is_empty() => Some(peel(args.swap_remove(0))),
                _ => None,
            },
            ExprTy::Field(base, name) => {
                let Ty::Named(canon, _) = self.expr_type(scope, base, depth + 1)? else {
                    return None;
                };
                let &(k, m, i) = self.structs.get(&canon.join("::"))?;
                let (_, fields) = &self.module(k, m).fields[i];
                let (_, t) = fields.iter().find(|(n, _)| n == name)?;
                let s = Scope {
                    krate: k,
                    module: m,
                    func: None,
                    at: usize::MAX,
                };
                self.type_of(s, t, depth + 1)
            }
            ExprTy::Call(segs) => {
                let canon = self.resolve_path(scope, segs, depth + 1);
                if let Some(ids) = self.by_path.get(&canon.join("::")) {
                    return ids.iter().find_map(|&id| self.ret_type(id, depth + 1));
                }
                if let Some(ids) = self.dep_item(&canon) {
                    return ids.iter().find_map(|&id| self.ret_type(id, depth + 1));
                }
                let shown = self.display(&canon);
                if let Some((_, ret)) = known::RETURNS.iter().find(|(f, _)| *f == shown) {
                    return external_type(ret);
                }
                match canon.as_slice() {
                    [.., ty, _] if starts_upper(ty) => {
                        Some(peel(Ty::Named(canon[..canon.len() - 1].to_vec(), vec![])))
                    }
                    _ => None,
                }
            }
            ExprTy::Method(recv, name) => {
                let rt = self.expr_type(scope, recv, depth + 1)?;
                if let Ty::Named(canon, _) = &rt {
                    if let Some(ids) = self.by_path.get(&join(canon, name)) {
                        return ids.iter().find_map(|&id| self.ret_type(id, depth + 1));
                    }
                    let shown = self.display(canon);
                    if known::BUILDERS
                        .iter()
                        .any(|(b, ms)| *b == shown && ms.contains(&name.as_str()))
                    {
                        return Some(rt);
                    }
                    if let Some((.., ret)) = known::METHOD_RETURNS
                        .iter()
                        .find(|(t, m, _)| *t == shown && m == name)
                    {
                        return external_type(ret);
                    }
                }
                match name.as_str() {
                    "unwrap" | "expect" | "unwrap_or_default" | "unwrap_or_else" | "unwrap_or"
                    | "unwrap_unchecked" => Some(unwrap_one(rt)),
                    "lock" | "read" | "write" | "try_lock" | "borrow" | "borrow_mut"
                    | "get_mut" => Some(unwrap_cell(rt)),
                    "clone" | "to_owned" | "as_ref" | "as_mut" | "deref" | "deref_mut"
                    | "by_ref" | "as_deref" | "as_deref_mut" | "cloned" | "copied" | "ok"
                    | "ok_or" | "ok_or_else" | "map_err" | "context" | "with_context"
                    | "wrap_err" | "wrap_err_with" | "into_inner" | "get_ref" | "inner" => Some(rt),
                    // `Weak<T>::upgrade()` is an `Option<Arc<T>>`: keep `T`
                    // inside an option, for the `?`/`unwrap` that follows.
                    "upgrade" => match rt {
                        Ty::Named(canon, mut args)
                            if canon.last().is_some_and(|l| l == "Weak") && !args.is_empty() =>
                        {
                            Some(Ty::Named(
                                vec!["std".into(), "option".into(), "Option".into()],
                                vec![args.swap_remove(0)],
                            ))
                        }
                        _ => None,
                    },
                    _ => None,
                }
            }
        }
    }

    /// Every target a call may mean.
    pub(crate) fn targets(&self, scope: Scope, call: &Call) -> Vec<Resolved> {
        let at = Scope {
            at: call.line,
            ..scope
        };
        self.callee_targets(at, &call.callee)
    }

    /// Every target a callee may mean.
    pub(crate) fn callee_targets(&self, scope: Scope, callee: &Callee) -> Vec<Resolved> {
        if let (Callee::Path(segs), Some(f)) = (callee, scope.func) {
            // `f()` where `f` is a parameter or a local (a closure, a fn
            // pointer) calls that value, not an item of the same name.
            if let [name] = segs.as_slice() {
                if f.params.iter().any(|(n, _)| n == name)
                    || f.locals
                        .iter()
                        .any(|(n, _, line)| n == name && *line <= scope.at)
                {
                    return Vec::new();
                }
            }
        }
        match callee {
            Callee::Path(segs) => self.path_targets(scope, segs),
            Callee::Method { name, recv } => self.method_targets(scope, name, recv),
        }
    }

    fn all(ids: &[FnId]) -> Vec<Resolved> {
        let certain = ids.len() == 1;
        ids.iter()
            .map(|&id| Resolved {
                target: Target::Fn(id),
                certain,
            })
            .collect()
    }

    fn path_targets(&self, scope: Scope, segs: &[String]) -> Vec<Resolved> {
        let canon = self.resolve_path(scope, segs, 0);
        let joined = canon.join("::");
        if let Some(ids) = self.by_path.get(&joined) {
            return Self::all(ids);
        }
        if let [prefix @ .., name] = canon.as_slice() {
            let prefix_key = prefix.join("::");
            if self.traits.contains(&prefix_key) {
                return self.trait_targets(&[prefix.to_vec()], name);
            }
            if let Some(&(k, m, i)) = self.aliases.get(&prefix_key) {
                let s = Scope {
                    krate: k,
                    module: m,
                    func: None,
                    at: usize::MAX,
                };
                if let Some(Ty::Named(c, _)) = self.type_of(s, &self.module(k, m).aliases[i].1, 0) {
                    if let Some(ids) = self.by_path.get(&join(&c, name)) {
                        return Self::all(ids);
                    }
                }
            }
            if let Some(k) = canon.first().and_then(|s| self.parsed_crate(s)) {
                if !self.crates[k].checked {
                    if let Some(ids) = self.dep_item(&canon) {
                        return Self::all(ids);
                    }
                    // A dependency's unmarked item: the built-in and user
                    // lists name it by its path.
                    return vec![Resolved {
                        target: Target::Ext(self.display(&canon)),
                        certain: true,
                    }];
                }
                return Vec::new();
            }
        }
        vec![Resolved {
            target: Target::Ext(self.display(&canon)),
            certain: true,
        }]
    }

    /// A dependency's marked items that `canon` (in that dependency) may
    /// name: by their last segments, `Type::name` or `name`, since its
    /// public path may be a re-export of the module that defines it.
    fn dep_item(&self, canon: &[String]) -> Option<&Vec<FnId>> {
        let k = canon.first().and_then(|s| self.parsed_crate(s))?;
        if self.crates[k].checked {
            return None;
        }
        let tail = match canon {
            [_, .., ty, name] if starts_upper(ty) => format!("{ty}::{name}"),
            [.., name] => name.clone(),
            [] => return None,
        };
        self.dep_tail.get(&(k, tail))
    }

    fn trait_targets(&self, traits: &[Vec<String>], name: &str) -> Vec<Resolved> {
        let ids: Vec<FnId> = traits
            .iter()
            .filter_map(|t| self.by_trait.get(&(t.join("::"), name.to_owned())))
            .flatten()
            .copied()
            .collect();
        Self::all(&ids)
    }

    fn method_targets(&self, scope: Scope, name: &str, recv: &ExprTy) -> Vec<Resolved> {
        let ty = self.expr_type(scope, recv, 0);
        // `Result`/`Option` plumbing and conversions on a value whose type we
        // took to be the value inside (a guard's `.lock()` read as `T`):
        // never the outside type's own method, and never blocking.
        if matches!(&ty, Some(Ty::Named(..))) && is_plumbing(name) {
            return Vec::new();
        }
        match ty {
            Some(Ty::Named(canon, _)) => {
                if let Some(ids) = self.by_path.get(&join(&canon, name)) {
                    return Self::all(ids);
                }
                match canon.first().and_then(|s| self.parsed_crate(s)) {
                    Some(k) if !self.crates[k].checked => {
                        let ty = canon.last().map_or("", |s| s);
                        match self.dep_tail.get(&(k, format!("{ty}::{name}"))) {
                            Some(ids) => Self::all(ids),
                            None => vec![Resolved {
                                target: Target::Ext(format!("{}::{name}", self.display(&canon))),
                                certain: true,
                            }],
                        }
                    }
                    Some(_) => Vec::new(),
                    None => vec![Resolved {
                        target: Target::Ext(format!("{}::{name}", self.display(&canon))),
                        certain: true,
                    }],
                }
            }
            Some(Ty::Traits(traits)) => self.trait_targets(&traits, name),
            Some(Ty::Tuple(_)) => Vec::new(),
            None => {
                let ids = self.by_name.get(name).map_or(&[][..], Vec::as_slice);
                // A guess by name: never certain, however few share it; and
                // no guess at all when many methods share the name (`read`,
                // `flush`, `get` in a large workspace): the guess would be
                // noise, and following it walks much of the program.
                let guesses: Vec<Resolved> = ids
                    .iter()
                    .copied()
                    .filter(|id| id.krate == scope.krate || self.crates[id.krate].is_lib)
                    .filter(|id| self.crates[id.krate].checked || self.func(*id).marked)
                    .map(|id| Resolved {
                        target: Target::Fn(id),
                        certain: false,
                    })
                    .collect();
                let mut guesses = if guesses.len() > MAX_GUESSES {
                    Vec::new()
                } else {
                    guesses
                };
                // A name only blocking APIs have (`blocking_recv`,
                // `block_on`) may be one of them.
                if let Some(path) = known::by_method_name(name) {
                    guesses.push(Resolved {
                        target: Target::Ext(path.to_owned()),
                        certain: false,
                    });
                }
                guesses
            }
        }
    }
}

/// A type of the built-in tables (`std::io::Result<std::fs::File>`), its
/// paths taken as written.
fn external_type(written: &str) -> Option<Ty> {
    fn convert(t: &TypeIr) -> Option<Ty> {
        match t {
            TypeIr::Path(segs, args) => Some(Ty::Named(
                segs.clone(),
                args.iter().filter_map(convert).collect(),
            )),
            TypeIr::Tuple(elems) => Some(Ty::Tuple(elems.iter().map(convert).collect())),
            _ => None,
        }
    }
    let parsed: syn::Type = syn::parse_str(written).ok()?;
    convert(&crate::parse::type_ir(&parsed)).map(peel)
}

/// What the standard prelude (and the primitive types' modules) bring into
/// scope under `name`, when nothing in the module shadows it.
fn prelude(name: &str) -> Option<&'static str> {
    Some(match name {
        "Vec" => "std::vec::Vec",
        "String" => "std::string::String",
        "ToString" => "std::string::ToString",
        "Box" => "std::boxed::Box",
        "Option" => "std::option::Option",
        "Some" => "std::option::Option::Some",
        "None" => "std::option::Option::None",
        "Result" => "std::result::Result",
        "Ok" => "std::result::Result::Ok",
        "Err" => "std::result::Result::Err",
        "Iterator" => "std::iter::Iterator",
        "IntoIterator" => "std::iter::IntoIterator",
        "Default" => "std::default::Default",
        "Clone" => "std::clone::Clone",
        "From" => "std::convert::From",
        "Into" => "std::convert::Into",
        "TryFrom" => "std::convert::TryFrom",
        "TryInto" => "std::convert::TryInto",
        "AsRef" => "std::convert::AsRef",
        "Drop" => "std::ops::Drop",
        "Fn" => "std::ops::Fn",
        "FnMut" => "std::ops::FnMut",
        "FnOnce" => "std::ops::FnOnce",
        "drop" => "std::mem::drop",
        "str" | "bool" | "char" | "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8"
        | "i16" | "i32" | "i64" | "i128" | "isize" | "f32" | "f64" => match name {
            "str" => "std::primitive::str",
            "bool" => "std::primitive::bool",
            "char" => "std::primitive::char",
            _ => "std::primitive::number",
        },
        _ => return None,
    })
}

fn join(base: &[String], name: &str) -> String {
    let mut s = base.join("::");
    s.push_str("::");
    s.push_str(name);
    s
}

/// Methods of `Result`, `Option` and the conversion traits, which block
/// nothing whatever they are called on.
fn is_plumbing(name: &str) -> bool {
    matches!(
        name,
        "unwrap"
            | "expect"
            | "unwrap_or"
            | "unwrap_or_else"
            | "unwrap_or_default"
            | "map_err"
            | "ok"
            | "err"
            | "ok_or"
            | "ok_or_else"
            | "is_ok"
            | "is_err"
            | "is_some"
            | "is_none"
            | "as_ref"
            | "as_mut"
            | "as_deref"
            | "clone"
            | "into"
            | "to_owned"
            | "to_string"
            | "context"
            | "with_context"
    )
}

/// Smart pointers and guards are transparent to method calls.
fn peel(ty: Ty) -> Ty {
    match ty {
        Ty::Named(canon, mut args)
            if !args.is_empty()
                && canon.last().is_some_and(|l| {
                    matches!(
                        l.as_str(),
                        "Arc"
                            | "Rc"
                            | "Box"
                            | "Pin"
                            | "MutexGuard"
                            | "RwLockReadGuard"
                            | "RwLockWriteGuard"
                            | "Ref"
                            | "RefMut"
                            | "Cow"
                            | "Data"
                            | "Extension"
                            | "State"
                            | "Json"
                            | "Lazy"
                            | "LazyLock"
                            | "OnceLock"
                            | "OnceCell"
                            | "ArcSwap"
                            | "ManuallyDrop"
                            | "AssertUnwindSafe"
                    )
                }) =>
        {
            peel(args.swap_remove(0))
        }
        other => other,
    }
}

fn unwrap_one(ty: Ty) -> Ty {
    match ty {
        Ty::Named(canon, mut args)
            if !args.is_empty()
                && canon
                    .last()
                    .is_some_and(|l| matches!(l.as_str(), "Result" | "Option")) =>
        {
            peel(args.swap_remove(0))
        }
        other => other,
    }
}

fn unwrap_cell(ty: Ty) -> Ty {
    match ty {
        Ty::Named(canon, mut args)
            if !args.is_empty()
                && canon
                    .last()
                    .is_some_and(|l| matches!(l.as_str(), "Mutex" | "RwLock" | "RefCell")) =>
        {
            peel(args.swap_remove(0))
        }
        other => other,
    }
}
