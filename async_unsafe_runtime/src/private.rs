//! What `#[async_unsafe]` expands to. Not a public API: it may change in any
//! release.

use crate::SynchronousOnlyOperation;

/// A guarded function's fixed data, kept in a `static` beside it so the hot
/// path passes one pointer.
pub struct Site {
    pub message: &'static str,
    /// Computes the function's path; only called on a violation.
    pub function: fn() -> &'static str,
}

impl Site {
    /// A method, so that the caller location rustc records is the span of
    /// the method name, which the macro sets to the guarded function's name.
    #[inline]
    #[track_caller]
    pub fn check(&'static self) -> Result<(), SynchronousOnlyOperation> {
        crate::check::enforce(self.message, self.function)
    }
}

/// The name of the item the macro nests in every guarded function, so that its
/// type name yields the function's path.
pub const PATH_PROBE: &str = "__async_unsafe_path";

/// Turns `crate::module::Type::method::__async_unsafe_path` into
/// `crate::module::Type::method`.
pub fn function_path(type_name: &'static str) -> &'static str {
    type_name
        .strip_suffix(PATH_PROBE)
        .and_then(|path| path.strip_suffix("::"))
        .unwrap_or(type_name)
}

/// The panic of a guarded function that does not return a `Result`.
#[cold]
#[inline(never)]
#[track_caller]
pub fn violated(err: SynchronousOnlyOperation) -> ! {
    panic!("{err}")
}
