//! `async_unsafe_runtime::r2d2::GuardedPool` over `r2d2_postgres`, against a
//! real PostgreSQL server (a throwaway cluster, one database per test).

use std::collections::BTreeSet;
use std::time::Duration;

use async_unsafe_runtime::r2d2::{GuardedPool, PoolError};
use async_unsafe_runtime::{DEFAULT_MESSAGE, sync_to_async};
use postgres::NoTls;
use r2d2_postgres::PostgresConnectionManager;
use tests::postgres_cluster;
use tests::runtimes::in_each_async_context;

type Pool = GuardedPool<PostgresConnectionManager<NoTls>>;

fn pool(dbname: &str, max_size: u32) -> Pool {
    let params = postgres_cluster::shared().database(dbname);
    let manager = PostgresConnectionManager::new(params.parse().unwrap(), NoTls);
    r2d2::Pool::builder()
        .max_size(max_size)
        .build(manager)
        .unwrap()
        .into()
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[test]
fn rows_written_through_the_pool_from_sync_to_async_are_read_back_intact() {
    let pool = pool("pool_rows", 4);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let p = pool.clone();
        sync_to_async(move || {
            let mut conn = p.get()?;
            conn.batch_execute("CREATE TABLE notes (id INT PRIMARY KEY, body TEXT NOT NULL)")?;
            for (id, body) in [(1, "first"), (2, "zwei ✓"), (3, "")] {
                conn.execute("INSERT INTO notes VALUES ($1, $2)", &[&id, &body])?;
            }
            Ok::<_, Failure>(())
        })
        .await
        .unwrap();
        let p = pool.clone();
        let read: Vec<(i32, String)> = sync_to_async(move || {
            // Another checkout (possibly another connection) sees the rows.
            let mut conn = p.get_timeout(Duration::from_secs(30))?;
            let rows = conn.query("SELECT id, body FROM notes ORDER BY id", &[])?;
            Ok::<_, Failure>(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
        .await
        .unwrap();
        assert_eq!(
            read,
            [
                (1, "first".to_owned()),
                (2, "zwei ✓".into()),
                (3, "".into())
            ]
        );
    });
}

#[test]
fn every_checkout_is_refused_in_async_contexts_and_the_next_correct_call_works() {
    let pool = pool("pool_refused", 2);
    let before = pool.state();
    let p = pool.clone();
    in_each_async_context(move |context| {
        let check = |err: &async_unsafe_runtime::SynchronousOnlyOperation, function, line| {
            assert_eq!(err.function(), function, "{context}");
            assert_eq!(err.message(), DEFAULT_MESSAGE);
            let location = err.location();
            assert_eq!((location.file(), location.line()), (file!(), line));
        };
        let (got, line) = (p.get(), line!());
        match got {
            Err(PoolError::AsyncUnsafe(err)) => check(&err, "r2d2::Pool::get", line),
            other => panic!("{context}: get not refused: {:?}", other.map(drop)),
        }
        let (got, line) = (p.get_timeout(Duration::from_secs(1)), line!());
        match got {
            Err(PoolError::AsyncUnsafe(err)) => check(&err, "r2d2::Pool::get_timeout", line),
            other => panic!("{context}: get_timeout not refused: {:?}", other.map(drop)),
        }
        let (got, line) = (p.try_get(), line!());
        match got {
            Err(err) => check(&err, "r2d2::Pool::try_get", line),
            Ok(conn) => panic!("{context}: try_get not refused: {}", conn.is_some()),
        }
        // Nothing was checked out; the state readers are not guarded.
        assert_eq!(p.state().idle_connections, p.state().connections);
        assert_eq!(p.inner().max_size(), 2);

        let p = p.clone();
        let one: i32 = std::thread::spawn(move || {
            let mut conn = p.get()?;
            Ok::<_, Failure>(conn.query_one("SELECT 1", &[])?.get(0))
        })
        .join()
        .unwrap()
        .unwrap();
        assert_eq!(one, 1, "{context}");
    });
    let after = pool.state();
    assert_eq!(
        (after.connections, after.idle_connections),
        (before.connections, before.idle_connections)
    );
    assert!(pool.try_get().unwrap().is_some());
}

#[test]
fn fifty_concurrent_tasks_through_sync_to_async_lose_nothing() {
    const TASKS: i32 = 50;
    let pool = pool("pool_concurrent", 8);
    pool.get()
        .unwrap()
        .batch_execute("CREATE TABLE hits (task INT PRIMARY KEY, echoed TEXT NOT NULL)")
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let results = rt.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    sync_to_async(move || {
                        let mut conn = pool.get()?;
                        let text = format!("task {task}");
                        conn.execute("INSERT INTO hits VALUES ($1, $2)", &[&task, &text])?;
                        let rows =
                            conn.query("SELECT task, echoed FROM hits WHERE task = $1", &[&task])?;
                        Ok::<_, Failure>(
                            rows.iter()
                                .map(|r| (r.get::<_, i32>(0), r.get::<_, String>(1)))
                                .collect::<Vec<_>>(),
                        )
                    })
                    .await
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap().unwrap());
        }
        results
    });
    for (task, rows) in (0..TASKS).zip(&results) {
        assert_eq!(rows, &[(task, format!("task {task}"))]);
    }
    let stored: BTreeSet<i32> = pool
        .get()
        .unwrap()
        .query("SELECT task FROM hits", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(stored, (0..TASKS).collect());
}

#[test]
fn debug_shows_the_r2d2_pool_inside_and_is_not_refused_in_a_task() {
    let pool = pool("pool_debug", 1);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let shown = rt.block_on(async { format!("{pool:?}") });
    assert_eq!(shown, format!("GuardedPool({:?})", pool.inner()));
    assert!(shown.contains("max_size: 1"), "{shown}");
}

#[test]
fn an_exhausted_pool_is_still_reported_as_the_pools_error() {
    let pool = pool("pool_exhausted", 1);
    let held = pool.get().unwrap();
    let err = pool
        .get_timeout(Duration::from_millis(200))
        .map(drop)
        .unwrap_err();
    let PoolError::Pool(inner) = &err else {
        panic!("expected r2d2's error: {err:?}");
    };
    assert_eq!(err.to_string(), inner.to_string());
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(pool.try_get().unwrap().is_none());
    // From a blocking-pool thread too, where the guard lets it through.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let p = pool.clone();
    let err = rt
        .block_on(async {
            sync_to_async(move || p.get_timeout(Duration::from_millis(200)).map(drop)).await
        })
        .unwrap_err();
    assert!(matches!(err, PoolError::Pool(_)), "{err:?}");
    drop(held);
    assert!(pool.get_timeout(Duration::from_secs(30)).is_ok());
}

#[test]
fn the_last_pool_dropped_in_async_code_closes_its_connections_off_the_runtime() {
    // r2d2 closes the idle connections when its last handle goes; with
    // r2d2_postgres that drop blocks, and on a worker it would panic (and
    // abort, since r2d2 drops them from a destructor).
    let cluster = postgres_cluster::shared();
    let pool = pool("pool_dropped", 3);
    assert_eq!(pool.state().connections, 3);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let p = pool.clone();
    rt.block_on(rt.spawn(async move { drop(p) })).unwrap();
    assert_eq!(pool.state().connections, 3, "a clone's drop keeps the pool");
    rt.block_on(async move { drop(pool) });
    cluster.wait_until_closed("pool_dropped");
}
