//! A throwaway PostgreSQL cluster for the tests: `initdb` into a temporary
//! directory, `postgres` on a free port of 127.0.0.1 (its unix socket in the
//! same directory), trust authentication for the `postgres` role.
//!
//! One cluster per test binary ([`shared`]); each test takes a database of
//! its own ([`Cluster::database`]). As root the server runs as the
//! `postgres` user (PostgreSQL refuses root) through `runuser`. Teardown:
//! [`Cluster`]'s `Drop` stops the server and removes the directory; since a
//! `static` is never dropped, a small watchdog process started beside the
//! server does the same as soon as the test process is gone, whether it
//! exited, panicked or was killed.

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// The Debian package that provides `initdb` and `postgres`.
pub const DEBIAN_PACKAGE: &str = "postgresql";

/// How long the server may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// How long a connection closed in the background may take to leave the
/// server.
const CLOSED_WITHIN: Duration = Duration::from_secs(30);

/// A running server and the directory that holds its data and socket.
pub struct Cluster {
    port: u16,
    dir: PathBuf,
    server: Child,
    /// Stops the server when the test process is gone (see [`shared`]).
    watchdog: Option<Child>,
    /// Serializes `CREATE DATABASE`, which copies `template1`.
    creating: Mutex<()>,
}

/// The cluster of this test binary, started on first use.
pub fn shared() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let mut cluster = Cluster::start();
        cluster.watchdog = Some(cluster.watch_process(std::process::id()));
        cluster
    })
}

impl Cluster {
    /// Initializes and starts a new cluster, and waits until it accepts
    /// connections. Panics, naming the Debian package, when the server
    /// binaries are missing.
    pub fn start() -> Cluster {
        let bin = server_binaries();
        let dir = std::env::temp_dir().join(format!(
            "async-unsafe-pg-{}-{}",
            std::process::id(),
            unique()
        ));
        fs::create_dir_all(&dir).unwrap();
        let as_root = is_root();
        if as_root {
            run(Command::new("chown").args(["-R", "postgres:"]).arg(&dir));
        }
        let data = dir.join("data");
        run(as_server_user(as_root, &bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ]));
        let port = free_port();
        let log = fs::File::create(dir.join("server.log")).unwrap();
        let server = as_server_user(as_root, &bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(&dir)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut cluster = Cluster {
            port,
            dir,
            server,
            watchdog: None,
            creating: Mutex::new(()),
        };
        cluster.wait_ready();
        cluster
    }

    /// The port the server listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connection parameters for database `dbname` as the `postgres` role.
    pub fn params(&self, dbname: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname={dbname} connect_timeout=10",
            self.port
        )
    }

    /// Creates an empty database `name` (a test's own) and returns its
    /// connection parameters.
    pub fn database(&self, name: &str) -> String {
        let _one_at_a_time = self.creating.lock().unwrap_or_else(|e| e.into_inner());
        let mut admin = postgres::Client::connect(&self.params("postgres"), postgres::NoTls)
            .expect("connect to the test cluster");
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        self.params(name)
    }

    /// Connections open to `dbname`, other than the asking one.
    pub fn connections(&self, dbname: &str) -> i64 {
        let mut admin = postgres::Client::connect(&self.params("postgres"), postgres::NoTls)
            .expect("connect to the test cluster");
        admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&dbname],
            )
            .unwrap()
            .get(0)
    }

    /// Waits until no connection to `dbname` is open: a connection closed in
    /// the background takes a moment to leave the server. Panics with the
    /// count after 30 seconds, so a connection left open fails the
    /// test instead of hanging it.
    pub fn wait_until_closed(&self, dbname: &str) {
        let deadline = Instant::now() + CLOSED_WITHIN;
        loop {
            let open = self.connections(dbname);
            if open == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{open} connections to {dbname} left open"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some(status) = self.server.try_wait().unwrap() {
                panic!("postgres exited with {status}:\n{}", self.log());
            }
            match postgres::Client::connect(&self.params("postgres"), postgres::NoTls) {
                Ok(_) => return,
                Err(e) if Instant::now() > deadline => {
                    panic!(
                        "postgres not ready within {READY_WITHIN:?}: {e}\n{}",
                        self.log()
                    )
                }
                Err(_) => thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Stops the server and removes the directory once process `pid` has
    /// ended.
    fn watch_process(&self, pid: u32) -> Child {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop}",
            stop = self.stop_script()
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Shell commands that stop the postmaster (SIGINT, PostgreSQL's fast
    /// shutdown, by the pid it records: `runuser` sits between it and us),
    /// then kill what is left and remove the directory.
    fn stop_script(&self) -> String {
        let dir = self.dir.display();
        format!(
            "pg=$(head -n 1 '{dir}/data/postmaster.pid' 2>/dev/null); \
             [ -n \"$pg\" ] && kill -INT \"$pg\" 2>/dev/null; \
             for _ in $(seq 100); do [ -n \"$pg\" ] && kill -0 \"$pg\" 2>/dev/null || break; sleep 0.1; done; \
             [ -n \"$pg\" ] && kill -KILL \"$pg\" 2>/dev/null; \
             kill -KILL {server} 2>/dev/null; rm -rf '{dir}'",
            server = self.server.id(),
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("sh")
            .args(["-c", &self.stop_script()])
            .status();
        let _ = self.server.kill();
        let _ = self.server.wait();
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

/// The folder holding `initdb` and `postgres`: the newest under
/// `/usr/lib/postgresql/*/bin`, else the one on `PATH`.
pub fn server_binaries() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
        .unwrap_or_else(|| {
            panic!(
                "PostgreSQL server binaries (initdb, postgres) not found under \
                 /usr/lib/postgresql/*/bin or on PATH: install the Debian package \
                 `{DEBIAN_PACKAGE}` (apt-get install -y {DEBIAN_PACKAGE})"
            )
        })
}

fn as_server_user(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command) {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether this process runs as root (effective user id 0).
fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?;
            line.split_whitespace().nth(2).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
