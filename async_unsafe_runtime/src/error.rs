use std::backtrace::{Backtrace, BacktraceStatus};
use std::fmt;
use std::panic::Location;
use std::sync::Arc;

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
/// type panic with this error's text instead. It names the guarded function and
/// the source location of the call, and carries the tokio task id and a
/// backtrace when there are ones.
///
/// It converts into [`std::io::Error`] (kind [`Other`](std::io::ErrorKind::Other)),
/// so guarded functions returning `io::Result` need no `map_err`. Clones share
/// the captured backtrace.
///
/// ```
/// use async_unsafe_runtime::{check, Override, set_override, DEFAULT_MESSAGE};
///
/// set_override(Override::Deny);
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// let err = rt.block_on(async { check("demo::load") }).unwrap_err();
/// assert_eq!(err.message(), DEFAULT_MESSAGE);
/// assert_eq!(err.function(), "demo::load");
/// assert_eq!(err.location().file(), file!());
/// assert!(err.to_string().contains("demo::load"));
/// # set_override(Override::FromEnv);
/// ```
#[derive(Clone)]
pub struct SynchronousOnlyOperation {
    message: &'static str,
    function: FunctionPath,
    location: &'static Location<'static>,
    task_id: Option<tokio::task::Id>,
    /// `None` when backtraces are off: nothing captured, nothing allocated.
    backtrace: Option<Arc<Backtrace>>,
    /// The user's frame of a watched system call; `None` for every other
    /// violation. Only with the feature, so that the refusals of marked
    /// functions do not build a field they never fill.
    #[cfg(feature = "syscalls")]
    user_frame: Option<Arc<UserFrame>>,
}

impl std::error::Error for SynchronousOnlyOperation {}

impl fmt::Display for SynchronousOnlyOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.user_frame() {
            Some(frame) => write!(f, "{} (`{}` at {frame})", self.message, self.function),
            None => write!(
                f,
                "{} (`{}` at {})",
                self.message, self.function, self.location
            ),
        }
    }
}

/// The caller's frame of a blocking system call that nobody marked: the first
/// frame of the stack outside the standard library, libc, tokio and this
/// crate, found at run time (feature `syscalls`, see
/// [`SynchronousOnlyOperation::user_frame`]).
///
/// It prints as `file:line`.
///
/// ```
/// use async_unsafe_runtime::{Override, check, set_override};
///
/// set_override(Override::Deny);
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// let err = rt.block_on(async { check("db::load") }).unwrap_err();
/// // Only watched system calls have one.
/// assert!(err.user_frame().is_none());
/// # set_override(Override::FromEnv);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UserFrame {
    pub(crate) function: String,
    pub(crate) file: String,
    pub(crate) line: u32,
}

impl UserFrame {
    /// The function of the frame, as its debug information names it (a short
    /// name when the build keeps line tables only); empty when unknown.
    ///
    /// ```
    /// # fn frame() -> Option<async_unsafe_runtime::UserFrame> { None }
    /// if let Some(frame) = frame() {
    ///     println!("in {}", frame.function());
    /// }
    /// ```
    pub fn function(&self) -> &str {
        &self.function
    }

    /// The source file, as the debug information names it.
    ///
    /// ```
    /// # fn frame() -> Option<async_unsafe_runtime::UserFrame> { None }
    /// if let Some(frame) = frame() {
    ///     assert!(frame.file().ends_with(".rs"));
    /// }
    /// ```
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The line in [`file`](UserFrame::file), counted from 1.
    ///
    /// ```
    /// # fn frame() -> Option<async_unsafe_runtime::UserFrame> { None }
    /// if let Some(frame) = frame() {
    ///     assert!(frame.line() > 0);
    /// }
    /// ```
    pub fn line(&self) -> u32 {
        self.line
    }
}

impl fmt::Display for UserFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// The guarded function's path, worked out when it is read: a refusal that
/// nobody prints (returned, matched, dropped) does not pay for turning the
/// macro's type name into a path.
#[derive(Clone, Copy)]
pub(crate) enum FunctionPath {
    /// Given by the caller of [`check`](crate::check).
    Known(&'static str),
    /// The macro's probe (`__private::Site`): a type name, less its last segment.
    Probe(fn() -> &'static str),
}

impl FunctionPath {
    fn get(self) -> &'static str {
        match self {
            FunctionPath::Known(path) => path,
            FunctionPath::Probe(path) => path(),
        }
    }
}

impl From<&'static str> for FunctionPath {
    fn from(path: &'static str) -> Self {
        FunctionPath::Known(path)
    }
}

