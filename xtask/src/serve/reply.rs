//! Responses: JSON bodies, the error every refused request gets, and the headers
//! every response carries.

use std::io::Cursor;

use serde::Serialize;
use tiny_http::{Header, Response, StatusCode};

/// A response body in memory, with its status and content type.
pub(crate) struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    /// A file name to offer for saving, for downloads.
    attachment: Option<String>,
}

impl Reply {
    /// `value` as JSON, 200.
    pub(crate) fn json(value: &impl Serialize) -> Self {
        let body = serde_json::to_vec(value).expect("our types serialise");
        Self::bytes(body, "application/json")
    }

    /// A body of `content_type`, 200.
    pub(crate) fn bytes(body: Vec<u8>, content_type: &'static str) -> Self {
        Reply {
            status: 200,
            content_type,
            body,
            attachment: None,
        }
    }

    /// Offers the body as a file named `name` (a name made by the server).
    pub(crate) fn attachment(mut self, name: String) -> Self {
        self.attachment = Some(name);
        self
    }

    /// The tiny_http response, with the security headers.
    pub(crate) fn into_response(self) -> Response<Cursor<Vec<u8>>> {
        let mut response = Response::from_data(self.body)
            .with_status_code(StatusCode(self.status))
            .with_header(header("Content-Type", self.content_type));
        for (name, value) in SECURITY_HEADERS {
            response = response.with_header(header(name, value));
        }
        if let Some(name) = self.attachment {
            let value = format!("attachment; filename=\"{name}\"");
            response = response.with_header(header("Content-Disposition", &value));
        }
        response
    }
}

/// Headers on every response: the page runs only its own script and style, is
/// never framed, never cached, and sends no referrer.
pub(crate) const SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
    ("Referrer-Policy", "no-referrer"),
];

/// One header; the names and values are ours, and ASCII.
pub(crate) fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("ASCII header")
}

/// A refused request: its 4xx (or 5xx) status and a one-line message, sent as
/// `{"error": message}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) message: String,
}

impl ApiError {
    /// 400: the request is malformed or its values cannot work.
    pub(crate) fn bad(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    /// 409: the request does not fit the session's state.
    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(409, message)
    }

    pub(crate) fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// The error as a reply.
    pub(crate) fn reply(&self) -> Reply {
        let mut reply = Reply::json(&serde_json::json!({ "error": self.message }));
        reply.status = self.status;
        reply
    }
}

/// Library and anyhow errors are the request's fault unless said otherwise: they
/// come from checking what it sent.
impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        ApiError::bad(crate::report::one_line(&err))
    }
}

impl From<train::Error> for ApiError {
    fn from(err: train::Error) -> Self {
        ApiError::bad(err.to_string())
    }
}
