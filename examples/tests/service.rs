//! The example service on an ephemeral loopback port, driven by a real HTTP
//! client.

use std::collections::HashSet;
use std::time::Duration;

use async_unsafe_runtime::{capture_violations, sync_to_async};
use examples::notes::{Note, Notes};
use examples::service;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct Server {
    base: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    let notes = sync_to_async(move || Notes::open(&path)).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(service::serve(listener, notes, async {
        let _ = stopped.await;
    }));
    Server {
        base,
        stop,
        task,
        _dir: dir,
    }
}

impl Server {
    async fn json<T: serde::de::DeserializeOwned>(&self, http: &reqwest::Client, path: &str) -> T {
        let response = http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    async fn shut_down(self) {
        self.stop.send(()).unwrap();
        let finished = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        finished.expect("server stops promptly").unwrap().unwrap();
    }
}

async fn add(http: &reqwest::Client, base: &str, text: &str) -> i64 {
    let response = http
        .post(format!("{base}/notes"))
        .body(text.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.text().await.unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_written_are_read_back_intact() {
    let server = start().await;
    let http = reqwest::Client::new();
    let texts = ["plain", "ünïcödé ✓ 日本語", "quotes ' \" and\nnewlines", ""];
    let mut ids = Vec::new();
    for text in texts {
        ids.push(add(&http, &server.base, text).await);
    }
    for (id, text) in ids.iter().zip(texts) {
        let note: Note = server.json(&http, &format!("/notes/{id}")).await;
        assert_eq!(
            note,
            Note {
                id: *id,
                text: text.to_owned()
            }
        );
    }
    let all: Vec<Note> = server.json(&http, "/notes").await;
    assert_eq!(
        all.iter().map(|n| n.text.as_str()).collect::<Vec<_>>(),
        texts
    );
    let missing = http
        .get(format!("{}/notes/999", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    server.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_route_gets_500_naming_the_function_and_the_server_carries_on() {
    let server = start().await;
    let http = reqwest::Client::new();
    add(&http, &server.base, "one").await;
    for _ in 0..3 {
        let wrong = http
            .get(format!("{}/wrong/count", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 500);
        let body = wrong.text().await.unwrap();
        assert!(body.contains("`examples::notes::Notes::count`"), "{body}");
        assert!(body.contains("Notes blocks on SQLite"), "{body}");
        // The line of the handler that made the wrong call, not the store's.
        assert!(body.contains("at examples/src/service.rs:"), "{body}");
        let right = http
            .get(format!("{}/notes/count", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            (right.status().as_u16(), right.text().await.unwrap()),
            (200, "1".to_owned())
        );
    }
    server.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_requests_lose_nothing() {
    let server = start().await;
    let http = reqwest::Client::new();
    let writes: Vec<_> = (0..200)
        .map(|i| {
            let (http, base) = (http.clone(), server.base.clone());
            tokio::spawn(async move { (add(&http, &base, &format!("note {i}")).await, i) })
        })
        .collect();
    let mut ids = HashSet::new();
    for write in writes {
        let (id, _) = write.await.unwrap();
        assert!(ids.insert(id), "id {id} given twice");
    }
    let all: Vec<Note> = server.json(&http, "/notes").await;
    assert_eq!(all.len(), 200);
    let texts: HashSet<_> = all.iter().map(|n| n.text.clone()).collect();
    assert_eq!(texts, (0..200).map(|i| format!("note {i}")).collect());
    assert_eq!(all.iter().map(|n| n.id).collect::<HashSet<_>>(), ids);
    server.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_clean_and_closes_the_listener() {
    let server = start().await;
    let base = server.base.clone();
    let http = reqwest::Client::new();
    add(&http, &base, "before shutdown").await;
    server.shut_down().await;
    let after = reqwest::Client::new()
        .get(format!("{base}/notes"))
        .send()
        .await;
    assert!(after.is_err(), "the listener is closed after shutdown");
}

#[test]
fn the_store_refuses_async_callers_and_serves_sync_ones() {
    let dir = tempfile::tempdir().unwrap();
    let notes = Notes::open(&dir.path().join("n.db")).unwrap();
    assert_eq!(notes.add("sync").unwrap(), 1);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt.block_on(async { notes.add("async") }).unwrap_err();
    assert!(
        matches!(err, examples::notes::NotesError::AsyncUnsafe(_)),
        "{err}"
    );
    assert_eq!(notes.count().unwrap(), 1, "the refused call wrote nothing");
}

#[test]
fn a_wrong_call_is_one_violation_naming_the_method_not_its_helpers() {
    let dir = tempfile::tempdir().unwrap();
    let notes = Notes::open(&dir.path().join("n.db")).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // What warn mode would report for one wrong request: the store's public
    // method, once, not the private lock helper it calls.
    let (count, violations) = rt.block_on(async { capture_violations(|| notes.count()) });
    assert_eq!(count.unwrap(), 0, "a captured violation is let through");
    let functions: Vec<_> = violations.iter().map(|v| v.function()).collect();
    assert_eq!(functions, ["examples::notes::Notes::count"]);
}
