//! Fault windows from a history's nemesis events: each `<fault>-start` paired with the next
//! `<fault>-end` of the same fault; a fault never ended lasts to the end of the history. Also the
//! fault-free stretches between them.

use super::series::NemesisEvent;

/// One fault, from its start to its end.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultWindow {
    /// The fault's name (`kill`, `partition`, `pause`, ...): the event's `f` less `-start`.
    pub name: String,
    /// The start event's text (`kill nodes [1, 2]`, `isolate leader 5`).
    pub description: String,
    pub start_ns: u64,
    pub end_ns: u64,
    /// No end event was recorded: the window runs to the end of the history.
    pub unended: bool,
}

/// The fault windows of a history whose last event is at `history_end_ns`, by start time.
pub fn fault_windows(events: &[NemesisEvent], history_end_ns: u64) -> Vec<FaultWindow> {
    let mut windows: Vec<FaultWindow> = Vec::new();
    for event in events {
        if let Some(name) = event.f.strip_suffix("-start") {
            windows.push(FaultWindow {
                name: name.to_string(),
                description: event.value.clone(),
                start_ns: event.time_ns,
                end_ns: history_end_ns,
                unended: true,
            });
        } else if let Some(name) = event.f.strip_suffix("-end") {
            if let Some(open) = windows.iter_mut().find(|w| w.unended && w.name == name) {
                open.end_ns = event.time_ns.max(open.start_ns);
                open.unended = false;
            }
        }
    }
    windows
}

/// The stretches of `[0, history_end_ns]` that no window covers, as `(start_ns, end_ns)`, in order.
pub fn fault_free_stretches(windows: &[FaultWindow], history_end_ns: u64) -> Vec<(u64, u64)> {
    let mut covered: Vec<(u64, u64)> = windows.iter().map(|w| (w.start_ns, w.end_ns)).collect();
    covered.sort_unstable();
    let mut stretches = Vec::new();
    let mut from = 0;
    for (start, end) in covered {
        if start > from {
            stretches.push((from, start));
        }
        from = from.max(end);
    }
    if from < history_end_ns {
        stretches.push((from, history_end_ns));
    }
    stretches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(f: &str, time_ns: u64, value: &str) -> NemesisEvent {
        NemesisEvent {
            f: f.into(),
            time_ns,
            value: value.into(),
        }
    }

    #[test]
    fn starts_pair_with_the_next_end_of_the_same_fault() {
        let events = [
            event("kill-start", 10, "kill nodes [1]"),
            event("partition-start", 20, "isolate leader 2"),
            event("kill-end", 30, "restarted [1]"),
            event("kill-start", 40, "kill leader 3"),
            event("partition-end", 50, "healed 4 links"),
        ];
        let windows = fault_windows(&events, 100);
        let spans: Vec<_> = windows
            .iter()
            .map(|w| {
                (
                    w.name.as_str(),
                    w.description.as_str(),
                    w.start_ns,
                    w.end_ns,
                    w.unended,
                )
            })
            .collect();
        assert_eq!(
            spans,
            vec![
                ("kill", "kill nodes [1]", 10, 30, false),
                ("partition", "isolate leader 2", 20, 50, false),
                ("kill", "kill leader 3", 40, 100, true),
            ]
        );
        assert_eq!(fault_free_stretches(&windows, 100), vec![(0, 10)]);
        let two = &windows[..2];
        assert_eq!(fault_free_stretches(two, 100), vec![(0, 10), (50, 100)]);
        assert_eq!(fault_free_stretches(&[], 100), vec![(0, 100)]);
    }
}
