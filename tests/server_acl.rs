#![cfg(feature = "server")]
//! Authentication, ACLs and COMMAND over the RESP server, with the real
//! `redis` client and raw sockets.

use embercache::Db;
use embercache::acl::Acl;
use embercache::server::{Server, ServerBuilder, ServerHandle};
use redis::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

struct TestServer {
    rt: tokio::runtime::Runtime,
    handle: Option<ServerHandle>,
    addr: SocketAddr,
}

impl TestServer {
    fn start(builder: ServerBuilder) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let server = builder.bind("127.0.0.1:0").build().unwrap();
        let handle = {
            let _enter = rt.enter();
            server.spawn(Db::new()).unwrap()
        };
        let addr = handle.local_addr();
        TestServer { rt, handle: Some(handle), addr }
    }

    /// A client logged in as `user` (the URL's credentials: the crate sends AUTH).
    fn client_as(&self, user: &str, password: &str) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(format!("redis://{user}:{password}@{}/", self.addr))?.get_connection()
    }

    fn client(&self) -> redis::Connection {
        redis::Client::open(format!("redis://{}/", self.addr)).unwrap().get_connection().unwrap()
    }

    fn raw(&self) -> Raw {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Raw(s)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = self.rt.block_on(handle.shutdown());
        }
    }
}

/// A raw connection: inline commands in, one reply line out.
struct Raw(TcpStream);

impl Raw {
    fn call(&mut self, line: &str) -> String {
        self.0.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        let mut out = Vec::new();
        let mut b = [0u8; 1];
        while !out.ends_with(b"\r\n") {
            match self.0.read(&mut b) {
                Ok(1) => out.push(b[0]),
                _ => break,
            }
        }
        String::from_utf8_lossy(&out).trim_end().to_string()
    }

    fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.0.read(&mut b), Ok(0) | Err(_))
    }
}

fn q<T: redis::FromRedisValue>(con: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<T> {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con)
}

fn err_text(e: redis::RedisError) -> String {
    // The redis crate splits the code (NOPERM, WRONGPASS, …) from the detail.
    format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or(""))
}

