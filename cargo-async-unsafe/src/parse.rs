//! Files → items: each crate is read from its root file, following `mod`
//! declarations (`foo.rs`, `foo/mod.rs`, `#[path = ".."]`), with every
//! `cfg`-ed module included. Each file is parsed with `syn` and reduced at once
//! to a plain summary ([`ModuleIr`]): the names a module declares and imports,
//! and for every function its signature facts and the calls in its body, each
//! call filed under the body that runs it (the function's own body, or an
//! `async` block or closure, which is an async root of its own).
//!
//! Files are parsed in parallel, one breadth level of the module tree at a
//! time (`syn` trees cannot cross threads; the summaries can).
//!
//! Limits (it is syntactic):
//! - macro bodies are read for the expressions in them, whatever the macro's
//!   grammar (lists, statements, `key: value`, `pattern => expr` arms); what
//!   a macro expands to (items it defines, calls it adds) is not seen;
//! - a closure, or a function passed by name (`map(load)`), runs where its
//!   host runs it (see [`Host`]): adapters and combinators run it, an unknown
//!   function may;
//! - chain breakers are recognised here by name: a closure given to a
//!   function or method named `sync_to_async`, `spawn_blocking`,
//!   `block_in_place`, `spawn`, `spawn_scoped` or `scope`, to anything under
//!   `rayon::`, or to a method of a chain that went through `par_iter`-style
//!   adapters; `graph.rs` adds the configured and resolved ones.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use syn::ext::IdentExt;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Expr, Item, Pat, Token, Type};

use crate::cfg::Cfg;

/// A type as written, reduced to what method resolution needs.
#[derive(Clone, Debug)]
pub(crate) enum TypeIr {
    /// `a::b::C<Args..>`: the segments and the last segment's type arguments.
    Path(Vec<String>, Vec<TypeIr>),
    /// `dyn A + B`, `impl A`: the trait paths.
    Traits(Vec<Vec<String>>),
    /// `(A, B)`.
    Tuple(Vec<TypeIr>),
    /// Anything else.
    Unknown,
}

/// An expression whose type may be inferred later.
#[derive(Clone, Debug)]
pub(crate) enum ExprTy {
    /// An explicit type (annotation, struct literal, cast).
    Ty(TypeIr),
    /// A local binding or parameter.
    Local(String),
    /// `self`.
    SelfValue,
    /// `path(..)`.
    Call(Vec<String>),
    /// `recv.name(..)`.
    Method(Box<ExprTy>, String),
    /// `base.field`.
    Field(Box<ExprTy>, String),
    /// `expr?`: the `Ok`/`Some` inside.
    Try(Box<ExprTy>),
    /// `expr.0`, or the element a tuple pattern binds.
    TupleField(Box<ExprTy>, usize),
    /// What a one-field pattern `Wrapper(x)` binds: the first type argument.
    FirstArg(Box<ExprTy>),
    /// The value of a `match`, `if` or block: whichever branch tells.
    OneOf(Vec<ExprTy>),
    /// Nothing known.
    Unknown,
}

/// What a call names, as written.
#[derive(Clone, Debug)]
pub(crate) enum Callee {
    /// `a::b::f(..)`.
    Path(Vec<String>),
    /// `recv.name(..)`.
    Method { name: String, recv: ExprTy },
}

/// One call site.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub(crate) callee: Callee,
    /// 1-based line of the call expression's start.
    pub(crate) line: usize,
    /// 1-based column (characters) of the call expression's start.
    pub(crate) column: usize,
    /// An `// async-unsafe: allow` comment covers it.
    pub(crate) allowed: bool,
    /// Whether the call runs when the body runs, or inside a closure (or a
    /// function passed by name) that something else calls.
    pub(crate) host: Host,
    /// The line of that comment.
    pub(crate) allow_line: Option<usize>,
    /// 1-based line of the call expression's end.
    pub(crate) end_line: usize,
    /// 1-based column (characters) just past the call expression's end.
    pub(crate) end_column: usize,
}

/// Who runs a call written inside a closure, or a function passed by name.
#[derive(Clone, Debug)]
pub(crate) enum Host {
    /// The body itself: the call is made where it is written.
    Body,
    /// An iterator adapter or `Option`/`Result` combinator, which calls the
    /// closure before its result is used.
    Adapter,
    /// The closure was handed to this call: it runs the closure if the callee
    /// calls that parameter (a workspace function that does), else maybe.
    Call(Box<Callee>),
    /// Nobody known: the closure was stored or returned.
    Unknown,
}

/// Methods that call the closure they are given before the value they return
/// is of use: iterator adapters and consumers, `Option`/`Result`
/// combinators, entry and cell helpers.
const ADAPTERS: &[&str] = &[
    "map",
    "and_then",
    "or_else",
    "unwrap_or_else",
    "map_or",
    "map_or_else",
    "map_err",
    "ok_or_else",
    "filter",
    "filter_map",
    "flat_map",
    "for_each",
    "try_for_each",
    "fold",
    "try_fold",
    "reduce",
    "any",
    "all",
    "find",
    "find_map",
    "position",
    "take_while",
    "skip_while",
    "map_while",
    "inspect",
    "scan",
    "retain",
    "retain_mut",
    "sort_by",
    "sort_by_key",
    "sort_unstable_by",
    "sort_unstable_by_key",
    "max_by",
    "min_by",
    "max_by_key",
    "min_by_key",
    "partition",
    "get_or_insert_with",
    "or_insert_with",
    "or_insert_with_key",
    "and_modify",
    "then",
    "with",
    "with_borrow",
    "with_borrow_mut",
    "get_or_init",
    "get_or_try_init",
    "is_some_and",
    "is_ok_and",
    "is_none_or",
    "dedup_by",
    "dedup_by_key",
    "binary_search_by",
    "binary_search_by_key",
    "chunk_by",
    "update",
    "fetch_update",
];
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// The function's own body.
    Fn,
    /// An `async { .. }` block inside it.
    AsyncBlock,
    /// An `async |..| ..` closure inside it.
    AsyncClosure,
}

/// The calls one piece of code makes directly.
#[derive(Clone, Debug)]
pub(crate) struct Body {
    pub(crate) kind: BodyKind,
    pub(crate) line: usize,
    pub(crate) calls: Vec<Call>,
}

