//! The page: hand-written HTML, CSS and JavaScript, embedded in the binary. No
//! third-party code, no build step, nothing fetched from elsewhere.

/// `index.html`.
pub(crate) const INDEX: &str = include_str!("page/index.html");
/// `style.css`.
pub(crate) const STYLE: &str = include_str!("page/style.css");
/// `app.js`.
pub(crate) const SCRIPT: &str = include_str!("page/app.js");

/// The page's file at `path`, with its content type.
pub(crate) fn asset(path: &str) -> Option<(&'static str, &'static str)> {
    match path {
        "/" | "/index.html" => Some((INDEX, "text/html; charset=utf-8")),
        "/style.css" => Some((STYLE, "text/css; charset=utf-8")),
        "/app.js" => Some((SCRIPT, "text/javascript; charset=utf-8")),
        _ => None,
    }
}
