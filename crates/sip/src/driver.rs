//! The tokio driver: one task owns the core and the sockets; TCP
//! connections get a reader and a writer task each. Events go out on a
//! channel; the desk reports back which calls are stored.

use crate::b2bua::{B2bua, Host, Output, Peer, Transport};
use dialtone_calls::{CallEvent, VendorCallKey};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};
use time::OffsetDateTime;

/// What the driver hands out and takes in.
pub struct Channels {
    pub events: mpsc::UnboundedSender<CallEvent>,
    pub persisted: mpsc::UnboundedReceiver<VendorCallKey>,
    /// Click-to-dial requests from the API.
    pub dials: mpsc::UnboundedReceiver<crate::Dial>,
    /// Third-party call control from the agent's browser; a refused command
    /// is logged with its reason.
    pub commands: mpsc::UnboundedReceiver<CommandRequest>,
    pub stats: watch::Sender<crate::Stats>,
    pub shutdown: watch::Receiver<bool>,
}

/// A call-control command and, when the sender waits for it, where to say
/// whether the core carried it out or why not.
pub struct CommandRequest {
    pub command: crate::Command,
    pub reply: Option<tokio::sync::oneshot::Sender<Result<(), crate::Refusal>>>,
}

impl From<crate::Command> for CommandRequest {
    fn from(command: crate::Command) -> CommandRequest {
        CommandRequest { command, reply: None }
    }
}

/// The UDP receive buffer asked for: a burst of INVITEs must wait in the
/// kernel, not be dropped (the default ~208 KiB overflowed at 750 calls/s).
const UDP_RECEIVE_BUFFER: usize = 8 * 1024 * 1024;

/// Binds UDP and TCP on `addr` (the same port).
pub async fn bind(addr: SocketAddr) -> std::io::Result<(UdpSocket, TcpListener)> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    // The kernel caps this at net.core.rmem_max; a smaller buffer is not an error.
    if let Err(e) = socket.set_recv_buffer_size(UDP_RECEIVE_BUFFER) {
        tracing::debug!(error = %e, "sip udp receive buffer");
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    let udp = UdpSocket::from_std(socket.into())?;
    let tcp = TcpListener::bind(udp.local_addr()?).await?;
    Ok((udp, tcp))
}

pub async fn run<H: Host + Send>(udp: UdpSocket, tcp: TcpListener, mut core: B2bua, mut host: H, mut ch: Channels) {
    let udp = Arc::new(udp);
    let (tcp_in_tx, mut tcp_in) = mpsc::channel::<(SocketAddr, Vec<u8>)>(4096);
    let mut conns: HashMap<SocketAddr, mpsc::UnboundedSender<Vec<u8>>> = HashMap::new();
    let mut buf = vec![0u8; 65_535];
    loop {
        let now = OffsetDateTime::now_utc();
        let wait = core.next_wakeup().map(|t| (t - now).clamp(time::Duration::ZERO, time::Duration::seconds(1))).unwrap_or(time::Duration::seconds(1));
        let wait = std::time::Duration::try_from(wait).unwrap_or_default();
        let outputs = tokio::select! {
            r = udp.recv_from(&mut buf) => match r {
                Ok((n, addr)) => {
                    let mut out = core.packet(OffsetDateTime::now_utc(), Peer { addr, transport: Transport::Udp }, &buf[..n], &mut host);
                    // Drain what else is waiting before going back to select.
                    for _ in 0..64 {
                        match udp.try_recv_from(&mut buf) {
                            Ok((n, addr)) => out.extend(core.packet(OffsetDateTime::now_utc(), Peer { addr, transport: Transport::Udp }, &buf[..n], &mut host)),
                            Err(_) => break,
                        }
                    }
                    out
                }
                Err(e) => { tracing::debug!(error = %e, "sip udp receive"); Vec::new() }
            },
            Some((addr, data)) = tcp_in.recv() => core.packet(OffsetDateTime::now_utc(), Peer { addr, transport: Transport::Tcp }, &data, &mut host),
            Ok((stream, addr)) = tcp.accept() => {
                conns.insert(addr, connection(stream, addr, tcp_in_tx.clone()));
                Vec::new()
            }
            Some(key) = ch.persisted.recv() => {
                let mut out = core.persisted(OffsetDateTime::now_utc(), &key);
                while let Ok(key) = ch.persisted.try_recv() {
                    out.extend(core.persisted(OffsetDateTime::now_utc(), &key));
                }
                out
            }
            Some(dial) = ch.dials.recv() => core.dial(OffsetDateTime::now_utc(), dial, &mut host),
            Some(CommandRequest { command, reply }) = ch.commands.recv() => {
                let (key, action) = (command.key.clone(), command.action.name());
                let result = core.command(OffsetDateTime::now_utc(), command, &mut host);
                if let Err(refusal) = &result {
                    tracing::warn!(%key, %action, %refusal, "call control command refused");
                }
                let (outputs, answer) = match result {
                    Ok(outputs) => (outputs, Ok(())),
                    Err(refusal) => (Vec::new(), Err(refusal)),
                };
                if let Some(reply) = reply {
                    let _ = reply.send(answer);
                }
                outputs
            }
            _ = tokio::time::sleep(wait) => core.poll(OffsetDateTime::now_utc(), &mut host),
            _ = ch.shutdown.changed() => break,
        };
        for o in outputs {
            match o {
                Output::Send { peer, data } => match peer.transport {
                    Transport::Udp => {
                        if let Err(e) = udp.send_to(&data, peer.addr).await {
                            tracing::debug!(error = %e, to = %peer.addr, "sip udp send");
                        }
                    }
                    Transport::Tcp => {
                        let alive = conns.get(&peer.addr).is_some_and(|c| !c.is_closed());
                        if !alive {
                            conns.insert(peer.addr, dial(peer.addr, tcp_in_tx.clone()));
                        }
                        if let Some(c) = conns.get(&peer.addr) {
                            let _ = c.send(data);
                        }
                    }
                },
                Output::Event(e) => {
                    let _ = ch.events.send(e);
                }
                Output::Rejected { peer, reason } => tracing::warn!(peer = %peer.addr, transport = peer.transport.as_str(), %reason, "sip message refused"),
            }
        }
        ch.stats.send_replace(core.stats_light());
    }
}

