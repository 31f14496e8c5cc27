//! A server on a free loopback port for the server tests (included by
//! path from each of them).
#![allow(dead_code, unreachable_pub)]

use embercache::Db;
use embercache::server::{Server, ServerBuilder, ServerHandle};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A server on a free loopback port, on its own runtime.
pub struct TestServer {
    pub rt: tokio::runtime::Runtime,
    handle: Option<ServerHandle>,
    pub addr: SocketAddr,
    /// The Memcached listener's address, if the builder asked for one.
    pub memcached: Option<SocketAddr>,
}

impl TestServer {
    pub fn start(builder: ServerBuilder) -> Self {
        Self::start_with(builder, Db::new())
    }

    /// Starts `builder`'s server serving `db`. It serves the way
    /// `embercache-server` does, on two I/O threads whose pumps own the
    /// connections (handing a connection to a task of its own when it has
    /// to wait); with `EMBERCACHE_TEST_SERVE=tasks` in the environment, as
    /// an application on a multi-thread runtime does, a task per
    /// connection. CI runs these tests both ways.
    pub fn start_with(builder: ServerBuilder, db: Db) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let builder = match std::env::var("EMBERCACHE_TEST_SERVE").as_deref() {
            Ok("tasks") => builder,
            Ok("pumps") | Err(_) => builder.io_threads(2),
            Ok(other) => panic!("EMBERCACHE_TEST_SERVE={other}: expected tasks or pumps"),
        };
        let server = builder.bind("127.0.0.1:0").build().unwrap();
        let handle = {
            let _enter = rt.enter();
            server.spawn(db).unwrap()
        };
        let (addr, memcached) = (handle.local_addr(), handle.memcached_addr());
        TestServer { rt, handle: Some(handle), addr, memcached }
    }

    pub fn new() -> Self {
        Self::start(Server::builder())
    }

    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url()).unwrap().get_connection().unwrap()
    }

    pub fn raw(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    pub fn shutdown(mut self) {
        let handle = self.handle.take().unwrap();
        self.rt.block_on(handle.shutdown()).unwrap();
    }
}
