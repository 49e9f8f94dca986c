//! The example service with `syscalls::watch` on: the right routes make no
//! blocking system call on the event loop over 10 000 requests, and the wrong
//! `GET /wrong/sleep` is reported with its handler's line.
//!
//! Every test here watches (process-wide, under the default
//! `Override::Deny`): a blocking call on the event loop outside a capture
//! aborts this test binary with a report naming the call and the line.

use std::sync::Arc;
use std::time::Duration;

use async_unsafe_runtime::{capture_violations_in_future, syscalls};
use axum::body::Body;
use axum::http::Request;
use examples::notes::Notes;
use examples::service;
use tower::ServiceExt;

/// A store in a fresh folder, made off the event loop; the folder lives as
/// long as the returned guard.
fn store() -> (Arc<Notes>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let notes = Notes::open(&dir.path().join("notes.db")).unwrap();
    (Arc::new(notes), dir)
}

/// The line of `examples/src/service.rs` that holds `needle`, counted from 1.
fn service_line(needle: &str) -> u32 {
    let source = include_str!("../src/service.rs");
    let index = source
        .lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in service.rs"));
    u32::try_from(index + 1).unwrap()
}

#[test]
fn the_wrong_sleep_route_is_reported_with_the_handlers_line() {
    syscalls::watch().unwrap();
    let (notes, _dir) = store();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = service::router(Arc::clone(&notes));
    // The router called in this task: the handler runs inside the capture.
    let (status, violations) = rt.block_on(capture_violations_in_future(async move {
        let request = Request::get("/wrong/sleep").body(Body::empty()).unwrap();
        app.oneshot(request).await.unwrap().status()
    }));
    assert_eq!(status, 200);
    assert_eq!(violations.len(), 1, "{violations:#?}");
    let err = &violations[0];
    assert_eq!(err.function(), "std::thread::sleep (clock_nanosleep)");
    let frame = err.user_frame().expect("the handler's frame");
    assert!(
        frame.file().ends_with("examples/src/service.rs"),
        "{frame:?}"
    );
    assert_eq!(frame.line(), service_line("std::thread::sleep("), "{err}");
    assert!(frame.function().contains("sleep_wrongly"), "{frame:?}");
    assert!(
        err.to_string().contains("examples/src/service.rs:"),
        "{err}"
    );
}

#[test]
fn ten_thousand_requests_through_the_right_routes_make_no_violation() {
    syscalls::watch().unwrap();
    let (notes, dir) = store();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = service::router(Arc::clone(&notes));
    let server = rt.spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    let http = reqwest::Client::new();
    const CLIENTS: usize = 20;
    const EACH: usize = 500;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (http, base) = (http.clone(), base.clone());
            rt.spawn(capture_violations_in_future(async move {
                let mut ok = 0;
                for i in 0..EACH / 4 {
                    let id: i64 = http
                        .post(format!("{base}/notes"))
                        .body(format!("note {client}-{i}"))
                        .send()
                        .await
                        .unwrap()
                        .text()
                        .await
                        .unwrap()
                        .parse()
                        .unwrap();
                    for path in [
                        format!("/notes/{id}"),
                        "/notes/count".into(),
                        format!("/notes/{id}"),
                    ] {
                        let response = http.get(format!("{base}{path}")).send().await.unwrap();
                        ok += usize::from(response.status() == 200);
                        response.bytes().await.unwrap();
                    }
                    ok += 1;
                }
                ok
            }))
        })
        .collect();
    let mut ok = 0;
    for client in clients {
        let finished =
            rt.block_on(async { tokio::time::timeout(Duration::from_secs(300), client).await });
        let (count, violations) = finished.expect("the clients finish").unwrap();
        assert!(violations.is_empty(), "{violations:#?}");
        ok += count;
    }
    assert_eq!(ok, CLIENTS * EACH);
    let listed = rt.block_on(async {
        let response = http.get(format!("{base}/notes")).send().await.unwrap();
        response.text().await.unwrap()
    });
    assert_eq!(listed.matches("\"id\"").count(), CLIENTS * EACH / 4);
    stop.send(()).unwrap();
    rt.block_on(server).unwrap().unwrap();
    // The last handle on the store, and the folder, go away off the event loop.
    drop(rt);
    drop(notes);
    drop(dir);
}
