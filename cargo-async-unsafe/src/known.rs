//! What blocks without being marked: a built-in list of well-known blocking
//! APIs, each in a [`Category`] with the help line that says what to write
//! instead, and the user's `blocking`/`allow` lists from
//! `[package.metadata.async-unsafe]` / `[workspace.metadata.async-unsafe]`.
//!
//! A pattern is a path (`std::thread::sleep`), a prefix ending in `::*` that
//! matches every path below it (`reqwest::blocking::*`), or `*::name`, which
//! matches a method of that name on any type (`*::to_socket_addrs`, for a
//! trait method whose receiver can be any type). Paths are compared after
//! `use` resolution, as the crate that defines the item spells them: a method
//! is `Type::method` under the type's path.
//!
//! Categories are on by default except [`Category::Lock`] (`std::sync::Mutex`
//! and `RwLock`: held briefly, a lock is often right in async code), which the
//! metadata key `enable = ["lock"]` turns on.

use crate::workspace::UserLists;

/// What kind of blocking a built-in API does: each has its own help line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Category {
    /// `std::thread::sleep`.
    Sleep,
    /// `std::fs`, file-system queries on `Path`, `std::io::copy`.
    Fs,
    /// Reading standard input.
    Stdin,
    /// Blocking sockets: `std::net`.
    Net,
    /// Name resolution: `ToSocketAddrs`.
    Dns,
    /// Waiting for a child process.
    Process,
    /// Blocking channel operations (`std::sync::mpsc`, crossbeam).
    SyncChannel,
    /// Waiting for a thread or a group of threads (`join`, `Barrier`, `Condvar`).
    ThreadJoin,
    /// Running a future to completion on the current thread.
    RuntimeBlockOn,
    /// tokio's `blocking_*` methods: they panic inside a runtime.
    TokioBlockingInAsync,
    /// Synchronous database clients and pools.
    Db,
    /// Synchronous HTTP clients.
    Http,
    /// `std::sync::Mutex` and `RwLock` (opt-in).
    Lock,
}

impl Category {
    /// Every category, in report order.
    pub(crate) const ALL: [Category; 13] = [
        Category::Sleep,
        Category::Fs,
        Category::Stdin,
        Category::Net,
        Category::Dns,
        Category::Process,
        Category::SyncChannel,
        Category::ThreadJoin,
        Category::RuntimeBlockOn,
        Category::TokioBlockingInAsync,
        Category::Db,
        Category::Http,
        Category::Lock,
    ];

    /// The name in JSON, SARIF rule ids and the metadata's `enable` list.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Category::Sleep => "sleep",
            Category::Fs => "fs",
            Category::Stdin => "stdin",
            Category::Net => "net",
            Category::Dns => "dns",
            Category::Process => "process",
            Category::SyncChannel => "sync-channel",
            Category::ThreadJoin => "thread-join",
            Category::RuntimeBlockOn => "runtime-block-on",
            Category::TokioBlockingInAsync => "tokio-blocking-in-async",
            Category::Db => "db",
            Category::Http => "http",
            Category::Lock => "lock",
        }
    }

    /// The category named `name`.
    pub(crate) fn from_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.name() == name)
    }

    /// On unless the user enables it.
    pub(crate) fn on_by_default(self) -> bool {
        self != Category::Lock
    }

    /// What to write instead, for any API of the category.
    pub(crate) fn help(self) -> &'static str {
        match self {
            Category::Sleep => "use `tokio::time::sleep(..).await`",
            Category::Fs => {
                "use the `tokio::fs` function of the same name with `.await`, or move the \
                 file work into `tokio::task::spawn_blocking` / `sync_to_async`"
            }
            Category::Stdin => "read with `tokio::io::stdin()` and `AsyncBufReadExt`",
            Category::Net => {
                "use `tokio::net` (`TcpStream`, `TcpListener`, `UdpSocket`) with `.await`"
            }
            Category::Dns => "resolve with `tokio::net::lookup_host(..).await`",
            Category::Process => "use `tokio::process::Command` and `.await` its output or status",
            Category::SyncChannel => {
                "use `tokio::sync::mpsc` (`recv().await`, `send(..).await`), or receive in \
                 `tokio::task::spawn_blocking`"
            }
            Category::ThreadJoin => {
                "wait in `tokio::task::spawn_blocking`, or use tokio's `JoinHandle`/`Notify`/\
                 `Barrier` and `.await` them"
            }
            Category::RuntimeBlockOn => {
                "`.await` the future instead: blocking on it inside async code stalls or \
                 panics the runtime"
            }
            Category::TokioBlockingInAsync => {
                "call the async form with `.await` (`recv().await`, `send(..).await`, \
                 `lock().await`, `read().await`, `write().await`): the `blocking_` form panics \
                 inside a runtime"
            }
            Category::Db => {
                "run the query in `tokio::task::spawn_blocking` or `sync_to_async`, or use an \
                 async client (tokio-postgres, sqlx, deadpool, bb8)"
            }
            Category::Http => "use the async client (`reqwest::Client`) with `.await`",
            Category::Lock => {
                "hold the lock briefly and never across `.await`, or use `tokio::sync::Mutex`/\
                 `RwLock` with `.await`"
            }
        }
    }
}

