use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{
    Attribute, Block, Error, ImplItem, Item, ReturnType, Signature, Stmt, Type, parse_quote,
};

use crate::parse::{Args, Mode};

pub(crate) fn expand(args: Args, mut item: Item) -> syn::Result<TokenStream> {
    match &mut item {
        Item::Fn(f) => guard(&args, &mut f.attrs, &f.sig, &mut f.block)?,
        Item::Impl(block) => guard_impl(&args, &mut block.items)?,
        Item::Verbatim(tokens) if looks_like_fn(tokens) => {
            return Err(Error::new_spanned(
                tokens,
                "`#[async_unsafe]` needs a function body to put its check in: mark the \
                 implementations of this method, or give it a default body",
            ));
        }
        Item::Trait(t) => {
            return Err(Error::new(
                t.trait_token.span,
                "`#[async_unsafe]` cannot mark a whole trait: put it on each default method, \
                 or on the `impl` blocks that implement the trait",
            ));
        }
        other => {
            return Err(Error::new(
                other.span(),
                "`#[async_unsafe]` applies to functions, methods and `impl` blocks",
            ));
        }
    }
    Ok(item.into_token_stream())
}

fn guard_impl(outer: &Args, items: &mut [ImplItem]) -> syn::Result<()> {
    let mut errors: Option<Error> = None;
    for item in items {
        let ImplItem::Fn(f) = item else { continue };
        let result = own_args(&mut f.attrs)
            .map(|inner| outer.overridden_by(inner))
            .and_then(|args| guard(&args, &mut f.attrs, &f.sig, &mut f.block));
        if let Err(err) = result {
            match &mut errors {
                Some(errors) => errors.combine(err),
                None => errors = Some(err),
            }
        }
    }
    errors.map_or(Ok(()), Err)
}

