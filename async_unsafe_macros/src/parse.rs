//! Input → typed input: the attribute's arguments, the arguments nested on
//! the methods of a marked `impl` block, and what a signature says about the
//! way a violation can be reported. Every syntax error of an argument is
//! raised here, at the argument's span; the checks that need the item live in
//! `validate.rs`.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{
    Attribute, Error, Ident, ImplItem, ImplItemFn, Item, ItemFn, ItemImpl, Lit, LitStr, Meta, Path,
    Result, ReturnType, Token, Type,
};

/// What the attribute was given; `None` means "the default, or the enclosing
/// `impl` block's choice".
#[derive(Default, Clone)]
pub(crate) struct Args {
    pub message: Option<LitStr>,
    pub krate: Option<Path>,
    /// The mode and the span of the argument that chose it.
    pub mode: Option<(Mode, Span)>,
    /// The span of the `track_caller` argument, when given.
    pub track_caller: Option<Span>,
}

#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Mode {
    /// Return `Err(From::from(error))`.
    Error,
    /// Panic with the error's text.
    Panic,
}

/// The item under the attribute, with the arguments that apply to each
/// function in it.
pub(crate) enum Input {
    /// A free function, a method or a default method of a trait.
    Fn(ItemFn, Args),
    /// An `impl` block, and for each of its methods in order the block's
    /// arguments under the method's own (or the error in the method's own).
    /// The methods' own `#[async_unsafe]` attributes are taken out.
    Impl(ItemImpl, Vec<Result<Args>>),
    /// Anything else; `validate` says why it cannot be guarded.
    Other(Item),
}

impl Input {
    pub(crate) fn new(args: Args, item: Item) -> Input {
        match item {
            Item::Fn(f) => Input::Fn(f, args),
            Item::Impl(mut block) => {
                let methods = methods_mut(&mut block)
                    .map(|f| own_args(&mut f.attrs).map(|own| args.overridden_by(own)))
                    .collect();
                Input::Impl(block, methods)
            }
            other => Input::Other(other),
        }
    }
}

/// The methods of an `impl` block, in order.
pub(crate) fn methods(block: &ItemImpl) -> impl Iterator<Item = &ImplItemFn> {
    block.items.iter().filter_map(|item| match item {
        ImplItem::Fn(f) => Some(f),
        _ => None,
    })
}

/// The methods of an `impl` block, in order.
pub(crate) fn methods_mut(block: &mut ItemImpl) -> impl Iterator<Item = &mut ImplItemFn> {
    block.items.iter_mut().filter_map(|item| match item {
        ImplItem::Fn(f) => Some(f),
        _ => None,
    })
}

/// Whether `attr` is an `#[async_unsafe]` (under any path, such as
/// `#[async_unsafe_runtime::async_unsafe]`).
pub(crate) fn is_ours(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "async_unsafe")
}

/// Takes a method's own `#[async_unsafe(...)]` out of its attributes, so the
/// method is guarded once, with its own arguments over the block's.
fn own_args(attrs: &mut Vec<Attribute>) -> Result<Args> {
    let mut found: Option<Args> = None;
    let mut result = Ok(());
    attrs.retain(|attr| {
        if !is_ours(attr) {
            return true;
        }
        if result.is_err() {
            return false;
        }
        let parsed = match &attr.meta {
            Meta::Path(_) => Ok(Args::default()),
            Meta::List(list) => list.parse_args::<Args>(),
            Meta::NameValue(nv) => Err(Error::new_spanned(
                nv,
                "write `#[async_unsafe(\"message\")]`, not `#[async_unsafe = ...]`",
            )),
        };
        result = match (parsed, &found) {
            (Ok(_), Some(_)) => Err(Error::new_spanned(attr, "duplicate `#[async_unsafe]`")),
            (Ok(args), None) => {
                found = Some(args);
                Ok(())
            }
            (Err(err), _) => Err(err),
        };
        false
    });
    result.map(|()| found.unwrap_or_default())
}

