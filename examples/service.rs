//! The whole story on real parts: a SQLite note store marked `#[async_unsafe]`
//! behind an axum server on 127.0.0.1, driven by a real HTTP client. Correct
//! routes go through `sync_to_async`; one wrong route calls the store straight
//! from its handler and gets a 500 naming the function, while the server keeps
//! serving.
//!
//! `cargo run -p examples --example service`
//!
//! With `--watch` (or `WATCH_SYSCALLS=1`) the process also watches its
//! blocking system calls, in warn mode: `GET /wrong/sleep`, which calls
//! `std::thread::sleep` in its handler, is reported on standard error with
//! the handler's line, and (warn mode) the marked mistake of `/wrong/count`
//! is let through and reported too.

use async_unsafe_runtime::{Override, set_override, sync_to_async, syscalls};
use examples::notes::{Note, Notes};
use examples::service;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let watch = std::env::args().any(|arg| arg == "--watch")
        || std::env::var_os("WATCH_SYSCALLS").is_some_and(|v| v != "0" && !v.is_empty());
    if watch {
        // A running service watches in warn mode: report, never abort.
        set_override(Override::Warn);
        syscalls::watch()?;
        eprintln!("watching blocking system calls (warn mode)\n");
    }
    tokio::runtime::Runtime::new()?.block_on(demo(watch))
}

async fn demo(watch: bool) -> Result<(), Box<dyn std::error::Error>> {
    // Creating the folder blocks: off the event loop, like everything else.
    let dir = sync_to_async(tempfile::tempdir).await?;
    let path = dir.path().join("notes.db");
    // Opening the database blocks too, so it goes through sync_to_async as well.
    let notes = sync_to_async(move || Notes::open(&path)).await?;

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(service::serve(listener, notes, async {
        let _ = stopped.await;
    }));
    println!("serving on {base}, database in {}\n", dir.path().display());

    let http = reqwest::Client::new();
    for text in ["buy milk", "call the plumber", "ship async-unsafe 0.1"] {
        let response = http.post(format!("{base}/notes")).body(text).send().await?;
        println!(
            "POST /notes {text:?} -> {} id {}",
            response.status(),
            response.text().await?
        );
    }
    let notes: Vec<Note> = http
        .get(format!("{base}/notes"))
        .send()
        .await?
        .json()
        .await?;
    println!(
        "GET /notes -> {} notes: {:?}",
        notes.len(),
        notes.iter().map(|n| &n.text).collect::<Vec<_>>()
    );

    let wrong = http.get(format!("{base}/wrong/count")).send().await?;
    println!(
        "\nGET /wrong/count (calls the store from the handler) -> {}",
        wrong.status()
    );
    println!("  {}\n", wrong.text().await?);

    if watch {
        let slept = http.get(format!("{base}/wrong/sleep")).send().await?;
        println!(
            "GET /wrong/sleep (std::thread::sleep in the handler) -> {} {} \
             (see the warning on standard error: it names the handler's line)\n",
            slept.status(),
            slept.text().await?
        );
    }

    let count = http.get(format!("{base}/notes/count")).send().await?;
    println!(
        "GET /notes/count (through sync_to_async) -> {} {}",
        count.status(),
        count.text().await?
    );

    let _ = stop.send(());
    server.await??;
    println!("server stopped cleanly");
    // Removing the folder blocks too.
    sync_to_async(move || drop(dir)).await;
    Ok(())
}
