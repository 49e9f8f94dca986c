//! `SyncOnly<T>`: refused in every async context with the wrapped type and
//! the caller's line, allowed everywhere else, dropped off the worker; with
//! a real `postgres::Client` and the `reqwest::blocking` recipe.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::{self, ThreadId};
use std::time::Duration;

use async_unsafe_runtime::{ALLOW_ENV, DEFAULT_MESSAGE, SyncOnly, is_async_context, sync_to_async};
use tests::postgres_cluster;
use tests::runtimes::in_each_async_context;

struct Conn(u32);

#[test]
fn get_and_get_mut_are_refused_in_async_contexts_naming_the_type_and_the_caller() {
    let wrapped = Arc::new(Mutex::new(SyncOnly::new(Conn(7))));
    in_each_async_context(move |context| {
        let mut wrapped = wrapped.lock().unwrap();
        let (err, line) = (wrapped.get().map(|c| c.0).unwrap_err(), line!());
        assert_eq!(err.function(), "sync_only::Conn", "{context}");
        assert_eq!(err.message(), DEFAULT_MESSAGE);
        let location = err.location();
        assert_eq!((location.file(), location.line()), (file!(), line));
        assert!(err.to_string().contains("sync_only::Conn"), "{err}");

        let (err, line) = (wrapped.get_mut().map(|c| c.0).unwrap_err(), line!());
        assert_eq!(err.function(), "sync_only::Conn", "{context}");
        assert_eq!(err.location().line(), line);
    });
}

#[test]
fn get_and_get_mut_are_allowed_in_every_sync_context() {
    let mut wrapped = SyncOnly::new(Conn(1));
    wrapped.get_mut().unwrap().0 += 1;
    assert_eq!(wrapped.get().unwrap().0, 2);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let wrapped = rt.block_on(async move {
        let mut wrapped = tokio::task::spawn_blocking(move || {
            wrapped.get_mut().unwrap().0 += 1;
            wrapped
        })
        .await
        .unwrap();
        wrapped = sync_to_async(move || {
            wrapped.get_mut().unwrap().0 += 1;
            wrapped
        })
        .await;
        let mut wrapped = tokio::spawn(async move {
            tokio::task::block_in_place(move || {
                wrapped.get_mut().unwrap().0 += 1;
                wrapped
            })
        })
        .await
        .unwrap();
        thread::spawn(move || {
            wrapped.get_mut().unwrap().0 += 1;
            wrapped
        })
        .join()
        .unwrap()
    });
    assert_eq!(wrapped.get().unwrap().0, 6);
    // Not checked: unwrapping moves the value, it does not use it.
    let inner = rt.block_on(async move { wrapped.into_inner() });
    assert_eq!(inner.0, 6);
}

/// Reports where and in which context it is dropped, and blocks until told
/// to finish (bounded, so a wrong answer fails instead of hanging).
struct BlockingDrop {
    dropped: mpsc::Sender<(ThreadId, bool, bool)>,
    release: Arc<Mutex<mpsc::Receiver<()>>>,
}

impl Drop for BlockingDrop {
    fn drop(&mut self) {
        let released = self
            .release
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(10))
            .is_ok();
        let _ = self
            .dropped
            .send((thread::current().id(), is_async_context(), released));
    }
}

fn blocking_drop() -> (
    BlockingDrop,
    mpsc::Receiver<(ThreadId, bool, bool)>,
    mpsc::Sender<()>,
) {
    let (dropped, on_drop) = mpsc::channel();
    let (release, released) = mpsc::channel();
    let value = BlockingDrop {
        dropped,
        release: Arc::new(Mutex::new(released)),
    };
    (value, on_drop, release)
}

#[test]
fn dropped_in_async_contexts_the_value_goes_to_the_blocking_pool() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (value, on_drop, release) = blocking_drop();
    let wrapped = SyncOnly::new(value);
    let worker = rt
        .block_on(rt.spawn(async move {
            drop(wrapped);
            // Only reached if the drop did not block this worker; the value's
            // Drop waits for this.
            release.send(()).unwrap();
            thread::current().id()
        }))
        .unwrap();
    let (thread, in_async, released) = on_drop.recv().unwrap();
    assert_ne!(thread, worker);
    assert!(!in_async, "dropped in an async context");
    assert!(released, "the drop blocked the task that dropped it");

    // The same from a current_thread root and a LocalSet task.
    let current = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for local in [false, true] {
        let (value, on_drop, release) = blocking_drop();
        let wrapped = SyncOnly::new(value);
        let body = async move {
            drop(wrapped);
            release.send(()).unwrap();
            thread::current().id()
        };
        let root = if local {
            let set = tokio::task::LocalSet::new();
            set.block_on(&current, async move {
                tokio::task::spawn_local(body).await.unwrap()
            })
        } else {
            current.block_on(body)
        };
        let (thread, in_async, released) = on_drop.recv().unwrap();
        assert_ne!(thread, root, "local={local}");
        assert!(!in_async && released, "local={local}");
    }
}

