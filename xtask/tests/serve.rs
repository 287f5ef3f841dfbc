//! The playground over real HTTP, against the real binary on a free loopback
//! port: the page, a training run to completion and its curve, inspect equal to
//! `cargo xtask inspect --json`, checkpoints down and up, and every request the
//! server must refuse while it keeps running.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};

mod common;
use common::server::Server;
use common::{metric_losses, ok, scratch, xtask};

/// `(step, loss bits)` of every step of a state, as `metric_losses` reads a
/// `--metrics` file.
fn step_losses(state: &Value) -> Vec<(u64, u64)> {
    let losses = state["losses"].as_array().unwrap();
    (1..)
        .zip(losses.iter().map(|l| l.as_f64().unwrap().to_bits()))
        .collect()
}

/// A short run: 40 steps, samples every 20.
fn short_run() -> Value {
    json!({"steps": 40, "seed": 3, "sample_every": 20, "samples": 3})
}

#[test]
fn the_page_and_its_files_are_served_with_their_security_headers() {
    let server = Server::start();
    let page = server.request("GET", "/", b"");
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    let html = page.text();
    for needle in ["losscanvas", "/app.js", "/style.css", "heatmaps", "prefix"] {
        assert!(html.contains(needle), "{needle}");
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from elsewhere"
    );
    let js = server.request("GET", "/app.js", b"");
    assert!(
        js.header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(js.text().contains("EventSource"));
    let css = server.request("GET", "/style.css", b"");
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert_eq!(server.get_json("/api/state")["status"], "idle");
}

#[test]
fn a_run_trains_to_completion_streams_its_curve_and_matches_the_command_line() {
    let dir = scratch("serve", "train");
    let server = Server::start();
    // Listen before starting, so the stream sees every step.
    let mut events = TcpStream::connect(server.addr).unwrap();
    events
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        events,
        "GET /api/events HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.addr
    )
    .unwrap();
    let mut events = BufReader::new(events);
    let mut line = String::new();
    events.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    // The stream says it is connected before the run starts.
    while !line.contains(": connected") {
        line.clear();
        events.read_line(&mut line).unwrap();
    }

    let started = server.post_json("/api/train", &short_run());
    assert_eq!(started["status"], "running");
    let state = server.wait_until_settled();
    assert_eq!(state["status"], "done", "{state}");
    assert_eq!(state["step"], 40);
    let losses: Vec<f64> = state["losses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(losses.len(), 40);

    // The same run on the command line: the same loss at every step, bit for bit.
    ok(&dir, "train --steps 40 --seed 3 --metrics m.jsonl");
    let cli = metric_losses(&dir.join("m.jsonl"));
    assert_eq!(step_losses(&state), cli);

    // The stream carried the same curve, samples at steps 20 and 40, weights, and
    // the end; read until the status event says done (bounded by the timeout).
    let (mut streamed, mut sample_steps, mut saw_weights) = (Vec::new(), Vec::new(), false);
    let mut event = String::new();
    loop {
        line.clear();
        assert!(
            events.read_line(&mut line).unwrap() > 0,
            "the stream ended early"
        );
        if let Some(name) = line.trim().strip_prefix("event: ") {
            event = name.to_string();
        } else if let Some(data) = line.trim().strip_prefix("data: ") {
            let v: Value = serde_json::from_str(data).unwrap();
            match event.as_str() {
                "losses" => {
                    assert_eq!(v["from"].as_u64().unwrap() as usize, streamed.len() + 1);
                    streamed.extend(
                        v["losses"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|l| l.as_f64().unwrap()),
                    );
                }
                "samples" => {
                    assert_eq!(v["names"].as_array().unwrap().len(), 3);
                    sample_steps.push(v["step"].as_u64().unwrap());
                }
                "weights" => saw_weights = true,
                "status" if v["status"] == "done" => break,
                _ => {}
            }
        }
    }
    assert_eq!(streamed, losses);
    assert_eq!(sample_steps, [20, 40]);
    assert!(saw_weights);

    // The heatmaps: every tensor under its state-dict name, with its shape, values
    // and a gradient norm.
    let weights = &state["weights"]["tensors"];
    let names: Vec<&str> = weights
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "wte",
            "wpe",
            "lm_head",
            "layer0.attn_wq",
            "layer0.attn_wk",
            "layer0.attn_wv",
            "layer0.attn_wo",
            "layer0.mlp_fc1",
            "layer0.mlp_fc2"
        ]
    );
    assert_eq!(weights[0]["rows"], 27);
    assert_eq!(weights[0]["cols"], 16);
    assert_eq!(weights[0]["values"].as_array().unwrap().len(), 27 * 16);
    for t in weights.as_array().unwrap() {
        assert!(t["grad_norm"].as_f64().unwrap() > 0.0, "{}", t["name"]);
    }
}

