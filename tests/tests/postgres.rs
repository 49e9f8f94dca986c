//! `async_unsafe_runtime::postgres::Client` against a real PostgreSQL server
//! (a throwaway cluster started by `tests::postgres_cluster`, one database
//! per test).

use std::sync::{Arc, Mutex};

use async_unsafe_runtime::postgres::{Client, Error};
use async_unsafe_runtime::{DEFAULT_MESSAGE, SynchronousOnlyOperation, sync_to_async};
use postgres::NoTls;
use tests::panics::payload_text;
use tests::postgres_cluster;
use tests::runtimes::in_each_async_context;

fn refused(result: Result<impl Sized, Error>, function: &str, line: u32) {
    match result {
        Err(Error::AsyncUnsafe(err)) => {
            assert_eq!(err.function(), function);
            assert_eq!(err.message(), DEFAULT_MESSAGE);
            let location = err.location();
            assert_eq!((location.file(), location.line()), (file!(), line));
        }
        Err(Error::Postgres(err)) => panic!("{function}: a database error instead: {err}"),
        Ok(_) => panic!("{function}: not refused"),
    }
}

#[test]
fn rows_written_from_sync_to_async_are_read_back_intact() {
    let params = postgres_cluster::shared().database("client_rows");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let mut client = sync_to_async(move || Client::connect(&params, NoTls))
            .await
            .unwrap();
        let written: Vec<(i32, Option<String>, Vec<u8>)> = vec![
            (1, Some("plain".into()), b"\x00\x01\x02".to_vec()),
            (2, Some("ünïcødé ✓ 'quoted' \"double\"".into()), vec![]),
            (3, None, vec![0xff; 300]),
        ];
        let rows = written.clone();
        let (client, read) = sync_to_async(move || {
            client
                .batch_execute("CREATE TABLE items (id INT PRIMARY KEY, name TEXT, data BYTEA)")?;
            for (id, name, data) in &rows[..2] {
                let n =
                    client.execute("INSERT INTO items VALUES ($1, $2, $3)", &[id, name, data])?;
                assert_eq!(n, 1);
            }
            let mut tx = client.transaction()?;
            let (id, name, data) = &rows[2];
            tx.execute("INSERT INTO items VALUES ($1, $2, $3)", &[id, name, data])?;
            tx.commit()?;
            let read: Vec<(i32, Option<String>, Vec<u8>)> = client
                .query("SELECT id, name, data FROM items ORDER BY id", &[])?
                .iter()
                .map(|row| (row.get(0), row.get(1), row.get(2)))
                .collect();
            let count: i64 = client.query_one("SELECT count(*) FROM items", &[])?.get(0);
            assert_eq!(count, 3);
            let missing = client.query_opt("SELECT id FROM items WHERE id = 99", &[])?;
            assert!(missing.is_none());
            let two = client.query_opt("SELECT name FROM items WHERE id = 2", &[])?;
            assert_eq!(two.map(|r| r.get::<_, String>(0)), rows[1].1.clone());
            Ok::<_, Error>((client, read))
        })
        .await
        .unwrap();
        assert_eq!(read, written);
        // A rolled-back transaction leaves nothing behind.
        let client = Arc::new(Mutex::new(client));
        let c = Arc::clone(&client);
        let count = sync_to_async(move || {
            let mut client = c.lock().unwrap();
            let mut tx = client.transaction()?;
            tx.execute("INSERT INTO items VALUES (4, 'gone', '')", &[])?;
            tx.rollback()?;
            let count: i64 = client.query_one("SELECT count(*) FROM items", &[])?.get(0);
            Ok::<_, Error>(count)
        })
        .await
        .unwrap();
        assert_eq!(count, 3);
    });
}