/// A function or method.
#[derive(Clone, Debug)]
pub(crate) struct FnIr {
    pub(crate) name: String,
    /// Line of the `fn` name.
    pub(crate) line: usize,
    pub(crate) is_async: bool,
    pub(crate) has_receiver: bool,
    /// `#[async_unsafe]` on it or on its `impl` block.
    pub(crate) marked: bool,
    /// `// async-unsafe: allow` on the item.
    pub(crate) allowed: bool,
    /// The line of that comment.
    pub(crate) allow_line: Option<usize>,
    /// A test function: `#[test]`, `#[tokio::test]` (an attribute whose
    /// path ends in `test`).
    pub(crate) test: bool,
    /// The `impl` block's self type (None for free functions and trait definitions).
    pub(crate) self_ty: Option<TypeIr>,
    /// The trait implemented, or the trait defining this method.
    pub(crate) trait_path: Option<Vec<String>>,
    /// A method declared in a `trait` item (with or without a default body).
    pub(crate) in_trait_def: bool,
    pub(crate) has_body: bool,
    /// Generic parameters with their trait bounds (fn's and impl's).
    pub(crate) generics: Vec<(String, Vec<Vec<String>>)>,
    pub(crate) params: Vec<(String, TypeIr)>,
    /// Local bindings: name, value, line of the binding.
    pub(crate) locals: Vec<(String, ExprTy, usize)>,
    pub(crate) ret: Option<TypeIr>,
    /// `bodies[0]` is the function's own; the rest are async blocks/closures.
    pub(crate) bodies: Vec<Body>,
    /// It calls one of its parameters (`f()`, `f.call(..)`): a closure given
    /// to it runs before it returns.
    pub(crate) calls_param: bool,
    /// It hands one of its parameters to a chain breaker (`fn run<F>(f: F)
    /// { spawn_blocking(f) }`): it is a chain breaker itself.
    pub(crate) breaks_param: bool,
    /// Calls that one of its parameters is handed to, directly or inside a
    /// closure that calls it: if one of them is a chain breaker, so is this
    /// function (`blocking_json_task(f)` → `blocking_task(f)` →
    /// `spawn_blocking(f)`).
    pub(crate) param_hosts: Vec<Callee>,
}

/// An import: `use a::b as c;` (alias `c`) or `use a::b::*;` (glob).
#[derive(Clone, Debug)]
pub(crate) struct UseIr {
    pub(crate) alias: Option<String>,
    pub(crate) path: Vec<String>,
}

/// What one module declares.
#[derive(Clone, Debug, Default)]
pub(crate) struct ModuleIr {
    /// Path inside the crate (`[]` for the root).
    pub(crate) path: Vec<String>,
    /// Index of the file it is in (in the crate's file list).
    pub(crate) file: usize,
    pub(crate) uses: Vec<UseIr>,
    pub(crate) fns: Vec<FnIr>,
    /// Structs, enums, unions.
    pub(crate) types: Vec<String>,
    pub(crate) traits: Vec<String>,
    pub(crate) aliases: Vec<(String, TypeIr)>,
    /// Named fields of structs.
    pub(crate) fields: Vec<(String, Vec<(String, TypeIr)>)>,
    pub(crate) children: Vec<String>,
    /// Child modules declared under `#[cfg(..)]`, with the condition.
    pub(crate) gated: Vec<(String, Cfg)>,
}

/// A file that was read and parsed.
pub(crate) struct ParsedFile {
    pub(crate) modules: Vec<ModuleIr>,
    /// `mod x;` declarations: (module path, candidate files in order,
    /// whether a `#[cfg]` may leave the module out).
    pub(crate) pending: Vec<(Vec<String>, Vec<PathBuf>, bool)>,
}

/// Why a file was skipped.
#[derive(Debug, Clone)]
pub(crate) struct FileError {
    pub(crate) path: PathBuf,
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) message: String,
}

/// Lines carrying `// async-unsafe: allow`.
struct AllowLines {
    any: HashSet<usize>,
    comment_only: HashSet<usize>,
}

const ALLOW_MARK: &str = "async-unsafe: allow";

impl AllowLines {
    fn scan(text: &str) -> AllowLines {
        let mut any = HashSet::new();
        let mut comment_only = HashSet::new();
        for (i, line) in text.lines().enumerate() {
            if let Some(pos) = line.find("//") {
                if line[pos..].contains(ALLOW_MARK) {
                    any.insert(i + 1);
                    if line.trim_start().starts_with("//") {
                        comment_only.insert(i + 1);
                    }
                }
            }
        }
        AllowLines { any, comment_only }
    }

    /// The line of the mark that covers `line`: on it, or alone on the
    /// line before.
    fn covering(&self, line: usize) -> Option<usize> {
        if self.any.contains(&line) {
            Some(line)
        } else if line > 1 && self.comment_only.contains(&(line - 1)) {
            Some(line - 1)
        } else {
            None
        }
    }

    /// The line of the mark that covers an item from line `first` (its
    /// first attribute) to `last` (its name): the mark on one of those
    /// lines, or alone on the line before, as for a call.
    fn covering_item(&self, first: usize, last: usize) -> Option<usize> {
        (first..=last)
            .find(|l| self.any.contains(l))
            .or_else(|| self.covering(first))
    }
}

/// The lines of `text` carrying `// async-unsafe: allow`, in order.
pub(crate) fn allow_comment_lines(text: &str) -> Vec<usize> {
    let mut lines: Vec<usize> = AllowLines::scan(text).any.into_iter().collect();
    lines.sort_unstable();
    lines
}

/// `#[test]`, `#[tokio::test]`, `#[async_std::test]`: an attribute whose
/// path ends in `test`.
fn is_test_fn(attrs: &[syn::Attribute]) -> bool {
    attrs
        .iter()
        .any(|a| a.path().segments.last().is_some_and(|s| s.ident == "test"))
}

/// Reads and parses `path`, the file of module `module` whose submodules'
/// files live under `child_dir`.
pub(crate) fn parse_file(
    path: &Path,
    module: Vec<String>,
    child_dir: &Path,
    file_index: usize,
) -> Result<ParsedFile, FileError> {
    let text = std::fs::read_to_string(path).map_err(|e| FileError {
        path: path.to_owned(),
        line: 0,
        column: 0,
        message: format!("could not read: {e}"),
    })?;
    parse_text(&text, path, module, child_dir, file_index)
}

/// Parses `text` (the contents of `path`).
pub(crate) fn parse_text(
    text: &str,
    path: &Path,
    module: Vec<String>,
    child_dir: &Path,
    file_index: usize,
) -> Result<ParsedFile, FileError> {
    let file = syn::parse_file(text).map_err(|e| {
        let start = e.span().start();
        FileError {
            path: path.to_owned(),
            line: start.line,
            column: start.column + 1,
            message: e.to_string(),
        }
    })?;
    let allow = AllowLines::scan(text);
    let file_dir = path.parent().unwrap_or(Path::new("")).to_owned();
    let mut out = ParsedFile {
        modules: Vec::new(),
        pending: Vec::new(),
    };
    let mut walker = ItemWalker {
        allow: &allow,
        file_index,
        out: &mut out,
    };
    walker.module(&file.items, module, child_dir, &file_dir);
    Ok(out)
}

