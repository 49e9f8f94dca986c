//! One cell of the README's table per process: a blocking API, unguarded or
//! guarded, called once in one execution context. `tests/blocking_table.rs`
//! builds this in release mode, runs every cell with a timeout and reads the
//! outcome: `OK` or `ERR <error>` on standard output, a panic on standard
//! error, or no answer at all (a stall).
//!
//! Usage: `blocking_table CALL CONTEXT unguarded|guarded POSTGRES_PARAMS`.
//!
//! Every context runs on a multi-thread runtime with one worker, so that a
//! call blocking that worker stalls, as it would on a busy server, whatever
//! else needs the worker: the task holding the pool's only connection, or the
//! HTTP server the request goes to.

use std::io::Write;
use std::mem;
use std::net::{Ipv4Addr, TcpListener};
use std::time::Duration;

use async_unsafe_runtime::SyncOnly;
use async_unsafe_runtime::r2d2::GuardedPool;
use postgres::NoTls;
use r2d2_postgres::PostgresConnectionManager;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

type Call = Box<dyn FnOnce() -> Result<(), String> + Send>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [call, context, mode, params] = &args[..] else {
        panic!("usage: blocking_table CALL CONTEXT unguarded|guarded POSTGRES_PARAMS");
    };
    let guarded = match mode.as_str() {
        "guarded" => true,
        "unguarded" => false,
        other => panic!("unknown mode {other}"),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let call = prepare(call, guarded, &rt, params);
    let outcome = run_in(context, &rt, call);
    match outcome {
        Ok(()) => println!("OK"),
        Err(err) => println!("ERR {err}"),
    }
    std::io::stdout().flush().unwrap();
    // Not waiting for the runtime's shutdown: the outcome is known.
    std::process::exit(0);
}

/// Sets up what the call needs, off the runtime, and returns the call.
fn prepare(call: &str, guarded: bool, rt: &Runtime, params: &str) -> Call {
    let params = params.to_owned();
    match (call, guarded) {
        ("postgres-connect", false) => Box::new(move || {
            // Forgotten, so that only the connect is measured, not the drop.
            postgres::Client::connect(&params, NoTls)
                .map(mem::forget)
                .map_err(|e| e.to_string())
        }),
        ("postgres-connect", true) => Box::new(move || {
            async_unsafe_runtime::postgres::Client::connect(&params, NoTls)
                .map(mem::forget)
                .map_err(|e| e.to_string())
        }),
        ("postgres-query", false) => {
            let mut client = postgres::Client::connect(&params, NoTls).unwrap();
            Box::new(move || {
                let rows = client.query("SELECT 1", &[]).map_err(|e| e.to_string());
                mem::forget(client);
                rows.map(drop)
            })
        }
        ("postgres-query", true) => {
            let mut client =
                async_unsafe_runtime::postgres::Client::connect(&params, NoTls).unwrap();
            Box::new(move || {
                let rows = client.query("SELECT 1", &[]).map_err(|e| e.to_string());
                mem::forget(client);
                rows.map(drop)
            })
        }
        ("postgres-drop", false) => {
            let client = postgres::Client::connect(&params, NoTls).unwrap();
            Box::new(move || {
                drop(client);
                Ok(())
            })
        }
        ("postgres-drop", true) => {
            let client = async_unsafe_runtime::postgres::Client::connect(&params, NoTls).unwrap();
            Box::new(move || {
                drop(client);
                Ok(())
            })
        }
        ("r2d2-get", guarded) => {
            // One idle connection, validated on checkout (r2d2's default).
            let pool = r2d2::Pool::builder()
                .max_size(1)
                .build(manager(&params))
                .unwrap();
            checkout(pool, guarded)
        }
        ("r2d2-get-exhausted", guarded) => {
            // The only connection is held by a task of this runtime, which
            // gives it back after a short sleep.
            let pool = r2d2::Pool::builder()
                .max_size(1)
                .test_on_check_out(false)
                .connection_timeout(Duration::from_secs(60))
                .build(manager(&params))
                .unwrap();
            let held = pool.get().unwrap();
            rt.spawn(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                drop(held);
            });
            checkout(pool, guarded)
        }
        ("reqwest-get", guarded) => {
            let url = serve_http(rt);
            let client = reqwest::blocking::Client::new();
            if guarded {
                let client = leak(SyncOnly::new(client));
                Box::new(move || {
                    let response = client.get().map_err(|e| e.to_string())?.get(&url).send();
                    response
                        .and_then(|r| r.text())
                        .map(drop)
                        .map_err(|e| e.to_string())
                })
            } else {
                let client = leak(client);
                Box::new(move || {
                    let response = client.get(&url).send();
                    response
                        .and_then(|r| r.text())
                        .map(drop)
                        .map_err(|e| e.to_string())
                })
            }
        }
        // Not in the table: for tests/sync_only.rs's override cases.
        ("sync-only-get", guarded) => {
            let value = leak(SyncOnly::new(5_u32));
            Box::new(move || match guarded {
                true => value.get().map(drop).map_err(|e| e.to_string()),
                false => Ok(()),
            })
        }
        (other, _) => panic!("unknown call {other}"),
    }
}

fn manager(params: &str) -> PostgresConnectionManager<NoTls> {
    PostgresConnectionManager::new(params.parse().unwrap(), NoTls)
}

fn checkout(pool: r2d2::Pool<PostgresConnectionManager<NoTls>>, guarded: bool) -> Call {
    if guarded {
        let pool = leak(GuardedPool::from(pool));
        Box::new(move || pool.get().map(drop).map_err(|e| e.to_string()))
    } else {
        let pool = leak(pool);
        Box::new(move || pool.get().map(drop).map_err(|e| e.to_string()))
    }
}

/// Kept for the whole process, so that a cell measures the call alone: the
/// value's own drop (a pool closing its connections, a client closing) is
/// neither part of it nor run while a panic unwinds.
fn leak<T>(value: T) -> &'static mut T {
    Box::leak(Box::new(value))
}

/// A minimal HTTP server, a task of `rt`, on a free port of 127.0.0.1.
fn serve_http(rt: &Runtime) -> String {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let _entered = rt.enter();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    rt.spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
                    )
                    .await;
            });
        }
    });
    url
}

fn run_in(context: &str, rt: &Runtime, call: Call) -> Result<(), String> {
    let joined = match context {
        "worker" => rt.block_on(rt.spawn(async move { call() })),
        "root" => return rt.block_on(async move { call() }),
        "spawn_blocking" => rt.block_on(rt.spawn_blocking(call)),
        "thread" => {
            return std::thread::spawn(call)
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        }
        other => panic!("unknown context {other}"),
    };
    joined.unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()))
}
