//! The health endpoints kubelet (or any HTTP prober) polls: `GET /liveness` and
//! `GET /readiness`, over a deliberately tiny HTTP/1.1 server (one request per connection).
//!
//! The agent loop owns the [`watch::Sender`] of [`Health`] and publishes every change. Readiness
//! follows Calico's rule: the node is not ready while any configured BGP peer is not
//! Established, and says which (`BGP not established with 10.0.0.2,10.0.0.3`). When the
//! sender is dropped (the agent loop ended), liveness fails too.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A request head larger than this is refused (the probes send a few hundred bytes).
const MAX_HEAD: usize = 8 * 1024;

/// A client gets this long to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// What the agent reports about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Health {
    /// The agent loop is running (false before it starts and after it stops).
    pub alive: bool,
    /// Configured BGP peers whose session is not Established.
    pub not_established: Vec<IpAddr>,
    /// Why the agent is not ready for another reason than BGP (e.g. `datastore not reachable`).
    pub not_ready: Option<String>,
}

impl Health {
    /// The readiness failure, or `None` when ready.
    pub fn readiness_failure(&self) -> Option<String> {
        let mut reasons = Vec::new();
        if !self.alive {
            reasons.push("the agent loop is not running".to_string());
        }
        if let Some(r) = &self.not_ready {
            reasons.push(r.clone());
        }
        if !self.not_established.is_empty() {
            let peers: Vec<String> = self
                .not_established
                .iter()
                .map(|ip| ip.to_string())
                .collect();
            reasons.push(format!("BGP not established with {}", peers.join(",")));
        }
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }
}

/// The status code and body for `method path` given `health`.
pub fn respond(method: &str, path: &str, health: &Health) -> (u16, String) {
    // The query string plays no part (`/readiness?verbose` is `/readiness`).
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    if !matches!(path, "/liveness" | "/readiness") {
        return (404, "not found".into());
    }
    if method != "GET" {
        return (405, "method not allowed".into());
    }
    if path == "/liveness" {
        return if health.alive {
            (200, "ok".into())
        } else {
            (503, "the agent loop is not running".into())
        };
    }
    match health.readiness_failure() {
        None => (200, "ready".into()),
        Some(why) => (503, why),
    }
}

/// The running server; dropping it stops accepting connections.
#[must_use = "the health server stops when this is dropped"]
pub struct HealthServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl HealthServer {
    /// The address it listens on (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for HealthServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `addr` (an error, with the address, if that fails) and serves the health endpoints
/// from `state` in a spawned task.
pub async fn serve(addr: SocketAddr, state: watch::Receiver<Health>) -> io::Result<HealthServer> {
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot listen for health checks on {addr}: {e}"),
        )
    })?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let state = state.clone();
                    tokio::spawn(async move {
                        let _ = answer(stream, state).await;
                    });
                }
                // Out of file descriptors and the like: wait instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    Ok(HealthServer { addr, task })
}

/// Reads one request head and writes the response.
async fn answer(mut stream: TcpStream, state: watch::Receiver<Health>) -> io::Result<()> {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(head)) => head,
        Ok(Err(e)) => return Err(e),
        Err(_) => return Ok(()),
    };
    let (code, body) = match parse_request_line(&head) {
        Some((method, path)) => {
            let mut health = state.borrow().clone();
            // The agent loop dropped its sender: it is not running any more.
            if state.has_changed().is_err() {
                health.alive = false;
            }
            respond(method, path, &health)
        }
        None => (400, "bad request".into()),
    };
    stream.write_all(response(code, &body).as_bytes()).await?;
    stream.shutdown().await
}

