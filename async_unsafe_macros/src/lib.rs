//! The `#[async_unsafe]` attribute. Use it through `async_unsafe_runtime`,
//! which re-exports it and documents it; this crate only generates code that
//! calls into `::async_unsafe_runtime::__private`.
//!
//! One stage per file: `parse` reads the arguments (and those nested on the
//! methods of an `impl` block), `validate` raises every misuse that needs the
//! item, `expand` only generates code. On any error the item is emitted as it
//! was written, beside the error, so callers see no follow-on errors.

#![warn(missing_docs)]

use proc_macro::TokenStream;
use quote::ToTokens;

mod expand;
mod parse;
mod validate;

/// Marks a synchronous function as unsafe to call from an async context.
///
/// Use it as `async_unsafe_runtime::async_unsafe`, whose documentation
/// describes the arguments; the expansion calls into that crate.
///
/// ```
/// use async_unsafe_runtime::{async_unsafe, SynchronousOnlyOperation};
///
/// #[async_unsafe]
/// fn read_config() -> Result<String, SynchronousOnlyOperation> {
///     Ok("port = 80".into())
/// }
///
/// assert!(read_config().is_ok());
/// ```
#[proc_macro_attribute]
pub fn async_unsafe(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    match guard(args.into(), item.clone()) {
        Ok(tokens) => tokens.into(),
        Err(err) => with_error(item, err).into(),
    }
}

fn guard(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let args: parse::Args = syn::parse2(args)?;
    let item: syn::Item = syn::parse2(item)?;
    let valid = validate::input(parse::Input::new(args, item))?;
    Ok(expand::expand(valid))
}

/// The item as written, unguarded, and the error: the function stays visible
/// to its callers and to rust-analyzer. The `#[async_unsafe]` attributes on
/// the methods of an `impl` block are dropped, so that they neither report
/// their errors a second time nor guard a method of a block the user must fix
/// first.
fn with_error(item: proc_macro2::TokenStream, err: syn::Error) -> proc_macro2::TokenStream {
    let mut tokens = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Impl(mut block)) => {
            for f in parse::methods_mut(&mut block) {
                f.attrs.retain(|attr| !parse::is_ours(attr));
            }
            block.into_token_stream()
        }
        _ => item,
    };
    tokens.extend(err.into_compile_error());
    tokens
}