/// The help line of a finding: the async twin of the API when there is one,
/// else the category's advice; for a marked or listed function, how to move
/// the call off the event loop.
pub(crate) fn suggestion(callee: &str, reason: Reason) -> String {
    match reason {
        Reason::Builtin(Category::Fs) => match fs_twin(callee) {
            Some(twin) => format!("use `{twin}(..).await`"),
            None => Category::Fs.help().to_owned(),
        },
        Reason::Builtin(Category::Sleep) if callee != "std::thread::sleep" => {
            "use `tokio::time::sleep(..).await` or `tokio::sync::Notify`".to_owned()
        }
        Reason::Builtin(c) => c.help().to_owned(),
        Reason::Marked | Reason::User => format!(
            "run it off the event loop: `sync_to_async(move || ..).await` or \
             `tokio::task::spawn_blocking(move || ..).await` around the call to `{}`",
            callee.rsplit("::").next().unwrap_or(callee)
        ),
    }
}

/// `std::fs::read` → `tokio::fs::read`: the functions `tokio::fs` mirrors.
fn fs_twin(callee: &str) -> Option<String> {
    const MIRRORED: &[&str] = &[
        "canonicalize",
        "copy",
        "create_dir",
        "create_dir_all",
        "hard_link",
        "metadata",
        "read",
        "read_dir",
        "read_link",
        "read_to_string",
        "remove_dir",
        "remove_dir_all",
        "remove_file",
        "rename",
        "set_permissions",
        "symlink_metadata",
        "try_exists",
        "write",
        "File::open",
        "File::create",
        "File::create_new",
        "OpenOptions::open",
    ];
    let rest = callee.strip_prefix("std::fs::")?;
    MIRRORED
        .contains(&rest)
        .then(|| format!("tokio::fs::{rest}"))
}

