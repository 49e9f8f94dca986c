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

/// The path of a guarded function, from the type name of a function the
/// macro nests directly in it: `crate::module::Type::method::probe` becomes
/// `crate::module::Type::method`. Only the `::` structure is known here, not
/// the probe's name; a nested function has no generics of its own, so the last
/// `::` is always the one before its name.
pub fn function_path(probe_type_name: &'static str) -> &'static str {
    probe_type_name
        .rsplit_once("::")
        .map_or(probe_type_name, |(path, _probe)| path)
}

/// The panic of a guarded function that does not return a `Result`.
#[cold]
#[inline(never)]
#[track_caller]
pub fn violated(err: SynchronousOnlyOperation) -> ! {
    panic!("{err}")
}

#[cfg(test)]
mod tests {
    use super::function_path;

    #[test]
    fn the_probes_own_segment_is_dropped() {
        for (probe, path) in [
            ("app::db::load::probe", "app::db::load"),
            ("app::Store<_>::put::p", "app::Store<_>::put"),
            ("<app::S as app::Tr>::name::p", "<app::S as app::Tr>::name"),
            ("app::Named::shout::p", "app::Named::shout"),
            ("probe", "probe"),
        ] {
            assert_eq!(function_path(probe), path);
        }
    }
}
