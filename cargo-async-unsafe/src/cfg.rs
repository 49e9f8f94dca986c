//! `#[cfg(..)]` on modules: which are test code, which are compiled out by
//! the features selected.
//!
//! A condition is evaluated in three values: `feature = ".."` is true when
//! the package has the feature on (the features cargo resolved for the run:
//! `--features`, `--all-features`, `--no-default-features`), `test` is true
//! or false as asked, and every other predicate (`unix`, `target_os = ..`,
//! `debug_assertions`) is unknown. A module whose condition is false with
//! `test` on is compiled out: its functions are dropped. A module whose
//! condition is false with `test` off, and not false with it on
//! (`#[cfg(test)]`, `#[cfg(all(test, feature = "x"))]`), is test code. Both
//! hold for the module's descendants.
//!
//! Limits: only `cfg` on `mod` items is read (not on functions, impls or
//! `use`s), and `cfg_attr` is ignored.

use std::collections::HashMap;

use crate::parse::ModuleIr;
use crate::tree::Crate;

/// A `cfg` predicate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Cfg {
    /// `test`.
    Test,
    /// `feature = "name"`.
    Feature(String),
    /// `not(..)`.
    Not(Box<Cfg>),
    /// `all(..)`.
    All(Vec<Cfg>),
    /// `any(..)`.
    Any(Vec<Cfg>),
    /// Anything else: unknown here.
    Other,
}

impl Cfg {
    /// The conjunction of the `#[cfg(..)]` attributes, or `None` without one.
    pub(crate) fn of_attrs(attrs: &[syn::Attribute]) -> Option<Cfg> {
        let mut all: Vec<Cfg> = attrs
            .iter()
            .filter(|a| a.path().is_ident("cfg"))
            .map(|a| match a.parse_args::<syn::Meta>() {
                Ok(meta) => Cfg::of_meta(&meta),
                Err(_) => Cfg::Other,
            })
            .collect();
        match all.len() {
            0 => None,
            1 => all.pop(),
            _ => Some(Cfg::All(all)),
        }
    }

    fn of_meta(meta: &syn::Meta) -> Cfg {
        match meta {
            syn::Meta::Path(p) if p.is_ident("test") => Cfg::Test,
            syn::Meta::NameValue(nv) if nv.path.is_ident("feature") => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Cfg::Feature(s.value()),
                _ => Cfg::Other,
            },
            syn::Meta::List(list) => {
                let parsed = list.parse_args_with(
                    syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
                );
                let Ok(items) = parsed else {
                    return Cfg::Other;
                };
                let items: Vec<Cfg> = items.iter().map(Cfg::of_meta).collect();
                if list.path.is_ident("all") {
                    Cfg::All(items)
                } else if list.path.is_ident("any") {
                    Cfg::Any(items)
                } else if list.path.is_ident("not") && items.len() == 1 {
                    Cfg::Not(Box::new(items.into_iter().next().unwrap_or(Cfg::Other)))
                } else {
                    Cfg::Other
                }
            }
            _ => Cfg::Other,
        }
    }

    /// The value with `test` as given and `features` on; `None` when unknown.
    pub(crate) fn eval(&self, test: bool, features: &[String]) -> Option<bool> {
        match self {
            Cfg::Test => Some(test),
            Cfg::Feature(name) => Some(features.iter().any(|f| f == name)),
            Cfg::Not(c) => c.eval(test, features).map(|v| !v),
            Cfg::All(items) => {
                let values: Vec<Option<bool>> =
                    items.iter().map(|c| c.eval(test, features)).collect();
                if values.contains(&Some(false)) {
                    Some(false)
                } else if values.contains(&None) {
                    None
                } else {
                    Some(true)
                }
            }
            Cfg::Any(items) => {
                let values: Vec<Option<bool>> =
                    items.iter().map(|c| c.eval(test, features)).collect();
                if values.contains(&Some(true)) {
                    Some(true)
                } else if values.contains(&None) {
                    None
                } else {
                    Some(false)
                }
            }
            Cfg::Other => None,
        }
    }
}

/// What the `cfg`s on a module and its ancestors make of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Gate {
    /// Compiled out by the features selected.
    pub(crate) off: bool,
    /// Compiled only for tests.
    pub(crate) test: bool,
}