/// The built-in list: a pattern and its category.
pub(crate) const BUILTIN: &[(&str, Category)] = &[
    ("std::thread::sleep", Category::Sleep),
    ("std::thread::sleep_ms", Category::Sleep),
    ("std::thread::park", Category::Sleep),
    ("std::thread::park_timeout", Category::Sleep),
    // File system.
    ("std::fs::*", Category::Fs),
    ("std::path::Path::exists", Category::Fs),
    ("std::path::Path::try_exists", Category::Fs),
    ("std::path::Path::is_file", Category::Fs),
    ("std::path::Path::is_dir", Category::Fs),
    ("std::path::Path::is_symlink", Category::Fs),
    ("std::path::Path::metadata", Category::Fs),
    ("std::path::Path::symlink_metadata", Category::Fs),
    ("std::path::Path::canonicalize", Category::Fs),
    ("std::path::Path::read_dir", Category::Fs),
    ("std::path::Path::read_link", Category::Fs),
    ("std::path::PathBuf::exists", Category::Fs),
    ("std::path::PathBuf::try_exists", Category::Fs),
    ("std::path::PathBuf::is_file", Category::Fs),
    ("std::path::PathBuf::is_dir", Category::Fs),
    ("std::path::PathBuf::metadata", Category::Fs),
    ("std::path::PathBuf::canonicalize", Category::Fs),
    ("std::path::PathBuf::read_dir", Category::Fs),
    ("std::io::copy", Category::Fs),
    ("std::io::read_to_string", Category::Fs),
    // Standard input.
    ("std::io::Stdin::read", Category::Stdin),
    ("std::io::Stdin::read_line", Category::Stdin),
    ("std::io::Stdin::read_to_end", Category::Stdin),
    ("std::io::Stdin::read_to_string", Category::Stdin),
    ("std::io::Stdin::read_exact", Category::Stdin),
    ("std::io::Stdin::lines", Category::Stdin),
    ("std::io::StdinLock::read", Category::Stdin),
    ("std::io::StdinLock::read_line", Category::Stdin),
    ("std::io::StdinLock::read_to_end", Category::Stdin),
    ("std::io::StdinLock::read_to_string", Category::Stdin),
    ("std::io::StdinLock::read_exact", Category::Stdin),
    ("std::io::StdinLock::lines", Category::Stdin),
    // Blocking sockets.
    ("std::net::TcpStream::connect", Category::Net),
    ("std::net::TcpStream::connect_timeout", Category::Net),
    ("std::net::TcpStream::read", Category::Net),
    ("std::net::TcpStream::read_exact", Category::Net),
    ("std::net::TcpStream::read_to_end", Category::Net),
    ("std::net::TcpStream::read_to_string", Category::Net),
    ("std::net::TcpStream::write", Category::Net),
    ("std::net::TcpStream::write_all", Category::Net),
    ("std::net::TcpListener::bind", Category::Net),
    ("std::net::TcpListener::accept", Category::Net),
    ("std::net::TcpListener::incoming", Category::Net),
    ("std::net::UdpSocket::bind", Category::Net),
    ("std::net::UdpSocket::send", Category::Net),
    ("std::net::UdpSocket::send_to", Category::Net),
    ("std::net::UdpSocket::recv", Category::Net),
    ("std::net::UdpSocket::recv_from", Category::Net),
    // Name resolution: a trait method, on whatever type implements it.
    ("*::to_socket_addrs", Category::Dns),
    // Child processes.
    ("std::process::Command::output", Category::Process),
    ("std::process::Command::status", Category::Process),
    ("std::process::Child::wait", Category::Process),
    ("std::process::Child::wait_with_output", Category::Process),
    // Channels.
    ("std::sync::mpsc::Receiver::recv", Category::SyncChannel),
    (
        "std::sync::mpsc::Receiver::recv_timeout",
        Category::SyncChannel,
    ),
    ("std::sync::mpsc::Receiver::iter", Category::SyncChannel),
    (
        "std::sync::mpsc::Receiver::into_iter",
        Category::SyncChannel,
    ),
    ("crossbeam_channel::Receiver::iter", Category::SyncChannel),
    (
        "crossbeam_channel::Receiver::into_iter",
        Category::SyncChannel,
    ),
    ("std::sync::mpsc::SyncSender::send", Category::SyncChannel),
    ("crossbeam_channel::Receiver::recv", Category::SyncChannel),
    (
        "crossbeam_channel::Receiver::recv_timeout",
        Category::SyncChannel,
    ),
    ("crossbeam_channel::Sender::send", Category::SyncChannel),
    ("crossbeam::channel::Receiver::recv", Category::SyncChannel),
    ("crossbeam::channel::Sender::send", Category::SyncChannel),
    // Waiting for threads.
    ("std::thread::JoinHandle::join", Category::ThreadJoin),
    ("std::thread::ScopedJoinHandle::join", Category::ThreadJoin),
    ("std::sync::Barrier::wait", Category::ThreadJoin),
    ("std::sync::Condvar::wait", Category::ThreadJoin),
    ("std::sync::Condvar::wait_while", Category::ThreadJoin),
    ("std::sync::Condvar::wait_timeout", Category::ThreadJoin),
    (
        "std::sync::Condvar::wait_timeout_while",
        Category::ThreadJoin,
    ),
    // Running a future to completion here.
    ("futures::executor::block_on", Category::RuntimeBlockOn),
    ("futures_executor::block_on", Category::RuntimeBlockOn),
    ("futures_lite::future::block_on", Category::RuntimeBlockOn),
    ("pollster::block_on", Category::RuntimeBlockOn),
    ("async_std::task::block_on", Category::RuntimeBlockOn),
    (
        "tokio::runtime::Runtime::block_on",
        Category::RuntimeBlockOn,
    ),
    ("tokio::runtime::Handle::block_on", Category::RuntimeBlockOn),
    // tokio's blocking forms: they panic inside a runtime.
    (
        "tokio::sync::mpsc::Receiver::blocking_recv",
        Category::TokioBlockingInAsync,
    ),
    (
        "tokio::sync::mpsc::UnboundedReceiver::blocking_recv",
        Category::TokioBlockingInAsync,
    ),
    (
        "tokio::sync::mpsc::Sender::blocking_send",
        Category::TokioBlockingInAsync,
    ),
    (
        "tokio::sync::oneshot::Receiver::blocking_recv",
        Category::TokioBlockingInAsync,
    ),
    (
        "tokio::sync::broadcast::Receiver::blocking_recv",
        Category::TokioBlockingInAsync,
    ),
    (
        "tokio::sync::Mutex::blocking_lock",
        Category::TokioBlockingInAsync,
    ),
    (
        "tokio::sync::Mutex::blocking_lock_owned",
        Category::TokioBlockingInAsync,
    ),
    (
        "tokio::sync::RwLock::blocking_read",
        Category::TokioBlockingInAsync,
    ),
    (
        "tokio::sync::RwLock::blocking_write",
        Category::TokioBlockingInAsync,
    ),
    // Synchronous databases.
    ("postgres::Client::*", Category::Db),
    ("postgres::Transaction::*", Category::Db),
    ("postgres::Config::connect", Category::Db),
    ("r2d2::Pool::get", Category::Db),
    ("r2d2::Pool::get_timeout", Category::Db),
    ("rusqlite::Connection::*", Category::Db),
    ("rusqlite::Statement::*", Category::Db),
    ("rusqlite::Transaction::*", Category::Db),
    ("diesel::connection::Connection::establish", Category::Db),
    ("diesel::PgConnection::establish", Category::Db),
    ("diesel::SqliteConnection::establish", Category::Db),
    ("diesel::MysqlConnection::establish", Category::Db),
    ("diesel::pg::PgConnection::establish", Category::Db),
    ("diesel::sqlite::SqliteConnection::establish", Category::Db),
    ("diesel::mysql::MysqlConnection::establish", Category::Db),
    ("mysql::Conn::*", Category::Db),
    ("mysql::Pool::get_conn", Category::Db),
    ("redis::Client::get_connection", Category::Db),
    ("redis::Connection::*", Category::Db),
    ("sqlite::Connection::*", Category::Db),
    // Synchronous HTTP clients.
    // reqwest's blocking client: a request sent, a body read, and a client
    // built or dropped (it runs a runtime of its own: in async code that
    // panics). Building a request blocks nothing.
    ("reqwest::blocking::get", Category::Http),
    ("reqwest::blocking::RequestBuilder::send", Category::Http),
    ("reqwest::blocking::Client::execute", Category::Http),
    ("reqwest::blocking::Client::new", Category::Http),
    ("reqwest::blocking::ClientBuilder::build", Category::Http),
    ("reqwest::blocking::Response::*", Category::Http),
    ("ureq::*", Category::Http),
    ("attohttpc::*", Category::Http),
    ("minreq::*", Category::Http),
    ("curl::easy::Easy::perform", Category::Http),
    // Locks (opt-in).
    ("std::sync::Mutex::lock", Category::Lock),
    ("std::sync::RwLock::read", Category::Lock),
    ("std::sync::RwLock::write", Category::Lock),
];

