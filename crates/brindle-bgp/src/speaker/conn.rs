//! One TCP connection of a peer: a reader task that frames and decodes what arrives, and a
//! writer task that writes what the speaker task queued. Both report to the speaker task.
//!
//! The reader decodes UPDATEs with the parameters the two OPENs imply (four-octet AS,
//! ADD-PATH). It computes them itself when the peer's OPEN arrives, from our own OPEN, so the
//! first UPDATE after the handshake is never decoded with stale parameters.

use std::net::IpAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

use super::info::closed_text;
use crate::fsm::ConnId;
use crate::model::{Message, Notification, Open, Update};
use crate::wire::{CodecParams, DecodeError, FrameDecoder};

/// What a connection reports to the speaker task. `serial` tells a connection from a later one
/// with the same [`ConnId`].
#[derive(Debug)]
pub enum ConnEvent {
    /// A decoded message (UPDATEs already corrected per RFC 7606 where the RFC allows).
    Message(Message),
    /// A message that resets the session: send this NOTIFICATION and close.
    Malformed(Notification, String),
    /// A problem the session survives (treat-as-withdraw, attribute discard), for the log.
    Warning(String),
    /// The connection ended, with the reason in words.
    Closed(String),
    /// The writer has written everything queued so far.
    Drained,
}

/// The speaker task's handle on a running connection.
pub struct ConnHandle {
    /// Tells this connection's reports from a later connection's.
    pub serial: u64,
    writer: UnboundedSender<WriterCmd>,
    reader: JoinHandle<()>,
    /// Bytes queued and not yet written.
    pub queued: usize,
    /// How what we send on this connection is encoded (set when the session is up).
    pub params: CodecParams,
    /// Our address on the connection (the "self" next hop).
    pub local: Option<IpAddr>,
}

enum WriterCmd {
    Bytes(Vec<u8>),
    Close,
}

/// A report from connection `serial` of peer `peer`.
#[derive(Debug)]
pub struct Report {
    /// The peer's address.
    pub peer: IpAddr,
    /// The connection.
    pub id: ConnId,
    /// The connection's serial number.
    pub serial: u64,
    /// What happened.
    pub event: ConnEvent,
}

impl ConnHandle {
    /// Starts the reader and writer of `stream`. `local_open` is the OPEN we send on it.
    pub fn start(
        stream: TcpStream,
        peer: IpAddr,
        id: ConnId,
        serial: u64,
        local_open: Open,
        reports: UnboundedSender<Report>,
    ) -> ConnHandle {
        let name = super::info::conn_name(id == ConnId::Outgoing, stream.peer_addr().ok(), peer);
        let local = stream.local_addr().ok().map(|a| match a.ip() {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        });
        let (r, w) = stream.into_split();
        let (wtx, wrx) = unbounded_channel();
        let report = Reporter {
            peer,
            id,
            serial,
            tx: reports,
            name: name.into(),
        };
        tokio::spawn(write_loop(w, wrx, report.clone()));
        let reader = tokio::spawn(read_loop(r, local_open, report));
        ConnHandle {
            serial,
            writer: wtx,
            reader,
            queued: 0,
            params: CodecParams::default(),
            local,
        }
    }

    /// Queues encoded bytes for writing.
    pub fn send(&mut self, bytes: Vec<u8>) {
        self.queued += bytes.len();
        let _ = self.writer.send(WriterCmd::Bytes(bytes));
    }

    /// Writes what is queued, then closes; stops reading at once.
    pub fn close(self) {
        let _ = self.writer.send(WriterCmd::Close);
        self.reader.abort();
    }
}

#[derive(Clone)]
struct Reporter {
    peer: IpAddr,
    id: ConnId,
    serial: u64,
    tx: UnboundedSender<Report>,
    /// The connection in words (`connection to 10.0.0.2:179`), for why it ended.
    name: Arc<str>,
}

impl Reporter {
    fn send(&self, event: ConnEvent) -> bool {
        let r = Report {
            peer: self.peer,
            id: self.id,
            serial: self.serial,
            event,
        };
        self.tx.send(r).is_ok()
    }
}

async fn read_loop(mut r: OwnedReadHalf, local_open: Open, report: Reporter) {
    let mut decoder = FrameDecoder::new();
    let mut params = CodecParams::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut got_open = false;
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) => {
                let text = closed_text(&report.name, !got_open, None);
                report.send(ConnEvent::Closed(text));
                return;
            }
            Ok(n) => n,
            Err(e) => {
                let text = closed_text(&report.name, !got_open, Some(&e));
                report.send(ConnEvent::Closed(text));
                return;
            }
        };
        decoder.feed(&buf[..n]);
        loop {
            let event = match decoder.decode_next(&params) {
                Ok(None) => break,
                Ok(Some(msg)) => {
                    if let Message::Open(remote) = &msg {
                        params = CodecParams::negotiate(&local_open, remote);
                        got_open = true;
                    }
                    ConnEvent::Message(msg)
                }
                Err(DecodeError::Fatal {
                    notification,
                    detail,
                }) => {
                    report.send(ConnEvent::Malformed(notification, detail));
                    return;
                }
                // RFC 7606 §2: withdraw what the malformed UPDATE announced.
                Err(e @ DecodeError::TreatAsWithdraw { .. }) => {
                    let text = e.to_string();
                    let DecodeError::TreatAsWithdraw { withdrawn, .. } = e else {
                        continue;
                    };
                    report.send(ConnEvent::Warning(text));
                    ConnEvent::Message(Message::Update(Update {
                        withdrawn,
                        ..Update::default()
                    }))
                }
                Err(e @ DecodeError::AttributeDiscard { .. }) => {
                    let text = e.to_string();
                    let DecodeError::AttributeDiscard { update, .. } = e else {
                        continue;
                    };
                    report.send(ConnEvent::Warning(text));
                    ConnEvent::Message(Message::Update(update))
                }
                Err(e @ DecodeError::Ignored { .. }) => ConnEvent::Warning(e.to_string()),
            };
            if !report.send(event) {
                return;
            }
        }
    }
}

async fn write_loop(mut w: OwnedWriteHalf, mut rx: UnboundedReceiver<WriterCmd>, report: Reporter) {
    while let Some(cmd) = rx.recv().await {
        match cmd {
            WriterCmd::Bytes(b) => {
                if let Err(e) = w.write_all(&b).await {
                    let text = closed_text(&report.name, false, Some(&e));
                    report.send(ConnEvent::Closed(format!("{text} (while writing)")));
                    return;
                }
                if rx.is_empty() {
                    report.send(ConnEvent::Drained);
                }
            }
            WriterCmd::Close => {
                let _ = w.shutdown().await;
                return;
            }
        }
    }
}