/// The gate of each module of one crate, in the order of `modules`.
pub(crate) fn gates(modules: &[ModuleIr], features: &[String]) -> Vec<Gate> {
    let mut declared: HashMap<Vec<String>, &Cfg> = HashMap::new();
    for m in modules {
        for (name, cfg) in &m.gated {
            let mut path = m.path.clone();
            path.push(name.clone());
            declared.insert(path, cfg);
        }
    }
    modules
        .iter()
        .map(|m| {
            let mut gate = Gate::default();
            for len in 1..=m.path.len() {
                if let Some(cfg) = declared.get(&m.path[..len]) {
                    if cfg.eval(true, features) == Some(false) {
                        gate.off = true;
                    } else if cfg.eval(false, features) == Some(false) {
                        gate.test = true;
                    }
                }
            }
            gate
        })
        .collect()
}

/// Drops the functions of the checked crates' modules that the features
/// selected compile out: they are neither roots nor followed.
pub(crate) fn drop_compiled_out(crates: &mut [Crate]) {
    for c in crates.iter_mut().filter(|c| c.checked) {
        let gates = gates(&c.modules, &c.features);
        for (module, gate) in c.modules.iter_mut().zip(gates) {
            if gate.off {
                module.fns.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(src: &str) -> Option<Cfg> {
        let item: syn::ItemMod = syn::parse_str(&format!("{src} mod m;")).unwrap();
        Cfg::of_attrs(&item.attrs)
    }

    #[test]
    fn conditions_are_read() {
        assert_eq!(cfg("#[cfg(test)]"), Some(Cfg::Test));
        assert_eq!(
            cfg("#[cfg(feature = \"x\")]"),
            Some(Cfg::Feature("x".into()))
        );
        assert_eq!(
            cfg("#[cfg(all(test, not(unix)))]"),
            Some(Cfg::All(vec![Cfg::Test, Cfg::Not(Box::new(Cfg::Other))]))
        );
        assert_eq!(
            cfg("#[cfg(test)] #[cfg(feature = \"y\")]"),
            Some(Cfg::All(vec![Cfg::Test, Cfg::Feature("y".into())]))
        );
        assert_eq!(cfg("#[cfg(any(unix))]"), Some(Cfg::Any(vec![Cfg::Other])));
        assert_eq!(cfg("#[cfg(not(a, b))]"), Some(Cfg::Other));
        assert_eq!(cfg("#[cfg(feature = 1)]"), Some(Cfg::Other));
        assert_eq!(cfg("#[cfg(foo(bar))]"), Some(Cfg::Other));
        assert_eq!(cfg("#[path = \"x.rs\"]"), None);
    }

    #[test]
    fn three_valued_evaluation() {
        let on = ["x".to_string()];
        let x = Cfg::Feature("x".into());
        let y = Cfg::Feature("y".into());
        assert_eq!(x.eval(false, &on), Some(true));
        assert_eq!(y.eval(false, &on), Some(false));
        assert_eq!(Cfg::Test.eval(true, &on), Some(true));
        assert_eq!(Cfg::Not(Box::new(Cfg::Test)).eval(true, &on), Some(false));
        assert_eq!(Cfg::Not(Box::new(Cfg::Other)).eval(true, &on), None);
        let all = |v: Vec<Cfg>| Cfg::All(v).eval(false, &on);
        let any = |v: Vec<Cfg>| Cfg::Any(v).eval(false, &on);
        assert_eq!(all(vec![x.clone(), Cfg::Other]), None);
        assert_eq!(all(vec![y.clone(), Cfg::Other]), Some(false));
        assert_eq!(all(vec![x.clone(), x.clone()]), Some(true));
        assert_eq!(any(vec![y.clone(), Cfg::Other]), None);
        assert_eq!(any(vec![x.clone(), Cfg::Other]), Some(true));
        assert_eq!(any(vec![y.clone(), y.clone()]), Some(false));
    }

    #[test]
    fn gates_hold_for_descendants() {
        let module = |path: &[&str], gated: Vec<(&str, Cfg)>| ModuleIr {
            path: path.iter().map(|s| s.to_string()).collect(),
            gated: gated.into_iter().map(|(n, c)| (n.to_string(), c)).collect(),
            ..ModuleIr::default()
        };
        let modules = [
            module(
                &[],
                vec![
                    ("tests", Cfg::Test),
                    ("fx", Cfg::Feature("x".into())),
                    ("fy", Cfg::Feature("y".into())),
                    ("unix", Cfg::Other),
                ],
            ),
            module(&["tests", "inner"], vec![]),
            module(&["fx"], vec![]),
            module(&["fy", "deep"], vec![]),
            module(&["unix"], vec![]),
        ];
        let g = gates(&modules, &["x".into()]);
        let t = |off, test| Gate { off, test };
        assert_eq!(
            g,
            [
                t(false, false),
                t(false, true),
                t(false, false),
                t(true, false),
                t(false, false)
            ]
        );
    }
}