#[test]
fn every_entry_point_is_refused_in_async_contexts_and_the_next_correct_call_works() {
    let params = postgres_cluster::shared().database("client_refused");
    let mut setup = Client::connect(&params, NoTls).unwrap();
    setup
        .batch_execute("CREATE TABLE t (id INT); INSERT INTO t VALUES (1);")
        .unwrap();
    let client = Arc::new(Mutex::new(setup));
    let p = params.clone();
    let c = Arc::clone(&client);
    in_each_async_context(move |context| {
        let mut client = c.lock().unwrap();
        let sql = "INSERT INTO t VALUES (2)";
        let db = &mut *client;
        let (got, line) = (Client::connect(&p, NoTls), line!());
        refused(got, "postgres::Client::connect", line);
        let (got, line) = (db.execute(sql, &[]), line!());
        refused(got, "postgres::Client::execute", line);
        let (got, line) = (db.query(sql, &[]), line!());
        refused(got, "postgres::Client::query", line);
        let (got, line) = (db.query_one(sql, &[]), line!());
        refused(got, "postgres::Client::query_one", line);
        let (got, line) = (db.query_opt(sql, &[]), line!());
        refused(got, "postgres::Client::query_opt", line);
        let (got, line) = (db.batch_execute(sql), line!());
        refused(got, "postgres::Client::batch_execute", line);
        let (got, line) = (db.transaction().map(drop), line!());
        refused(got, "postgres::Client::transaction", line);
        drop(client);

        // The next correct call, from a plain thread, works on the same
        // client; nothing refused reached the server.
        let c = Arc::clone(&c);
        let count = std::thread::spawn(move || {
            let mut client = c.lock().unwrap();
            let count: i64 = client.query_one("SELECT count(*) FROM t", &[])?.get(0);
            Ok::<_, Error>(count)
        })
        .join()
        .unwrap()
        .unwrap();
        assert_eq!(count, 1, "{context}");
    });
    // The refused connects opened no connection: only `setup` is there.
    assert_eq!(postgres_cluster::shared().connections("client_refused"), 1);
    let count: i64 = client
        .lock()
        .unwrap()
        .query_one("SELECT count(*) FROM t", &[])
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
}

#[test]
fn the_database_errors_are_reported_as_they_are() {
    let params = postgres_cluster::shared().database("client_errors");
    let mut client = Client::connect(&params, NoTls).unwrap();
    let err = client.query("SELEC 1", &[]).unwrap_err();
    let Error::Postgres(inner) = &err else {
        panic!("expected a database error: {err:?}");
    };
    assert_eq!(err.to_string(), inner.to_string());
    let db = inner.as_db_error().unwrap();
    assert!(db.message().contains("syntax error"), "{db}");
    // A failed connect is a database error too, not a guard error.
    let bad = postgres_cluster::shared().params("no_such_database");
    let err = Client::connect(&bad, NoTls).unwrap_err();
    assert!(matches!(err, Error::Postgres(_)), "{err:?}");
    // And the guard's error keeps its own text.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt
        .block_on(async { client.query("SELECT 1", &[]) })
        .unwrap_err();
    let Error::AsyncUnsafe(guard) = &err else {
        panic!("expected the guard's error: {err:?}");
    };
    assert_eq!(err.to_string(), guard.to_string());
    let _: &SynchronousOnlyOperation = guard;
}

#[test]
fn a_client_dropped_inside_a_task_is_closed_on_the_blocking_pool() {
    let cluster = postgres_cluster::shared();
    let params = cluster.database("client_drop");
    let client = Client::connect(&params, NoTls).unwrap();
    assert_eq!(cluster.connections("client_drop"), 1);
    let rt = tokio::runtime::Runtime::new().unwrap();
    // No panic in the task, which would surface as a JoinError here.
    rt.block_on(rt.spawn(async move { drop(client) })).unwrap();
    // Closed in the background: wait for the server to see it go.
    cluster.wait_until_closed("client_drop");
}

#[test]
fn debug_shows_no_connection_details_and_is_not_refused_in_a_task() {
    let params = postgres_cluster::shared().database("client_debug");
    let client = Client::connect(&params, NoTls).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let shown = rt.block_on(async { format!("{client:?}") });
    assert_eq!(shown, "Client { .. }");
    // The connection is untouched: it still works where blocking is allowed.
    let mut client = client;
    let one: i32 = client.query_one("SELECT 1", &[]).unwrap().get(0);
    assert_eq!(one, 1);
}

#[test]
fn the_unguarded_client_panics_when_dropped_inside_a_task() {
    // What the guard prevents: postgres::Client blocks on its own runtime in
    // its Drop, which tokio refuses on a worker.
    let params = postgres_cluster::shared().database("raw_drop");
    let client = postgres::Client::connect(&params, NoTls).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt
        .block_on(rt.spawn(async move { drop(client) }))
        .unwrap_err();
    let text = payload_text(&*err.into_panic());
    assert!(text.starts_with("Cannot "), "{text}");
    assert!(text.contains("runtime"), "{text}");
}
