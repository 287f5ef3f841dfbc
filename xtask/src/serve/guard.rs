//! The checks every request passes before a route sees it: a Host header naming
//! this server (a DNS-rebinding defence), an Origin of this server on requests
//! that change state (a cross-site request defence), and bodies of bounded size.

use std::io::Read;
use std::net::{IpAddr, SocketAddr};

use tiny_http::{Method, Request};

use super::reply::ApiError;

/// The largest checkpoint an upload may send: 64 MiB, some hundred times the
/// default model's.
pub(crate) const MAX_CHECKPOINT: usize = 64 << 20;
/// The largest data file an upload may send: 16 MiB, fifty times the names.
pub(crate) const MAX_DATA: usize = 16 << 20;
/// The largest JSON request (settings, a prefix).
pub(crate) const MAX_JSON: usize = 64 << 10;

/// The names a browser may use for this server, as `Host` headers carry them.
#[derive(Clone, Debug)]
pub(crate) struct Authority {
    /// `host:port` forms accepted verbatim.
    names: Vec<String>,
    /// The port, for IP literals when the server listens on every address.
    port: u16,
    /// Whether it listens on every address (`--host 0.0.0.0` or `::`).
    any: bool,
}

impl Authority {
    /// The names of a server bound to `addr`, as `host` was given (`None` for the
    /// default, loopback).
    pub(crate) fn new(addr: SocketAddr, host: Option<&str>) -> Self {
        let port = addr.port();
        let mut names = vec![format_host(addr.ip(), port)];
        if addr.ip().is_loopback() {
            names.push(format!("localhost:{port}"));
        }
        if let Some(host) = host {
            names.push(format!("{host}:{port}"));
        }
        Authority {
            names,
            port,
            any: addr.ip().is_unspecified(),
        }
    }

    /// Whether `host` (a Host header, or an Origin's authority) names this server.
    /// A name a DNS server could point elsewhere is never accepted on a server
    /// listening on every address: only IP literals are.
    pub(crate) fn accepts(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        if self.names.contains(&host) {
            return true;
        }
        self.any
            && host
                .parse::<SocketAddr>()
                .is_ok_and(|addr| addr.port() == self.port)
    }
}

fn format_host(ip: IpAddr, port: u16) -> String {
    SocketAddr::new(ip, port).to_string()
}

/// A request's header, if it has exactly one of that name.
pub(crate) fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// Refuses a request not addressed to this server, or one that changes state
/// coming from another site.
pub(crate) fn check(request: &Request, authority: &Authority) -> Result<(), ApiError> {
    let host = header(request, "Host")
        .ok_or_else(|| ApiError::bad("no Host header: every HTTP/1.1 request needs one"))?;
    if !authority.accepts(host) {
        return Err(ApiError::new(
            421,
            format!("Host {host:?} is not this server: open the address the server printed"),
        ));
    }
    if changes_state(request.method()) {
        if let Some(origin) = header(request, "Origin") {
            let same = origin
                .strip_prefix("http://")
                .is_some_and(|authority_part| authority.accepts(authority_part));
            if !same {
                return Err(ApiError::new(
                    403,
                    format!(
                        "Origin {origin:?} is another site: only this server's page may change its state"
                    ),
                ));
            }
        }
        if header(request, "Sec-Fetch-Site").is_some_and(|s| s == "cross-site") {
            return Err(ApiError::new(
                403,
                "a cross-site request may not change state",
            ));
        }
    }
    Ok(())
}

/// Whether a request of `method` may change the server's state: all but GET and
/// HEAD (which the routes keep free of effects).
fn changes_state(method: &Method) -> bool {
    !matches!(method, Method::Get | Method::Head)
}

/// The request's body, at most `limit` bytes; more is refused with 413 before it is
/// read, when the client says its length, or as soon as it passes the limit.
pub(crate) fn body(request: &mut Request, limit: usize) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            413,
            format!("the body is larger than this endpoint's limit of {limit} bytes"),
        )
    };
    if request.body_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    request
        .as_reader()
        .take(limit as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|err| ApiError::bad(format!("reading the body: {err}")))?;
    if body.len() > limit {
        return Err(too_large());
    }
    Ok(body)
}

/// The body as JSON of type `T`, at most [`MAX_JSON`] bytes.
pub(crate) fn json<T: serde::de::DeserializeOwned>(request: &mut Request) -> Result<T, ApiError> {
    let body = body(request, MAX_JSON)?;
    serde_json::from_slice(&body).map_err(|err| ApiError::bad(format!("malformed JSON: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_accepts_its_own_names_only() {
        let a = Authority::new("127.0.0.1:8000".parse().unwrap(), None);
        assert!(a.accepts("127.0.0.1:8000"));
        assert!(a.accepts("localhost:8000"));
        assert!(a.accepts("LOCALHOST:8000"));
        assert!(!a.accepts("localhost:8001"));
        assert!(!a.accepts("localhost"));
        assert!(!a.accepts("evil.example:8000"));
        assert!(!a.accepts("10.0.0.1:8000"));
    }

    #[test]
    fn every_address_accepts_ip_literals_but_no_names() {
        let a = Authority::new("0.0.0.0:8000".parse().unwrap(), Some("0.0.0.0"));
        assert!(a.accepts("10.1.2.3:8000"));
        assert!(a.accepts("[::1]:8000"));
        assert!(!a.accepts("10.1.2.3:9000"));
        assert!(!a.accepts("rebound.example:8000"));
    }
}