struct ItemWalker<'a> {
    allow: &'a AllowLines,
    file_index: usize,
    out: &'a mut ParsedFile,
}

fn path_segs(path: &syn::Path) -> Vec<String> {
    path.segments
        .iter()
        .map(|s| s.ident.unraw().to_string())
        .collect()
}

fn is_marked(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "async_unsafe")
    })
}

fn path_attr(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| {
        if !a.path().is_ident("path") {
            return None;
        }
        match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        }
    })
}

pub(crate) fn type_ir(ty: &Type) -> TypeIr {
    match ty {
        Type::Path(p) if p.qself.is_none() => {
            let segs = path_segs(&p.path);
            let args = match p.path.segments.last().map(|s| &s.arguments) {
                Some(syn::PathArguments::AngleBracketed(a)) => a
                    .args
                    .iter()
                    .filter_map(|arg| match arg {
                        syn::GenericArgument::Type(t) => Some(type_ir(t)),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            TypeIr::Path(segs, args)
        }
        Type::Reference(r) => type_ir(&r.elem),
        Type::Paren(p) => type_ir(&p.elem),
        Type::Group(g) => type_ir(&g.elem),
        Type::Ptr(p) => type_ir(&p.elem),
        Type::Tuple(t) if !t.elems.is_empty() => {
            TypeIr::Tuple(t.elems.iter().map(type_ir).collect())
        }
        Type::TraitObject(t) => TypeIr::Traits(bounds(t.bounds.iter())),
        Type::ImplTrait(t) => TypeIr::Traits(bounds(t.bounds.iter())),
        _ => TypeIr::Unknown,
    }
}

fn bounds<'a>(b: impl Iterator<Item = &'a syn::TypeParamBound>) -> Vec<Vec<String>> {
    b.filter_map(|b| match b {
        syn::TypeParamBound::Trait(t) => Some(path_segs(&t.path)),
        _ => None,
    })
    .collect()
}

fn generics_of(g: &syn::Generics) -> Vec<(String, Vec<Vec<String>>)> {
    let mut out: Vec<(String, Vec<Vec<String>>)> = g
        .type_params()
        .map(|p| (p.ident.unraw().to_string(), bounds(p.bounds.iter())))
        .collect();
    if let Some(wc) = &g.where_clause {
        for pred in &wc.predicates {
            if let syn::WherePredicate::Type(pt) = pred {
                if let TypeIr::Path(segs, _) = type_ir(&pt.bounded_ty) {
                    if let [name] = segs.as_slice() {
                        if let Some(entry) = out.iter_mut().find(|(n, _)| n == name) {
                            entry.1.extend(bounds(pt.bounds.iter()));
                        }
                    }
                }
            }
        }
    }
    out
}

/// The type of an expression, as far as syntax tells.
pub(crate) fn expr_ty(e: &Expr) -> ExprTy {
    match e {
        Expr::Path(p) if p.qself.is_none() => {
            let segs = path_segs(&p.path);
            let upper = |s: &String| s.starts_with(|c: char| c.is_uppercase());
            let constant = |s: &String| {
                s.chars()
                    .all(|c| c.is_uppercase() || c == '_' || c.is_ascii_digit())
            };
            if p.path.is_ident("self") {
                ExprTy::SelfValue
            } else if segs.len() >= 2 && upper(&segs[segs.len() - 2]) {
                // `Enum::Variant`: a value of the enum.
                ExprTy::Ty(TypeIr::Path(segs[..segs.len() - 1].to_vec(), vec![]))
            } else if segs.last().is_some_and(|l| upper(l) && !constant(l)) {
                // A unit struct (`Loud`, `store::Disk`), not a CONSTANT.
                ExprTy::Ty(TypeIr::Path(segs, vec![]))
            } else if let Some(id) = p.path.get_ident() {
                ExprTy::Local(id.unraw().to_string())
            } else {
                ExprTy::Unknown
            }
        }
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) if p.qself.is_none() => ExprTy::Call(path_segs(&p.path)),
            _ => ExprTy::Unknown,
        },
        Expr::MethodCall(m) => {
            ExprTy::Method(Box::new(expr_ty(&m.receiver)), m.method.unraw().to_string())
        }
        Expr::Field(f) => match &f.member {
            syn::Member::Named(id) => ExprTy::Field(Box::new(expr_ty(&f.base)), id.to_string()),
            syn::Member::Unnamed(i) => {
                ExprTy::TupleField(Box::new(expr_ty(&f.base)), i.index as usize)
            }
        },
        Expr::Lit(l) => match &l.lit {
            syn::Lit::Str(_) => ExprTy::Ty(TypeIr::Path(vec!["str".into()], vec![])),
            syn::Lit::Int(_) | syn::Lit::Float(_) => {
                ExprTy::Ty(TypeIr::Path(vec!["u64".into()], vec![]))
            }
            _ => ExprTy::Unknown,
        },
        Expr::Macro(m) => match m
            .mac
            .path
            .segments
            .last()
            .map(|s| s.ident.unraw().to_string())
        {
            Some(name) if name == "format" => {
                ExprTy::Ty(TypeIr::Path(vec!["String".into()], vec![]))
            }
            Some(name) if name == "vec" => ExprTy::Ty(TypeIr::Path(vec!["Vec".into()], vec![])),
            _ => ExprTy::Unknown,
        },
        Expr::Try(t) => ExprTy::Try(Box::new(expr_ty(&t.expr))),
        Expr::Await(a) => expr_ty(&a.base),
        Expr::Paren(p) => expr_ty(&p.expr),
        Expr::Group(g) => expr_ty(&g.expr),
        Expr::Reference(r) => expr_ty(&r.expr),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => expr_ty(&u.expr),
        Expr::Struct(s) if s.qself.is_none() => {
            ExprTy::Ty(TypeIr::Path(path_segs(&s.path), vec![]))
        }
        Expr::Cast(c) => ExprTy::Ty(type_ir(&c.ty)),
        Expr::Match(m) => ExprTy::OneOf(m.arms.iter().map(|a| expr_ty(&a.body)).collect()),
        Expr::If(i) => {
            let mut branches = vec![block_ty(&i.then_branch)];
            if let Some((_, e)) = &i.else_branch {
                branches.push(expr_ty(e));
            }
            ExprTy::OneOf(branches)
        }
        Expr::Block(b) => block_ty(&b.block),
        Expr::Unsafe(b) => block_ty(&b.block),
        _ => ExprTy::Unknown,
    }
}