/// Functions that run the closure they are given off the event loop, beside
/// the names `parse.rs` knows (`spawn_blocking`, `block_in_place`,
/// `sync_to_async`, thread and rayon spawns): actix's `web::block`, smol's
/// `unblock`, deadpool's `interact`.
pub(crate) const BREAKERS: &[&str] = &[
    "actix_web::web::block",
    "actix_web::web::block::*",
    "blocking::unblock",
    "smol::unblock",
    "async_std::task::spawn_blocking",
    "*::interact",
];

/// Outside functions that call the closure they are given before they
/// return (beside the adapters `parse.rs` knows by method name): a blocking
/// call in that closure blocks here.
pub(crate) const CALLERS: &[&str] = &[
    "std::panic::catch_unwind",
    "std::iter::from_fn",
    "std::iter::repeat_with",
    "std::thread::LocalKey::with",
    "async_unsafe_runtime::capture_violations",
    "async_unsafe_runtime::allow_on_this_thread",
];

/// Items under a blocking prefix (`std::fs::*`, `reqwest::blocking::Response::*`)
/// that do no I/O: builders, in-memory accessors, non-blocking attempts.
pub(crate) const NOT_BLOCKING: &[&str] = &[
    "std::fs::File::options",
    "std::fs::OpenOptions::new",
    "std::fs::OpenOptions::read",
    "std::fs::OpenOptions::write",
    "std::fs::OpenOptions::append",
    "std::fs::OpenOptions::truncate",
    "std::fs::OpenOptions::create",
    "std::fs::OpenOptions::create_new",
    "std::fs::OpenOptions::mode",
    "std::fs::OpenOptions::custom_flags",
    "std::fs::DirBuilder::new",
    "std::fs::DirBuilder::recursive",
    "std::fs::DirBuilder::mode",
    "std::fs::Permissions::*",
    "std::fs::FileType::*",
    "std::fs::Metadata::*",
    "std::fs::DirEntry::path",
    "std::fs::DirEntry::file_name",
    "std::fs::File::try_lock",
    "std::fs::File::try_lock_shared",
    "std::fs::File::try_lock_exclusive",
    "reqwest::blocking::Response::status",
    "reqwest::blocking::Response::headers",
    "reqwest::blocking::Response::url",
    "reqwest::blocking::Response::content_length",
    "reqwest::blocking::Response::error_for_status",
    "reqwest::blocking::Response::error_for_status_ref",
];

