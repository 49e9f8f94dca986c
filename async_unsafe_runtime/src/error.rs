use std::fmt;
use std::panic::Location;

/// Django's message, kept word for word so that people who know the Python
/// error recognise this one.
///
/// ```
/// assert!(async_unsafe_runtime::DEFAULT_MESSAGE.contains("sync_to_async"));
/// ```
pub const DEFAULT_MESSAGE: &str =
    "You cannot call this from an async context - use a thread or sync_to_async.";

/// A synchronous-only function was called from a thread that drives an async
/// runtime.
///
/// Returned by [`check`](crate::check) and by functions marked
/// `#[async_unsafe]` that return a `Result`; functions with any other return
/// type panic with this error's text instead. It names the guarded function and,
/// where it is known, the source location of the call.
///
/// It converts into [`std::io::Error`] (kind [`Other`](std::io::ErrorKind::Other)),
/// so guarded functions returning `io::Result` need no `map_err`.
///
/// ```
/// use async_unsafe_runtime::{check, DEFAULT_MESSAGE};
///
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// let err = rt.block_on(async { check("demo::load") }).unwrap_err();
/// assert_eq!(err.message(), DEFAULT_MESSAGE);
/// assert_eq!(err.function(), "demo::load");
/// assert!(err.location().is_some());
/// assert!(err.to_string().contains("demo::load"));
/// ```
#[derive(Clone, thiserror::Error)]
#[error("{message} (`{function}`{at})", at = At(*.location))]
pub struct SynchronousOnlyOperation {
    message: &'static str,
    function: &'static str,
    location: Option<&'static Location<'static>>,
}

impl SynchronousOnlyOperation {
    pub(crate) fn new(
        message: &'static str,
        function: &'static str,
        location: Option<&'static Location<'static>>,
    ) -> Self {
        Self {
            message,
            function,
            location,
        }
    }

    /// The explanation and advice, [`DEFAULT_MESSAGE`] unless the guarded
    /// function chose its own.
    ///
    /// ```
    /// # let rt = tokio::runtime::Runtime::new().unwrap();
    /// # let err = rt.block_on(async { async_unsafe_runtime::check("f") }).unwrap_err();
    /// assert_eq!(err.message(), async_unsafe_runtime::DEFAULT_MESSAGE);
    /// ```
    pub fn message(&self) -> &'static str {
        self.message
    }

    /// The path of the guarded function, such as `my_crate::db::Repo::load`.
    ///
    /// ```
    /// # let rt = tokio::runtime::Runtime::new().unwrap();
    /// # let err = rt.block_on(async { async_unsafe_runtime::check("db::load") }).unwrap_err();
    /// assert_eq!(err.function(), "db::load");
    /// ```
    pub fn function(&self) -> &'static str {
        self.function
    }

    /// Where the guard was reached: the caller of [`check`](crate::check), or,
    /// for an `#[async_unsafe]` function, the function itself unless it is also
    /// `#[track_caller]`, in which case it is the function's caller.
    ///
    /// ```
    /// # let rt = tokio::runtime::Runtime::new().unwrap();
    /// # let err = rt.block_on(async { async_unsafe_runtime::check("f") }).unwrap_err();
    /// assert!(err.location().unwrap().file().ends_with(".rs"));
    /// ```
    pub fn location(&self) -> Option<&'static Location<'static>> {
        self.location
    }
}

impl fmt::Debug for SynchronousOnlyOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SynchronousOnlyOperation")
            .field("message", &self.message)
            .field("function", &self.function)
            .field("location", &self.location.map(ToString::to_string))
            .finish()
    }
}

impl From<SynchronousOnlyOperation> for std::io::Error {
    fn from(err: SynchronousOnlyOperation) -> Self {
        std::io::Error::other(err)
    }
}

struct At(Option<&'static Location<'static>>);

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(location) => write!(f, " at {location}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SynchronousOnlyOperation;

    #[test]
    fn error_is_clone_send_sync_static_and_debug_shows_everything() {
        fn bounds<T: Clone + Send + Sync + 'static + std::error::Error>() {}
        bounds::<SynchronousOnlyOperation>();

        let err =
            SynchronousOnlyOperation::new("msg", "a::b", Some(std::panic::Location::caller()));
        let debug = format!("{err:?}");
        assert!(
            debug.contains("\"msg\"") && debug.contains("\"a::b\""),
            "{debug}"
        );
        assert!(debug.contains(file!()), "{debug}");
        assert_eq!(err.clone().to_string(), err.to_string());
        let without = SynchronousOnlyOperation::new("msg", "a::b", None);
        assert_eq!(without.to_string(), "msg (`a::b`)");
    }
}
