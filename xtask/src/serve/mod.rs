//! `cargo xtask serve`: the playground, a small HTTP server on 127.0.0.1 with an
//! embedded page, to train a model and watch it learn, look inside its
//! parameters, and ask it what comes next.
//!
//! - [`routes`]: the endpoints; [`guard`]: the checks every request passes first;
//! - [`session`]: the one training run and its thread; [`events`]: the stream of
//!   server-sent events the page listens to;
//! - [`page`]: the embedded HTML, CSS and JavaScript; [`reply`]: responses.

mod events;
mod guard;
mod page;
mod reply;
mod routes;
mod session;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use tiny_http::{Request, Server};

use crate::signals::Stop;
use events::Hub;
use guard::Authority;
use session::Session;

/// Request threads: a few, since only the event streams wait long, and they get
/// threads of their own.
const WORKERS: usize = 4;

/// Serve the playground in the browser.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The port to listen on (0: any free port, printed at start).
    #[arg(long, default_value_t = 8000, value_name = "PORT")]
    pub(crate) port: u16,
    /// The address to listen on [default: 127.0.0.1, this machine only]. Any other
    /// address lets other machines train and read models here: a warning says so.
    #[arg(long, value_name = "ADDR")]
    pub(crate) host: Option<IpAddr>,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let ip = args.host.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let server = Server::http(SocketAddr::new(ip, args.port)).map_err(|err| {
        anyhow!(
            "cannot listen on {ip}:{}: {err}; try another --port",
            args.port
        )
    })?;
    let addr = server
        .server_addr()
        .to_ip()
        .context("the server has no IP address")?;
    if !ip.is_loopback() {
        eprintln!(
            "warning: listening on {addr}, not on loopback: anyone who can reach this address can train models and read them here; there is no login and no TLS"
        );
    }
    let authority = Authority::new(addr, args.host.map(|h| h.to_string()).as_deref());
    let stop = Stop::catch()?;
    // One write: a reader that takes the address and leaves (a closed pipe) must
    // not stop the server.
    let banner = format!("playground: http://{addr}/\npress Ctrl-C to stop\n");
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
    drop(out);

    let server = Arc::new(server);
    let hub = Arc::new(Hub::new());
    let session = Arc::new(Session::new(Arc::clone(&hub)));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (server, hub, session) =
                (Arc::clone(&server), Arc::clone(&hub), Arc::clone(&session));
            let authority = authority.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.requested() {
                    match server.recv_timeout(Duration::from_millis(200)) {
                        Ok(Some(request)) => serve_one(request, &authority, &session, &hub),
                        Ok(None) => {}
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    while !stop.requested() {
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("shutting down: pausing the run and closing the streams");
    session.shutdown();
    hub.close();
    server.unblock();
    for worker in workers {
        let _ = worker.join();
    }
    Ok(())
}

/// Checks and answers one request; nothing a request sends can stop the server.
fn serve_one(mut request: Request, authority: &Authority, session: &Arc<Session>, hub: &Arc<Hub>) {
    let result =
        guard::check(&request, authority).and_then(|()| routes::route(&mut request, session));
    let reply = match result {
        Ok(Some(reply)) => reply,
        Ok(None) => {
            let hub = Arc::clone(hub);
            std::thread::spawn(move || events::stream(request, &hub));
            return;
        }
        Err(err) => err.reply(),
    };
    // A client that left before the answer is its own loss.
    let _ = request.respond(reply.into_response());
}