const EXPECTED: &str = "expected `\"message\"`, `message = \"...\"`, `error`, `panic`, \
                        `track_caller` or `crate = path`";

impl Parse for Args {
    fn parse(input: ParseStream) -> Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            if input.peek(LitStr) {
                args.set_message(input.parse()?)?;
            } else if input.peek(Lit) {
                let lit: Lit = input.parse()?;
                return Err(Error::new(
                    lit.span(),
                    "the message must be a string literal, like `#[async_unsafe(\"use sync_to_async\")]`",
                ));
            } else if input.peek(Token![crate]) {
                let kw: Token![crate] = input.parse()?;
                const HELP: &str = "`crate` takes a path: `crate = my_crate::async_unsafe_runtime`";
                expect_eq(input, kw.span, HELP)?;
                let path = input
                    .parse::<Path>()
                    .map_err(|err| Error::new(err.span(), HELP))?;
                set_once(&mut args.krate, path, kw.span, "crate")?;
            } else if input.peek(Ident) {
                let ident: Ident = input.parse()?;
                match ident.to_string().as_str() {
                    "message" => {
                        expect_eq(
                            input,
                            ident.span(),
                            "`message` takes a string: `message = \"...\"`",
                        )?;
                        if !input.peek(LitStr) {
                            return Err(input.error(
                                "the message must be a string literal, like `message = \"use sync_to_async\"`",
                            ));
                        }
                        args.set_message(input.parse()?)?;
                    }
                    "error" => args.set_mode(Mode::Error, &ident)?,
                    "panic" => args.set_mode(Mode::Panic, &ident)?,
                    "track_caller" => set_once(
                        &mut args.track_caller,
                        ident.span(),
                        ident.span(),
                        "track_caller",
                    )?,
                    other => {
                        return Err(Error::new(
                            ident.span(),
                            format!("unknown argument `{other}`: {EXPECTED}"),
                        ));
                    }
                }
            } else {
                return Err(input.error(EXPECTED));
            }
            if input.is_empty() {
                break;
            }
            if !input.peek(Token![,]) {
                return Err(input.error("expected `,` between arguments"));
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    }
}

impl Args {
    fn set_message(&mut self, lit: LitStr) -> Result<()> {
        if lit.value().trim().is_empty() {
            return Err(Error::new(
                lit.span(),
                "the message must not be empty: it is the advice the caller reads",
            ));
        }
        let span = lit.span();
        set_once(&mut self.message, lit, span, "message")
    }

    fn set_mode(&mut self, mode: Mode, ident: &Ident) -> Result<()> {
        if self.mode.is_some() {
            return Err(Error::new(
                ident.span(),
                "choose one of `error` and `panic`, once",
            ));
        }
        self.mode = Some((mode, ident.span()));
        Ok(())
    }

    /// A function's own attribute inside a marked `impl` block wins over the
    /// block's.
    fn overridden_by(&self, inner: Args) -> Args {
        Args {
            message: inner.message.or_else(|| self.message.clone()),
            krate: inner.krate.or_else(|| self.krate.clone()),
            mode: inner.mode.or(self.mode),
            track_caller: inner.track_caller.or(self.track_caller),
        }
    }
}

fn expect_eq(input: ParseStream, span: Span, help: &str) -> Result<()> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        Ok(())
    } else {
        Err(Error::new(span, help))
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, span: Span, name: &str) -> Result<()> {
    if slot.is_some() {
        return Err(Error::new(span, format!("duplicate `{name}` argument")));
    }
    *slot = Some(value);
    Ok(())
}

/// How a violation is reported when no `error`/`panic` argument says:
/// `Result<T, E>`, `io::Result<T>`, `anyhow::Result<T>`, anything whose last
/// segment is `Result`, gets the error back, except `fmt::Result`, whose
/// `fmt::Error` cannot be built from it and carries no text; everything else
/// panics. The macro cannot see through aliases with other names, hence the
/// explicit arguments.
pub(crate) fn default_mode(output: &ReturnType) -> Mode {
    match returned_path(output) {
        Some(path) if path.segments.last().is_some_and(|s| s.ident == "Result") => {
            if is_fmt_result(path) {
                Mode::Panic
            } else {
                Mode::Error
            }
        }
        _ => Mode::Panic,
    }
}