/// The value of a block: its last expression.
fn block_ty(b: &syn::Block) -> ExprTy {
    match b.stmts.last() {
        Some(syn::Stmt::Expr(e, None)) => expr_ty(e),
        _ => ExprTy::Unknown,
    }
}

/// `(name, type)` for the bindings of a typed pattern: `x: T`, and
/// `Wrapper(x): Wrapper<T>` (axum's extractors) as `x: T`.
fn typed_bindings(pat: &Pat, ty: &Type, out: &mut Vec<(String, TypeIr)>) {
    match pat {
        Pat::Ident(id) => out.push((id.ident.unraw().to_string(), type_ir(ty))),
        Pat::TupleStruct(ts) if ts.elems.len() == 1 => {
            if let (Some(Pat::Ident(id)), TypeIr::Path(_, args)) = (ts.elems.first(), type_ir(ty)) {
                if let Some(inner) = args.into_iter().next() {
                    out.push((id.ident.unraw().to_string(), inner));
                }
            }
        }
        _ => {}
    }
}

/// `(name, type)` for the bindings of a pattern matched against a value of
/// type `value`: `x`, `(a, b)`, `Ok(x)` / `Some(x)` (the value inside),
/// `Wrapper(x)` (its first type argument), `&x`, `x @ ..`.
fn bind_pattern(pat: &Pat, value: ExprTy, line: usize, out: &mut Vec<(String, ExprTy, usize)>) {
    match pat {
        Pat::Ident(id) => out.push((id.ident.unraw().to_string(), value, line)),
        Pat::Tuple(t) => {
            for (i, p) in t.elems.iter().enumerate() {
                bind_pattern(p, ExprTy::TupleField(Box::new(value.clone()), i), line, out);
            }
        }
        Pat::TupleStruct(ts) if ts.elems.len() == 1 => {
            let wrapper = ts.path.segments.last().map(|s| s.ident.unraw().to_string());
            let inner = match wrapper.as_deref() {
                Some("Ok" | "Some") => ExprTy::Try(Box::new(value)),
                Some("Err" | "None") => return,
                _ => ExprTy::FirstArg(Box::new(value)),
            };
            if let Some(p) = ts.elems.first() {
                bind_pattern(p, inner, line, out);
            }
        }
        Pat::Reference(r) => bind_pattern(&r.pat, value, line, out),
        Pat::Paren(p) => bind_pattern(&p.pat, value, line, out),
        Pat::Type(pt) => {
            let mut bound = Vec::new();
            typed_bindings(&pt.pat, &pt.ty, &mut bound);
            out.extend(bound.into_iter().map(|(n, t)| (n, ExprTy::Ty(t), line)));
        }
        _ => {}
    }
}

fn line_of(span: proc_macro2::Span) -> usize {
    span.start().line
}

