//! The two servers the differential test compares: a real `redis-server`
//! started by the test (`support/redis.rs`'s guard kills it, even on panic),
//! and embercache's RESP server in-process.

use crate::redis_support::{RedisProc, skip_unless_available};
use embercache::Db;
use embercache::server::{Server, ServerHandle};
use std::net::SocketAddr;

/// A `redis-server` as the comparison needs it, or `None` when it is not
/// installed (skipped loudly; a failure under `CI=true`).
pub(crate) fn start_redis(test: &str) -> Option<RedisProc> {
    let bins = skip_unless_available(test, false)?;
    // Two databases, as the embercache server here: SELECT, MOVE, SWAPDB and
    // COPY … DB between 0 and 1, and 2 out of range. hz 500: blocking
    // commands time out within a few milliseconds (at the default 10, about
    // 100).
    Some(RedisProc::start(&bins.server, &["--databases", "2", "--hz", "500"]))
}

/// embercache's RESP server on a free loopback port, on its own runtime.
pub(crate) struct EmberServer {
    rt: tokio::runtime::Runtime,
    handle: Option<ServerHandle>,
    pub(crate) addr: SocketAddr,
}

impl EmberServer {
    pub(crate) fn start() -> EmberServer {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        // Two databases, as the reference redis-server is started with.
        let server = Server::builder().bind("127.0.0.1:0").databases(2).build().expect("bind a loopback port");
        let handle = {
            let _enter = rt.enter();
            server.spawn(Db::new()).expect("spawn the server")
        };
        let addr = handle.local_addr();
        EmberServer { rt, handle: Some(handle), addr }
    }
}

impl Drop for EmberServer {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = self.rt.block_on(h.shutdown());
        }
    }
}