/// Whether the function returns `fmt::Result`, `std::fmt::Result`,
/// `core::fmt::Result` or `alloc::fmt::Result`.
pub(crate) fn returns_fmt_result(output: &ReturnType) -> bool {
    returned_path(output).is_some_and(is_fmt_result)
}

fn is_fmt_result(path: &Path) -> bool {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    matches!(
        names.as_slice(),
        ["fmt", "Result"] | ["std" | "core" | "alloc", "fmt", "Result"]
    ) && path.segments.iter().all(|s| s.arguments.is_none())
}

/// The path of the returned type, through parentheses; `None` for `()`,
/// qualified paths and every other kind of type.
fn returned_path(output: &ReturnType) -> Option<&Path> {
    let mut ty = match output {
        ReturnType::Type(_, ty) => &**ty,
        ReturnType::Default => return None,
    };
    loop {
        match ty {
            Type::Paren(inner) => ty = &inner.elem,
            Type::Group(inner) => ty = &inner.elem,
            Type::Path(path) if path.qself.is_none() => return Some(&path.path),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(ret: &str) -> ReturnType {
        syn::parse_str::<syn::Signature>(&format!("fn f() {ret}"))
            .unwrap()
            .output
    }

    #[test]
    fn result_like_returns_get_the_error_and_others_panic() {
        for ret in [
            "-> Result<u8, E>",
            "-> io::Result<()>",
            "-> anyhow::Result<u8>",
            "-> (Result<u8, E>)",
            "-> my::fmt::Result",
            "-> fmt::Result<u8>",
        ] {
            assert_eq!(default_mode(&output(ret)), Mode::Error, "{ret}");
        }
        for ret in [
            "",
            "-> u8",
            "-> !",
            "-> impl Iterator<Item = u8>",
            "-> DbResult<u8>",
            "-> Option<Result<u8, E>>",
            "-> <T as Tr>::Result",
            "-> fmt::Result",
            "-> std::fmt::Result",
            "-> ::core::fmt::Result",
            "-> alloc::fmt::Result",
            "-> (fmt::Result)",
        ] {
            assert_eq!(default_mode(&output(ret)), Mode::Panic, "{ret}");
        }
    }

    #[test]
    fn fmt_result_is_recognised_only_by_its_paths() {
        assert!(returns_fmt_result(&output("-> std::fmt::Result")));
        assert!(!returns_fmt_result(&output("-> Result<(), fmt::Error>")));
        assert!(!returns_fmt_result(&output("-> io::Result<()>")));
    }

    #[test]
    fn a_methods_own_attribute_is_taken_out_and_overrides_the_blocks() {
        let item: Item = syn::parse_str(
            "impl S { fn a(&self) {} const X: u8 = 1; \
             #[async_unsafe(message = \"own\", error)] #[inline] fn b(&self) -> u8 { 1 } }",
        )
        .unwrap();
        let args: Args = syn::parse_str("\"block\", crate = my::rt, track_caller").unwrap();
        let Input::Impl(block, methods) = Input::new(args, item) else {
            panic!("an impl block")
        };
        let [Ok(a), Ok(b)] = methods.as_slice() else {
            panic!("two methods")
        };
        assert_eq!(a.message.as_ref().unwrap().value(), "block");
        assert!(a.mode.is_none() && a.track_caller.is_some());
        assert_eq!(b.message.as_ref().unwrap().value(), "own");
        assert_eq!(b.mode.map(|(mode, _)| mode), Some(Mode::Error));
        assert!(b.krate.is_some() && b.track_caller.is_some());
        let ImplItem::Fn(f) = &block.items[2] else {
            panic!("a method")
        };
        assert_eq!(f.attrs.len(), 1, "only #[inline] is left");
        assert!(f.attrs[0].path().is_ident("inline"));
    }
}