/// Reads up to the blank line that ends the head (at most [`MAX_HEAD`] bytes).
async fn read_head(stream: &mut TcpStream) -> io::Result<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
        if head.len() > MAX_HEAD {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// `GET /readiness HTTP/1.1` as (`GET`, `/readiness`).
fn parse_request_line(head: &str) -> Option<(&str, &str)> {
    let line = head.lines().next()?;
    let mut parts = line.split_ascii_whitespace();
    let (method, path, version) = (parts.next()?, parts.next()?, parts.next()?);
    (parts.next().is_none() && version.starts_with("HTTP/1.")).then_some((method, path))
}

/// A complete response that closes the connection.
fn response(code: u16, body: &str) -> String {
    let reason = match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    let allow = if code == 405 { "Allow: GET\r\n" } else { "" };
    format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\n{allow}Connection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn up() -> Health {
        Health {
            alive: true,
            ..Health::default()
        }
    }

    #[test]
    fn readiness_names_every_peer_not_established() {
        assert_eq!(respond("GET", "/readiness", &up()), (200, "ready".into()));
        let h = Health {
            not_established: vec![ip("10.0.0.2"), ip("10.0.0.3")],
            ..up()
        };
        assert_eq!(
            respond("GET", "/readiness", &h),
            (503, "BGP not established with 10.0.0.2,10.0.0.3".into())
        );
        let h = Health {
            not_ready: Some("datastore not reachable".into()),
            ..h
        };
        assert_eq!(
            respond("GET", "/readiness?verbose=1", &h).1,
            "datastore not reachable; BGP not established with 10.0.0.2,10.0.0.3"
        );
    }

    #[test]
    fn liveness_follows_the_agent_loop() {
        assert_eq!(respond("GET", "/liveness", &up()), (200, "ok".into()));
        assert_eq!(respond("GET", "/liveness", &Health::default()).0, 503);
        // A node not ready is still alive.
        let h = Health {
            not_established: vec![ip("fd00::2")],
            ..up()
        };
        assert_eq!(respond("GET", "/liveness", &h).0, 200);
        let stopped = Health::default();
        assert_eq!(
            respond("GET", "/readiness", &stopped),
            (503, "the agent loop is not running".into())
        );
    }

    #[test]
    fn other_paths_and_methods() {
        assert_eq!(respond("GET", "/", &up()).0, 404);
        assert_eq!(respond("POST", "/metrics", &up()).0, 404);
        assert_eq!(respond("POST", "/readiness", &up()).0, 405);
        assert_eq!(respond("HEAD", "/liveness", &up()).0, 405);
        assert_eq!(
            parse_request_line("GET /liveness HTTP/1.1\r\nHost: x\r\n\r\n"),
            Some(("GET", "/liveness"))
        );
        assert_eq!(parse_request_line("GET /liveness\r\n\r\n"), None);
        assert_eq!(parse_request_line(""), None);
    }

    async fn get(addr: SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(request.as_bytes()).await.expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).await.expect("read");
        out
    }

    #[tokio::test]
    async fn serves_real_http() {
        let (tx, rx) = watch::channel(up());
        let server = serve("127.0.0.1:0".parse().expect("addr"), rx)
            .await
            .expect("bind");
        let addr = server.local_addr();
        let req = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");

        let r = get(addr, &req("/readiness")).await;
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.ends_with("\r\n\r\nready"), "{r}");

        let _ = tx.send(Health {
            not_established: vec![ip("10.0.0.2"), ip("10.0.0.3")],
            ..up()
        });
        let r = get(addr, &req("/readiness")).await;
        assert!(r.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{r}");
        let body = "BGP not established with 10.0.0.2,10.0.0.3";
        assert!(
            r.contains(&format!("Content-Length: {}\r\n", body.len())),
            "{r}"
        );
        assert!(r.ends_with(&format!("\r\n\r\n{body}")), "{r}");
        assert!(get(addr, &req("/liveness")).await.ends_with("\r\n\r\nok"));
        assert!(get(addr, &req("/nope")).await.starts_with("HTTP/1.1 404 "));
        let r = get(addr, "DELETE /liveness HTTP/1.1\r\n\r\n").await;
        assert!(
            r.starts_with("HTTP/1.1 405 ") && r.contains("Allow: GET\r\n"),
            "{r}"
        );
        assert!(
            get(addr, "garbage\r\n\r\n")
                .await
                .starts_with("HTTP/1.1 400 ")
        );

        drop(tx);
        assert!(
            get(addr, &req("/liveness"))
                .await
                .starts_with("HTTP/1.1 503 ")
        );

        let taken = serve(addr, watch::channel(up()).1).await;
        assert!(taken.is_err_and(|e| e.to_string().contains(&addr.to_string())));
    }
}