/// Free functions whose return type the built-in list needs.
pub(crate) const RETURNS: &[(&str, &str)] = &[
    ("std::io::stdin", "std::io::Stdin"),
    ("std::process::Command::new", "std::process::Command"),
    ("std::thread::spawn", "std::thread::JoinHandle"),
    ("std::fs::File::open", "std::io::Result<std::fs::File>"),
    ("std::fs::File::create", "std::io::Result<std::fs::File>"),
    (
        "std::net::TcpStream::connect",
        "std::io::Result<std::net::TcpStream>",
    ),
    (
        "std::net::TcpListener::bind",
        "std::io::Result<std::net::TcpListener>",
    ),
    (
        "std::net::UdpSocket::bind",
        "std::io::Result<std::net::UdpSocket>",
    ),
    ("std::path::Path::new", "std::path::Path"),
    ("std::fs::File::options", "std::fs::OpenOptions"),
    ("std::fs::OpenOptions::new", "std::fs::OpenOptions"),
    (
        "std::sync::mpsc::channel",
        "(std::sync::mpsc::Sender<_>, std::sync::mpsc::Receiver<_>)",
    ),
    (
        "std::sync::mpsc::sync_channel",
        "(std::sync::mpsc::SyncSender<_>, std::sync::mpsc::Receiver<_>)",
    ),
    (
        "crossbeam_channel::unbounded",
        "(crossbeam_channel::Sender<_>, crossbeam_channel::Receiver<_>)",
    ),
    (
        "crossbeam_channel::bounded",
        "(crossbeam_channel::Sender<_>, crossbeam_channel::Receiver<_>)",
    ),
    (
        "tokio::sync::mpsc::channel",
        "(tokio::sync::mpsc::Sender<_>, tokio::sync::mpsc::Receiver<_>)",
    ),
    (
        "tokio::sync::mpsc::unbounded_channel",
        "(tokio::sync::mpsc::UnboundedSender<_>, tokio::sync::mpsc::UnboundedReceiver<_>)",
    ),
    (
        "tokio::sync::oneshot::channel",
        "(tokio::sync::oneshot::Sender<_>, tokio::sync::oneshot::Receiver<_>)",
    ),
    ("std::path::PathBuf::from", "std::path::PathBuf"),
    ("std::path::PathBuf::new", "std::path::PathBuf"),
    ("std::sync::Barrier::new", "std::sync::Barrier"),
    ("std::sync::Condvar::new", "std::sync::Condvar"),
    (
        "tokio::runtime::Runtime::new",
        "std::io::Result<tokio::runtime::Runtime>",
    ),
    ("tokio::runtime::Handle::current", "tokio::runtime::Handle"),
    (
        "tokio::runtime::Builder::build",
        "std::io::Result<tokio::runtime::Runtime>",
    ),
    (
        "reqwest::blocking::Client::new",
        "reqwest::blocking::Client",
    ),
    (
        "reqwest::blocking::Client::builder",
        "reqwest::blocking::ClientBuilder",
    ),
    (
        "rusqlite::Connection::open",
        "rusqlite::Result<rusqlite::Connection>",
    ),
    (
        "rusqlite::Connection::open_in_memory",
        "rusqlite::Result<rusqlite::Connection>",
    ),
    (
        "postgres::Client::connect",
        "std::result::Result<postgres::Client>",
    ),
    ("r2d2::Pool::builder", "r2d2::Builder"),
    ("postgres::Config::new", "postgres::Config"),
    ("r2d2::Builder::build", "std::result::Result<r2d2::Pool>"),
    ("r2d2::Pool::new", "std::result::Result<r2d2::Pool>"),
];

