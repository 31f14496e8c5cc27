//! The web_sessions example, served on a loopback port and driven by a
//! real HTTP client (hyper's): login, sliding session expiry, logout, and
//! the report served from the cache layer.

#![cfg(feature = "tower")]

#[path = "../examples/web_sessions/app.rs"]
mod app;

use bytes::Bytes;
use embercache::Db;
use embercache::db::KeyTtl;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

struct Site {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

struct Page {
    status: StatusCode,
    headers: hyper::HeaderMap,
    body: String,
}

impl Site {
    async fn start(db: Db) -> Site {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = app::app(db).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Site { base, client: Client::builder(TokioExecutor::new()).build_http() }
    }

    async fn send(&self, method: Method, path: &str, cookie: Option<&str>, form: Option<&str>) -> Page {
        let mut req = Request::builder().method(method).uri(format!("{}{path}", self.base));
        if let Some(cookie) = cookie {
            req = req.header(COOKIE, cookie);
        }
        if form.is_some() {
            req = req.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let body = Full::new(Bytes::from(form.unwrap_or_default().to_owned()));
        let response = self.client.request(req.body(body).unwrap()).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Page { status: parts.status, headers: parts.headers, body: String::from_utf8_lossy(&body).into_owned() }
    }
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_live_in_the_db_and_the_report_is_cached() {
    let db = Db::new();
    let site = Site::start(db.clone()).await;

    assert_eq!(site.send(Method::GET, "/me", None, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(site.send(Method::POST, "/login", None, Some("user=")).await.status, StatusCode::BAD_REQUEST);

    let login = site.send(Method::POST, "/login", None, Some("user=ada")).await;
    assert_eq!(login.status, StatusCode::OK);
    let set_cookie = login.header(SET_COOKIE.as_str());
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let sid = cookie.strip_prefix("sid=").unwrap();
    let key = format!("session:{sid}");

    let KeyTtl::Expires(ttl) = db.ttl(key.as_bytes()) else { panic!("the session has no TTL") };
    assert!(ttl > app::SESSION_TTL_SECS - 60 && ttl <= app::SESSION_TTL_SECS, "{ttl}");

    let me = site.send(Method::GET, "/me", Some(&cookie), None).await;
    assert_eq!((me.status, me.body.as_str()), (StatusCode::OK, "user=ada\nvisits=1\n"));
    let me = site.send(Method::GET, "/me", Some(&cookie), None).await;
    assert!(me.body.contains("visits=2"), "{}", me.body);
    assert_eq!(db.hget(key.as_bytes(), b"visits").unwrap().as_deref(), Some(&b"2"[..]));
    assert!(matches!(db.ttl(key.as_bytes()), KeyTtl::Expires(_)), "HINCRBY keeps the sliding TTL");

    let bad = "sid=0123456789abcdef0123456789abcdef";
    assert_eq!(site.send(Method::GET, "/me", Some(bad), None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(site.send(Method::GET, "/me", Some("sid=../../etc"), None).await.status, StatusCode::UNAUTHORIZED);

    let first = site.send(Method::GET, "/report", None, None).await;
    let second = site.send(Method::GET, "/report", None, None).await;
    assert_eq!((first.status, first.header("x-cache")), (StatusCode::OK, "MISS"));
    assert!(first.body.starts_with("report #1: 1 sessions, 2 visits"), "{}", first.body);
    assert_eq!(second.header("x-cache"), "HIT");
    assert_eq!(second.body, first.body, "the handler ran once");
    assert_eq!(second.header("cache-control"), "public, max-age=30");

    let logout = site.send(Method::POST, "/logout", Some(&cookie), None).await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    assert_eq!(db.exists(&[key.as_bytes()]), 0);
    assert_eq!(site.send(Method::GET, "/me", Some(&cookie), None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(site.send(Method::POST, "/logout", Some(&cookie), None).await.status, StatusCode::UNAUTHORIZED);
}