impl From<fn() -> &'static str> for FunctionPath {
    fn from(probe: fn() -> &'static str) -> Self {
        FunctionPath::Probe(probe)
    }
}

impl fmt::Display for FunctionPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

/// What [`SynchronousOnlyOperation::backtrace`] returns when none was captured.
static DISABLED: Backtrace = Backtrace::disabled();

impl SynchronousOnlyOperation {
    /// Captures the task id, and a backtrace when `RUST_BACKTRACE` /
    /// `RUST_LIB_BACKTRACE` ask for one (std reads them once per process).
    #[inline]
    pub(crate) fn new(
        message: &'static str,
        function: impl Into<FunctionPath>,
        location: &'static Location<'static>,
    ) -> Self {
        let backtrace = Backtrace::capture();
        Self {
            message,
            function: function.into(),
            location,
            task_id: tokio::task::try_id(),
            backtrace: (backtrace.status() == BacktraceStatus::Captured)
                .then(|| Arc::new(backtrace)),
            #[cfg(feature = "syscalls")]
            user_frame: None,
        }
    }

    /// A blocking system call seen by the `syscalls` hooks: never captures
    /// std's `Backtrace` (its resolver's lock, held while it opens files,
    /// would deadlock a hook); the stack is the hooks' own.
    #[cfg(feature = "syscalls")]
    pub(crate) fn system_call(
        message: &'static str,
        function: &'static str,
        location: &'static Location<'static>,
        user_frame: Option<UserFrame>,
    ) -> Self {
        Self {
            message,
            function: FunctionPath::Known(function),
            location,
            task_id: tokio::task::try_id(),
            backtrace: None,
            user_frame: user_frame.map(Arc::new),
        }
    }

    #[cfg(feature = "tracing")]
    /// Where the violation is to be fixed, as text: the user's frame of a
    /// watched system call, the location otherwise.
    pub(crate) fn site(&self) -> String {
        match self.user_frame() {
            Some(frame) => frame.to_string(),
            None => self.location.to_string(),
        }
    }

    /// For a blocking system call nobody marked (feature `syscalls`), the
    /// frame that made it: the first frame outside the standard library,
    /// libc, tokio and this crate, judged by its source file. `None` for
    /// other violations, and when the stack could not be read in time (the
    /// text then names the [location](Self::location)).
    ///
    /// ```
    /// # use async_unsafe_runtime::{Override, set_override};
    /// # set_override(Override::Deny);
    /// # let rt = tokio::runtime::Runtime::new().unwrap();
    /// # let err = rt.block_on(async { async_unsafe_runtime::check("f") }).unwrap_err();
    /// match err.user_frame() {
    ///     Some(frame) => println!("fix {}:{}", frame.file(), frame.line()),
    ///     None => println!("fix {}", err.location()),
    /// }
    /// ```
    pub fn user_frame(&self) -> Option<&UserFrame> {
        #[cfg(feature = "syscalls")]
        let frame = self.user_frame.as_deref();
        #[cfg(not(feature = "syscalls"))]
        let frame = None;
        frame
    }