impl ItemWalker<'_> {
    fn module(&mut self, items: &[Item], path: Vec<String>, child_dir: &Path, file_dir: &Path) {
        let index = self.out.modules.len();
        self.out.modules.push(ModuleIr {
            path: path.clone(),
            file: self.file_index,
            ..ModuleIr::default()
        });
        let mut nested: Vec<Item> = Vec::new();
        for item in items {
            self.item(item, index, &path, child_dir, file_dir, &mut nested);
        }
        // Items declared inside function bodies belong to this module's scope.
        while let Some(item) = nested.pop() {
            let mut more = Vec::new();
            self.item(&item, index, &path, child_dir, file_dir, &mut more);
            nested.extend(more);
        }
    }

    fn item(
        &mut self,
        item: &Item,
        index: usize,
        path: &[String],
        child_dir: &Path,
        file_dir: &Path,
        nested: &mut Vec<Item>,
    ) {
        match item {
            Item::Fn(f) => {
                let ir = self.function(
                    &f.attrs,
                    &f.sig,
                    Some(&f.block),
                    FnCtx::default(),
                    nested,
                    f.span(),
                );
                self.out.modules[index].fns.push(ir);
            }
            Item::Impl(imp) => {
                let self_ty = type_ir(&imp.self_ty);
                let trait_path = imp.trait_.as_ref().map(|(_, p, _)| path_segs(p));
                let marked = is_marked(&imp.attrs);
                let line = line_of(imp.impl_token.span);
                let first = imp
                    .attrs
                    .iter()
                    .map(|a| line_of(a.pound_token.span))
                    .fold(line, usize::min);
                let allow_line = self.allow.covering_item(first, line);
                let generics = generics_of(&imp.generics);
                for it in &imp.items {
                    if let syn::ImplItem::Fn(m) = it {
                        let ctx = FnCtx {
                            self_ty: Some(self_ty.clone()),
                            trait_path: trait_path.clone(),
                            in_trait_def: false,
                            marked,
                            allow_line,
                            generics: generics.clone(),
                        };
                        let ir =
                            self.function(&m.attrs, &m.sig, Some(&m.block), ctx, nested, m.span());
                        self.out.modules[index].fns.push(ir);
                    }
                }
            }
            Item::Trait(t) => {
                let name = t.ident.unraw().to_string();
                self.out.modules[index].traits.push(name.clone());
                let marked = is_marked(&t.attrs);
                for it in &t.items {
                    if let syn::TraitItem::Fn(m) = it {
                        let ctx = FnCtx {
                            self_ty: None,
                            trait_path: Some(vec![name.clone()]),
                            in_trait_def: true,
                            marked,
                            allow_line: None,
                            generics: vec![("Self".into(), vec![vec![name.clone()]])],
                        };
                        let ir = self.function(
                            &m.attrs,
                            &m.sig,
                            m.default.as_ref(),
                            ctx,
                            nested,
                            m.span(),
                        );
                        self.out.modules[index].fns.push(ir);
                    }
                }
            }
            Item::Struct(s) => {
                let name = s.ident.unraw().to_string();
                let fields = s
                    .fields
                    .iter()
                    .filter_map(|f| f.ident.as_ref().map(|id| (id.to_string(), type_ir(&f.ty))))
                    .collect();
                let m = &mut self.out.modules[index];
                m.types.push(name.clone());
                m.fields.push((name, fields));
            }
            Item::Enum(e) => self.out.modules[index]
                .types
                .push(e.ident.unraw().to_string()),
            Item::Union(u) => self.out.modules[index]
                .types
                .push(u.ident.unraw().to_string()),
            Item::Type(t) => {
                self.out.modules[index]
                    .aliases
                    .push((t.ident.unraw().to_string(), type_ir(&t.ty)));
            }
            Item::Use(u) => {
                let mut uses = Vec::new();
                flatten_use(&u.tree, Vec::new(), &mut uses);
                self.out.modules[index].uses.extend(uses);
            }
            Item::ExternCrate(e) => {
                let alias = e.rename.as_ref().map_or(&e.ident, |(_, id)| id).to_string();
                self.out.modules[index].uses.push(UseIr {
                    alias: Some(alias),
                    path: vec![e.ident.unraw().to_string()],
                });
            }
            Item::Mod(m) => {
                let name = m.ident.unraw().to_string();
                self.out.modules[index].children.push(name.clone());
                if let Some(cfg) = Cfg::of_attrs(&m.attrs) {
                    self.out.modules[index].gated.push((name.clone(), cfg));
                }
                let mut sub = path.to_vec();
                sub.push(name.clone());
                let explicit = path_attr(&m.attrs);
                match &m.content {
                    Some((_, items)) => {
                        let dir = match &explicit {
                            Some(p) => file_dir.join(p),
                            None => child_dir.join(&name),
                        };
                        self.module(items, sub, &dir, &dir);
                    }
                    None => {
                        let candidates = match explicit {
                            Some(p) => vec![file_dir.join(p)],
                            None => vec![
                                child_dir.join(format!("{name}.rs")),
                                child_dir.join(&name).join("mod.rs"),
                            ],
                        };
                        let gated = m.attrs.iter().any(|a| a.path().is_ident("cfg"));
                        self.out.pending.push((sub, candidates, gated));
                    }
                }
            }
            _ => {}
        }
    }

    fn function(
        &mut self,
        attrs: &[syn::Attribute],
        sig: &syn::Signature,
        block: Option<&syn::Block>,
        ctx: FnCtx,
        nested: &mut Vec<Item>,
        whole: proc_macro2::Span,
    ) -> FnIr {
        let line = line_of(sig.ident.span());
        let first = attrs
            .iter()
            .map(|a| line_of(a.pound_token.span))
            .min()
            .unwrap_or(line)
            .min(line_of(whole));
        let mut generics = ctx.generics;
        generics.extend(generics_of(&sig.generics));
        let mut params = Vec::new();
        for input in &sig.inputs {
            if let syn::FnArg::Typed(pt) = input {
                typed_bindings(&pt.pat, &pt.ty, &mut params);
            }
        }
        let allow_line = ctx
            .allow_line
            .or_else(|| self.allow.covering_item(first, line));
        let mut ir = FnIr {
            name: sig.ident.unraw().to_string(),
            line,
            is_async: sig.asyncness.is_some(),
            has_receiver: sig.receiver().is_some(),
            marked: ctx.marked || is_marked(attrs),
            allowed: allow_line.is_some(),
            allow_line,
            test: is_test_fn(attrs),
            self_ty: ctx.self_ty,
            trait_path: ctx.trait_path,
            in_trait_def: ctx.in_trait_def,
            has_body: block.is_some(),
            generics,
            params,
            locals: Vec::new(),
            ret: match &sig.output {
                syn::ReturnType::Type(_, t) => Some(type_ir(t)),
                syn::ReturnType::Default => None,
            },
            bodies: vec![Body {
                kind: BodyKind::Fn,
                line,
                calls: Vec::new(),
            }],
            calls_param: false,
            breaks_param: false,
            param_hosts: Vec::new(),
        };
        if let Some(block) = block {
            let mut v = BodyVisitor {
                ir: &mut ir,
                current: Some(0),
                host: Host::Body,
                allow: self.allow,
                nested,
                closures: Vec::new(),
                passes: Vec::new(),
            };
            v.visit_block(block);
            let (closures, passes) = (v.closures, v.passes);
            settle_local_closures(&mut ir, &closures, &passes);
        }
        ir.calls_param = ir.bodies[0].calls.iter().any(|c| match &c.callee {
            Callee::Path(p) => p.len() == 1 && ir.params.iter().any(|(n, _)| *n == p[0]),
            Callee::Method { name, recv } => {
                matches!(name.as_str(), "call" | "call_mut" | "call_once")
                    && matches!(recv, ExprTy::Local(n) if ir.params.iter().any(|(p, _)| p == n))
            }
        });
        ir
    }
}

#[derive(Default)]
struct FnCtx {
    self_ty: Option<TypeIr>,
    trait_path: Option<Vec<String>>,
    in_trait_def: bool,
    marked: bool,
    allow_line: Option<usize>,
    generics: Vec<(String, Vec<Vec<String>>)>,
}

fn flatten_use(tree: &syn::UseTree, prefix: Vec<String>, out: &mut Vec<UseIr>) {
    match tree {
        syn::UseTree::Path(p) => {
            let mut prefix = prefix;
            prefix.push(p.ident.unraw().to_string());
            flatten_use(&p.tree, prefix, out);
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.unraw().to_string();
            if name == "self" {
                if let Some(last) = prefix.last().cloned() {
                    out.push(UseIr {
                        alias: Some(last),
                        path: prefix,
                    });
                }
            } else {
                let mut path = prefix;
                path.push(name.clone());
                out.push(UseIr {
                    alias: Some(name),
                    path,
                });
            }
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix;
            let name = r.ident.unraw().to_string();
            if name != "self" {
                path.push(name);
            }
            let alias = r.rename.to_string();
            if alias != "_" {
                out.push(UseIr {
                    alias: Some(alias),
                    path,
                });
            }
        }
        syn::UseTree::Glob(_) => out.push(UseIr {
            alias: None,
            path: prefix,
        }),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                flatten_use(t, prefix.clone(), out);
            }
        }
    }
}

/// Names whose closure arguments run off the async threads.
const BREAKER_FNS: &[&str] = &[
    "sync_to_async",
    "spawn_blocking",
    "block_in_place",
    "spawn",
    "spawn_scoped",
    "scope",
];

fn is_parallel_chain(e: &Expr) -> bool {
    match e {
        Expr::MethodCall(m) => {
            let name = m.method.unraw().to_string();
            name.starts_with("par_")
                || name.starts_with("into_par_")
                || is_parallel_chain(&m.receiver)
        }
        _ => false,
    }
}

struct BodyVisitor<'a> {
    ir: &'a mut FnIr,
    /// The body calls are filed under; `None` inside a chain breaker.
    current: Option<usize>,
    /// Who runs the closure being visited (`Body` outside closures).
    host: Host,
    allow: &'a AllowLines,
    nested: &'a mut Vec<Item>,
    /// Closures bound to a local: (name, body index, first and last call).
    closures: Vec<(String, usize, usize, usize)>,
    /// Where a local closure went: (name, how it is run; `None` if into a
    /// chain breaker).
    passes: Vec<(String, Option<Host>)>,
}

