//! The event log the dashboard and SSE clients follow: the last events kept for clients
//! resuming with `Last-Event-ID`, and the live feed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::broadcast;

/// An event for SSE clients.
#[derive(Clone, Debug)]
pub struct Event {
    /// Monotonic id (SSE `id:`; clients resume with `Last-Event-ID`).
    pub id: u64,
    /// `robots`, `task`, `station`, `zone`.
    pub kind: &'static str,
    /// JSON.
    pub data: String,
}

/// A client's place in the event log.
pub struct Resume {
    /// Live events; those up to `head` were already there at subscription.
    pub rx: broadcast::Receiver<Arc<Event>>,
    /// The newest event id when the client subscribed.
    pub head: u64,
    /// Kept events after the client's last one; `None` when that one is outside the ring
    /// (the client must reload).
    pub replay: Option<Vec<Arc<Event>>>,
}

/// The last events, for resuming clients, plus the live feed.
pub struct EventLog {
    ring: Mutex<(u64, VecDeque<Arc<Event>>)>,
    tx: broadcast::Sender<Arc<Event>>,
    cap: usize,
}

impl EventLog {
    /// A log keeping the last `cap` events.
    pub fn new(cap: usize) -> EventLog {
        EventLog {
            ring: Mutex::new((0, VecDeque::new())),
            tx: broadcast::channel(4096).0,
            cap,
        }
    }

    /// Appends an event and sends it to live subscribers.
    pub fn push(&self, kind: &'static str, data: &impl Serialize) {
        let Ok(data) = serde_json::to_string(data) else {
            return;
        };
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.0 += 1;
        let event = Arc::new(Event {
            id: ring.0,
            kind,
            data,
        });
        ring.1.push_back(event.clone());
        if ring.1.len() > self.cap {
            ring.1.pop_front();
        }
        let _ = self.tx.send(event);
    }

    /// Subscribes to live events and returns the kept events after `last`.
    pub fn resume(&self, last: Option<u64>) -> Resume {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let rx = self.tx.subscribe();
        let head = ring.0;
        let oldest = ring.1.front().map_or(head + 1, |e| e.id);
        let replay = match last {
            None => Some(Vec::new()),
            Some(last) if last + 1 < oldest || last > head => None,
            Some(last) => Some(ring.1.iter().filter(|e| e.id > last).cloned().collect()),
        };
        Resume { rx, head, replay }
    }
}