#[test]
fn a_v2_run_and_an_exact_run_match_the_command_line() {
    let dir = scratch("serve", "presets");
    let server = Server::start();
    for (settings, flags) in [
        (
            json!({"preset": "v2", "steps": 20, "block_size": 16, "lr": 0.01, "sample_every": 0}),
            "--preset v2 --steps 20 --lr 0.01",
        ),
        (
            json!({"exact": true, "steps": 5, "sample_every": 0}),
            "--exact --steps 5",
        ),
    ] {
        server.post_json("/api/train", &settings);
        let state = server.wait_until_settled();
        assert_eq!(state["status"], "done", "{state}");
        ok(
            &dir,
            &format!("train {flags} --metrics m.jsonl --samples 1"),
        );
        assert_eq!(
            step_losses(&state),
            metric_losses(&dir.join("m.jsonl")),
            "{flags}"
        );
    }
}

#[test]
fn inspect_and_the_downloads_equal_the_command_lines() {
    let dir = scratch("serve", "inspect");
    let server = Server::start();
    server.post_json("/api/train", &short_run());
    assert_eq!(server.wait_until_settled()["status"], "done");

    let checkpoint = server.request("GET", "/api/checkpoint", b"");
    assert_eq!(checkpoint.status, 200);
    assert!(
        checkpoint
            .header("content-disposition")
            .unwrap()
            .contains("microgpt-step40.json")
    );
    fs::write(dir.join("c.json"), &checkpoint.body).unwrap();

    for text in ["", "em", "x"] {
        let cli: Value = serde_json::from_str(&ok(
            &dir,
            &format!("inspect --checkpoint c.json --text={text} --json --top-k 4"),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let served = server.post_json("/api/inspect", &json!({"text": text, "top_k": 4}));
        assert_eq!(served, cli, "{text:?}");
        let t = text.len() + 1;
        assert_eq!(served["logits"].as_array().unwrap().len(), t);
        assert_eq!(served["probs"][0].as_array().unwrap().len(), 27);
        assert_eq!(served["top_k"][0].as_array().unwrap().len(), 4);
        assert_eq!(served["attention"][0].as_array().unwrap().len(), 4, "heads");
        assert_eq!(served["attention"][0][0].as_array().unwrap().len(), t);
        // Each query's weights over the keys up to it sum to 1, and are 0 after.
        for head in served["attention"][0].as_array().unwrap() {
            for (q, row) in head.as_array().unwrap().iter().enumerate() {
                let row: Vec<f64> = row
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|w| w.as_f64().unwrap())
                    .collect();
                assert!(
                    (row[..=q].iter().sum::<f64>() - 1.0).abs() < 1e-9,
                    "{row:?}"
                );
                assert!(row[q + 1..].iter().all(|&w| w == 0.0), "{row:?}");
            }
        }
    }

    let tensors = server.request("GET", "/api/safetensors", b"");
    assert_eq!(tensors.status, 200);
    ok(&dir, "export --checkpoint c.json --out c.safetensors");
    // The same tensors and metadata (whose order in the header may differ).
    let cli = fs::read(dir.join("c.safetensors")).unwrap();
    let (served, exported) = (read_safetensors(&tensors.body), read_safetensors(&cli));
    assert!(
        served == exported,
        "the served safetensors differ from export's"
    );
    assert_eq!(served.1.len(), 9);

    let names = server.post_json(
        "/api/sample",
        &json!({"prefix": "ka", "temperature": 0.5, "samples": 4, "seed": 1}),
    );
    let names = names["names"].as_array().unwrap();
    assert_eq!(names.len(), 4);
    assert!(
        names.iter().all(|n| n.as_str().unwrap().starts_with("ka")),
        "{names:?}"
    );
}

/// A safetensors file's metadata, and its tensors by name: (shape, bytes).
type Tensors = (Vec<(String, String)>, Vec<(String, Vec<usize>, Vec<u8>)>);

fn read_safetensors(bytes: &[u8]) -> Tensors {
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).unwrap();
    let mut metadata: Vec<(String, String)> =
        meta.metadata().clone().unwrap().into_iter().collect();
    metadata.sort();
    let file = safetensors::SafeTensors::deserialize(bytes).unwrap();
    let mut tensors: Vec<_> = file
        .tensors()
        .into_iter()
        .map(|(name, t)| (name, t.shape().to_vec(), t.data().to_vec()))
        .collect();
    tensors.sort();
    (metadata, tensors)
}

