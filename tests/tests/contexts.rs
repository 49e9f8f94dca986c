//! The execution-context table (`tests/src/contexts.rs`) with default
//! detection: in every row our answer, a guarded call and tokio's own answer
//! (does starting a runtime here panic?) must agree, and no probe panic may
//! reach the panic hook.

use async_unsafe_runtime::check;
use tests::contexts::{self, Answer};
use tests::runtimes::multi_thread;

#[test]
fn every_context_agrees_with_tokio() {
    let hook = contexts::LeakCountingHook::install();
    let mut wrong = Vec::new();
    for (name, row) in contexts::rows::<Answer>() {
        let answer = row(contexts::observe);
        if answer != Answer::all(answer.tokio) {
            wrong.push(format!("{name}: {answer:?}"));
        }
    }
    assert!(wrong.is_empty(), "misclassified:\n{}", wrong.join("\n"));
    assert_eq!(hook.leaks(), 0, "probe panics reached the panic hook");
    // The table holds both answers, so a detector stuck on one would fail.
    let async_rows = contexts::rows::<Answer>()
        .into_iter()
        .filter(|(_, row)| row(contexts::observe).tokio)
        .count();
    assert!(async_rows > 10 && async_rows < contexts::rows::<Answer>().len() - 5);
}

#[tokio::main]
async fn tokio_main_body() -> Answer {
    contexts::observe()
}

#[test]
fn tokio_main_body_is_async() {
    let hook = contexts::LeakCountingHook::install();
    assert_eq!(tokio_main_body(), Answer::all(true));
    assert_eq!(hook.leaks(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn tokio_test_body_is_async() {
    let hook = contexts::LeakCountingHook::install();
    assert_eq!(contexts::observe(), Answer::all(true));
    assert_eq!(hook.leaks(), 0);
}

#[test]
fn check_reports_the_callers_location() {
    let rt = multi_thread();
    let (err, line) = rt.block_on(async { (check("db::query").unwrap_err(), line!()) });
    let at = format!("{}:{line}:", file!());
    assert!(err.to_string().contains(&at), "{err} is not at {at}");
    assert_eq!(err.function(), "db::query");
}
