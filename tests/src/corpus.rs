//! Puts `#[async_unsafe]` on every synchronous function with a body in a copy
//! of a real crate, so that crate's own test suite proves the attribute keeps
//! every shape it meets compiling and behaving (see `tests/corpus.rs`).

use std::fs;
use std::io;
use std::path::Path;

use quote::ToTokens;
use syn::visit_mut::{self, VisitMut};
use syn::{Attribute, ImplItemFn, ItemFn, ReturnType, Signature, TraitItemFn, Type, parse_quote};

/// Rewrites every `.rs` file below `dir` in place; returns how many functions
/// were guarded.
pub fn guard_all(dir: &Path) -> io::Result<usize> {
    let mut guarded = 0;
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            guarded += guard_all(&path)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            guarded += guard_file(&path)?;
        }
    }
    Ok(guarded)
}

fn guard_file(path: &Path) -> io::Result<usize> {
    let source = fs::read_to_string(path)?;
    let mut file = syn::parse_file(&source)
        .map_err(|err| io::Error::other(format!("{}: {err}", path.display())))?;
    let mut guard = Guard { count: 0 };
    guard.visit_file_mut(&mut file);
    fs::write(path, file.into_token_stream().to_string())?;
    Ok(guard.count)
}

struct Guard {
    count: usize,
}

impl Guard {
    fn mark(&mut self, attrs: &mut Vec<Attribute>, sig: &Signature) {
        if sig.asyncness.is_some() || sig.constness.is_some() {
            return;
        }
        // The crate's own error types do not convert from ours, so functions
        // returning a `Result` panic instead of returning our error.
        let attr: Attribute = if returns_result(&sig.output) {
            parse_quote!(#[::async_unsafe_runtime::async_unsafe(panic)])
        } else {
            parse_quote!(#[::async_unsafe_runtime::async_unsafe])
        };
        attrs.push(attr);
        self.count += 1;
    }
}

fn returns_result(output: &ReturnType) -> bool {
    match output {
        ReturnType::Type(_, ty) => match &**ty {
            Type::Path(path) => path
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "Result"),
            _ => false,
        },
        ReturnType::Default => false,
    }
}

impl VisitMut for Guard {
    fn visit_item_fn_mut(&mut self, f: &mut ItemFn) {
        visit_mut::visit_item_fn_mut(self, f);
        self.mark(&mut f.attrs, &f.sig);
    }

    fn visit_impl_item_fn_mut(&mut self, f: &mut ImplItemFn) {
        visit_mut::visit_impl_item_fn_mut(self, f);
        self.mark(&mut f.attrs, &f.sig);
    }

    fn visit_trait_item_fn_mut(&mut self, f: &mut TraitItemFn) {
        visit_mut::visit_trait_item_fn_mut(self, f);
        if f.default.is_some() {
            self.mark(&mut f.attrs, &f.sig);
        }
    }
}
