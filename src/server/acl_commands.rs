//! Authentication and access control of connections: the gate every
//! command passes ([`admit`]: `NOAUTH` before authentication, `NOPERM` for
//! what the user may not run), and the `AUTH`, `HELLO … AUTH` and `ACL`
//! commands. The rules themselves live in [`crate::acl`].

use super::commands::ClientState;
use crate::acl::{Acl, DeniedReason, Session, runner_answers};
use crate::db::Reply;
use crate::db::catalog::{self, flag};

/// A connection's user: the `default` user's session until `AUTH`.
#[derive(Debug)]
pub(crate) struct ClientAuth {
    pub(crate) session: Session,
    /// Authenticated, or connected while `default` needed no password.
    pub(crate) authenticated: bool,
}

impl ClientAuth {
    /// A new connection of `acl`'s server, as the `default` user.
    pub(crate) fn new(acl: &Acl) -> ClientAuth {
        ClientAuth { session: Session::default_user(acl), authenticated: !acl.auth_required() }
    }
}

/// What the gate says about a command.
pub(crate) enum Admit {
    /// Run it (or let its runner answer that it is unknown or misused).
    Run,
    /// Refuse it with this error.
    Refuse(Reply),
    /// The connection's user was deleted: close the connection, as Redis does.
    Close,
}

/// The checks Redis makes before running a command, in its order: an
/// unknown command or a wrong argument count is left to the runner's error;
/// then `NOAUTH` before authentication (but for `AUTH`, `HELLO`, `QUIT`,
/// `RESET`); then the user's permissions. A user allowed everything costs
/// one atomic load here.
pub(crate) fn admit<A: AsRef<[u8]>>(args: &[A], client: &mut ClientState) -> Admit {
    let auth = &mut client.auth;
    if auth.authenticated || !auth.session.acl().auth_required() {
        return match auth.session.check_unlogged(args) {
            Ok(()) => Admit::Run,
            Err(d) if d.reason() == DeniedReason::NoSuchUser => Admit::Close,
            Err(_) if runner_answers(args) => Admit::Run,
            Err(d) => {
                auth.session.log(&d);
                Admit::Refuse(d.into())
            }
        };
    }
    if runner_answers(args) || catalog::resolve(args).is_some_and(|c| c.has_flag(flag::NO_AUTH)) {
        return Admit::Run;
    }
    Admit::Refuse(Reply::Error("NOAUTH Authentication required.".into()))
}

fn client_info(client: &ClientState, user: &[u8]) -> String {
    let name = client.name.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
    format!("id={} name={name} user={}", client.id, String::from_utf8_lossy(user))
}

/// Authenticates the connection as `user` (from `AUTH` or `HELLO … AUTH`);
/// `WRONGPASS` on failure.
pub(crate) fn authenticate(
    client: &mut ClientState,
    user: &[u8],
    password: &[u8],
    command: &[u8],
) -> Result<(), Reply> {
    let info = client_info(client, user);
    let acl = client.auth.session.acl().clone();
    match acl.authenticate_from(user, password, command, &info) {
        Ok(mut session) => {
            session.set_client_info(info);
            client.auth = ClientAuth { session, authenticated: true };
            Ok(())
        }
        Err(e) => Err(Reply::Error(e.to_string())),
    }
}

/// `AUTH [username] password`.
pub(crate) fn auth(args: &[Vec<u8>], client: &mut ClientState) -> Reply {
    let (user, password): (&[u8], &[u8]) = match args {
        [_, password] => {
            if !client.auth.session.acl().auth_required() {
                return Reply::Error(
                    "ERR AUTH <password> called without any password configured for the default user. Are you \
                     sure your configuration is correct?"
                        .into(),
                );
            }
            (b"default", password)
        }
        [_, user, password] => (user, password),
        [_] => return Reply::Error("ERR wrong number of arguments for 'auth' command".into()),
        _ => return Reply::Error("ERR syntax error".into()),
    };
    match authenticate(client, user, password, &args[0]) {
        Ok(()) => Reply::OK,
        Err(reply) => reply,
    }
}

/// The part of `HELLO` that concerns authentication: `AUTH` given, or the
/// connection must already be authenticated. `None` to carry on.
pub(crate) fn hello_auth(client: &mut ClientState, credentials: Option<(&[u8], &[u8])>) -> Option<Reply> {
    if let Some((user, password)) = credentials
        && let Err(reply) = authenticate(client, user, password, b"HELLO")
    {
        return Some(reply);
    }
    if !client.auth.authenticated && client.auth.session.acl().auth_required() {
        return Some(Reply::Error(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH \
             <user> <pass> option can be used to authenticate the client and select the RESP protocol version at \
             the same time"
                .into(),
        ));
    }
    None
}

/// `ACL …`; the connection is closed after the reply if its own user was
/// deleted (or replaced by `ACL LOAD`), as Redis does.
pub(crate) fn acl(args: &[Vec<u8>], client: &mut ClientState) -> Reply {
    let session = &mut client.auth.session;
    let reply = session.acl().command(args, Some(session.user_name()));
    if !session.is_alive() {
        client.quit = true;
    }
    reply
}