    /// The explanation and advice, [`DEFAULT_MESSAGE`] unless the guarded
    /// function chose its own.
    ///
    /// ```
    /// # use async_unsafe_runtime::{Override, set_override};
    /// # set_override(Override::Deny);
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
    /// # use async_unsafe_runtime::{Override, set_override};
    /// # set_override(Override::Deny);
    /// # let rt = tokio::runtime::Runtime::new().unwrap();
    /// # let err = rt.block_on(async { async_unsafe_runtime::check("db::load") }).unwrap_err();
    /// assert_eq!(err.function(), "db::load");
    /// ```
    pub fn function(&self) -> &'static str {
        self.function.get()
    }

    /// Where the guard was reached: the caller of [`check`](crate::check), or,
    /// for an `#[async_unsafe]` function, the function itself unless it is also
    /// `#[track_caller]`, in which case it is the function's caller (whatever
    /// [`Location::caller`] gives there).
    ///
    /// A `Location` is made by the compiler and cannot hold a line found at
    /// run time: for a blocking system call seen by the `syscalls` hooks it is
    /// the line of this crate that reported it, and the line to fix is
    /// [`user_frame`](Self::user_frame) (which the error's text names).
    ///
    /// ```
    /// # use async_unsafe_runtime::{Override, set_override};
    /// # set_override(Override::Deny);
    /// # let rt = tokio::runtime::Runtime::new().unwrap();
    /// # let err = rt.block_on(async { async_unsafe_runtime::check("f") }).unwrap_err();
    /// assert!(err.location().file().ends_with(".rs"));
    /// ```
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// The id of the tokio task the violation happened in, if it happened in
    /// one (not in a `block_on` root, nor under another executor).
    ///
    /// ```
    /// use async_unsafe_runtime::{Override, check, set_override};
    ///
    /// set_override(Override::Deny);
    /// let rt = tokio::runtime::Runtime::new().unwrap();
    /// let task = rt.spawn(async { (tokio::task::id(), check("f").unwrap_err()) });
    /// let (id, err) = rt.block_on(task).unwrap();
    /// assert_eq!(err.task_id(), Some(id));
    /// # set_override(Override::FromEnv);
    /// ```
    pub fn task_id(&self) -> Option<tokio::task::Id> {
        self.task_id
    }

    /// The stack at the violation, captured by the standard rules of
    /// [`Backtrace::capture`]: only when `RUST_LIB_BACKTRACE` (or, when that is
    /// unset, `RUST_BACKTRACE`) is set and not `0`. Otherwise a disabled
    /// backtrace, and nothing was paid for it.
    ///
    /// ```
    /// use std::backtrace::BacktraceStatus;
    /// # use async_unsafe_runtime::{Override, set_override};
    /// # set_override(Override::Deny);
    /// # let rt = tokio::runtime::Runtime::new().unwrap();
    /// # let err = rt.block_on(async { async_unsafe_runtime::check("f") }).unwrap_err();
    /// let status = err.backtrace().status();
    /// assert!(matches!(status, BacktraceStatus::Captured | BacktraceStatus::Disabled));
    /// ```
    pub fn backtrace(&self) -> &Backtrace {
        self.backtrace.as_deref().unwrap_or(&DISABLED)
    }
}

impl fmt::Debug for SynchronousOnlyOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SynchronousOnlyOperation")
            .field("message", &self.message)
            .field("function", &self.function())
            .field("location", &self.location.to_string())
            .field("user_frame", &self.user_frame().map(ToString::to_string))
            .field("task_id", &self.task_id)
            .field("backtrace", &self.backtrace().status())
            .finish()
    }
}

impl From<SynchronousOnlyOperation> for std::io::Error {
    fn from(err: SynchronousOnlyOperation) -> Self {
        std::io::Error::other(err)
    }
}

#[cfg(test)]
mod tests {
    use super::SynchronousOnlyOperation;

    #[test]
    fn error_is_clone_send_sync_static_and_debug_shows_everything() {
        fn bounds<T: Clone + Send + Sync + 'static + std::error::Error>() {}
        bounds::<SynchronousOnlyOperation>();

        let here = std::panic::Location::caller();
        let err = SynchronousOnlyOperation::new("msg", "a::b", here);
        let debug = format!("{err:?}");
        assert!(
            debug.contains("\"msg\"") && debug.contains("\"a::b\""),
            "{debug}"
        );
        // The whole location, `file:line:column`, as a string.
        assert!(debug.contains(&format!("location: \"{here}\",")), "{debug}");
        assert!(debug.contains("task_id: None"), "{debug}");
        assert_eq!(err.clone().to_string(), err.to_string());
        assert_eq!(err.to_string(), format!("msg (`a::b` at {here})"));
    }

    #[test]
    fn a_clone_shares_the_captured_backtrace() {
        let err = SynchronousOnlyOperation::new("msg", "a::b", std::panic::Location::caller());
        let clone = err.clone();
        match (&err.backtrace, &clone.backtrace) {
            (Some(a), Some(b)) => assert!(std::sync::Arc::ptr_eq(a, b)),
            (None, None) => {
                assert_eq!(
                    clone.backtrace().status(),
                    std::backtrace::BacktraceStatus::Disabled
                )
            }
            _ => panic!("a clone differs from its original"),
        }
    }
}