/// An accepted connection: a reader framing messages by Content-Length and
/// a writer draining the returned channel.
fn connection(stream: TcpStream, addr: SocketAddr, inbound: mpsc::Sender<(SocketAddr, Vec<u8>)>) -> mpsc::UnboundedSender<Vec<u8>> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(serve_stream(stream, addr, inbound, rx));
    tx
}

/// A connection we open toward a phone registered over TCP.
fn dial(addr: SocketAddr, inbound: mpsc::Sender<(SocketAddr, Vec<u8>)>) -> mpsc::UnboundedSender<Vec<u8>> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        match TcpStream::connect(addr).await {
            Ok(stream) => serve_stream(stream, addr, inbound, rx).await,
            Err(e) => tracing::warn!(error = %e, to = %addr, "sip tcp connect"),
        }
    });
    tx
}

async fn serve_stream(stream: TcpStream, addr: SocketAddr, inbound: mpsc::Sender<(SocketAddr, Vec<u8>)>, mut rx: mpsc::UnboundedReceiver<Vec<u8>>) {
    let _ = stream.set_nodelay(true);
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        while let Some(data) = rx.recv().await {
            if write.write_all(&data).await.is_err() {
                break;
            }
        }
    });
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    'read: loop {
        match read.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => pending.extend_from_slice(&chunk[..n]),
        }
        loop {
            match frame(&pending) {
                Frame::Complete(len) => {
                    let msg: Vec<u8> = pending.drain(..len).collect();
                    if inbound.send((addr, msg)).await.is_err() {
                        break 'read;
                    }
                }
                Frame::Skip(len) => {
                    pending.drain(..len);
                }
                Frame::Partial => break,
                Frame::Broken(reason) => {
                    tracing::warn!(peer = %addr, %reason, "sip tcp stream refused; closing");
                    break 'read;
                }
            }
        }
    }
    writer.abort();
}

#[derive(Debug, PartialEq, Eq)]
enum Frame {
    Complete(usize),
    Skip(usize),
    Partial,
    Broken(&'static str),
}

/// RFC 3261 §18.3: a stream message ends Content-Length bytes after its
/// blank line; leading CRLFs are keep-alives.
fn frame(buf: &[u8]) -> Frame {
    let skip = buf.iter().take_while(|b| **b == b'\r' || **b == b'\n').count();
    if skip > 0 {
        return Frame::Skip(skip);
    }
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > crate::wire::MAX_MESSAGE { Frame::Broken("header block too large") } else { Frame::Partial };
    };
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let mut length = None;
    for line in head.split("\r\n").skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l") {
                match value.trim().parse::<usize>() {
                    Ok(n) => length = Some(n),
                    Err(_) => return Frame::Broken("bad Content-Length"),
                }
            }
        }
    }
    let Some(length) = length else { return Frame::Broken("no Content-Length on a stream transport") };
    let total = head_end + 4 + length;
    if total > crate::wire::MAX_MESSAGE {
        return Frame::Broken("message too large");
    }
    if buf.len() >= total { Frame::Complete(total) } else { Frame::Partial }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_framing_follows_content_length() {
        let msg = b"OPTIONS sip:a SIP/2.0\r\nContent-Length: 3\r\n\r\nabcREST";
        assert_eq!(frame(msg), Frame::Complete(msg.len() - 4));
        assert_eq!(frame(&msg[..20]), Frame::Partial);
        assert_eq!(frame(b"\r\n\r\nOPTIONS"), Frame::Skip(4));
        assert_eq!(frame(b"OPTIONS sip:a SIP/2.0\r\n\r\n"), Frame::Broken("no Content-Length on a stream transport"));
        assert_eq!(frame(b"OPTIONS sip:a SIP/2.0\r\nl: x\r\n\r\n"), Frame::Broken("bad Content-Length"));
    }
}
