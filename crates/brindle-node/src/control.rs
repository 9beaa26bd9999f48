//! The control socket: a Unix stream socket (mode 0600) answering one JSON request per
//! connection — `{"command":"peers"}` or `{"command":"routes","prefix":"10.0.0.0/24"}` — with
//! one JSON line. `brindlectl bgp …` is its client.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use brindle_bgp::model::Prefix;
use brindle_bgp::speaker::Speaker;
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

#[derive(Deserialize)]
#[serde(tag = "command", rename_all = "lowercase")]
enum Request {
    Peers,
    Routes { prefix: Option<String> },
}

/// Removes the socket file when the server stops.
pub struct ControlSocket {
    path: PathBuf,
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Listens on `path` (creating its directory; replacing a stale socket) and serves `speaker`.
pub fn serve(path: &Path, speaker: Speaker) -> io::Result<ControlSocket> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = UnixListener::bind(path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot listen on {}: {e}", path.display()),
        )
    })?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let speaker = speaker.clone();
            tokio::spawn(async move {
                let _ = answer(stream, speaker).await;
            });
        }
    });
    Ok(ControlSocket {
        path: path.to_path_buf(),
    })
}

async fn answer(stream: UnixStream, speaker: Speaker) -> io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut line = String::new();
    BufReader::new(r).read_line(&mut line).await?;
    let reply = match serde_json::from_str::<Request>(&line) {
        Err(e) => serde_json::json!({ "error": format!("bad request: {e}") }),
        Ok(Request::Peers) => serde_json::to_value(speaker.peers().await).unwrap_or_default(),
        Ok(Request::Routes { prefix }) => match prefix.map(|p| p.parse::<Prefix>()).transpose() {
            Err(e) => serde_json::json!({ "error": e.to_string() }),
            Ok(p) => serde_json::to_value(speaker.routes(p).await).unwrap_or_default(),
        },
    };
    w.write_all(format!("{reply}\n").as_bytes()).await?;
    w.shutdown().await
}