/// Takes a method's own `#[async_unsafe(...)]` out of its attributes, so the
/// method is guarded once, with its own arguments over the block's.
fn own_args(attrs: &mut Vec<Attribute>) -> syn::Result<Args> {
    let mut found: Option<Args> = None;
    let mut result = Ok(());
    attrs.retain(|attr| {
        let is_ours = attr
            .path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "async_unsafe");
        if !is_ours || result.is_err() {
            return !is_ours;
        }
        let parsed = match &attr.meta {
            syn::Meta::Path(_) => Ok(Args::default()),
            syn::Meta::List(list) => list.parse_args::<Args>(),
            syn::Meta::NameValue(nv) => Err(Error::new_spanned(
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

fn guard(
    args: &Args,
    attrs: &mut Vec<Attribute>,
    sig: &Signature,
    body: &mut Block,
) -> syn::Result<()> {
    if let Some(token) = &sig.asyncness {
        return Err(Error::new(
            token.span,
            "`#[async_unsafe]` guards synchronous functions, and an `async fn` always runs in an \
             async context: mark the synchronous function that blocks, and call it through \
             `sync_to_async` or `spawn_blocking`",
        ));
    }
    if let Some(token) = &sig.constness {
        return Err(Error::new(
            token.span,
            "`#[async_unsafe]` cannot guard a `const fn`: its check runs at run time; \
             remove `const` or the attribute",
        ));
    }
    let krate = match &args.krate {
        Some(path) => quote!(#path),
        None => quote!(::async_unsafe_runtime),
    };
    let message = match &args.message {
        Some(lit) => quote!(#lit),
        None => quote!(#krate::DEFAULT_MESSAGE),
    };
    let mode = args.mode.unwrap_or_else(|| infer_mode(&sig.output));
    let on_violation = match mode {
        Mode::Error => quote! {
            return ::core::result::Result::Err(::core::convert::From::from(__async_unsafe_err));
        },
        Mode::Panic => quote! { #krate::__private::violated(__async_unsafe_err) },
    };
    // The call carries the function name's span so that `Location::caller()`
    // points at the guarded function rather than at this crate.
    let call = quote_spanned! {sig.ident.span()=>
        __ASYNC_UNSAFE_SITE.check()
    };
    // A block of its own keeps these items out of the user's namespace.
    let check: Stmt = parse_quote! {
        {
            fn __async_unsafe_path() -> &'static str {
                #krate::__private::function_path(::core::any::type_name_of_val(&__async_unsafe_path))
            }
            static __ASYNC_UNSAFE_SITE: #krate::__private::Site = #krate::__private::Site {
                message: #message,
                function: __async_unsafe_path,
            };
            if let ::core::result::Result::Err(__async_unsafe_err) = #call {
                #on_violation
            }
        }
    };
    body.stmts.insert(0, check);
    attrs.extend(safety_docs(mode));
    Ok(())
}

/// `Result<T, E>`, `io::Result<T>`, `anyhow::Result<T>`: anything whose last
/// segment is `Result` gets the error back; the macro cannot see through
/// aliases with other names, hence the explicit `error` argument.
fn infer_mode(output: &ReturnType) -> Mode {
    let mut ty = match output {
        ReturnType::Type(_, ty) => &**ty,
        ReturnType::Default => return Mode::Panic,
    };
    loop {
        match ty {
            Type::Paren(inner) => ty = &inner.elem,
            Type::Group(inner) => ty = &inner.elem,
            Type::Path(path) if path.qself.is_none() => {
                let last = path.path.segments.last();
                return if last.is_some_and(|s| s.ident == "Result") {
                    Mode::Error
                } else {
                    Mode::Panic
                };
            }
            _ => return Mode::Panic,
        }
    }
}

fn safety_docs(mode: Mode) -> [Attribute; 3] {
    let outcome = match mode {
        Mode::Error => "it returns an error (`SynchronousOnlyOperation`)",
        Mode::Panic => "it panics with `SynchronousOnlyOperation`",
    };
    let text = format!(
        " Called from an async context (a thread that drives an async runtime, such as a \
         tokio task or the future given to `block_on`), {outcome}. From async code, call it \
         through `async_unsafe_runtime::sync_to_async` or `tokio::task::spawn_blocking`."
    );
    [
        parse_quote!(#[doc = ""]),
        parse_quote!(#[doc = " # Async safety"]),
        parse_quote!(#[doc = #text]),
    ]
}

fn looks_like_fn(tokens: &TokenStream) -> bool {
    tokens
        .clone()
        .into_iter()
        .any(|t| matches!(&t, proc_macro2::TokenTree::Ident(i) if i == "fn"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(args: &str, item: &str) -> syn::File {
        let args: Args = syn::parse_str(args).unwrap();
        let item: Item = syn::parse_str(item).unwrap();
        syn::parse2(expand(args, item).unwrap()).unwrap()
    }

    fn docs(attrs: &[Attribute]) -> String {
        attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .map(|a| {
                a.meta
                    .require_name_value()
                    .unwrap()
                    .value
                    .to_token_stream()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn result_like_returns_get_the_error_and_others_panic() {
        let mode = |ret: &str| {
            infer_mode(
                &syn::parse_str::<Signature>(&format!("fn f() {ret}"))
                    .unwrap()
                    .output,
            )
        };
        for ret in [
            "-> Result<u8, E>",
            "-> io::Result<()>",
            "-> anyhow::Result<u8>",
            "-> (Result<u8, E>)",
        ] {
            assert!(mode(ret) == Mode::Error, "{ret}");
        }
        for ret in [
            "",
            "-> u8",
            "-> !",
            "-> impl Iterator<Item = u8>",
            "-> DbResult<u8>",
            "-> Option<Result<u8, E>>",
            "-> <T as Tr>::Result",
        ] {
            assert!(mode(ret) == Mode::Panic, "{ret}");
        }
    }

    #[test]
    fn guarded_fns_document_their_async_safety() {
        let file = expand_str("", "/// Loads.\nfn load() -> Result<u8, E> { Ok(1) }");
        let Item::Fn(f) = &file.items[0] else {
            panic!()
        };
        let text = docs(&f.attrs);
        assert!(text.starts_with("\" Loads.\""), "{text}");
        assert!(
            text.contains("# Async safety") && text.contains("returns an error"),
            "{text}"
        );
        let file = expand_str("", "fn load() {}");
        let Item::Fn(f) = &file.items[0] else {
            panic!()
        };
        assert!(docs(&f.attrs).contains("it panics"));
    }

    #[test]
    fn the_check_is_the_first_statement_and_the_body_follows() {
        let file = expand_str("", "fn load(x: u8) -> u8 { let y = x; y }");
        let Item::Fn(f) = &file.items[0] else {
            panic!()
        };
        assert_eq!(f.block.stmts.len(), 3);
        let first = f.block.stmts[0].to_token_stream().to_string();
        assert!(first.contains("__ASYNC_UNSAFE_SITE . check ()"), "{first}");
        assert!(
            first.contains(":: async_unsafe_runtime :: __private :: violated"),
            "{first}"
        );
    }

    #[test]
    fn a_methods_own_attribute_overrides_the_blocks() {
        let file = expand_str(
            "\"block\", crate = my::rt",
            "impl S { fn a(&self) {} #[async_unsafe(message = \"own\", error)] fn b(&self) -> u8 { 1 } }",
        );
        let Item::Impl(block) = &file.items[0] else {
            panic!()
        };
        let text: Vec<String> = block
            .items
            .iter()
            .map(|i| i.to_token_stream().to_string())
            .collect();
        assert!(
            text[0].contains("\"block\"") && text[0].contains("my :: rt :: __private"),
            "{}",
            text[0]
        );
        assert!(
            text[1].contains("\"own\"") && text[1].contains("my :: rt :: __private"),
            "{}",
            text[1]
        );
        assert!(
            text[1].contains("return :: core :: result :: Result :: Err"),
            "{}",
            text[1]
        );
        assert!(
            !text[1].contains("# [async_unsafe"),
            "the inner attribute is consumed: {}",
            text[1]
        );
    }
}
