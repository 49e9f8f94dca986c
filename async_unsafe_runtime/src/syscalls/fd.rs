//! Would I/O on this descriptor block? A regular file (or a block device)
//! always may; a socket or a pipe exactly when it is in blocking mode; other
//! descriptors (terminals, `/dev/null`, eventfds, epoll) are not judged.
//!
//! The answer "never blocks" is kept in a process-wide bitmap indexed by
//! descriptor, so tokio's sockets cost one atomic load per call after the
//! first: an `fcntl(F_GETFL)` and an `fstat` answer the first time. Only that
//! answer is kept, so a stale bit can miss a violation but never invent one.
//! Everything that can change it clears the bit: `close`, `dup2`/`dup3` (the
//! target), `fcntl(F_SETFL)`, `ioctl(FIONBIO)`, and every hooked call that
//! hands out a descriptor (`open*`, `socket`, `accept*`) clears the one it
//! returns. Descriptors past [`CACHED`] are asked every time.

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, Ordering};

use libc::c_int;

use super::STANDARD_STREAMS_EXEMPT;

/// Descriptors below this are remembered: 8 KiB of bits.
const CACHED: usize = 1 << 16;

static NEVER_BLOCKS: [AtomicU64; CACHED / 64] = [const { AtomicU64::new(0) }; CACHED / 64];

fn slot(fd: c_int) -> Option<(&'static AtomicU64, u64)> {
    let fd = usize::try_from(fd).ok()?;
    NEVER_BLOCKS
        .get(fd / 64)
        .map(|word| (word, 1u64 << (fd % 64)))
}

fn known_never_blocks(fd: c_int) -> bool {
    slot(fd).is_some_and(|(word, bit)| word.load(Ordering::Relaxed) & bit != 0)
}

fn remember(fd: c_int) {
    if let Some((word, bit)) = slot(fd) {
        word.fetch_or(bit, Ordering::Relaxed);
    }
}

/// What was known about `fd` no longer holds. Reads first, so closing
/// descriptors never seen writes no shared cache line.
pub(super) fn forget(fd: c_int) {
    if let Some((word, bit)) = slot(fd) {
        if word.load(Ordering::Relaxed) & bit != 0 {
            word.fetch_and(!bit, Ordering::Relaxed);
        }
    }
}

/// Whether descriptor-taking calls leave `fd` alone: 0 and 1 unless
/// [`set_standard_streams_exempt`](super::set_standard_streams_exempt)`(false)`,
/// and 2 always: the reports are written there, and judging a write to
/// standard error while std holds its lock would report into that lock.
pub(super) fn exempt(fd: c_int) -> bool {
    fd == 2 || ((0..=1).contains(&fd) && STANDARD_STREAMS_EXEMPT.load(Ordering::Relaxed))
}

/// Whether reading or writing `fd` may block the thread: the rule of the
/// module docs. A descriptor that cannot be asked about (closed, invalid) is
/// left to the call itself, which will fail: "no".
pub(super) fn io_blocks(fd: c_int) -> bool {
    if exempt(fd) || known_never_blocks(fd) {
        return false;
    }
    // A raw system call: `fcntl` is hooked, and this is no user's call.
    // SAFETY: F_GETFL takes no argument and touches no memory of ours.
    let flags = unsafe { libc::syscall(libc::SYS_fcntl, fd, libc::F_GETFL) };
    if flags < 0 {
        return false;
    }
    let mut stat = MaybeUninit::<libc::stat64>::uninit();
    // SAFETY: `stat` is a valid buffer for one `stat64`; `fstat64` is not hooked.
    if unsafe { libc::fstat64(fd, stat.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: `fstat64` succeeded, so it filled the buffer.
    let mode = unsafe { stat.assume_init() }.st_mode & libc::S_IFMT;
    let blocking_mode = flags & libc::c_long::from(libc::O_NONBLOCK) == 0;
    match mode {
        libc::S_IFREG | libc::S_IFBLK => true,
        libc::S_IFSOCK | libc::S_IFIFO if blocking_mode => true,
        _ => {
            remember(fd);
            false
        }
    }
}

/// Whether a socket call on `fd` with `flags` may block: never with
/// `MSG_DONTWAIT`, otherwise the descriptor's rule.
pub(super) fn socket_call_blocks(fd: c_int, flags: c_int) -> bool {
    flags & libc::MSG_DONTWAIT == 0 && io_blocks(fd)
}

/// Whether a call that only regular files take (`fsync`, `flock`, `pread64`)
/// is judged: every descriptor but the exempt ones.
pub(super) fn file_call_blocks(fd: c_int) -> bool {
    !exempt(fd)
}

#[cfg(test)]
mod tests {
    use super::{forget, io_blocks, known_never_blocks, remember, socket_call_blocks};
    use std::os::fd::AsRawFd;

    #[test]
    fn regular_files_block_whatever_o_nonblock_says() {
        let file = std::fs::File::open(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
        assert!(io_blocks(file.as_raw_fd()));
        assert!(!known_never_blocks(file.as_raw_fd()));
        // SAFETY: setting O_NONBLOCK on our own descriptor.
        unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
        assert!(io_blocks(file.as_raw_fd()));
    }

    #[test]
    fn sockets_block_in_blocking_mode_only_and_the_answer_is_kept_until_forgotten() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let fd = listener.as_raw_fd();
        assert!(io_blocks(fd));
        assert!(!socket_call_blocks(fd, libc::MSG_DONTWAIT));
        listener.set_nonblocking(true).unwrap();
        assert!(!io_blocks(fd));
        assert!(known_never_blocks(fd));
        forget(fd);
        assert!(!known_never_blocks(fd));
        assert!(!io_blocks(fd));
    }

    #[test]
    fn remembered_numbers_never_alias() {
        // Numbers no test opens, sharing a word, a bit position, or both.
        remember(5000);
        assert!(known_never_blocks(5000));
        for other in [5001, 5064, 5063, 4999, 5000 + 64 * 64] {
            assert!(!known_never_blocks(other), "{other}");
        }
        remember(65535);
        assert!(known_never_blocks(65535));
        // Past the table: never remembered, always asked.
        remember(65536);
        assert!(!known_never_blocks(65536));
        forget(5000);
        forget(65535);
        assert!(!known_never_blocks(5000) && !known_never_blocks(65535));
    }

    #[test]
    fn a_closed_descriptor_is_left_to_the_call() {
        assert!(!io_blocks(1 << 20));
        assert!(!io_blocks(-1));
    }
}
