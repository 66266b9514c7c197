//! A rate limit on repeated warnings: at most one WARN line per call site per second. The next
//! line let through from a call site is followed by a note of how many similar warnings it
//! suppressed meanwhile, so a flood of bad connections costs a few lines a second instead of one
//! per connection, and the log still says how many there were.
//!
//! [`RateLimitedWarnings`] wraps the event formatter of a `tracing_subscriber::fmt` subscriber;
//! other levels pass through untouched. The counting itself is [`WarnWindows`], pure and keyed by
//! anything hashable.

use std::{
    collections::HashMap,
    fmt,
    hash::Hash,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use tracing::{callsite::Identifier, Event, Level, Subscriber};
use tracing_subscriber::{
    fmt::{
        format::Writer,
        time::{FormatTime, SystemTime},
        FmtContext, FormatEvent, FormatFields,
    },
    registry::LookupSpan,
};

/// Each call site prints at most one warning per window of this length.
pub const WARN_WINDOW: Duration = Duration::from_secs(1);

/// What to do with one warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WarnVerdict {
    /// Print it, then note that `suppressed_before` similar warnings were dropped since the
    /// previous one printed (no note when 0).
    Print { suppressed_before: u64 },
    /// Drop it (counted).
    Suppress,
}

/// One window per key: the first warning of a window is printed, the rest are counted.
#[derive(Debug)]
pub struct WarnWindows<K> {
    window: Duration,
    open: HashMap<K, Window>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    suppressed: u64,
}

impl<K: Hash + Eq> WarnWindows<K> {
    /// Windows of length `window`.
    pub fn new(window: Duration) -> WarnWindows<K> {
        WarnWindows {
            window,
            open: HashMap::new(),
        }
    }

    /// The verdict on a warning of kind `key` seen at `now`.
    pub fn admit(&mut self, key: K, now: Instant) -> WarnVerdict {
        match self.open.get_mut(&key) {
            Some(open) if now.saturating_duration_since(open.started) < self.window => {
                open.suppressed += 1;
                WarnVerdict::Suppress
            }
            Some(open) => {
                let suppressed_before = open.suppressed;
                *open = Window {
                    started: now,
                    suppressed: 0,
                };
                WarnVerdict::Print { suppressed_before }
            }
            None => {
                self.open.insert(
                    key,
                    Window {
                        started: now,
                        suppressed: 0,
                    },
                );
                WarnVerdict::Print {
                    suppressed_before: 0,
                }
            }
        }
    }
}

/// An event formatter that rate-limits WARN events per call site (see the module comment) and
/// formats everything it lets through with `inner`.
#[derive(Debug)]
pub struct RateLimitedWarnings<F> {
    inner: F,
    windows: Mutex<WarnWindows<Identifier>>,
}

impl<F> RateLimitedWarnings<F> {
    /// Wraps `inner` with windows of [`WARN_WINDOW`].
    pub fn new(inner: F) -> RateLimitedWarnings<F> {
        RateLimitedWarnings {
            inner,
            windows: Mutex::new(WarnWindows::new(WARN_WINDOW)),
        }
    }
}

impl<S, N, F> FormatEvent<S, N> for RateLimitedWarnings<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if *event.metadata().level() != Level::WARN {
            return self.inner.format_event(ctx, writer, event);
        }
        let verdict = self
            .windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .admit(event.metadata().callsite(), Instant::now());
        match verdict {
            WarnVerdict::Suppress => Ok(()),
            WarnVerdict::Print { suppressed_before } => {
                self.inner.format_event(ctx, writer.by_ref(), event)?;
                if suppressed_before > 0 {
                    SystemTime.format_time(&mut writer)?;
                    writeln!(
                        writer,
                        "  WARN suppressed {suppressed_before} similar warnings (from where the line above comes) since the previous one printed"
                    )?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn one_warning_per_kind_per_window_then_the_count() {
        let mut windows = WarnWindows::new(Duration::from_secs(1));
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(
            windows.admit("a", at(0)),
            WarnVerdict::Print {
                suppressed_before: 0
            }
        );
        for ms in 1..=500 {
            assert_eq!(windows.admit("a", at(ms)), WarnVerdict::Suppress);
        }
        // Another kind has its own window.
        assert_eq!(
            windows.admit("b", at(10)),
            WarnVerdict::Print {
                suppressed_before: 0
            }
        );
        assert_eq!(windows.admit("a", at(999)), WarnVerdict::Suppress);
        assert_eq!(
            windows.admit("a", at(1000)),
            WarnVerdict::Print {
                suppressed_before: 501
            }
        );
        assert_eq!(windows.admit("a", at(1001)), WarnVerdict::Suppress);
        assert_eq!(
            windows.admit("a", at(5000)),
            WarnVerdict::Print {
                suppressed_before: 1
            }
        );
    }

    /// Collects everything the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_flood_of_warnings_prints_one_line_per_call_site_and_infos_pass() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .event_format(RateLimitedWarnings::new(
                tracing_subscriber::fmt::format().with_target(false),
            ))
            .finish();
        let started = Instant::now();
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..1000 {
                tracing::warn!(i, "bad connection");
                tracing::warn!(i, "another kind of bad connection");
            }
            for i in 0..3 {
                tracing::info!(i, "an info line");
            }
        });
        // Normally all within one window: one line per call site. A machine slow enough to span
        // several windows may print a line and a note per call site per window.
        let windows = 1 + started.elapsed().as_secs() as usize;
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let warn_lines = lines.iter().filter(|l| l.contains("WARN")).count();
        assert!(
            (2..=4 * windows).contains(&warn_lines),
            "{warn_lines} WARN lines over {windows} windows:\n{text}"
        );
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.contains("INFO") && l.contains("an info line"))
                .count(),
            3,
            "{text}"
        );
    }
}
