//! Every misuse that needs the item to be seen: what cannot be guarded, and
//! the arguments that do not fit the function they are on. Each error has its
//! own message at the span of what is wrong; the errors of all the methods of
//! an `impl` block are reported together.

use proc_macro2::TokenStream;
use syn::spanned::Spanned;
use syn::{Error, Item, ItemFn, ItemImpl, Result, Signature};

use crate::parse::{self, Args, Input, Mode, returns_fmt_result};

/// An input with nothing wrong: every function in it can be guarded with its
/// arguments.
pub(crate) enum Valid {
    Fn(ItemFn, Args),
    /// The arguments of each method, in order.
    Impl(ItemImpl, Vec<Args>),
}

pub(crate) fn input(input: Input) -> Result<Valid> {
    match input {
        Input::Fn(f, args) => {
            function(&f.sig, &args)?;
            Ok(Valid::Fn(f, args))
        }
        Input::Impl(block, methods) => {
            let mut errors = Errors::default();
            let mut valid = Vec::with_capacity(methods.len());
            for (f, args) in parse::methods(&block).zip(methods) {
                match args.and_then(|args| function(&f.sig, &args).map(|()| args)) {
                    Ok(args) => valid.push(args),
                    Err(err) => errors.push(err),
                }
            }
            errors.finish()?;
            Ok(Valid::Impl(block, valid))
        }
        Input::Other(item) => Err(not_a_function(&item)),
    }
}

/// The checks of one function against the arguments that apply to it.
fn function(sig: &Signature, args: &Args) -> Result<()> {
    let mut errors = Errors::default();
    if let Some(token) = &sig.asyncness {
        errors.push(Error::new(
            token.span,
            "`#[async_unsafe]` guards synchronous functions, and an `async fn` always runs in an \
             async context: mark the synchronous function that blocks, and call it through \
             `sync_to_async` or `spawn_blocking`",
        ));
    }
    if let Some(token) = &sig.constness {
        errors.push(Error::new(
            token.span,
            "`#[async_unsafe]` cannot guard a `const fn`: its check runs at run time; \
             remove `const` or the attribute",
        ));
    }
    if let (Some((Mode::Error, span)), true) = (args.mode, returns_fmt_result(&sig.output)) {
        errors.push(Error::new(
            span,
            "a `fmt::Result` cannot carry the violation (`fmt::Error` has no `From` for it and \
             no text): remove `error`, and a violation panics with the error's text, as it does \
             by default for `fmt::Result`",
        ));
    }
    let foreign_abi = sig
        .abi
        .as_ref()
        .filter(|abi| abi.name.as_ref().is_none_or(|name| name.value() != "Rust"));
    if let (Some(_), Some(abi)) = (args.track_caller, foreign_abi) {
        errors.push(Error::new_spanned(
            abi,
            "`#[track_caller]` needs the Rust ABI: remove this `extern`, or the `track_caller` \
             argument (without it the error names this function's own line)",
        ));
    }
    errors.finish()
}

fn not_a_function(item: &Item) -> Error {
    match item {
        Item::Verbatim(tokens) if looks_like_fn(tokens) => Error::new_spanned(
            tokens,
            "`#[async_unsafe]` needs a function body to put its check in: mark the \
             implementations of this method, or give it a default body",
        ),
        Item::Trait(t) => Error::new(
            t.trait_token.span,
            "`#[async_unsafe]` cannot mark a whole trait: put it on each default method, \
             or on the `impl` blocks that implement the trait",
        ),
        other => Error::new(
            other.span(),
            "`#[async_unsafe]` applies to functions, methods and `impl` blocks",
        ),
    }
}

fn looks_like_fn(tokens: &TokenStream) -> bool {
    tokens
        .clone()
        .into_iter()
        .any(|t| matches!(&t, proc_macro2::TokenTree::Ident(i) if i == "fn"))
}

/// Errors gathered so that all of them are reported at once.
#[derive(Default)]
struct Errors(Option<Error>);

impl Errors {
    fn push(&mut self, err: Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(err),
            None => self.0 = Some(err),
        }
    }

    fn finish(self) -> Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}
