//! The whole idea in one run: a blocking function marked `#[async_unsafe]` is
//! refused when a task calls it directly, and works once the call follows the
//! error's advice (`spawn_blocking`, `sync_to_async`, or a plain thread).
//!
//! `cargo run -p examples --example quickstart`

use std::time::Duration;

use async_unsafe_runtime::{
    SynchronousOnlyOperation, async_to_sync, async_unsafe, is_override_active, sync_to_async,
};

/// A blocking lookup, as a synchronous database driver would offer it.
#[async_unsafe]
fn fetch_user(id: u32) -> Result<String, SynchronousOnlyOperation> {
    std::thread::sleep(Duration::from_millis(5));
    Ok(format!("user #{id}"))
}

#[tokio::main]
async fn main() {
    if is_override_active() {
        println!("note: ALLOW_ASYNC_UNSAFE is set, so the guard lets everything through\n");
    }

    println!("1. called straight from a task (the mistake):");
    let direct = tokio::spawn(async { fetch_user(1) }).await.unwrap();
    match &direct {
        Err(err) => println!("   refused: {err}\n"),
        Ok(user) => println!("   let through: {user}\n"),
    }
    assert_eq!(direct.is_err(), !is_override_active());

    println!("2. moved to the blocking pool with tokio::task::spawn_blocking:");
    let user = tokio::task::spawn_blocking(|| fetch_user(2)).await.unwrap();
    println!(
        "   {}\n",
        user.expect("spawn_blocking is not an async context")
    );

    println!("3. following the error's advice with sync_to_async:");
    let user = sync_to_async(|| fetch_user(3)).await;
    println!(
        "   {}\n",
        user.expect("sync_to_async runs off the async threads")
    );

    println!("4. from a plain thread, async code run with async_to_sync:");
    let plain = std::thread::spawn(|| {
        async_to_sync(async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            sync_to_async(|| fetch_user(4)).thread_sensitive().await
        })
    });
    // Joining blocks too: wait for the thread on the blocking pool, not here.
    let user = tokio::task::spawn_blocking(move || plain.join())
        .await
        .unwrap()
        .unwrap();
    println!("   {}", user.unwrap().expect("plain threads may block"));
}
