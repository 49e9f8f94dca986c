//! Tokens out: a checked input becomes the item with a check as the first
//! statement of every guarded function, and an "Async safety" section in its
//! docs. Generated code that can fail to type-check carries the user's spans
//! (the name for the location, the return type for the error's conversion),
//! so that errors and locations point at user code.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Block, ReturnType, Signature, Stmt, parse_quote, parse_quote_spanned};

use crate::parse::{Args, Mode, default_mode, methods_mut};
use crate::validate::Valid;

pub(crate) fn expand(valid: Valid) -> TokenStream {
    match valid {
        Valid::Fn(mut f, args) => {
            guard(&args, &mut f.attrs, &f.sig, &mut f.block);
            f.into_token_stream()
        }
        Valid::Impl(mut block, methods) => {
            for (f, args) in methods_mut(&mut block).zip(&methods) {
                guard(args, &mut f.attrs, &f.sig, &mut f.block);
            }
            block.into_token_stream()
        }
    }
}

fn guard(args: &Args, attrs: &mut Vec<Attribute>, sig: &Signature, body: &mut Block) {
    let krate = match &args.krate {
        Some(path) => quote!(#path),
        None => quote!(::async_unsafe_runtime),
    };
    let message = match &args.message {
        Some(lit) => quote!(#lit),
        None => quote!(#krate::DEFAULT_MESSAGE),
    };
    let mode = args
        .mode
        .map_or_else(|| default_mode(&sig.output), |(mode, _)| mode);
    let on_violation = match mode {
        // At the return type, so that a missing `From` impl or a return type
        // that is no `Result` is reported there.
        Mode::Error => quote_spanned! {return_span(&sig.output)=>
            return ::core::result::Result::Err(::core::convert::From::from(__async_unsafe_err));
        },
        Mode::Panic => quote! { #krate::__private::violated(__async_unsafe_err) },
    };
    // The call carries the function name's span so that `Location::caller()`
    // points at the guarded function rather than at this crate.
    let call = quote_spanned! {sig.ident.span()=>
        __ASYNC_UNSAFE_SITE.check()
    };
    // A block of its own keeps these items out of the user's namespace. The
    // path probe is a function nested in the guarded one: its type name is the
    // guarded function's path and one more segment, which the runtime drops.
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
    let tracked = attrs
        .iter()
        .any(|attr| attr.path().is_ident("track_caller"));
    if let (Some(span), false) = (args.track_caller, tracked) {
        attrs.push(parse_quote_spanned!(span=> #[track_caller]));
    }
    attrs.extend(safety_docs(mode));
}

/// Where the return type is, with the expansion's hygiene: rustc reports
/// there, and lints (such as clippy's `useless_conversion` on
/// `From::from(err)` for a function that returns our error itself) still see
/// generated code.
fn return_span(output: &ReturnType) -> Span {
    match output {
        ReturnType::Type(_, ty) => Span::call_site().located_at(ty.span()),
        ReturnType::Default => Span::call_site(),
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

#[cfg(test)]
mod tests {
    use syn::Item;

    use super::*;
    use crate::parse::Input;
    use crate::validate;

    fn expand_str(args: &str, item: &str) -> syn::File {
        let args: Args = syn::parse_str(args).unwrap();
        let item: Item = syn::parse_str(item).unwrap();
        let valid = validate::input(Input::new(args, item)).unwrap_or_else(|_| panic!("valid"));
        syn::parse2(expand(valid)).unwrap()
    }

    fn expand_fn(args: &str, item: &str) -> syn::ItemFn {
        match expand_str(args, item).items.remove(0) {
            Item::Fn(f) => f,
            _ => panic!("a function"),
        }
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
    fn guarded_fns_document_their_async_safety() {
        let f = expand_fn("", "/// Loads.\nfn load() -> Result<u8, E> { Ok(1) }");
        let text = docs(&f.attrs);
        assert!(text.starts_with("\" Loads.\""), "{text}");
        assert!(
            text.contains("# Async safety") && text.contains("returns an error"),
            "{text}"
        );
        assert!(docs(&expand_fn("", "fn load() {}").attrs).contains("it panics"));
        let f = expand_fn("", "fn fmt(&self) -> std::fmt::Result { Ok(()) }");
        assert!(docs(&f.attrs).contains("it panics"));
    }

    #[test]
    fn the_check_is_the_first_statement_and_the_body_follows() {
        let f = expand_fn("", "fn load(x: u8) -> u8 { let y = x; y }");
        assert_eq!(f.block.stmts.len(), 3);
        let first = f.block.stmts[0].to_token_stream().to_string();
        assert!(first.contains("__ASYNC_UNSAFE_SITE . check ()"), "{first}");
        assert!(
            first.contains(":: async_unsafe_runtime :: __private :: violated"),
            "{first}"
        );
        assert_eq!(
            f.block.stmts[1].to_token_stream().to_string(),
            "let y = x ;"
        );
    }

    #[test]
    fn track_caller_adds_the_attribute_once() {
        let tracked = |f: &syn::ItemFn| {
            f.attrs
                .iter()
                .filter(|a| a.path().is_ident("track_caller"))
                .count()
        };
        assert_eq!(tracked(&expand_fn("track_caller", "fn load() {}")), 1);
        assert_eq!(
            tracked(&expand_fn("track_caller", "#[track_caller] fn load() {}")),
            1
        );
        assert_eq!(tracked(&expand_fn("", "fn load() {}")), 0);
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
