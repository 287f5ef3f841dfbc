//! A minimal driver for headless Chromium over its DevTools protocol: start the
//! browser, open a page, evaluate JavaScript in it, take a screenshot. Loopback
//! only; every wait is bounded.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// A headless Chromium and one page of it; the browser is killed when dropped.
pub(crate) struct Browser {
    child: Child,
    ws: WebSocket<TcpStream>,
    session: String,
    next_id: u64,
}

impl Browser {
    /// Starts `chromium` with a fresh profile in `profile`, on a window of
    /// `width` x `height`, and opens `url`.
    pub(crate) fn open(
        chromium: &Path,
        profile: &Path,
        url: &str,
        width: u32,
        height: u32,
    ) -> Browser {
        let mut child = Command::new(chromium)
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
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium starts");
        // Chromium says where its DevTools listen on standard error.
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut endpoint = None;
        let mut line = String::new();
        while endpoint.is_none() && stderr.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(at) = line.find("ws://") {
                endpoint = Some(line[at..].trim().to_string());
            }
            line.clear();
        }
        let endpoint = endpoint.expect("chromium prints its DevTools address");
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        let host = endpoint
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let stream = TcpStream::connect(&host).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let (ws, _) = tungstenite::client(endpoint.as_str(), stream).unwrap();
        let mut browser = Browser {
            child,
            ws,
            session: String::new(),
            next_id: 0,
        };
        let target = browser.call("Target.createTarget", &json!({ "url": url }));
        let target = target["targetId"].as_str().unwrap().to_string();
        let attached = browser.call(
            "Target.attachToTarget",
            &json!({ "targetId": target, "flatten": true }),
        );
        browser.session = attached["sessionId"].as_str().unwrap().to_string();
        browser
    }

    /// Sends one command (to the page once attached) and returns its result.
    fn call(&mut self, method: &str, params: &Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() {
            message["sessionId"] = json!(self.session);
        }
        self.ws.send(Message::text(message.to_string())).unwrap();
        loop {
            let reply = match self.ws.read().expect("a DevTools reply within 30 s") {
                Message::Text(text) => serde_json::from_str::<Value>(&text).unwrap(),
                _ => continue,
            };
            // Events have no id; other replies are not ours.
            if reply["id"] == json!(id) {
                assert!(reply.get("error").is_none(), "{method}: {reply}");
                return reply["result"].clone();
            }
        }
    }

    /// The value of the JavaScript expression `js` in the page.
    pub(crate) fn eval(&mut self, js: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            &json!({ "expression": js, "returnByValue": true, "awaitPromise": true }),
        );
        if let Some(e) = result.get("exceptionDetails") {
            panic!("{js}: {}", e["exception"]["description"]);
        }
        result["result"]["value"].clone()
    }

    /// Evaluates `js` every 50 ms until `done` accepts its value, for at most
    /// `limit`; returns the last value.
    pub(crate) fn wait_for(
        &mut self,
        js: &str,
        limit: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = Instant::now();
        loop {
            let v = self.eval(js);
            if done(&v) || start.elapsed() > limit {
                return v;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A PNG of the whole page, `height` pixels tall.
    pub(crate) fn screenshot(&mut self, height: u32) -> Vec<u8> {
        let width = self.eval("document.documentElement.clientWidth");
        let shot = self.call(
            "Page.captureScreenshot",
            &json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": { "x": 0, "y": 0, "width": width, "height": height, "scale": 1 }
            }),
        );
        decode_base64(shot["data"].as_str().unwrap())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Standard base64, as DevTools sends screenshots.
fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let bytes: Vec<u8> = text.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &c)| n | u32::from(value(c)) << (18 - 6 * i));
        out.extend(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}