#[test]
fn checkpoint_and_data_uploads_are_checked() {
    let dir = scratch("serve", "upload");
    ok(
        &dir,
        "train --steps 30 --stop-at 10 --save c.json --samples 1",
    );
    let good = fs::read(dir.join("c.json")).unwrap();
    let server = Server::start();

    // Bad checkpoints: not JSON, truncated, not UTF-8, of another format, too large.
    let refuse = |body: &[u8], status: u16| {
        let r = server.request("POST", "/api/checkpoint", body);
        assert_eq!(r.status, status, "{}", r.text());
        r.error()
    };
    let e = refuse(b"hello", 400);
    assert!(e.contains("not a valid checkpoint"), "{e}");
    refuse(&good[..good.len() / 2], 400);
    assert!(refuse(b"\xff\xfe", 400).contains("UTF-8"));
    let other = String::from_utf8(good.clone())
        .unwrap()
        .replace("microgpt-checkpoint", "something-else");
    refuse(other.as_bytes(), 400);
    let huge = server.send(
        "POST",
        "/api/checkpoint",
        &[
            ("Host", &server.addr.to_string()),
            ("Content-Length", "100000000"),
        ],
        b"{}",
    );
    assert_eq!(huge.status, 413, "{}", huge.text());
    assert_eq!(server.get_json("/api/state")["status"], "idle");

    // The good one: paused at its step, and it trains on to the end.
    let loaded = server.request("POST", "/api/checkpoint", &good);
    assert_eq!(loaded.status, 200, "{}", loaded.text());
    let loaded = loaded.json();
    assert_eq!(
        (loaded["status"].as_str(), loaded["step"].as_u64()),
        (Some("paused"), Some(10))
    );
    server.post_json("/api/continue", &json!({}));
    let state = server.wait_until_settled();
    assert_eq!(
        (state["status"].as_str(), state["step"].as_u64()),
        (Some("done"), Some(30))
    );
    // The very losses of the command line's uninterrupted run.
    ok(&dir, "train --steps 30 --metrics m.jsonl --samples 1");
    assert_eq!(step_losses(&state), metric_losses(&dir.join("m.jsonl")));

    // Data: good, then bad ones, which leave the good one in place.
    let data = server.request("POST", "/api/data?name=pets.txt", b"rex\nfido\nbella\n");
    assert_eq!(data.status, 200, "{}", data.text());
    assert_eq!(data.json()["docs"], 3);
    assert_eq!(data.json()["name"], "<uploaded pets.txt>");
    let bad = server.request("POST", "/api/data", b"\n \n");
    assert_eq!(bad.status, 400);
    assert!(bad.error().contains("no document"), "{}", bad.error());
    assert_eq!(
        server.request("POST", "/api/data", b"ok\n\xff\n").status,
        400
    );
    let run = server.post_json(
        "/api/train",
        &json!({"steps": 5, "data": "upload", "sample_every": 0}),
    );
    assert_eq!(run["data"]["name"], "<uploaded pets.txt>");
    assert_eq!(server.wait_until_settled()["status"], "done");
}