/// Methods of outside types whose return type the built-in list needs, so a
/// chain `client.get(url).send()` reaches `RequestBuilder::send`.
pub(crate) const METHOD_RETURNS: &[(&str, &str, &str)] = &[
    (
        "reqwest::blocking::Client",
        "get",
        "reqwest::blocking::RequestBuilder",
    ),
    (
        "reqwest::blocking::Client",
        "post",
        "reqwest::blocking::RequestBuilder",
    ),
    (
        "reqwest::blocking::Client",
        "put",
        "reqwest::blocking::RequestBuilder",
    ),
    (
        "reqwest::blocking::Client",
        "patch",
        "reqwest::blocking::RequestBuilder",
    ),
    (
        "reqwest::blocking::Client",
        "delete",
        "reqwest::blocking::RequestBuilder",
    ),
    (
        "reqwest::blocking::Client",
        "head",
        "reqwest::blocking::RequestBuilder",
    ),
    (
        "reqwest::blocking::Client",
        "request",
        "reqwest::blocking::RequestBuilder",
    ),
    (
        "reqwest::blocking::RequestBuilder",
        "send",
        "reqwest::Result<reqwest::blocking::Response>",
    ),
    (
        "reqwest::blocking::ClientBuilder",
        "build",
        "reqwest::Result<reqwest::blocking::Client>",
    ),
    (
        "postgres::Config",
        "connect",
        "std::result::Result<postgres::Client>",
    ),
    (
        "r2d2::Pool",
        "get",
        "std::result::Result<r2d2::PooledConnection>",
    ),
    (
        "std::process::Command",
        "spawn",
        "std::io::Result<std::process::Child>",
    ),
    (
        "std::net::TcpListener",
        "accept",
        "std::io::Result<(std::net::TcpStream, std::net::SocketAddr)>",
    ),
];

/// External builder types whose methods return the builder itself, so a
/// chain `Command::new("ls").arg("-l").output()` keeps its type.
pub(crate) const BUILDERS: &[(&str, &[&str])] = &[
    (
        "std::fs::OpenOptions",
        &[
            "read",
            "write",
            "append",
            "truncate",
            "create",
            "create_new",
            "mode",
            "custom_flags",
        ],
    ),
    (
        "std::process::Command",
        &[
            "arg",
            "args",
            "env",
            "envs",
            "env_remove",
            "env_clear",
            "current_dir",
            "stdin",
            "stdout",
            "stderr",
            "uid",
            "gid",
        ],
    ),
    (
        "std::fs::OpenOptions",
        &[
            "read",
            "write",
            "append",
            "truncate",
            "create",
            "create_new",
            "mode",
            "custom_flags",
        ],
    ),
    (
        "reqwest::blocking::RequestBuilder",
        &[
            "header",
            "headers",
            "body",
            "json",
            "form",
            "query",
            "timeout",
            "basic_auth",
            "bearer_auth",
            "multipart",
            "version",
        ],
    ),
    (
        "reqwest::blocking::ClientBuilder",
        &[
            "timeout",
            "connect_timeout",
            "user_agent",
            "default_headers",
            "http1_only",
            "http2_prior_knowledge",
            "danger_accept_invalid_certs",
            "redirect",
            "proxy",
            "no_proxy",
            "pool_max_idle_per_host",
            "gzip",
            "cookie_store",
            "tcp_nodelay",
        ],
    ),
    (
        "postgres::Config",
        &[
            "host",
            "hostaddr",
            "port",
            "user",
            "password",
            "dbname",
            "options",
            "application_name",
            "connect_timeout",
            "ssl_mode",
            "keepalives",
            "target_session_attrs",
            "channel_binding",
        ],
    ),
    (
        "r2d2::Builder",
        &[
            "max_size",
            "min_idle",
            "test_on_check_out",
            "max_lifetime",
            "idle_timeout",
            "connection_timeout",
            "error_handler",
            "event_handler",
            "connection_customizer",
        ],
    ),
];

/// Methods of the built-in list whose names belong to blocking APIs alone:
/// on a value of unknown type, a call of one is a `possible` finding, named
/// as the first built-in item of that name.
const DISTINCTIVE: &[&str] = &[
    "block_on",
    "blocking_recv",
    "blocking_send",
    "blocking_lock",
    "blocking_lock_owned",
    "blocking_read",
    "blocking_write",
    "recv_timeout",
    "wait_with_output",
    "connect_timeout",
];

/// The built-in item a call of the method `name` on a value of unknown type
/// may be, if the name is one of [`DISTINCTIVE`].
pub(crate) fn by_method_name(name: &str) -> Option<&'static str> {
    if !DISTINCTIVE.contains(&name) {
        return None;
    }
    BUILTIN
        .iter()
        .map(|(p, _)| *p)
        .find(|p| p.rsplit_once("::").is_some_and(|(_, last)| last == name))
}

/// Does `pattern` name `path`?
pub(crate) fn matches(pattern: &str, path: &str) -> bool {
    if let Some(name) = pattern.strip_prefix("*::") {
        return path
            .rsplit_once("::")
            .is_some_and(|(owner, last)| last == name && !owner.is_empty());
    }
    match pattern.strip_suffix("::*") {
        Some(prefix) => path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with("::") && rest.len() > 2),
        None => pattern == path,
    }
}

