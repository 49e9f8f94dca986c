//! With the `tracing` feature: the caller's span follows the closure into
//! `sync_to_async`, and an override is reported as a warning event. A process
//! of its own, since both the subscriber and the override are global.

use std::sync::Mutex;

use async_unsafe_runtime::{
    DEFAULT_MESSAGE, SynchronousOnlyOperation, allow_async_unsafe, async_unsafe, sync_to_async,
    warn_async_unsafe,
};
use tracing::field::{Field, Visit};
use tracing::{Event, Instrument, Level, Span, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

static EVENTS: Mutex<Vec<(Level, String)>> = Mutex::new(Vec::new());

struct Capture;

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        struct Text(String);
        impl Visit for Text {
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!("{}={value:?} ", field.name()));
            }
        }
        let mut text = Text(String::new());
        event.record(&mut text);
        EVENTS
            .lock()
            .unwrap()
            .push((*event.metadata().level(), text.0));
    }
}

#[async_unsafe]
fn guarded() -> Result<(), SynchronousOnlyOperation> {
    Ok(())
}

fn current_span_name() -> Option<&'static str> {
    Span::current().metadata().map(|m| m.name())
}

#[test]
fn span_follows_the_closure_and_override_is_a_warning() {
    let subscriber = tracing_subscriber::registry().with(Capture);
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();

    let names = rt.block_on(
        async {
            (
                sync_to_async(current_span_name).await,
                sync_to_async(current_span_name).thread_sensitive().await,
            )
        }
        .instrument(tracing::info_span!("request", id = 7)),
    );
    assert_eq!(names, (Some("request"), Some("request")));
    assert_eq!(
        rt.block_on(async { sync_to_async(current_span_name).await }),
        None
    );

    allow_async_unsafe(true);
    rt.block_on(async {
        guarded().unwrap();
        guarded().unwrap();
    });
    allow_async_unsafe(false);
    let events = EVENTS.lock().unwrap();
    let warnings: Vec<_> = events
        .iter()
        .filter(|(level, _)| *level == Level::WARN)
        .collect();
    assert_eq!(warnings.len(), 1, "{events:?}");
    assert!(
        warnings[0].1.contains("tracing::guarded"),
        "{:?}",
        warnings[0]
    );
    assert!(warnings[0].1.contains("overridden"), "{:?}", warnings[0]);
    drop(events);

    // Warn mode: every violation is an event with its function, message and location.
    EVENTS.lock().unwrap().clear();
    warn_async_unsafe(true);
    rt.block_on(async {
        for _ in 0..3 {
            guarded().unwrap();
        }
    });
    warn_async_unsafe(false);
    assert!(
        rt.block_on(async { guarded() }).is_err(),
        "back to the guard"
    );
    let events = EVENTS.lock().unwrap();
    assert_eq!(events.len(), 3, "{events:?}");
    for (level, text) in events.iter() {
        assert_eq!(*level, Level::WARN);
        assert!(text.contains("function=\"tracing::guarded\""), "{text}");
        assert!(
            text.contains(&format!("message={DEFAULT_MESSAGE:?}")),
            "{text}"
        );
        assert!(
            text.contains("location=\"tests/tests/tracing.rs:"),
            "{text}"
        );
        assert!(text.contains("suppressed=0"), "{text}");
    }
}
