//! SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE over a connection: one
//! confirmation per channel (a push message in RESP3, an array in RESP2),
//! then the messages, pushed as they arrive (see `Session::drain_pushes`).
//! Pub/sub is server-wide, as in Redis: every database shares one hub.

use super::resp::encode_push;
use super::session::Session;
use crate::db::Reply;
use crate::db::pubsub::Subscription;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Messages queued per subscriber before it counts as too slow and is
/// disconnected (Redis's `client-output-buffer-limit pubsub`).
pub(crate) const QUEUE_LIMIT: usize = 32 * 1024;

/// Runs one of the four commands, writing its confirmations to `out`.
pub(crate) fn run(session: &mut Session, name: &str, args: &[Vec<u8>], out: &mut Vec<u8>) {
    let proto = session.proto();
    let names: Vec<&[u8]> = args[1..].iter().map(Vec::as_slice).collect();
    let pattern = name.starts_with('p');
    let joining = !name.contains("unsub");
    if joining && names.is_empty() {
        let e = Reply::Error(format!("ERR wrong number of arguments for '{name}' command"));
        super::resp::encode(e, proto, out);
        return;
    }
    // The databases share pub/sub: any one serves.
    let db = session.current().clone();
    let sub = session.sub.get_or_insert_with(|| {
        let info = Arc::downgrade(&session.info);
        let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
            if let Some(info) = info.upgrade() {
                info.wake.notify_one();
            }
        });
        Subscription::with_wake(&db, QUEUE_LIMIT, Some(wake))
    });
    let kind = name.to_string();
    let confirm = |sub: &Subscription, name: Option<&[u8]>, out: &mut Vec<u8>| {
        let channel = name.map_or(Reply::Null, Reply::bulk);
        encode_push(vec![Reply::Bulk(kind.clone().into_bytes()), channel, Reply::count(sub.count())], proto, out);
    };
    if joining {
        for n in &names {
            if pattern {
                sub.psubscribe(&[n]);
            } else {
                sub.subscribe(&[n]);
            }
            confirm(sub, Some(n), out);
        }
    } else {
        let targets: Vec<Vec<u8>> = if names.is_empty() {
            let current: Vec<&[u8]> = if pattern { sub.patterns().collect() } else { sub.channels().collect() };
            current.into_iter().map(<[u8]>::to_vec).collect()
        } else {
            names.iter().map(|n| n.to_vec()).collect()
        };
        if targets.is_empty() {
            confirm(sub, None, out);
        }
        for n in &targets {
            if pattern {
                sub.punsubscribe(&[n]);
            } else {
                sub.unsubscribe(&[n]);
            }
            confirm(sub, Some(n), out);
        }
    }
    session.info.subs.store(sub.channels().count(), Ordering::Relaxed);
    session.info.psubs.store(sub.patterns().count(), Ordering::Relaxed);
}