/// Why a path blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Reason {
    /// Marked `#[async_unsafe]`.
    Marked,
    /// On the built-in list, in this category.
    Builtin(Category),
    /// On the user's `blocking` list.
    User,
}

impl Reason {
    /// `marked`, `builtin` or `user`, as JSON says it.
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Reason::Marked => "marked",
            Reason::Builtin(_) => "builtin",
            Reason::User => "user",
        }
    }

    /// The built-in category, if any.
    pub(crate) fn category(self) -> Option<Category> {
        match self {
            Reason::Builtin(c) => Some(c),
            _ => None,
        }
    }
}

/// The lists in force for one run.
#[derive(Debug, Clone)]
pub(crate) struct Lists {
    user: UserLists,
    enabled: Vec<Category>,
}

impl Default for Lists {
    fn default() -> Self {
        Lists::new(UserLists::default())
    }
}

impl Lists {
    /// The built-in categories on by default, plus those the user enabled.
    pub(crate) fn new(user: UserLists) -> Lists {
        let enabled = Category::ALL
            .into_iter()
            .filter(|c| c.on_by_default() || user.enable.contains(c))
            .collect();
        Lists { user, enabled }
    }

    /// The user said this path is fine: neither reported nor followed.
    pub(crate) fn allowed(&self, path: &str) -> bool {
        self.user.allow.iter().any(|p| matches(p, path))
    }

    /// `path` runs the closure it is given off the event loop.
    pub(crate) fn breaker(&self, path: &str) -> bool {
        self.user.breakers.iter().any(|p| matches(p, path))
            || BREAKERS.iter().any(|p| matches(p, path))
    }

    /// `path` calls the closure it is given before it returns.
    pub(crate) fn caller(&self, path: &str) -> bool {
        CALLERS.iter().any(|p| matches(p, path))
    }

