//! The page in a real browser: headless Chromium, driven over its DevTools
//! protocol, opens the playground, starts a run with the page's own Start button,
//! watches the curve and the step counter move while the run streams in, and
//! takes two screenshots; skipped, saying so, where Chromium is not installed
//! (`apt-get install chromium`). Set `PLAYGROUND_SCREENSHOTS` to a folder to keep
//! the screenshots there (the README's are made so, into `docs/`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
#[path = "common/devtools.rs"]
mod devtools;
use common::scratch;
use common::server::Server;
use devtools::Browser;

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

/// Whether `path` holds a PNG of some size.
fn is_png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.len() > 10_000 && b.starts_with(b"\x89PNG\r\n\x1a\n"))
}

#[test]
fn the_page_trains_live_and_shows_its_weights_and_a_prefix() {
    let Some(chromium) = chromium() else {
        eprintln!("skipped: chromium is not installed (apt-get install chromium)");
        return;
    };
    let dir = scratch("browser", "page");
    let out = std::env::var_os("PLAYGROUND_SCREENSHOTS").map_or(dir.clone(), PathBuf::from);
    let server = Server::start();
    let url = format!("{}/", server.origin());
    let mut page = Browser::open(&chromium, &dir.join("profile"), &url, 1400, 1000);

    // The page is up once its status pill says something else than "connecting".
    let status = "document.readyState === 'complete' && document.getElementById('status')
                  ? document.getElementById('status').textContent : 'connecting'";
    let ready = page.wait_for(status, Duration::from_secs(20), |v| v != "connecting");
    assert_ne!(ready, "connecting", "the page never connected");

    // Settings typed into the form, then the page's own Start button: long enough
    // a run (about two seconds here) to watch it stream in.
    let steps = 40_000;
    let typed = page.eval(&format!(
        "(() => {{ const f = document.getElementById('settings').elements;
            f.steps.value = {steps}; f.seed.value = 7; f.sample_every.value = 5000;
            f.samples.value = 10; document.getElementById('start').click();
            return document.getElementById('settings').checkValidity(); }})()"
    ));
    assert_eq!(typed, true, "the settings are valid");
    let progress = "[Number(document.getElementById('step').textContent),
                     document.getElementById('status').textContent, view.losses.length]";
    let (mut seen, start) = (Vec::new(), Instant::now());
    let last = loop {
        let v = page.eval(progress);
        let step = v[0].as_u64().unwrap_or(0);
        if step > 0 && step < steps && seen.last() != Some(&step) {
            seen.push(step);
        }
        if v[1] == "done" || start.elapsed() > Duration::from_secs(60) {
            break v;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(last[1], "done", "the run did not finish: {last}");
    assert_eq!(last[0], steps, "{last}");
    assert_eq!(last[2], steps, "the curve holds every step's loss: {last}");
    // Live: the counter showed several steps on the way, each later than the last.
    assert!(
        seen.len() >= 3,
        "the page did not update while training: {seen:?}"
    );
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    eprintln!(
        "the step counter showed {} values on the way to {steps}",
        seen.len()
    );
    let samples = page.eval("document.querySelectorAll('#samples li').length");
    assert_eq!(samples, 10, "the last samples are shown");
    // And the form still says what was asked for.
    let form = page.eval(
        "(() => { const f = document.getElementById('settings').elements;
            return [Number(f.steps.value), Number(f.seed.value)]; })()",
    );
    assert_eq!(
        form,
        serde_json::json!([steps, 7]),
        "the form kept the run's settings"
    );

    // The curve and the samples; then the whole page, down to the per-position
    // bars and the attention of the prefix the page inspects.
    page.eval("document.getElementById('inspect').click(); true");
    let cells =
        "document.querySelectorAll('#attention canvas, #attention .cell, #positions > *').length";
    let shown = page.wait_for(cells, Duration::from_secs(10), |v| v.as_u64() > Some(0));
    assert!(shown.as_u64() > Some(0), "the inspection is drawn");
    for (name, height) in [
        ("playground-training.png", 1000),
        ("playground-asking.png", 1820),
    ] {
        let png = page.screenshot(height);
        let path = out.join(name);
        std::fs::write(&path, &png).unwrap();
        assert!(is_png(&path), "{}", path.display());
    }
}
