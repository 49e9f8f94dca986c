//! With the `tracing` feature: the caller's span follows the closure into
//! `sync_to_async`, and an override is reported as a warning event. A process
//! of its own, since both the subscriber and the override are global.

use std::sync::Mutex;

use async_unsafe_runtime::{
    DEFAULT_MESSAGE, Override, allow_in_future, set_override, set_thread_sensitive_wait_limit,
    sync_to_async, thread_sensitive_scope,
};
use tests::deadline::within;
use tests::guarded;
use tracing::field::{Field, Visit};
use tracing::{Event, Instrument, Level, Span, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// Level, then `target=... span=... field=value ...`.
static EVENTS: Mutex<Vec<(Level, String)>> = Mutex::new(Vec::new());

struct Capture;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        struct Text(String);
        impl Visit for Text {
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!("{}={value:?} ", field.name()));
            }
        }
        let span = ctx.event_span(event).map(|s| s.name()).unwrap_or("none");
        let mut text = Text(format!("target={} span={span} ", event.metadata().target()));
        event.record(&mut text);
        EVENTS
            .lock()
            .unwrap()
            .push((*event.metadata().level(), text.0));
    }
}

fn current_span_name() -> Option<&'static str> {
    Span::current().metadata().map(|m| m.name())
}

#[test]
fn span_follows_the_closure_and_override_is_a_warning() {
    within(|| {
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

        set_override(Override::Allow);
        rt.block_on(async {
            guarded().unwrap();
            guarded().unwrap();
        });
        set_override(Override::Deny);
        let events = EVENTS.lock().unwrap();
        let warnings: Vec<_> = events
            .iter()
            .filter(|(level, _)| *level == Level::WARN)
            .collect();
        assert_eq!(warnings.len(), 1, "{events:?}");
        assert!(
            warnings[0].1.contains("tests::guarded"),
            "{:?}",
            warnings[0]
        );
        assert!(warnings[0].1.contains("overridden"), "{:?}", warnings[0]);
        drop(events);

        // Warn mode: every violation is an event under the target `async_unsafe`,
        // with its function, message, location, task id, in the caller's span.
        EVENTS.lock().unwrap().clear();
        set_override(Override::Warn);
        let task_id = rt
            .block_on(
                rt.spawn(
                    async {
                        for _ in 0..3 {
                            guarded().unwrap();
                        }
                        tokio::task::id()
                    }
                    .instrument(tracing::info_span!("request")),
                ),
            )
            .unwrap();
        set_override(Override::Deny);
        assert!(
            rt.block_on(async { guarded() }).is_err(),
            "back to the guard"
        );
        let events = EVENTS.lock().unwrap();
        assert_eq!(events.len(), 3, "{events:?}");
        for (level, text) in events.iter() {
            assert_eq!(*level, Level::WARN);
            assert!(
                text.starts_with("target=async_unsafe span=request "),
                "{text}"
            );
            assert!(text.contains("function=\"tests::guarded\""), "{text}");
            assert!(
                text.contains(&format!("message={DEFAULT_MESSAGE:?}")),
                "{text}"
            );
            assert!(text.contains("location=\"tests/src/lib.rs:"), "{text}");
            assert!(text.contains(&format!("task_id=\"{task_id}\"")), "{text}");
            assert!(text.contains("suppressed=0"), "{text}");
        }
        drop(events);

        // A scoped allowance reports like the process override does: once.
        EVENTS.lock().unwrap().clear();
        rt.block_on(allow_in_future(async {
            guarded().unwrap();
            guarded().unwrap();
        }));
        let events = EVENTS.lock().unwrap();
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(events[0].1.contains("allow_in_future"), "{events:?}");
        assert!(
            !events[0].1.contains("task_id="),
            "no task in a root: {events:?}"
        );
        drop(events);

        // A thread-sensitive call that waited longer than the limit behind another
        // one is reported when it starts.
        EVENTS.lock().unwrap().clear();
        set_thread_sensitive_wait_limit(std::time::Duration::from_millis(10));
        let (release, released) = std::sync::mpsc::channel::<()>();
        rt.block_on(thread_sensitive_scope(async move {
            let first = sync_to_async(move || released.recv().unwrap()).thread_sensitive();
            let behind = sync_to_async(|| ()).thread_sensitive();
            // Both are queued before the first is released, 50 ms later.
            tokio::join!(first, behind, async {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                release.send(()).unwrap();
            });
        }));
        set_thread_sensitive_wait_limit(std::time::Duration::from_secs(1));
        let events = EVENTS.lock().unwrap();
        let waits: Vec<u64> = events
            .iter()
            .filter(|(level, text)| {
                *level == Level::WARN && text.starts_with("target=async_unsafe ")
            })
            .filter_map(|(_, text)| {
                let ms = text.split("waited_ms=").nth(1)?;
                ms.split(' ').next()?.parse().ok()
            })
            .collect();
        assert!(waits.iter().any(|&ms| ms >= 50), "{events:?}");
        assert!(
            events
                .iter()
                .all(|(_, text)| text.contains("thread=\"async-unsafe-scope\"")),
            "{events:?}"
        );
    });
}