    /// Why `path` blocks, if it does (the user's list first).
    pub(crate) fn blocking(&self, path: &str) -> Option<Reason> {
        if self.user.blocking.iter().any(|p| matches(p, path)) {
            return Some(Reason::User);
        }
        if NOT_BLOCKING.iter().any(|p| matches(p, path)) {
            return None;
        }
        BUILTIN
            .iter()
            .find(|(p, c)| self.enabled.contains(c) && matches(p, path))
            .map(|&(_, c)| Reason::Builtin(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_prefix_and_any_owner_patterns() {
        assert!(matches("std::thread::sleep", "std::thread::sleep"));
        assert!(!matches("std::thread::sleep", "std::thread::sleep_ms"));
        assert!(matches("std::fs::*", "std::fs::read_to_string"));
        assert!(matches("std::fs::*", "std::fs::File::open"));
        assert!(!matches("std::fs::*", "std::fs"));
        assert!(!matches("std::fs::*", "std::fsx::read"));
        assert!(matches(
            "*::to_socket_addrs",
            "std::string::String::to_socket_addrs"
        ));
        assert!(matches(
            "*::to_socket_addrs",
            "std::net::ToSocketAddrs::to_socket_addrs"
        ));
        assert!(!matches("*::to_socket_addrs", "to_socket_addrs"));
        assert!(!matches("*::to_socket_addrs", "a::to_socket_addrs_v2"));
    }

    #[test]
    fn every_category_s_apis_are_built_in() {
        let lists = Lists::default();
        for (path, category) in [
            ("std::thread::sleep", Category::Sleep),
            ("std::fs::write", Category::Fs),
            ("std::fs::File::open", Category::Fs),
            ("std::path::Path::exists", Category::Fs),
            ("std::io::copy", Category::Fs),
            ("std::io::Stdin::read_line", Category::Stdin),
            ("std::io::Stdin::lines", Category::Stdin),
            ("std::net::TcpStream::connect", Category::Net),
            ("std::net::TcpListener::accept", Category::Net),
            ("std::net::UdpSocket::recv_from", Category::Net),
            ("std::net::ToSocketAddrs::to_socket_addrs", Category::Dns),
            ("std::process::Command::output", Category::Process),
            ("std::process::Child::wait", Category::Process),
            ("std::sync::mpsc::Receiver::recv", Category::SyncChannel),
            (
                "std::sync::mpsc::Receiver::recv_timeout",
                Category::SyncChannel,
            ),
            ("std::sync::mpsc::SyncSender::send", Category::SyncChannel),
            ("std::thread::JoinHandle::join", Category::ThreadJoin),
            ("std::sync::Barrier::wait", Category::ThreadJoin),
            ("std::sync::Condvar::wait_timeout", Category::ThreadJoin),
            ("futures::executor::block_on", Category::RuntimeBlockOn),
            (
                "tokio::runtime::Runtime::block_on",
                Category::RuntimeBlockOn,
            ),
            ("tokio::runtime::Handle::block_on", Category::RuntimeBlockOn),
            (
                "tokio::sync::mpsc::Receiver::blocking_recv",
                Category::TokioBlockingInAsync,
            ),
            (
                "tokio::sync::Mutex::blocking_lock",
                Category::TokioBlockingInAsync,
            ),
            (
                "tokio::sync::RwLock::blocking_write",
                Category::TokioBlockingInAsync,
            ),
            ("postgres::Client::query", Category::Db),
            ("r2d2::Pool::get", Category::Db),
            ("rusqlite::Connection::execute", Category::Db),
            ("reqwest::blocking::get", Category::Http),
            ("ureq::get", Category::Http),
        ] {
            assert_eq!(
                lists.blocking(path),
                Some(Reason::Builtin(category)),
                "{path}"
            );
        }
        for path in [
            "std::fs::File::options",
            "std::fs::OpenOptions::write",
            "std::fs::Metadata::len",
            "reqwest::blocking::Response::status",
            "tokio::fs::read",
            "reqwest::get",
            "std::thread::spawn",
            "std::sync::mpsc::Sender::send",
            "tokio::sync::mpsc::Receiver::recv",
        ] {
            assert_eq!(lists.blocking(path), None, "{path}");
        }
    }

    #[test]
    fn only_distinctive_names_are_guessed_as_built_in() {
        assert_eq!(
            by_method_name("blocking_recv"),
            Some("tokio::sync::mpsc::Receiver::blocking_recv")
        );
        assert_eq!(
            by_method_name("block_on"),
            Some("futures::executor::block_on")
        );
        assert_eq!(by_method_name("recv"), None);
        assert_eq!(by_method_name("read_to_string"), None);
        for name in DISTINCTIVE {
            let path = by_method_name(name).unwrap_or_else(|| panic!("{name}"));
            assert!(Lists::default().blocking(path).is_some(), "{path}");
        }
    }

    #[test]
    fn locks_are_opt_in() {
        assert_eq!(Lists::default().blocking("std::sync::Mutex::lock"), None);
        let lists = Lists::new(UserLists {
            enable: vec![Category::Lock],
            ..UserLists::default()
        });
        assert_eq!(
            lists.blocking("std::sync::Mutex::lock"),
            Some(Reason::Builtin(Category::Lock))
        );
        assert_eq!(Category::from_name("lock"), Some(Category::Lock));
        assert_eq!(Category::from_name("locks"), None);
    }

    #[test]
    fn user_lists_come_first() {
        let lists = Lists::new(UserLists {
            blocking: vec!["app::db::*".into()],
            allow: vec!["std::thread::sleep".into()],
            ..UserLists::default()
        });
        assert_eq!(lists.blocking("app::db::load"), Some(Reason::User));
        assert!(lists.allowed("std::thread::sleep"));
        assert!(!lists.allowed("std::fs::read"));
    }

    #[test]
    fn suggestions_name_the_async_twin_or_the_way_off_the_loop() {
        let fs = Reason::Builtin(Category::Fs);
        assert_eq!(
            suggestion("std::fs::read_to_string", fs),
            "use `tokio::fs::read_to_string(..).await`"
        );
        assert_eq!(
            suggestion("std::fs::File::open", fs),
            "use `tokio::fs::File::open(..).await`"
        );
        assert_eq!(
            suggestion("std::path::Path::exists", fs),
            Category::Fs.help()
        );
        assert_eq!(
            suggestion("std::thread::sleep", Reason::Builtin(Category::Sleep)),
            "use `tokio::time::sleep(..).await`"
        );
        // `park` waits for an `unpark`, not a duration: a `Notify` is its twin.
        assert_eq!(
            suggestion("std::thread::park", Reason::Builtin(Category::Sleep)),
            "use `tokio::time::sleep(..).await` or `tokio::sync::Notify`"
        );
        let marked = suggestion("app::Repo::load", Reason::Marked);
        assert!(
            marked.contains("sync_to_async") && marked.contains("`load`"),
            "{marked}"
        );
        for c in Category::ALL {
            assert!(!c.help().is_empty());
            assert_eq!(Category::from_name(c.name()), Some(c));
        }
    }
}
