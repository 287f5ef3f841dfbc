//! The event stream: the training thread publishes server-sent events to a hub, and
//! each open `/api/events` request drains its own channel into a chunked body,
//! flushed event by event.
//!
//! A subscriber that falls behind by more than [`BACKLOG`] events is dropped (its
//! stream ends); the page's `EventSource` reconnects and fetches the whole state.

use std::io::Write;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tiny_http::Request;

use super::reply::SECURITY_HEADERS;

/// Events a subscriber may have queued before it is dropped.
const BACKLOG: usize = 512;
/// Open streams at once: each holds a thread.
pub(crate) const MAX_STREAMS: usize = 16;
/// A comment line this often keeps idle connections open through proxies.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// Where events go: every open stream's channel.
pub(crate) struct Hub {
    subscribers: Mutex<Option<Vec<SyncSender<Arc<str>>>>>,
}

impl Hub {
    pub(crate) fn new() -> Self {
        Hub {
            subscribers: Mutex::new(Some(Vec::new())),
        }
    }

    /// Sends event `name` with `data` as JSON to every stream.
    pub(crate) fn publish(&self, name: &str, data: &impl Serialize) {
        let json = serde_json::to_string(data).expect("our types serialise");
        let event: Arc<str> = format!("event: {name}\ndata: {json}\n\n").into();
        let mut subscribers = self.subscribers.lock().expect("hub lock");
        if let Some(subs) = subscribers.as_mut() {
            subs.retain(|tx| match tx.try_send(Arc::clone(&event)) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
            });
        }
    }

    /// A new stream's channel, or `None` if the hub is closed or full.
    fn subscribe(&self) -> Option<Receiver<Arc<str>>> {
        let mut subscribers = self.subscribers.lock().expect("hub lock");
        let subs = subscribers.as_mut()?;
        if subs.len() >= MAX_STREAMS {
            return None;
        }
        let (tx, rx) = sync_channel(BACKLOG);
        subs.push(tx);
        Some(rx)
    }

    /// Ends every stream, and refuses new ones: the server is shutting down.
    pub(crate) fn close(&self) {
        self.subscribers.lock().expect("hub lock").take();
    }
}

/// Answers `request` with the event stream, until the client leaves or the hub
/// closes. Runs on a thread of its own.
pub(crate) fn stream(request: Request, hub: &Hub) {
    let Some(rx) = hub.subscribe() else {
        let reply = super::reply::ApiError::new(503, "too many open event streams").reply();
        let _ = request.respond(reply.into_response());
        return;
    };
    let mut out = request.into_writer();
    let mut head = String::from(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n",
    );
    for (name, value) in SECURITY_HEADERS {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    if out.write_all(head.as_bytes()).is_err() || chunk(&mut out, ": connected\n\n").is_err() {
        return;
    }
    loop {
        let sent = match rx.recv_timeout(KEEPALIVE) {
            Ok(event) => chunk(&mut out, &event),
            Err(RecvTimeoutError::Timeout) => chunk(&mut out, ": keepalive\n\n"),
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if sent.is_err() {
            return; // the client left
        }
    }
    // The last chunk: the stream ends cleanly.
    let _ = out.write_all(b"0\r\n\r\n").and_then(|()| out.flush());
}

/// One chunk of a chunked body, flushed so that it leaves now.
fn chunk(out: &mut dyn Write, text: &str) -> std::io::Result<()> {
    write!(out, "{:x}\r\n{text}\r\n", text.len())?;
    out.flush()
}
