//! A small axum web application whose sessions live in an embercache `Db`
//! and whose expensive page is cached by embercache's tower layer.
//!
//! - `POST /login` (form `user=NAME`) creates a hash `session:<sid>` with
//!   `user` and `visits` fields and sets the cookie `sid`;
//! - `GET /me` counts a visit (`HINCRBY`) and shows the session, or 401;
//! - `POST /logout` deletes the session;
//! - `GET /report` is slow (50 ms) and `public, max-age=30`: the
//!   `CacheLayer` serves it from memory (`X-Cache: HIT`, `Age`).
//!
//! Every session request runs `EXPIRE session:<sid> 1800`: sessions expire
//! after 30 idle minutes, and the `Db`'s housekeeper reclaims them.
//!
//! ```text
//! cargo run --example web_sessions --features tower [-- --port 3000]
//! ```

mod app;

use std::net::SocketAddr;
use std::time::Duration;

fn port() -> Result<u16, String> {
    let mut args = std::env::args().skip(1);
    let mut port = 3000;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let value = args.next().ok_or("--port needs a value")?;
                port = value.parse().map_err(|_| format!("not a port: {value}"))?;
            }
            other => return Err(format!("unknown argument {other}; usage: web_sessions [--port N]")),
        }
    }
    Ok(port)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port()?));
    let db = embercache::Db::builder().housekeeper(Duration::from_secs(1)).build()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let base = format!("http://{}", listener.local_addr()?);
    println!("listening on {base}; try:");
    println!("  curl -i -c jar -d user=ada {base}/login");
    println!("  curl -b jar {base}/me            # visits=1, then 2, ...");
    println!("  curl -i {base}/report            # X-Cache: MISS, then HIT for 30 s");
    println!("  curl -b jar -X POST {base}/logout");
    println!("  curl -i -b jar {base}/me         # 401");
    println!("sessions expire after {} idle seconds", app::SESSION_TTL_SECS);
    axum::serve(listener, app::app(db)?).await?;
    Ok(())
}
