//! The `#[async_unsafe]` attribute. Use it through `async_unsafe_runtime`,
//! which re-exports it and documents it; this crate only generates code that
//! calls into `::async_unsafe_runtime::__private`.

#![warn(missing_docs)]

use proc_macro::TokenStream;

mod expand;
mod parse;

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
    let args = syn::parse_macro_input!(args as parse::Args);
    let item = syn::parse_macro_input!(item as syn::Item);
    expand::expand(args, item)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
