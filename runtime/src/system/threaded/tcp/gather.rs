//! Warnings and errors of a convention's members, gathered in the leader's log.
//!
//! A node's subscriber has one more layer: every record at `WARN` or above is formatted into a
//! line and queued (never waiting: a full queue drops the line and counts it). While the node is a
//! member, a task sends the lines to its leader, which writes them to its own log under the target
//! `thespian::member`, with the member's address — the original's log aggregator.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// The target under which a leader writes its members' records (never gathered again).
pub(super) const MEMBER_TARGET: &str = "thespian::member";

/// The longest line sent: a record longer than this is cut.
const MAX_LINE: usize = 4096;

/// Lines waiting to go to the leader.
const QUEUE: usize = 1024;

static GATHERED: OnceLock<tokio::sync::mpsc::Sender<(bool, String)>> = OnceLock::new();
/// Lines dropped because the queue was full (the leader is not reachable fast enough); said in
/// the next line that goes.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// The layer that queues this process's warnings and errors for its leader.
pub(super) struct Gather;

impl<S: Subscriber> Layer<S> for Gather {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() > Level::WARN || meta.target() == MEMBER_TARGET {
            return;
        }
        let Some(queue) = GATHERED.get() else { return };
        let mut line = format!("{} {}:", meta.level(), meta.target());
        event.record(&mut Line(&mut line));
        if line.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
        }
        if queue.try_send((*meta.level() == Level::ERROR, line)).is_err() {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
}

struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value}");
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

/// How many lines were dropped since the last call.
pub(super) fn take_dropped() -> u64 {
    DROPPED.swap(0, Ordering::Relaxed)
}

/// Starts queuing: the receiving end, for the task that sends the lines to the leader.
pub(super) fn start() -> Option<tokio::sync::mpsc::Receiver<(bool, String)>> {
    let (tx, rx) = tokio::sync::mpsc::channel(QUEUE);
    GATHERED.set(tx).ok().map(|()| rx)
}

/// A member's line, written to this (the leader's) log.
pub(super) fn write(member: &str, error: bool, line: &str) {
    if error {
        tracing::error!(target: MEMBER_TARGET, %member, "{line}");
    } else {
        tracing::warn!(target: MEMBER_TARGET, %member, "{line}");
    }
}
