//! Serves a `Db` over the Redis protocol, so `redis-cli -p 6380` (or any
//! Redis client) can talk to it until the process is stopped (Ctrl-C). See
//! `Server::spawn` and `serve_until` for a graceful shutdown.
//!
//! ```text
//! cargo run --example resp_server --features server
//! redis-cli -p 6380 set greeting hello
//! ```

use embercache::Db;
use embercache::server::Server;

fn main() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    // Loopback only; `bind("0.0.0.0:6380")` would expose it to the network.
    let server = Server::builder().bind("127.0.0.1:6380").max_clients(1_000).build()?;
    println!("listening on {}", server.local_addr()?);
    runtime.block_on(server.serve(Db::new()))
}