#[test]
fn foreign_hosts_and_origins_and_malformed_requests_are_refused_and_the_server_goes_on() {
    let server = Server::start();
    let me = server.addr.to_string();
    let port = server.addr.port();

    // DNS rebinding: a name that resolved to us, but is not our name.
    for host in [
        format!("evil.example:{port}"),
        "127.0.0.1".into(),
        format!("localhost:{}", port + 1),
    ] {
        let r = server.send("GET", "/api/state", &[("Host", &host)], b"");
        assert_eq!(r.status, 421, "{host}");
        assert!(r.error().contains("not this server"));
    }
    assert_eq!(
        server
            .send("GET", "/", &[("Host", &format!("localhost:{port}"))], b"")
            .status,
        200
    );
    // HTTP/1.0 without Host.
    let r = server.raw(b"GET /api/state HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 400);

    // A foreign page's POST, with its Origin or the browser's Sec-Fetch-Site.
    let body = short_run().to_string();
    for (name, value) in [
        ("Origin", "http://evil.example"),
        ("Origin", "null"),
        ("Sec-Fetch-Site", "cross-site"),
    ] {
        let r = server.send(
            "POST",
            "/api/train",
            &[("Host", &me), (name, value)],
            body.as_bytes(),
        );
        assert_eq!(r.status, 403, "{name}: {value}");
    }
    assert_eq!(
        server.get_json("/api/state")["status"],
        "idle",
        "nothing started"
    );
    let own = server.origin();
    let r = server.send(
        "POST",
        "/api/train",
        &[("Host", &me), ("Origin", &own)],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    server.wait_until_settled();

    // Malformed bodies and paths: 4xx with a JSON error.
    for (method, path, body, status) in [
        ("POST", "/api/train", "{not json", 400),
        ("POST", "/api/train", r#"{"stpes": 5}"#, 400),
        ("POST", "/api/train", r#"{"steps": -5}"#, 400),
        ("POST", "/api/train", r#"{"steps": 0}"#, 400),
        ("POST", "/api/train", r#"{"lr": "fast"}"#, 400),
        ("POST", "/api/train", r#"{"n_embd": 15}"#, 400),
        ("POST", "/api/train", r#"{"data": "/etc/passwd"}"#, 400),
        ("POST", "/api/inspect", r#"{"text": "Q"}"#, 400),
        ("POST", "/api/inspect", r#"{"text": "abcdefghijk"}"#, 400),
        (
            "POST",
            "/api/sample",
            r#"{"temperature": 0, "samples": 1}"#,
            400,
        ),
        ("GET", "/api/nothing", "", 404),
        ("GET", "/../../etc/passwd", "", 404),
        ("DELETE", "/api/state", "", 405),
        ("GET", "/api/train", "", 404),
    ] {
        let r = server.request(method, path, body.as_bytes());
        assert_eq!(r.status, status, "{method} {path} {body}: {}", r.text());
        assert!(!r.error().is_empty());
    }
    // Not HTTP at all, then a request line without a version.
    let _ = server.raw(b"\x00\x01garbage\r\n\r\n");
    let _ = server.raw(b"GET\r\n\r\n");
    assert_eq!(
        server.get_json("/api/state")["status"],
        "done",
        "still serving"
    );
}

#[test]
fn one_run_at_a_time_paused_continued_and_stopped() {
    let server = Server::start();
    let long = json!({"steps": 1_000_000, "sample_every": 0});
    server.post_json("/api/train", &long);
    let again = server.request("POST", "/api/train", long.to_string().as_bytes());
    assert_eq!(again.status, 409);
    assert!(again.error().contains("one training run at a time"));
    let paused = server.post_json("/api/pause", &json!({}));
    assert_eq!(paused["status"], "paused");
    let at = server.get_json("/api/state")["step"].as_u64().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        server.get_json("/api/state")["step"].as_u64().unwrap(),
        at,
        "a paused run takes no step"
    );
    assert_eq!(server.request("POST", "/api/pause", b"").status, 409);
    server.post_json("/api/continue", &json!({}));
    let stopped = server.post_json("/api/stop", &json!({}));
    assert_eq!(stopped["status"], "stopped");
    // Stopped, its model stays to inspect and download.
    assert_eq!(server.request("GET", "/api/checkpoint", b"").status, 200);
    server.post_json("/api/inspect", &json!({"text": "a"}));
}

#[test]
fn ctrl_c_stops_the_server_cleanly_during_a_run() {
    let mut server = Server::start();
    server.post_json(
        "/api/train",
        &json!({"steps": 1_000_000, "sample_every": 0}),
    );
    let pid = server.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    for _ in 0..100 {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not stop within 5 s of SIGINT");
}

#[test]
fn inspect_on_the_command_line_prints_a_table_and_refuses_bad_prefixes() {
    let dir = scratch("serve", "inspect-cli");
    ok(&dir, "train --steps 5 --save c.json --samples 1");
    let table = ok(&dir, "inspect --checkpoint c.json --text an --top-k 3");
    assert!(table.contains("step 5"), "{table}");
    assert!(
        table.lines().any(|l| l.trim_start().starts_with("0  BOS")),
        "{table}"
    );
    assert!(table.contains("attention, layer 0 head 3"), "{table}");
    let out = xtask(&dir, "inspect --checkpoint c.json --text A");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("--text \"A\"") && err.contains("vocabulary"),
        "{err}"
    );
    let out = xtask(&dir, "inspect --checkpoint missing.json --text a");
    assert_eq!(out.status.code(), Some(1));
}
