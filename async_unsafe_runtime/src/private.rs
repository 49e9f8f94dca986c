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
///
/// Runs whenever a refusal's function is read (its text, a warning), so it
/// looks for the last `:` (a `memrchr`, a few bytes past the probe's short
/// name): `rsplit_once("::")` first builds a two-way searcher, about 500
/// instructions.
pub fn function_path(probe_type_name: &'static str) -> &'static str {
    match probe_type_name.rfind(':') {
        // `:` is ASCII, so `colon - 1` is a character boundary.
        Some(colon) if colon > 0 && probe_type_name.as_bytes()[colon - 1] == b':' => {
            &probe_type_name[..colon - 1]
        }
        _ => probe_type_name,
    }
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
            ("a:b", "a:b"),
            (":", ":"),
            ("::p", ""),
        ] {
            assert_eq!(function_path(probe), path);
            // The meaning it had as `rsplit_once("::")`.
            assert_eq!(probe.rsplit_once("::").map_or(probe, |(p, _)| p), path);
        }
    }
}
