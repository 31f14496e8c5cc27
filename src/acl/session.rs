//! [`Session`]: one authenticated user, as a connection (or an in-process
//! component) holds it. It keeps a snapshot of its user and re-reads it
//! only when the ACL changed (one atomic load per check otherwise), so a
//! change of the user's rules applies to its next call, and a deleted user
//! is refused from then on.

use super::Acl;
use super::error::{Denied, DeniedReason};
use super::user::User;
use std::sync::Arc;

/// An authenticated user of an [`Acl`]: from [`Acl::authenticate`] or
/// [`Acl::session`].
#[derive(Debug, Clone)]
pub struct Session {
    acl: Acl,
    user: Arc<User>,
    /// The ACL generation `user` was read at.
    generation: u64,
    /// The user was deleted (or replaced by `ACL LOAD`): refused forever.
    gone: bool,
    client_info: String,
}

impl Session {
    pub(crate) fn new(acl: Acl, user: Arc<User>, generation: u64) -> Session {
        Session { acl, user, generation, gone: false, client_info: String::new() }
    }

    /// A session of the `default` user, on or off (a server's new
    /// connections start as it).
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn default_user(acl: &Acl) -> Session {
        let generation = acl.generation();
        match acl.user("default") {
            Some(u) => Session::new(acl.clone(), u, generation),
            // Cannot happen (`default` is never removed); refuse everything if it did.
            None => Session { gone: true, ..Session::new(acl.clone(), Arc::new(User::new(b"default", 0)), generation) },
        }
    }

    /// The user's name.
    pub fn user_name(&self) -> &[u8] {
        self.user.name()
    }

    /// The user as last read (call [`Session::refresh`] first for the latest).
    pub fn user(&self) -> &Arc<User> {
        &self.user
    }

    /// The ACL this session belongs to.
    pub fn acl(&self) -> &Acl {
        &self.acl
    }

    /// How the ACL log describes this session's client (a server sets the
    /// `CLIENT INFO` line).
    pub fn set_client_info(&mut self, info: impl Into<String>) {
        self.client_info = info.into();
    }

    /// Re-reads the user if the ACL changed; `false` if it is gone.
    pub fn refresh(&mut self) -> bool {
        let now = self.acl.generation();
        if now != self.generation && !self.gone {
            self.generation = now;
            match self.acl.user(self.user.name()) {
                Some(u) if u.uid == self.user.uid => self.user = u,
                _ => self.gone = true,
            }
        }
        !self.gone
    }

    /// Whether the user still exists (see [`Session::refresh`]).
    pub fn is_alive(&mut self) -> bool {
        self.refresh()
    }

    /// Whether the session's user may run `args` (the command name first);
    /// a refusal is logged.
    pub fn check<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<(), Denied> {
        self.check_unlogged(args).inspect_err(|d| self.log(d))
    }

    /// [`Session::check`] without logging a refusal (see [`Session::log`]).
    pub(crate) fn check_unlogged<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<(), Denied> {
        if !self.refresh() {
            return Err(self.gone_error());
        }
        self.user.check(args)
    }

    /// Whether the user, as it is now, may run every command on every key
    /// and channel: a caller checking many keys of one command may then
    /// skip the checks. `false` for a user that is gone.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn unrestricted(&mut self) -> bool {
        self.refresh() && self.user.root.allows_everything()
    }

    /// Logs a refusal in the ACL log, with this session's client info.
    pub(crate) fn log(&self, denied: &Denied) {
        self.acl.log_denied(denied, &self.client_info);
    }

    /// [`Session::check_unlogged`] through a shared reference: `None` if
    /// the ACL changed since the user was read (then call `check_unlogged`).
    pub(crate) fn check_current<A: AsRef<[u8]>>(&self, args: &[A]) -> Option<Result<(), Denied>> {
        if self.gone {
            return Some(Err(self.gone_error()));
        }
        if self.acl.generation() != self.generation {
            return None;
        }
        Some(self.user.check(args))
    }

    fn gone_error(&self) -> Denied {
        Denied { reason: DeniedReason::NoSuchUser, user: self.user.name.clone(), object: Vec::new(), index: 0 }
    }
}
