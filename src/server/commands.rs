//! The connection commands the server answers itself (the `Db` knows
//! nothing of connections): PING, ECHO, QUIT, HELLO; AUTH and ACL (in
//! `acl_commands`), COMMAND (in `command_info`). CLIENT is in
//! `client_cmd`.

use super::acl_commands::{self, ClientAuth};
use super::client_cmd::{BAD_NAME, valid_name};
use super::command_info;
use super::replies::{arity, eq};
use super::resp::Protocol;
use crate::acl::Acl;
use crate::db::Reply;

/// What a connection knows about itself.
#[derive(Debug)]
pub(crate) struct ClientState {
    /// The id `CLIENT ID` and `HELLO` report, unique per server.
    pub(crate) id: u64,
    /// The name set by `CLIENT SETNAME` or `HELLO … SETNAME`.
    pub(crate) name: Option<Vec<u8>>,
    /// The protocol replies are encoded in.
    pub(crate) proto: Protocol,
    /// Set by QUIT: close after sending the replies.
    pub(crate) quit: bool,
    /// The connection's user.
    pub(crate) auth: ClientAuth,
}

impl ClientState {
    /// A new connection, as the `default` user of `acl`.
    pub(crate) fn new(id: u64, acl: &Acl) -> ClientState {
        ClientState { id, name: None, proto: Protocol::Resp2, quit: false, auth: ClientAuth::new(acl) }
    }
}

/// Answers `args` if it is a connection command, `None` to hand it to the `Db`.
pub(crate) fn handle(args: &[Vec<u8>], client: &mut ClientState) -> Option<Reply> {
    let name = args.first()?;
    let n = args.len();
    let reply = if eq(name, "ping") {
        match n {
            1 => Reply::Simple("PONG"),
            2 => Reply::bulk(&args[1]),
            _ => arity("ping"),
        }
    } else if eq(name, "echo") {
        if n == 2 { Reply::bulk(&args[1]) } else { arity("echo") }
    } else if eq(name, "quit") {
        client.quit = true;
        Reply::OK
    } else if eq(name, "hello") {
        hello(args, client)
    } else if eq(name, "auth") {
        acl_commands::auth(args, client)
    } else if eq(name, "acl") {
        acl_commands::acl(args, client)
    } else if eq(name, "command") {
        command_info::command(args)
    } else {
        return None;
    };
    Some(reply)
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`.
fn hello(args: &[Vec<u8>], client: &mut ClientState) -> Reply {
    let mut proto = client.proto;
    let mut name = None;
    let mut credentials = None;
    if let Some(ver) = args.get(1) {
        match std::str::from_utf8(ver).ok().and_then(|s| s.parse::<i64>().ok()) {
            Some(2) => proto = Protocol::Resp2,
            Some(3) => proto = Protocol::Resp3,
            Some(_) => return Reply::Error("NOPROTO unsupported protocol version".into()),
            None => return Reply::Error("ERR Protocol version is not an integer or out of range".into()),
        }
        let mut i = 2;
        while i < args.len() {
            let more = args.len() - i - 1;
            if eq(&args[i], "auth") && more >= 2 {
                credentials = Some((&args[i + 1][..], &args[i + 2][..]));
                i += 3;
            } else if eq(&args[i], "setname") && more >= 1 {
                if !valid_name(&args[i + 1]) {
                    return Reply::Error(BAD_NAME.into());
                }
                name = Some(args[i + 1].clone());
                i += 2;
            } else {
                return Reply::Error(format!(
                    "ERR Syntax error in HELLO option '{}'",
                    String::from_utf8_lossy(&args[i])
                ));
            }
        }
    }
    if let Some(refused) = acl_commands::hello_auth(client, credentials) {
        return refused;
    }
    client.proto = proto;
    if let Some(name) = name {
        client.name = (!name.is_empty()).then_some(name);
    }
    let proto_num = if proto == Protocol::Resp3 { 3 } else { 2 };
    Reply::Map(vec![
        (Reply::bulk("server"), Reply::bulk("embercache")),
        (Reply::bulk("version"), Reply::bulk(env!("CARGO_PKG_VERSION"))),
        (Reply::bulk("proto"), Reply::Integer(proto_num)),
        (Reply::bulk("id"), Reply::Integer(i64::try_from(client.id).unwrap_or(i64::MAX))),
        (Reply::bulk("mode"), Reply::bulk("standalone")),
        (Reply::bulk("role"), Reply::bulk("master")),
        (Reply::bulk("modules"), Reply::Array(Vec::new())),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(client: &mut ClientState, args: &[&str]) -> Option<Reply> {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        handle(&args, client)
    }

    fn err(reply: Option<Reply>) -> String {
        match reply {
            Some(Reply::Error(e)) => e,
            other => panic!("not an error: {other:?}"),
        }
    }

    #[test]
    fn connection_commands() {
        let mut c = ClientState::new(7, &Acl::new());
        assert_eq!(run(&mut c, &["GET", "k"]), None);
        assert_eq!(run(&mut c, &["ping"]), Some(Reply::Simple("PONG")));
        assert_eq!(err(run(&mut c, &["ping", "a", "b"])), "ERR wrong number of arguments for 'ping' command");
        assert_eq!(err(run(&mut c, &["echo"])), "ERR wrong number of arguments for 'echo' command");
        assert_eq!(err(run(&mut c, &["hello", "x"])), "ERR Protocol version is not an integer or out of range");
        assert_eq!(err(run(&mut c, &["hello", "1"])), "NOPROTO unsupported protocol version");
        assert_eq!(
            err(run(&mut c, &["hello", "3", "auth", "bob", "pw"])),
            "WRONGPASS invalid username-password pair or user is disabled."
        );
        assert_eq!(err(run(&mut c, &["hello", "3", "bogus"])), "ERR Syntax error in HELLO option 'bogus'");
        assert_eq!(c.proto, Protocol::Resp2, "a failed HELLO changes nothing");
        let Some(Reply::Map(fields)) = run(&mut c, &["HELLO", "3", "AUTH", "default", "x", "SETNAME", "me"]) else {
            panic!("HELLO must answer a map")
        };
        assert_eq!(fields.len(), 7);
        assert_eq!(fields[2], (Reply::bulk("proto"), Reply::Integer(3)));
        assert_eq!(fields[3], (Reply::bulk("id"), Reply::Integer(7)));
        assert_eq!((c.proto, c.name.as_deref()), (Protocol::Resp3, Some(&b"me"[..])));
        assert_eq!(run(&mut c, &["client", "id"]), None, "CLIENT is answered in client_cmd");
        assert!(!c.quit);
        assert_eq!(run(&mut c, &["quit"]), Some(Reply::OK));
        assert!(c.quit);
    }
}