#[test]
fn requirepass_noauth_and_auth() {
    let server = TestServer::start(Server::builder().requirepass("secret"));
    let mut raw = server.raw();
    assert_eq!(raw.call("PING"), "-NOAUTH Authentication required.");
    assert_eq!(raw.call("GET k"), "-NOAUTH Authentication required.");
    assert_eq!(raw.call("NOSUCH"), "-ERR unknown command 'NOSUCH', with args beginning with:");
    assert!(raw.call("HELLO 2").starts_with("-NOAUTH HELLO must be called with the client already authenticated"));
    assert_eq!(raw.call("AUTH wrong"), "-WRONGPASS invalid username-password pair or user is disabled.");
    assert_eq!(raw.call("AUTH default wrong"), "-WRONGPASS invalid username-password pair or user is disabled.");
    assert_eq!(
        raw.call("HELLO 2 AUTH default wrong"),
        "-WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(raw.call("AUTH a b c"), "-ERR syntax error");
    assert_eq!(raw.call("AUTH secret"), "+OK");
    assert_eq!(raw.call("PING"), "+PONG");
    assert_eq!(raw.call("ACL WHOAMI"), "$7");

    let mut hello = server.raw();
    assert_eq!(hello.call("HELLO 3 AUTH default secret"), "%7");

    assert!(server.client_as("default", "wrong").is_err());
    let mut con = server.client_as("default", "secret").unwrap();
    let () = q(&mut con, &["SET", "k", "v"]).unwrap();
    let log: Vec<Value> = q(&mut con, &["ACL", "LOG"]).unwrap();
    assert!(log.len() >= 2, "the failed AUTHs are logged: {log:?}");
}

#[test]
fn auth_without_password_configured() {
    let server = TestServer::start(Server::builder());
    let mut raw = server.raw();
    assert_eq!(raw.call("PING"), "+PONG", "default is nopass: no AUTH needed");
    assert_eq!(
        raw.call("AUTH x"),
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your \
         configuration is correct?"
    );
    assert_eq!(raw.call("AUTH default anything"), "+OK", "nopass accepts any password");
}

#[test]
fn per_user_commands_and_keys() {
    let acl = Acl::new();
    let server = TestServer::start(Server::builder().acl(acl.clone()));
    let mut admin = server.client();
    let () = q(&mut admin, &["ACL", "SETUSER", "bob", "on", ">pw", "~bob:*", "+@read", "+set", "-keys"]).unwrap();
    let () = q(&mut admin, &["SET", "other", "x"]).unwrap();

    let mut bob = server.client_as("bob", "pw").unwrap();
    let whoami: String = q(&mut bob, &["ACL", "WHOAMI"]).unwrap_or_else(err_text);
    assert_eq!(whoami, "NOPERM User bob has no permissions to run the 'acl|whoami' command");
    let () = q(&mut bob, &["SET", "bob:1", "v"]).unwrap();
    let v: String = q(&mut bob, &["GET", "bob:1"]).unwrap();
    assert_eq!(v, "v");
    let e = q::<Value>(&mut bob, &["GET", "other"]).unwrap_err();
    assert_eq!(err_text(e), "NOPERM No permissions to access a key");
    let e = q::<Value>(&mut bob, &["DEL", "bob:1"]).unwrap_err();
    assert_eq!(err_text(e), "NOPERM User bob has no permissions to run the 'del' command");
    let e = q::<Value>(&mut bob, &["KEYS", "*"]).unwrap_err();
    assert_eq!(err_text(e), "NOPERM User bob has no permissions to run the 'keys' command");
    let e = q::<Value>(&mut bob, &["GET"]).unwrap_err();
    assert_eq!(err_text(e), "ERR wrong number of arguments for 'get' command", "arity before permissions");

    // Changes through the shared Acl handle apply to connected clients.
    acl.set_user("bob", &["+del"]).unwrap();
    let n: i64 = q(&mut bob, &["DEL", "bob:1"]).unwrap();
    assert_eq!(n, 1);

    let dry: String = q(&mut admin, &["ACL", "DRYRUN", "bob", "get", "other"]).unwrap();
    assert_eq!(dry, "User bob has no permissions to access the 'other' key");
    let log: Vec<Vec<Value>> = q(&mut admin, &["ACL", "LOG"]).unwrap();
    let field = |i: usize| -> Vec<String> {
        log.iter()
            .map(|e| match &e[i] {
                Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                other => format!("{other:?}"),
            })
            .collect()
    };
    assert_eq!(field(3), ["command", "command", "key", "command"], "reasons, newest first: {log:?}");
    assert_eq!(field(7), ["keys", "del", "other", "acl|whoami"], "objects");
    assert_eq!(field(9), ["bob"; 4], "usernames");
    let () = q(&mut admin, &["ACL", "LOG", "RESET"]).unwrap();
    let log: Vec<Value> = q(&mut admin, &["ACL", "LOG"]).unwrap();
    assert!(log.is_empty());
}

#[test]
fn acl_management_commands() {
    let server = TestServer::start(Server::builder());
    let mut con = server.client();
    let () = q(&mut con, &["ACL", "SETUSER", "amy", "on", "nopass", "~a*", "&news", "+get"]).unwrap();
    let list: Vec<String> = q(&mut con, &["ACL", "LIST"]).unwrap();
    assert_eq!(list, ["user amy on nopass ~a* resetchannels &news -@all +get", "user default on nopass ~* &* +@all"]);
    let users: Vec<String> = q(&mut con, &["ACL", "USERS"]).unwrap();
    assert_eq!(users, ["amy", "default"]);
    let user: Vec<Value> = q(&mut con, &["ACL", "GETUSER", "amy"]).unwrap();
    assert_eq!(user.len(), 12);
    assert_eq!(user[4], Value::BulkString(b"commands".to_vec()));
    assert_eq!(user[5], Value::BulkString(b"-@all +get".to_vec()));
    let none: Option<Vec<Value>> = q(&mut con, &["ACL", "GETUSER", "nobody"]).unwrap();
    assert!(none.is_none());
    let e = q::<Value>(&mut con, &["ACL", "SETUSER", "amy", "+nope"]).unwrap_err();
    assert_eq!(err_text(e), "ERR Error in ACL SETUSER modifier '+nope': Unknown command or category name in ACL");
    let cats: Vec<String> = q(&mut con, &["ACL", "CAT"]).unwrap();
    assert_eq!(cats.len(), 21);

    let mut amy = server.raw();
    assert_eq!(amy.call("AUTH amy x"), "+OK");
    assert_eq!(amy.call("GET a1"), "$-1");
    let e = q::<Value>(&mut con, &["ACL", "DELUSER", "default"]).unwrap_err();
    assert_eq!(err_text(e), "ERR The 'default' user cannot be removed");
    let n: i64 = q(&mut con, &["ACL", "DELUSER", "amy", "nobody"]).unwrap();
    assert_eq!(n, 1);
    assert_eq!(amy.call("GET a1"), "", "the deleted user's connection is closed");
    assert!(amy.closed());
}

#[test]
fn acl_file_load_and_save() {
    let dir = std::env::temp_dir().join(format!("embercache-server-acl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("users.acl");
    std::fs::write(&path, "user default on nopass ~* &* +@all\nuser carl on >pw ~c:* +@all\n").unwrap();
    let server = TestServer::start(Server::builder().aclfile(&path));
    let mut carl = server.client_as("carl", "pw").unwrap();
    let e = q::<Value>(&mut carl, &["GET", "x"]).unwrap_err();
    assert_eq!(err_text(e), "NOPERM No permissions to access a key");

    let mut con = server.client();
    let () = q(&mut con, &["ACL", "SETUSER", "dora", "on", "nopass", "+@all", "~*"]).unwrap();
    let () = q(&mut con, &["ACL", "SAVE"]).unwrap();
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(saved.contains("user dora on nopass ~* resetchannels +@all\n"), "{saved}");
    std::fs::write(&path, "user default on nopass ~* &* +@all\nbad line\n").unwrap();
    let e = q::<Value>(&mut con, &["ACL", "LOAD"]).unwrap_err();
    let text = err_text(e);
    assert!(text.contains(":2 should start with user keyword") && text.contains("no change"), "{text}");
    let users: Vec<String> = q(&mut con, &["ACL", "USERS"]).unwrap();
    assert_eq!(users, ["carl", "default", "dora"], "a bad file changes nothing");
    std::fs::write(&path, "user default on nopass ~* &* +@all\n").unwrap();
    let () = q(&mut con, &["ACL", "LOAD"]).unwrap();
    let users: Vec<String> = q(&mut con, &["ACL", "USERS"]).unwrap();
    assert_eq!(users, ["default"]);
    assert!(q::<Value>(&mut carl, &["PING"]).is_err(), "carl was replaced: the connection is closed");

    std::fs::write(&path, "user x on +nope\n").unwrap();
    let e = Server::builder().aclfile(&path).bind("127.0.0.1:0").build().unwrap_err();
    assert!(e.to_string().contains("Unknown command or category name in ACL"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn command_introspection() {
    let server = TestServer::start(Server::builder());
    let mut con = server.client();
    let count: i64 = q(&mut con, &["COMMAND", "COUNT"]).unwrap();
    assert!(count > 150, "{count}");
    let info: Vec<Value> = q(&mut con, &["COMMAND", "INFO", "get", "nosuch", "config|get"]).unwrap();
    assert_eq!(info.len(), 3);
    assert_eq!(info[1], Value::Nil);
    let Value::Array(get) = &info[0] else { panic!("{info:?}") };
    assert_eq!(get[0], Value::BulkString(b"get".to_vec()));
    assert_eq!(get[1], Value::Int(2));
    assert_eq!(get[3..6], [Value::Int(1), Value::Int(1), Value::Int(1)]);
    let all: Vec<Value> = q(&mut con, &["COMMAND"]).unwrap();
    assert_eq!(all.len() as i64, count);
    let docs: Vec<Value> = q(&mut con, &["COMMAND", "DOCS", "set"]).unwrap();
    assert_eq!(docs[0], Value::BulkString(b"set".to_vec()));
    let keys: Vec<String> =
        q(&mut con, &["COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"]).unwrap();
    assert_eq!(keys, ["d", "a", "b"]);
    let e = q::<Value>(&mut con, &["COMMAND", "GETKEYS", "ping", "x"]).unwrap_err();
    assert_eq!(err_text(e), "ERR The command has no key arguments");
    let list: Vec<String> = q(&mut con, &["COMMAND", "LIST", "FILTERBY", "PATTERN", "config|*"]).unwrap();
    assert!(list.contains(&"config|get".to_string()) && list.iter().all(|n| n.starts_with("config|")));
    let e = q::<Value>(&mut con, &["COMMAND", "NOPE"]).unwrap_err();
    assert_eq!(err_text(e), "ERR unknown subcommand 'NOPE'. Try COMMAND HELP.");
}
