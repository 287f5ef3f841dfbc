//! The routes: which method and path do what. Every endpoint takes its input from
//! the request itself (a JSON body, an uploaded file's bytes) and never names a
//! file on the server.

use std::sync::Arc;

use serde::Deserialize;
use tiny_http::{Method, Request};
use train::Checkpoint;

use super::guard::{self, MAX_CHECKPOINT, MAX_DATA};
use super::page;
use super::reply::{ApiError, Reply};
use super::session::{SampleRequest, Session, Settings};
use crate::inspection;

/// `POST /api/inspect`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InspectRequest {
    #[serde(default)]
    text: String,
    #[serde(default = "five")]
    top_k: usize,
}

fn five() -> usize {
    5
}

/// Answers `request` (the guard has passed it), or `None` for the event stream,
/// which the caller hands to a thread of its own.
pub(crate) fn route(
    request: &mut Request,
    session: &Arc<Session>,
) -> Result<Option<Reply>, ApiError> {
    let url = request.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let method = request.method().clone();
    dispatch(request, &method, path, query, session)
}

fn dispatch(
    request: &mut Request,
    method: &Method,
    path: &str,
    query: &str,
    session: &Arc<Session>,
) -> Result<Option<Reply>, ApiError> {
    let reply = match (method, path) {
        (Method::Get, "/api/events") => return Ok(None),
        (Method::Get, "/api/state") => Reply::json(&session.snapshot()),
        (Method::Post, "/api/train") => {
            let settings: Settings = guard::json(request)?;
            Reply::json(&session.start(settings)?)
        }
        (Method::Post, "/api/pause") => Reply::json(&session.pause()?),
        (Method::Post, "/api/continue") => Reply::json(&session.resume()?),
        (Method::Post, "/api/stop") => Reply::json(&session.stop()?),
        (Method::Post, "/api/data") => {
            let body = guard::body(request, MAX_DATA)?;
            let name = query_value(query, "name").unwrap_or_else(|| "uploaded text".into());
            Reply::json(&session.upload_data(&format!("<uploaded {name}>"), &body)?)
        }
        (Method::Post, "/api/inspect") => {
            let ask: InspectRequest = guard::json(request)?;
            let checkpoint = session.checkpoint()?;
            Reply::json(&inspection::inspect(&checkpoint, &ask.text, ask.top_k)?)
        }
        (Method::Post, "/api/sample") => {
            let ask: SampleRequest = guard::json(request)?;
            Reply::json(&serde_json::json!({ "names": session.sample(&ask)? }))
        }
        (Method::Get, "/api/checkpoint") => {
            let checkpoint = session.checkpoint()?;
            let name = format!("microgpt-step{}.json", checkpoint.step);
            Reply::bytes(checkpoint.to_json().into_bytes(), "application/json").attachment(name)
        }
        (Method::Post, "/api/checkpoint") => {
            let body = guard::body(request, MAX_CHECKPOINT)?;
            let text = std::str::from_utf8(&body).map_err(|_| {
                ApiError::bad("the checkpoint is not UTF-8 text: is it a checkpoint JSON file?")
            })?;
            let checkpoint = Checkpoint::from_json(text)?;
            Reply::json(&session.load(&checkpoint)?)
        }
        (Method::Get, "/api/safetensors") => {
            let checkpoint = session.checkpoint()?;
            let bytes = crate::export::to_safetensors(&checkpoint)?;
            let name = format!("microgpt-step{}.safetensors", checkpoint.step);
            Reply::bytes(bytes, "application/octet-stream").attachment(name)
        }
        (Method::Get | Method::Head, path) => match page::asset(path) {
            Some((text, content_type)) => Reply::bytes(text.as_bytes().to_vec(), content_type),
            None => return Err(ApiError::new(404, format!("no page or endpoint at {path}"))),
        },
        (_, path) if known(path) => {
            return Err(ApiError::new(
                405,
                format!("{method} is not allowed on {path}"),
            ));
        }
        (_, path) => return Err(ApiError::new(404, format!("no endpoint at {path}"))),
    };
    Ok(Some(reply))
}

/// Whether `path` is a route (of another method).
fn known(path: &str) -> bool {
    path.starts_with("/api/") || page::asset(path).is_some()
}

/// The value of `key` in a query string, percent-decoded, as a label (never a path).
fn query_value(query: &str, key: &str) -> Option<String> {
    let raw = query
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))?;
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    let label: String = String::from_utf8_lossy(&out)
        .chars()
        .filter(|c| !c.is_control())
        .take(80)
        .collect();
    Some(label)
}