/// Calls made inside a closure bound to a local take the host of the place
/// the closure goes: called directly, the body; handed to a breaker, nobody
/// (dropped); handed to a call, that call; else unknown.
fn settle_local_closures(
    ir: &mut FnIr,
    closures: &[(String, usize, usize, usize)],
    passes: &[(String, Option<Host>)],
) {
    // Latest first, so that dropping a range leaves earlier ranges in place.
    for (name, body, first, last) in closures.iter().rev() {
        let called = ir.bodies.iter().any(|b| {
            b.calls
                .iter()
                .any(|c| matches!(&c.callee, Callee::Path(p) if p.len() == 1 && p[0] == *name))
        });
        let passed: Vec<&Option<Host>> = passes
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, h)| h)
            .collect();
        let host = if called {
            Some(Host::Body)
        } else if passed.iter().any(|h| h.is_none()) {
            None
        } else if let Some(Some(h)) = passed.first() {
            Some(h.clone())
        } else {
            Some(Host::Unknown)
        };
        let calls = &mut ir.bodies[*body].calls;
        match host {
            None => {
                calls.drain(*first..*last);
            }
            Some(h) => {
                for c in &mut calls[*first..*last] {
                    if matches!(c.host, Host::Unknown) {
                        c.host = h.clone();
                    }
                }
            }
        }
    }
}

/// How deep macro bodies are searched for expressions inside groups.
const MACRO_DEPTH: usize = 8;

/// Whether `e` is a call of `Handle::try_current` (tokio's "is a runtime
/// here?").
fn is_try_current(e: &Expr) -> bool {
    match e {
        Expr::Call(c) => matches!(&*c.func, Expr::Path(p)
            if p.path.segments.last().is_some_and(|s| s.ident == "try_current")),
        Expr::Paren(p) => is_try_current(&p.expr),
        _ => false,
    }
}

/// A condition that tells whether a runtime is entered: `Some(true)` when it
/// holds only outside one (`Handle::try_current().is_err()`), `Some(false)`
/// when only inside (`.is_ok()`, `if let Ok(h) = Handle::try_current()`).
fn runtime_guard(cond: &Expr) -> Option<bool> {
    match cond {
        Expr::MethodCall(m) if is_try_current(&m.receiver) => match m.method.to_string().as_str() {
            "is_err" | "is_none" => Some(true),
            "is_ok" | "is_some" => Some(false),
            _ => None,
        },
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => runtime_guard(&u.expr).map(|b| !b),
        Expr::Let(l) if is_try_current(&l.expr) => match &*l.pat {
            Pat::TupleStruct(ts)
                if ts
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "Ok" || s.ident == "Some") =>
            {
                Some(false)
            }
            _ => None,
        },
        Expr::Paren(p) => runtime_guard(&p.expr),
        _ => None,
    }
}

impl BodyVisitor<'_> {
    /// Visits code that runs only outside a runtime (when `outside`) with no
    /// body to file calls under: async code never runs it.
    fn unless_outside(&mut self, outside: bool, visit: impl FnOnce(&mut Self)) {
        if outside {
            let saved = self.current.take();
            visit(self);
            self.current = saved;
        } else {
            visit(self);
        }
    }

    /// The calls in a macro invocation's body, whatever its grammar: a list
    /// of expressions (`println!`, `vec!`), statements (`tokio::select!`'s
    /// handlers, `quote!`-free blocks), `key: value` pairs (`json!`) or
    /// `pattern = future => handler` arms (`select!`). The body is split at
    /// top-level `,` and `;`, each piece at `=>`, `=` and `:`, and every part
    /// that parses as an expression is read; a group that does not is
    /// searched inside. Tokens that are not Rust expressions are skipped.
    fn macro_tokens(&mut self, tokens: proc_macro2::TokenStream, depth: usize) {
        use proc_macro2::{Delimiter, TokenTree};
        if depth > MACRO_DEPTH {
            return;
        }
        if let Ok(exprs) = syn::parse::Parser::parse2(
            Punctuated::<Expr, Token![,]>::parse_terminated,
            tokens.clone(),
        ) {
            for e in &exprs {
                self.visit_expr(e);
            }
            return;
        }
        if let Ok(stmts) = syn::parse::Parser::parse2(syn::Block::parse_within, tokens.clone()) {
            for st in &stmts {
                self.visit_stmt(st);
            }
            return;
        }
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let is_punct =
            |t: &TokenTree, c: char| matches!(t, TokenTree::Punct(p) if p.as_char() == c);
        let mut pieces: Vec<Vec<TokenTree>> = vec![Vec::new()];
        let mut i = 0;
        while i < trees.len() {
            let t = &trees[i];
            let joint =
                matches!(t, TokenTree::Punct(p) if p.spacing() == proc_macro2::Spacing::Joint);
            let arrow =
                is_punct(t, '=') && joint && trees.get(i + 1).is_some_and(|n| is_punct(n, '>'));
            let path_sep =
                is_punct(t, ':') && joint && trees.get(i + 1).is_some_and(|n| is_punct(n, ':'));
            if path_sep {
                if let Some(p) = pieces.last_mut() {
                    p.extend([t.clone(), trees[i + 1].clone()]);
                }
                i += 2;
                continue;
            }
            if arrow {
                pieces.push(Vec::new());
                i += 2;
                continue;
            }
            let split =
                (is_punct(t, ',') || is_punct(t, ';') || is_punct(t, ':') || is_punct(t, '='))
                    && !joint;
            if split {
                pieces.push(Vec::new());
            } else if let Some(p) = pieces.last_mut() {
                p.push(t.clone());
            }
            i += 1;
        }
        for piece in pieces.into_iter().filter(|p| !p.is_empty()) {
            let stream: proc_macro2::TokenStream = piece.iter().cloned().collect();
            if let Ok(e) = syn::parse2::<Expr>(stream) {
                self.visit_expr(&e);
                continue;
            }
            for t in piece {
                if let TokenTree::Group(g) = t {
                    if g.delimiter() != Delimiter::None || !g.stream().is_empty() {
                        self.macro_tokens(g.stream(), depth + 1);
                    }
                }
            }
        }
    }

    fn is_param(&self, name: &str) -> bool {
        self.ir.params.iter().any(|(n, _)| n == name)
    }

    fn record(&mut self, callee: Callee, span: proc_macro2::Span, name_line: usize) {
        if let (Callee::Path(p), Host::Call(host)) = (&callee, &self.host) {
            if p.len() == 1 && self.is_param(&p[0]) {
                self.ir.param_hosts.push((**host).clone());
            }
        }
        let Some(body) = self.current else { return };
        let start = span.start();
        let end = span.end();
        let allow_line = self
            .allow
            .covering(start.line)
            .or_else(|| self.allow.covering(name_line));
        self.ir.bodies[body].calls.push(Call {
            callee,
            line: start.line,
            column: start.column + 1,
            allowed: allow_line.is_some(),
            allow_line,
            host: self.host.clone(),
            end_line: end.line,
            end_column: end.column + 1,
        });
    }

    /// Visits a closure that `host` runs.
    fn hosted(&mut self, e: &Expr, host: Host) {
        let saved = std::mem::replace(&mut self.host, host);
        self.visit_expr(e);
        self.host = saved;
    }

    fn is_local_closure(&self, e: &Expr) -> Option<String> {
        let Expr::Path(p) = e else { return None };
        let id = p.path.get_ident()?.unraw().to_string();
        self.closures.iter().any(|(n, ..)| *n == id).then_some(id)
    }

    /// A function passed by name (`map(load)`, `run(helper)`), recorded as a
    /// call its host makes. Locals and parameters are not functions.
    fn passed_fn(&mut self, e: &Expr, host: Host) {
        let Expr::Path(p) = e else { return };
        if p.qself.is_some() {
            return;
        }
        let segs = path_segs(&p.path);
        let Some(last) = segs.last() else { return };
        if last.starts_with(|c: char| c.is_uppercase())
            || (segs.len() == 1
                && (self.ir.params.iter().any(|(n, _)| n == last)
                    || self.ir.locals.iter().any(|(n, ..)| n == last)))
        {
            return;
        }
        let saved = std::mem::replace(&mut self.host, host);
        let line = line_of(p.span());
        self.record(Callee::Path(segs), p.span(), line);
        self.host = saved;
    }

    fn new_body(&mut self, kind: BodyKind, line: usize) -> usize {
        self.ir.bodies.push(Body {
            kind,
            line,
            calls: Vec::new(),
        });
        self.ir.bodies.len() - 1
    }

    /// The arguments of a call to `host`: closures among them run when
    /// `host` calls them, or never here if it is a chain breaker.
    fn args<'e>(&mut self, args: impl Iterator<Item = &'e Expr>, breaker: bool, host: Host) {
        for arg in args {
            let closure = matches!(arg, Expr::Closure(c) if c.asyncness.is_none());
            if let Some(name) = self.is_local_closure(arg) {
                let how = (!breaker).then(|| host.clone());
                self.passes.push((name, how));
            } else if breaker && closure {
                let saved = self.current.take();
                self.visit_expr(arg);
                self.current = saved;
            } else if breaker {
                if let Expr::Path(p) = arg {
                    if let Some(id) = p.path.get_ident() {
                        let id = id.unraw().to_string();
                        if self.ir.params.iter().any(|(n, _)| *n == id) {
                            self.ir.breaks_param = true;
                        }
                    }
                }
                self.visit_expr(arg);
            } else if closure {
                let inner = match (&self.host, &host) {
                    // Nested in a closure of unknown fate: still unknown.
                    (Host::Unknown, _) => Host::Unknown,
                    _ => host.clone(),
                };
                self.hosted(arg, inner);
            } else {
                if let (Expr::Path(p), Host::Call(callee)) = (arg, &host) {
                    if p.path
                        .get_ident()
                        .is_some_and(|id| self.is_param(&id.unraw().to_string()))
                    {
                        self.ir.param_hosts.push((**callee).clone());
                    }
                }
                self.passed_fn(arg, host.clone());
                self.visit_expr(arg);
            }
        }
    }
}

