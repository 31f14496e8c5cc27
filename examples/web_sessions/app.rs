//! The web_sessions application: sessions in an embercache `Db`, an
//! expensive report cached by `embercache::http::CacheLayer`.
//!
//! Shared by `main.rs` and by `tests/web_sessions.rs` (which includes this
//! file with `#[path]`), so the test drives exactly the app the example runs.

use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use embercache::Db;
use embercache::db::{DbResult, Expiration, ExpireCondition};
use embercache::http::{CacheLayer, CacheOptions};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Idle time after which a session expires; every request pushes it back.
pub(crate) const SESSION_TTL_SECS: i64 = 1800;
/// Longest user name accepted at login.
const MAX_USER_LEN: usize = 64;

#[derive(Clone)]
struct AppState {
    db: Db,
    /// How many times the report was computed (it says so in its body).
    report_runs: Arc<AtomicU64>,
}

/// The application: `POST /login`, `GET /me`, `POST /logout` and the
/// cached `GET /report`.
///
/// # Errors
///
/// Fails only if the report's cache cannot be built.
pub(crate) fn app(db: Db) -> Result<Router, embercache::ConfigError> {
    // Only the report goes through the cache: per-user routes gain nothing
    // from it (their responses are `no-store`), and would wait on each
    // other's coalesced misses.
    let cache = CacheLayer::new(CacheOptions::new().max_weight(8 << 20))?;
    let state = AppState { db, report_runs: Arc::new(AtomicU64::new(0)) };
    Ok(Router::new()
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/logout", post(logout))
        .route("/report", get(report).layer(cache))
        .with_state(state))
}

fn session_key(sid: &str) -> Vec<u8> {
    format!("session:{sid}").into_bytes()
}

/// The `sid` cookie of a request, if it is well formed (32 hex digits).
fn session_id(headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get_all(COOKIE).into_iter().filter_map(|v| v.to_str().ok());
    let sid = cookies.flat_map(|line| line.split(';')).find_map(|c| c.trim().strip_prefix("sid="))?;
    (sid.len() == 32 && sid.bytes().all(|b| b.is_ascii_hexdigit())).then(|| sid.to_owned())
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(CACHE_CONTROL, HeaderValue::from_static("no-store"))], body).into_response()
}

fn unauthorized() -> Response {
    text(StatusCode::UNAUTHORIZED, "no valid session: POST /login first\n".into())
}

fn internal(e: impl std::fmt::Display) -> Response {
    text(StatusCode::INTERNAL_SERVER_ERROR, format!("session store error: {e}\n"))
}

/// Gives `key` the full idle time again; false if it does not exist.
fn touch(db: &Db, key: &[u8]) -> DbResult<bool> {
    db.expire(key, Expiration::Seconds(SESSION_TTL_SECS), ExpireCondition::Always)
}

#[derive(serde::Deserialize)]
struct Login {
    user: String,
}

/// `POST /login` (form `user=NAME`): a new session and its cookie.
async fn login(State(state): State<AppState>, Form(login): Form<Login>) -> Response {
    let user = login.user.trim();
    if user.is_empty() || user.len() > MAX_USER_LEN {
        return text(StatusCode::BAD_REQUEST, format!("user must be 1 to {MAX_USER_LEN} bytes\n"));
    }
    let sid = format!("{:032x}", rand::random::<u128>());
    let key = session_key(&sid);
    let fields: [(&[u8], &[u8]); 2] = [(b"user", user.as_bytes()), (b"visits", b"0")];
    if let Err(e) = state.db.hset(&key, &fields) {
        return internal(e);
    }
    if let Err(e) = touch(&state.db, &key) {
        return internal(e);
    }
    let cookie = format!("sid={sid}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SESSION_TTL_SECS}");
    let mut response = text(StatusCode::OK, format!("welcome, {user}\n"));
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
}

/// `GET /me`: the session's fields, after counting this visit.
async fn me(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(sid) = session_id(&headers) else { return unauthorized() };
    let key = session_key(&sid);
    match touch(&state.db, &key) {
        Ok(true) => {}
        Ok(false) => return unauthorized(),
        Err(e) => return internal(e),
    }
    if let Err(e) = state.db.hincrby(&key, b"visits", 1) {
        return internal(e);
    }
    let fields = match state.db.hgetall(&key) {
        Ok(fields) => fields,
        Err(e) => return internal(e),
    };
    // A logout between EXPIRE and HINCRBY leaves a hash with no user.
    if !fields.iter().any(|(f, _)| f == b"user") {
        state.db.del(&[&key]);
        return unauthorized();
    }
    let mut body = String::new();
    for (field, value) in &fields {
        let _ = writeln!(body, "{}={}", String::from_utf8_lossy(field), String::from_utf8_lossy(value));
    }
    text(StatusCode::OK, body)
}

/// `POST /logout`: deletes the session and the cookie.
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(sid) = session_id(&headers) else { return unauthorized() };
    if state.db.del(&[&session_key(&sid)]) == 0 {
        return unauthorized();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(SET_COOKIE, HeaderValue::from_static("sid=; Path=/; HttpOnly; Max-Age=0"));
    response
}

/// `GET /report`: slow on purpose (a 50 ms "query"), public and fresh for
/// 30 s, so the cache layer answers all but one request in 30 s.
async fn report(State(state): State<AppState>) -> Response {
    let run = state.report_runs.fetch_add(1, Ordering::Relaxed) + 1;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let sessions = state.db.keys(b"session:*");
    let visits: i64 = sessions
        .iter()
        .filter_map(|k| state.db.hget(k, b"visits").ok().flatten())
        .filter_map(|v| std::str::from_utf8(&v).ok()?.parse::<i64>().ok())
        .sum();
    let body = format!("report #{run}: {} sessions, {visits} visits\n", sessions.len());
    (StatusCode::OK, [(CACHE_CONTROL, HeaderValue::from_static("public, max-age=30"))], body).into_response()
}
