//! The page in a real browser: headless Chromium opens the playground on a run
//! and takes two screenshots; skipped, saying so, where Chromium
//! is not installed (`apt-get install chromium`).
//!
//! The run is started and stopped over HTTP: headless Chromium takes a
//! screenshot but clicks nothing. Set `PLAYGROUND_SCREENSHOTS`
//! to a folder to keep the screenshots there (the README's are made so, into
//! `docs/`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

mod common;
use common::scratch;
use common::server::Server;

/// The browser, if there is one.
fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let found = Command::new("which").arg(name).output().ok()?;
            let path = String::from_utf8(found.stdout).ok()?;
            found.status.success().then(|| PathBuf::from(path.trim()))
        })
}

/// Runs headless Chromium on `url` with `extra` flags, from a fresh profile in
/// `profile`, waiting at most 60 s; returns its standard output.
fn headless(browser: &Path, profile: &Path, url: &str, extra: &[&str]) -> String {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            return String::from_utf8_lossy(&out.stdout).into_owned();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("chromium did not finish within 60 s");
}

/// Whether `path` holds a PNG of some size.
fn is_png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.len() > 10_000 && b.starts_with(b"\x89PNG\r\n\x1a\n"))
}

#[test]
fn the_page_shows_a_run_its_weights_and_a_prefix() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: chromium is not installed (apt-get install chromium)");
        return;
    };
    let dir = scratch("browser", "page");
    let out = std::env::var_os("PLAYGROUND_SCREENSHOTS").map_or(dir.clone(), PathBuf::from);
    let server = Server::start();
    let url = format!("{}/", server.origin());

    // A run of 2000 steps, to its end.
    server.post_json(
        "/api/train",
        &json!({"steps": 2000, "sample_every": 250, "samples": 10, "seed": 7}),
    );
    assert_eq!(server.wait_until_settled()["status"], "done");

    // The curve and the samples; then the whole page, down to the per-position
    // bars and the attention of the prefix the page inspects as it loads.
    let training = out.join("playground-training.png");
    let arg = format!("--screenshot={}", training.display());
    headless(
        &browser,
        &dir.join("profile1"),
        &url,
        &["--window-size=1400,1000", "--timeout=8000", &arg],
    );
    assert!(is_png(&training), "{}", training.display());
    let asking = out.join("playground-asking.png");
    let arg = format!("--screenshot={}", asking.display());
    headless(
        &browser,
        &dir.join("profile2"),
        &url,
        &["--window-size=1400,1820", "--timeout=8000", &arg],
    );
    assert!(is_png(&asking), "{}", asking.display());
}