impl<'ast> Visit<'ast> for BodyVisitor<'_> {
    fn visit_item(&mut self, item: &'ast Item) {
        self.nested.push(item.clone());
    }

    fn visit_expr_if(&mut self, e: &'ast syn::ExprIf) {
        // `if Handle::try_current().is_err() { handle.block_on(..) }`: the
        // guarded branch runs only outside a runtime; its calls are left out.
        let outside = runtime_guard(&e.cond);
        self.visit_expr(&e.cond);
        let then_outside = outside == Some(true);
        self.unless_outside(then_outside, |v| v.visit_block(&e.then_branch));
        if let Some((_, other)) = &e.else_branch {
            self.unless_outside(outside == Some(false), |v| v.visit_expr(other));
        }
    }

    fn visit_expr_match(&mut self, e: &'ast syn::ExprMatch) {
        let value = expr_ty(&e.expr);
        for arm in &e.arms {
            bind_pattern(
                &arm.pat,
                value.clone(),
                line_of(arm.pat.span()),
                &mut self.ir.locals,
            );
        }
        self.visit_expr(&e.expr);
        let on_runtime_handle = is_try_current(&e.expr);
        for arm in &e.arms {
            // `match Handle::try_current() { Ok(h) => .., Err(_) => block_on }`.
            let outside = on_runtime_handle
                && matches!(&arm.pat, Pat::TupleStruct(ts)
                    if ts.path.segments.last().is_some_and(|s| s.ident == "Err"));
            self.unless_outside(outside, |v| {
                if let Some((_, guard)) = &arm.guard {
                    v.visit_expr(guard);
                }
                v.visit_expr(&arm.body);
            });
        }
    }

    fn visit_expr_async(&mut self, e: &'ast syn::ExprAsync) {
        let body = self.new_body(BodyKind::AsyncBlock, line_of(e.async_token.span));
        let saved = self.current.replace(body);
        let host = std::mem::replace(&mut self.host, Host::Body);
        visit::visit_expr_async(self, e);
        self.host = host;
        self.current = saved;
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        for input in &c.inputs {
            bind_pattern(
                input,
                ExprTy::Unknown,
                line_of(input.span()),
                &mut self.ir.locals,
            );
        }
        if let Some(token) = &c.asyncness {
            let body = self.new_body(BodyKind::AsyncClosure, line_of(token.span));
            let saved = self.current.replace(body);
            let host = std::mem::replace(&mut self.host, Host::Body);
            self.visit_expr(&c.body);
            self.host = host;
            self.current = saved;
        } else if matches!(self.host, Host::Body) {
            // Not an argument (those come through `hosted`) nor bound to a
            // local (`visit_local`): stored or returned, run by nobody known.
            self.hosted(&c.body, Host::Unknown);
        } else {
            self.visit_expr(&c.body);
        }
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        let mut breaker = false;
        match &*c.func {
            Expr::Path(p) if p.qself.is_none() => {
                let segs = path_segs(&p.path);
                breaker = segs.first().is_some_and(|s| s == "rayon")
                    || segs
                        .last()
                        .is_some_and(|s| BREAKER_FNS.contains(&s.as_str()));
                let line = line_of(c.span());
                let host = Host::Call(Box::new(Callee::Path(segs.clone())));
                self.record(Callee::Path(segs), c.span(), line);
                self.args(c.args.iter(), breaker, host);
                return;
            }
            other => self.visit_expr(other),
        }
        self.args(c.args.iter(), breaker, Host::Unknown);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let name = m.method.unraw().to_string();
        let breaker = BREAKER_FNS.contains(&name.as_str()) || is_parallel_chain(&m.receiver);
        let name_line = line_of(m.method.span());
        let callee = Callee::Method {
            name: name.clone(),
            recv: expr_ty(&m.receiver),
        };
        let host = if ADAPTERS.contains(&name.as_str()) {
            Host::Adapter
        } else {
            Host::Call(Box::new(callee.clone()))
        };
        self.record(callee, m.span(), name_line);
        self.visit_expr(&m.receiver);
        self.args(m.args.iter(), breaker, host);
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        let value = l
            .init
            .as_ref()
            .map_or(ExprTy::Unknown, |i| expr_ty(&i.expr));
        // Bound as of the statement's end: its value may use names bound
        // inside it (`let c = match x { Ok(c) => c, .. };`).
        let end = l.span().end().line;
        bind_pattern(&l.pat, value, end, &mut self.ir.locals);
        // `let f = || ..;`: the calls inside run where `f` goes.
        let bound = match (&l.pat, l.init.as_ref().map(|i| &*i.expr)) {
            (Pat::Ident(id), Some(Expr::Closure(c))) if c.asyncness.is_none() => {
                Some((id.ident.unraw().to_string(), c))
            }
            _ => None,
        };
        if let (Some((name, c)), Some(body), Host::Body) = (bound, self.current, &self.host) {
            let first = self.ir.bodies[body].calls.len();
            self.hosted(&c.body, Host::Unknown);
            let last = self.ir.bodies[body].calls.len();
            self.closures.push((name, body, first, last));
            return;
        }
        visit::visit_local(self, l);
    }

    fn visit_expr_for_loop(&mut self, e: &'ast syn::ExprForLoop) {
        bind_pattern(
            &e.pat,
            ExprTy::Unknown,
            line_of(e.pat.span()),
            &mut self.ir.locals,
        );
        // `for x in rx` calls `IntoIterator::into_iter(rx)`, then `next()`
        // on it: over a std channel's receiver, a blocking receive each step.
        let line = line_of(e.expr.span());
        self.record(
            Callee::Method {
                name: "into_iter".into(),
                recv: expr_ty(&e.expr),
            },
            e.expr.span(),
            line,
        );
        visit::visit_expr_for_loop(self, e);
    }

    fn visit_expr_let(&mut self, e: &'ast syn::ExprLet) {
        bind_pattern(
            &e.pat,
            expr_ty(&e.expr),
            line_of(e.pat.span()),
            &mut self.ir.locals,
        );
        visit::visit_expr_let(self, e);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.macro_tokens(m.tokens.clone(), 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> ParsedFile {
        parse_text(
            src,
            Path::new("/x/src/lib.rs"),
            vec![],
            Path::new("/x/src"),
            0,
        )
        .unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn async_blocks_are_bodies_of_their_own_and_breakers_hide_closures() {
        let f = parse(
            "fn f() { a(); let t = async { b(); std::thread::spawn(|| c()); }; \
             tokio::task::spawn_blocking(|| { d(); async { e() } }); x.iter().map(|v| g(v)); }",
        );
        let fun = &f.modules[0].fns[0];
        let names = |b: &Body| -> Vec<String> {
            b.calls
                .iter()
                .map(|c| match &c.callee {
                    Callee::Path(p) => p.join("::"),
                    Callee::Method { name, .. } => format!(".{name}"),
                })
                .collect()
        };
        assert_eq!(fun.bodies.len(), 3);
        assert_eq!(
            names(&fun.bodies[0]),
            ["a", "tokio::task::spawn_blocking", ".map", ".iter", "g"]
        );
        assert_eq!(fun.bodies[1].kind, BodyKind::AsyncBlock);
        assert_eq!(names(&fun.bodies[1]), ["b", "std::thread::spawn"]);
        assert_eq!(names(&fun.bodies[2]), ["e"]);
    }

    #[test]
    fn marks_allow_comments_modules_and_uses_are_read() {
        let f = parse(
            "use a::{b as c, d::*, e::{self}};\n\
             #[async_unsafe] impl T { fn m(&self) {} }\n\
             // async-unsafe: allow\n\
             fn quiet() { x(); }\n\
             fn loud() {\n  y(); // async-unsafe: allow\n  z();\n}\n\
             mod inline { pub fn i() {} }\n\
             #[path = \"other.rs\"] mod elsewhere;\n\
             mod plain;\n",
        );
        let m = &f.modules[0];
        let uses: Vec<_> = m
            .uses
            .iter()
            .map(|u| (u.alias.clone(), u.path.join("::")))
            .collect();
        assert_eq!(
            uses,
            [
                (Some("c".into()), "a::b".into()),
                (None, "a::d".into()),
                (Some("e".into()), "a::e".into())
            ]
        );
        assert!(m.fns[0].marked && m.fns[0].has_receiver);
        assert!(m.fns[1].allowed && !m.fns[2].allowed);
        let calls: Vec<_> = m.fns[2].bodies[0].calls.iter().map(|c| c.allowed).collect();
        assert_eq!(calls, [true, false]);
        assert_eq!(f.modules[1].path, ["inline"]);
        assert_eq!(f.pending[0].1, [PathBuf::from("/x/src/other.rs")]);
        assert_eq!(
            f.pending[1].1,
            [
                PathBuf::from("/x/src/plain.rs"),
                PathBuf::from("/x/src/plain/mod.rs")
            ]
        );
    }

    #[test]
    fn a_file_that_does_not_parse_is_an_error_with_its_position() {
        let err = parse_text(
            "fn ok() {}\nfn broken( {",
            Path::new("b.rs"),
            vec![],
            Path::new(""),
            0,
        )
        .err()
        .unwrap();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn calls_in_macro_arguments_are_seen() {
        let f = parse("async fn f() { assert_eq!(load(), 1); println!(\"{}\", other()); }");
        let calls: Vec<_> = f.modules[0].fns[0].bodies[0]
            .calls
            .iter()
            .map(|c| format!("{:?}", c.callee))
            .collect();
        assert_eq!(calls.len(), 2, "{calls:?}");
    }
}