#[test]
fn dropped_outside_async_contexts_the_value_is_dropped_in_place() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for place in ["plain thread", "spawn_blocking", "futures executor"] {
        let (value, on_drop, release) = blocking_drop();
        release.send(()).unwrap();
        let wrapped = SyncOnly::new(value);
        let drop_here = move || {
            drop(wrapped);
            // Read before this closure returns: a drop moved elsewhere could
            // otherwise still land on this very thread (a blocking-pool
            // thread picks up the next queued job once this one returns).
            (thread::current().id(), on_drop.try_recv())
        };
        let (thread, dropped) = match place {
            "plain thread" => thread::spawn(drop_here).join().unwrap(),
            "spawn_blocking" => rt.block_on(rt.spawn_blocking(drop_here)).unwrap(),
            // An async context without a tokio handle: nowhere to move it.
            _ => futures::executor::block_on(async move { drop_here() }),
        };
        // Dropped before `drop` returned, on the dropping thread.
        let (dropped_on, _, released) = dropped.expect(place);
        assert_eq!(dropped_on, thread, "{place}");
        assert!(released, "{place}");
    }
}

#[test]
fn a_postgres_client_dropped_inside_a_task_neither_panics_nor_stays_open() {
    let cluster = postgres_cluster::shared();
    let params = cluster.database("sync_only_drop");
    let mut client = SyncOnly::new(postgres::Client::connect(&params, postgres::NoTls).unwrap());
    let row = client
        .get_mut()
        .unwrap()
        .query_one("SELECT 1", &[])
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 1);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let refused = rt
        .block_on(rt.spawn(async move {
            let refused = client.get_mut().map(drop).unwrap_err();
            drop(client);
            refused
        }))
        .unwrap();
    assert_eq!(refused.function(), "postgres::client::Client");
    cluster.wait_until_closed("sync_only_drop");
}

/// Serves `hello <path>` to every request, on a plain thread.
fn http_server() -> String {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            thread::spawn(move || {
                let mut request = Vec::new();
                let mut buf = [0; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&request);
                let path = head.split(' ').nth(1).unwrap_or("").to_owned();
                let body = format!("hello {path}");
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    url
}

type Http = Arc<SyncOnly<reqwest::blocking::Client>>;

/// The README's recipe.
async fn fetch(
    http: Http,
    url: String,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    sync_to_async(move || Ok(http.get()?.get(&url).send()?.error_for_status()?.text()?)).await
}

#[test]
fn the_reqwest_blocking_recipe() {
    let base = http_server();
    // Built outside the runtime: building it blocks too.
    let http: Http = Arc::new(SyncOnly::new(reqwest::blocking::Client::new()));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let bodies: Vec<String> = futures::future::join_all(
            (0..8).map(|i| fetch(Arc::clone(&http), format!("{base}/item/{i}"))),
        )
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
        let expected: Vec<String> = (0..8).map(|i| format!("hello /item/{i}")).collect();
        assert_eq!(bodies, expected);

        // Straight from the task: refused, naming reqwest's client.
        let err = http.get().map(drop).unwrap_err();
        assert_eq!(err.function(), "reqwest::blocking::client::Client");
    });
    // The last handle dropped inside a task: reqwest's client joins its
    // thread on drop; here that happens on the blocking pool.
    rt.block_on(rt.spawn(async move { drop(http) })).unwrap();
}

/// `blocking_table`'s `SyncOnly::get` cell, run with `ALLOW_ASYNC_UNSAFE`
/// set to `value` (the override is process-wide: a process each).
fn get_with_override(value: Option<&str>) -> (String, String) {
    let out = tests::child::run(
        env!("CARGO_BIN_EXE_blocking_table"),
        &["sync-only-get", "root", "guarded", "unused"],
        value.map(|value| (ALLOW_ENV, value)),
    );
    (out.stdout, out.stderr)
}

#[test]
fn the_override_and_warn_mode_apply_as_they_do_for_check() {
    let (stdout, _) = get_with_override(None);
    assert!(
        stdout.starts_with(&format!("ERR {DEFAULT_MESSAGE}")),
        "{stdout}"
    );
    assert!(stdout.contains("`u32`"), "{stdout}");

    let (stdout, stderr) = get_with_override(Some("1"));
    assert_eq!(stdout, "OK\n");
    assert!(stderr.contains("async-safety guard overridden"), "{stderr}");
    assert!(stderr.contains("`u32`"), "{stderr}");

    let (stdout, stderr) = get_with_override(Some("warn"));
    assert_eq!(stdout, "OK\n");
    assert!(stderr.contains("warn mode"), "{stderr}");
    assert!(
        stderr.contains("`u32` at tests/src/bin/blocking_table.rs"),
        "{stderr}"
    );
}
