//! One client connection: read, parse every complete command, run each,
//! write all their replies at once.

use super::Config;
use super::acl_commands::{self, Admit};
use super::commands::{self, ClientState};
use super::resp::{RequestParser, encode};
use crate::db::command::{BLOCKING, lookup};
use crate::db::{BlockCancel, Db, Reply};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// How much is read from the socket at a time (Redis's `PROTO_IOBUF_LEN`).
const READ_CHUNK: usize = 16 * 1024;

/// Whether `name` is a command that may block its caller.
fn is_blocking(name: &[u8]) -> bool {
    lookup(name).is_some_and(|c| c.flags & BLOCKING != 0)
}

/// Serves one connection until the peer leaves, sends QUIT or a malformed
/// request, overflows the query buffer, or the server shuts down.
pub(crate) async fn serve(
    mut stream: TcpStream,
    db: Db,
    config: Arc<Config>,
    id: u64,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let mut parser = RequestParser::new(config.parse_limits);
    let mut client = ClientState::new(id, &config.acl);
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut out: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    loop {
        let read = tokio::select! {
            r = stream.read(&mut chunk) => r,
            _ = shutdown.wait_for(|&stop| stop) => return,
        };
        let n = match read {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut start = 0;
        let mut close = false;
        loop {
            let req = match parser.parse(&buf[start..]) {
                Ok(Some(req)) => req,
                Ok(None) => break,
                Err(e) => {
                    // As Redis: reply with the error, then close.
                    encode(Reply::Error(e.to_string()), client.proto, &mut out);
                    close = true;
                    break;
                }
            };
            start += req.consumed;
            let args = req.args;
            if args.is_empty() {
                continue;
            }
            match acl_commands::admit(&args, &mut client) {
                Admit::Run => {}
                Admit::Refuse(reply) => {
                    encode(reply, client.proto, &mut out);
                    continue;
                }
                Admit::Close => {
                    close = true;
                    break;
                }
            }
            let reply = match commands::handle(&args, &mut client) {
                Some(reply) => reply,
                None if is_blocking(&args[0]) => {
                    // The replies before it go out first: the client may
                    // wait on them while this one blocks.
                    if !flush(&mut stream, &mut out, &mut shutdown).await {
                        return;
                    }
                    let db = db.clone();
                    let cancel = BlockCancel::new();
                    let token = Arc::clone(&cancel);
                    let mut task = tokio::task::spawn_blocking(move || db.execute_cancellable(&args, &token));
                    // While it waits, keep reading: more commands are
                    // queued, and a client that leaves cancels the wait, so
                    // data pushed later is not taken for a closed socket.
                    let stopping = async {
                        let _ = shutdown.wait_for(|&stop| stop).await;
                    };
                    tokio::pin!(stopping);
                    let reply = loop {
                        tokio::select! {
                            r = &mut task => break Some(r.unwrap_or_else(|_| Reply::Error("ERR internal error".into()))),
                            () = &mut stopping => break None,
                            r = stream.read(&mut chunk) => match r {
                                Ok(0) | Err(_) => break None,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            },
                        }
                    };
                    match reply {
                        Some(reply) => reply,
                        None => {
                            // Shut down, or the client left: stop the wait.
                            cancel.cancel();
                            let _ = task.await;
                            return;
                        }
                    }
                }
                None => db.execute(&args),
            };
            encode(reply, client.proto, &mut out);
            if client.quit {
                close = true;
                break;
            }
        }
        buf.drain(..start);
        if !flush(&mut stream, &mut out, &mut shutdown).await {
            return;
        }
        if close || buf.len() > config.query_buffer_limit {
            // Redis closes a client whose unparsed input exceeds the limit.
            return;
        }
    }
}

/// Writes and clears `out`; `false` if the connection is to be dropped (a
/// write error, or a shutdown while a slow reader keeps the write waiting).
async fn flush(stream: &mut TcpStream, out: &mut Vec<u8>, shutdown: &mut watch::Receiver<bool>) -> bool {
    if out.is_empty() {
        return true;
    }
    let written = tokio::select! {
        r = stream.write_all(out) => r.is_ok(),
        _ = shutdown.wait_for(|&stop| stop) => false,
    };
    out.clear();
    written
}
