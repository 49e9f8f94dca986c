//! What blocks without being marked: a built-in list of well-known blocking
//! APIs, and the user's `blocking`/`allow` lists from
//! `[package.metadata.async-unsafe]` / `[workspace.metadata.async-unsafe]`.
//!
//! A pattern is a path (`std::thread::sleep`), or a prefix ending in `::*`
//! that matches every path below it (`reqwest::blocking::*`). Paths are
//! compared after `use` resolution, as the crate that defines the item spells
//! them: a method is `Type::method` under the type's path.

use crate::workspace::UserLists;

/// The built-in list.
pub(crate) const BUILTIN: &[&str] = &[
    "std::thread::sleep",
    "std::fs::*",
    "std::net::TcpStream::connect",
    "std::net::TcpStream::connect_timeout",
    "std::io::Stdin::read",
    "std::io::Stdin::read_line",
    "std::io::Stdin::read_to_end",
    "std::io::Stdin::read_to_string",
    "std::io::Stdin::read_exact",
    "std::io::StdinLock::read",
    "std::io::StdinLock::read_line",
    "std::io::StdinLock::read_to_end",
    "std::io::StdinLock::read_to_string",
    "std::io::StdinLock::read_exact",
    "std::process::Command::output",
    "std::process::Command::status",
    "std::process::Child::wait",
    "std::process::Child::wait_with_output",
    "std::sync::mpsc::Receiver::recv",
    "std::sync::mpsc::Receiver::recv_timeout",
    "reqwest::blocking::*",
    "postgres::Client::*",
    "r2d2::Pool::get",
    "rusqlite::Connection::*",
    "ureq::*",
    "futures::executor::block_on",
    "tokio::runtime::Runtime::block_on",
    "tokio::runtime::Handle::block_on",
];

/// Free functions whose return type the built-in list needs.
pub(crate) const RETURNS: &[(&str, &str)] = &[
    ("std::io::stdin", "std::io::Stdin"),
    ("std::process::Command::new", "std::process::Command"),
];

/// External builder types whose methods return the builder itself, so a
/// chain `Command::new("ls").arg("-l").output()` keeps its type.
pub(crate) const BUILDERS: &[(&str, &[&str])] = &[(
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
    ],
)];

/// Does `pattern` name `path`?
pub(crate) fn matches(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix("::*") {
        Some(prefix) => path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with("::") && rest.len() > 2),
        None => pattern == path,
    }
}

/// Why a path blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// Marked `#[async_unsafe]`.
    Marked,
    /// On the built-in list.
    Builtin,
    /// On the user's `blocking` list.
    User,
}

/// The lists in force for one run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lists {
    user: UserLists,
}

impl Lists {
    pub(crate) fn new(user: UserLists) -> Lists {
        Lists { user }
    }

    /// The user said this path is fine: neither reported nor followed.
    pub(crate) fn allowed(&self, path: &str) -> bool {
        self.user.allow.iter().any(|p| matches(p, path))
    }

    /// Why `path` blocks, if it does (the user's list first).
    pub(crate) fn blocking(&self, path: &str) -> Option<Reason> {
        if self.user.blocking.iter().any(|p| matches(p, path)) {
            Some(Reason::User)
        } else if BUILTIN.iter().any(|p| matches(p, path)) {
            Some(Reason::Builtin)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_prefix_patterns() {
        assert!(matches("std::thread::sleep", "std::thread::sleep"));
        assert!(!matches("std::thread::sleep", "std::thread::sleep_ms"));
        assert!(matches("std::fs::*", "std::fs::read_to_string"));
        assert!(matches("std::fs::*", "std::fs::File::open"));
        assert!(!matches("std::fs::*", "std::fs"));
        assert!(!matches("std::fs::*", "std::fsx::read"));
    }

    #[test]
    fn the_issue_s_list_is_built_in() {
        let lists = Lists::default();
        for path in [
            "std::thread::sleep",
            "std::fs::write",
            "std::fs::File::open",
            "std::fs::File::create",
            "std::net::TcpStream::connect",
            "std::io::Stdin::read_line",
            "std::process::Command::output",
            "std::process::Command::status",
            "std::sync::mpsc::Receiver::recv",
            "reqwest::blocking::get",
            "postgres::Client::connect",
            "r2d2::Pool::get",
            "rusqlite::Connection::execute",
            "ureq::get",
            "futures::executor::block_on",
            "tokio::runtime::Runtime::block_on",
            "tokio::runtime::Handle::block_on",
        ] {
            assert_eq!(lists.blocking(path), Some(Reason::Builtin), "{path}");
        }
        for path in ["tokio::fs::read", "reqwest::get", "std::thread::spawn"] {
            assert_eq!(lists.blocking(path), None, "{path}");
        }
    }

    #[test]
    fn user_lists_come_first() {
        let lists = Lists::new(UserLists {
            blocking: vec!["app::db::*".into()],
            allow: vec!["std::thread::sleep".into()],
        });
        assert_eq!(lists.blocking("app::db::load"), Some(Reason::User));
        assert!(lists.allowed("std::thread::sleep"));
        assert!(!lists.allowed("std::fs::read"));
    }
}
