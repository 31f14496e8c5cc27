//! Access control as Redis 7 has it: users with passwords, allowed
//! commands, key patterns and channel patterns; usable in process (limit a
//! component of an application to its own keys with [`Db::with_user`]) and
//! by the server (`AUTH`, `HELLO … AUTH`, `ACL …`).
//!
//! [`Acl`] is a cheap, thread-safe handle on the user table. Users are
//! changed with Redis's `ACL SETUSER` rules ([`Acl::set_user`]), all of a
//! call's rules or none:
//!
//! | rule | effect |
//! |---|---|
//! | `on`, `off` | may authenticate, or not (running sessions carry on) |
//! | `>pw`, `<pw` | adds, removes a password (kept as its SHA-256) |
//! | `#hash`, `!hash` | adds, removes a password by its hash (64 lowercase hex digits) |
//! | `nopass`, `resetpass` | any password works; no password works (until one is added) |
//! | `+cmd`, `-cmd`, `+cmd\|sub`, `-cmd\|sub` | allows, denies a command or a container's subcommand |
//! | `+cmd\|arg` | allows an otherwise denied command with that first argument (Redis's deprecated form) |
//! | `+@cat`, `-@cat`, `allcommands` (`+@all`), `nocommands` (`-@all`) | a category of [`crate::db::catalog::cat`] |
//! | `~pat`, `%R~pat`, `%W~pat`, `%RW~pat`, `allkeys` (`~*`), `resetkeys` | key glob patterns, for reading and/or writing |
//! | `&pat`, `allchannels` (`&*`), `resetchannels` | Pub/Sub channel patterns |
//! | `(rules…)`, `clearselectors` | adds a selector (an alternative set of permissions), drops them all |
//! | `reset` | back to a new user's state: `off resetpass resetkeys resetchannels -@all` |
//!
//! A call is allowed if the user's root permissions or any of its
//! selectors allow the command, every key it names (with the access it
//! needs: reads need `%R~`, writes `%W~`, both `~`) and every channel.
//! [`Acl::check`] answers by user name; a [`Session`] keeps the user and
//! re-reads it only when the table changed, so a user with `+@all ~* &*`
//! is checked in a few nanoseconds.
//!
//! The `default` user starts `on nopass ~* &* +@all` (everyone is it until
//! they authenticate as someone else); [`Acl::set_requirepass`] gives it a
//! password. `ACL LIST` and the ACL file describe users as Redis 7.2+ does
//! (`user bob on #<sha256> ~cache:* resetchannels -@all +get`), keeping the
//! command rules in the order given.
//!
//! ```
//! use embercache::acl::Acl;
//!
//! let acl = Acl::new();
//! acl.set_user("bob", &["on", ">s3cret", "~cache:*", "+@read", "-keys"])?;
//! let mut bob = acl.authenticate("bob", "s3cret")?;
//! assert!(bob.check(&["GET", "cache:1"]).is_ok());
//! let denied = bob.check(&["GET", "secret"]).unwrap_err();
//! assert_eq!(denied.to_string(), "NOPERM No permissions to access a key");
//! let denied = bob.check(&["SET", "cache:1", "x"]).unwrap_err();
//! assert_eq!(denied.to_string(), "NOPERM User bob has no permissions to run the 'set' command");
//! assert!(acl.authenticate("bob", "wrong").is_err());
//! assert_eq!(acl.list()[0], b"user bob on #1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0 ~cache:* resetchannels -@all +@read -keys");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Not supported: `ACL GENPASS` (no random source in the crate's
//! dependencies), module authentication, and quoted arguments inside a
//! selector (`("~a b")`): rules and patterns may not hold spaces, tabs or
//! line breaks, so every description reads back.
//!
//! [`Db::with_user`]: crate::Db::with_user

mod check;
mod checked;
mod command;
mod error;
mod file;
mod log;
mod password;
mod selector;
mod session;
mod user;

pub(crate) use check::runner_answers;
pub use checked::CheckedDb;
pub use error::{AclError, AuthError, Denied, DeniedReason, RuleErrorKind};
pub use log::{DEFAULT_LOG_MAX_LEN, LogEntry, LogReason};
pub use session::Session;
pub use user::User;

use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The users, by name (sorted, as `ACL LIST` shows them).
type Users = BTreeMap<Box<[u8]>, Arc<User>>;

/// The user table: shared, thread-safe, cheap to clone (clones share it).
#[derive(Clone)]
pub struct Acl {
    inner: Arc<Inner>,
}

struct Inner {
    users: RwLock<Users>,
    /// Bumped after every change of `users`: sessions re-read their user
    /// when it moved.
    generation: AtomicU64,
    next_uid: AtomicU64,
    log: Mutex<log::Log>,
    file: Mutex<Option<PathBuf>>,
}

impl fmt::Debug for Acl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acl").field("users", &self.inner.users.read().len()).finish_non_exhaustive()
    }
}

impl Default for Acl {
    fn default() -> Self {
        Acl::new()
    }
}

const DEFAULT: &[u8] = b"default";

impl Acl {
    /// A table with only the `default` user, `on nopass ~* &* +@all`.
    pub fn new() -> Acl {
        let mut users = Users::new();
        users.insert(DEFAULT.into(), Arc::new(User::new_default(0)));
        Acl {
            inner: Arc::new(Inner {
                users: RwLock::new(users),
                generation: AtomicU64::new(0),
                next_uid: AtomicU64::new(1),
                log: Mutex::new(log::Log::new()),
                file: Mutex::new(None),
            }),
        }
    }

    fn uid(&self) -> u64 {
        self.inner.next_uid.fetch_add(1, Ordering::Relaxed)
    }

    /// Changes the table under its write lock, then tells sessions.
    fn update<R>(&self, f: impl FnOnce(&mut Users) -> R) -> R {
        let r = f(&mut self.inner.users.write());
        self.inner.generation.fetch_add(1, Ordering::Release);
        r
    }

    pub(crate) fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Creates `name` (off, without permissions) if needed, then applies
    /// `rules` in order, as `ACL SETUSER`: all of them, or none if one is
    /// refused.
    pub fn set_user<A: AsRef<[u8]>>(&self, name: impl AsRef<[u8]>, rules: &[A]) -> Result<(), AclError> {
        let name = name.as_ref();
        if !user::valid_name(name) {
            return Err(AclError::BadUsername);
        }
        let uid = self.uid();
        self.update(|users| {
            let mut user = match users.get(name) {
                Some(u) => User::clone(u),
                None => User::new(name, uid),
            };
            user.apply_all(rules)?;
            users.insert(name.into(), Arc::new(user));
            Ok(())
        })
    }

    /// Deletes users (`ACL DELUSER`), returning how many existed. The
    /// `default` user cannot be deleted (then nothing is). Their sessions
    /// are refused from then on (a server closes their connections).
    pub fn delete_users<A: AsRef<[u8]>>(&self, names: &[A]) -> Result<usize, AclError> {
        if names.iter().any(|n| n.as_ref() == DEFAULT) {
            return Err(AclError::DefaultUser);
        }
        Ok(self.update(|users| names.iter().filter(|n| users.remove(n.as_ref()).is_some()).count()))
    }

    /// A snapshot of the user `name`.
    pub fn user(&self, name: impl AsRef<[u8]>) -> Option<Arc<User>> {
        self.inner.users.read().get(name.as_ref()).cloned()
    }

    /// The user names, sorted (`ACL USERS`).
    pub fn users(&self) -> Vec<Vec<u8>> {
        self.inner.users.read().keys().map(|n| n.to_vec()).collect()
    }

    /// Every user as a rule line (`ACL LIST`), sorted by name.
    pub fn list(&self) -> Vec<Vec<u8>> {
        self.inner.users.read().values().map(|u| u.acl_list_line()).collect()
    }

    /// Redis's `requirepass`: `Some(pw)` makes `pw` the `default` user's
    /// only password (clients must authenticate); `None` makes it `nopass`.
    pub fn set_requirepass(&self, password: Option<&[u8]>) {
        self.update(|users| {
            if let Some(u) = users.get_mut(DEFAULT) {
                let u = Arc::make_mut(u);
                let _ = u.apply(b"resetpass");
                match password {
                    Some(pw) => {
                        let mut op = b">".to_vec();
                        op.extend_from_slice(pw);
                        let _ = u.apply(&op);
                    }
                    None => {
                        let _ = u.apply(b"nopass");
                    }
                }
            }
        });
    }

    /// Whether clients must authenticate before anything else: the
    /// `default` user has a password (not `nopass`) or is `off`.
    pub fn auth_required(&self) -> bool {
        self.user(DEFAULT).is_none_or(|u| !u.is_enabled() || !u.is_nopass())
    }

    /// Checks `user`'s password and opens a session for it; a failure is
    /// logged (`ACL LOG`, reason `auth`).
    pub fn authenticate(&self, user: impl AsRef<[u8]>, password: impl AsRef<[u8]>) -> Result<Session, AuthError> {
        self.authenticate_from(user.as_ref(), password.as_ref(), b"AUTH", "")
    }

    /// [`Acl::authenticate`] with what to log on failure: the command that
    /// tried (`AUTH`, `HELLO`) and the client's description.
    pub(crate) fn authenticate_from(
        &self,
        user: &[u8],
        password: &[u8],
        command: &[u8],
        client_info: &str,
    ) -> Result<Session, AuthError> {
        let generation = self.generation();
        match self.user(user) {
            Some(u) if u.check_password(password) => Ok(Session::new(self.clone(), u, generation)),
            _ => {
                self.inner.log.lock().add(LogReason::Auth, command, user, client_info, log::now_ms());
                Err(AuthError)
            }
        }
    }

    /// A session for `user` without a password, for code the application
    /// trusts (an in-process component). The user must exist and be `on`.
    pub fn session(&self, user: impl AsRef<[u8]>) -> Result<Session, AclError> {
        let name = user.as_ref();
        let generation = self.generation();
        match self.user(name) {
            Some(u) if u.is_enabled() => Ok(Session::new(self.clone(), u, generation)),
            Some(_) => Err(AclError::UserDisabled(String::from_utf8_lossy(name).into_owned())),
            None => Err(AclError::NoSuchUser(String::from_utf8_lossy(name).into_owned())),
        }
    }

    /// Whether `user` may run `args` (the command name first); a refusal is
    /// logged. An unknown user is refused ([`DeniedReason::NoSuchUser`]).
    pub fn check<A: AsRef<[u8]>>(&self, user: impl AsRef<[u8]>, args: &[A]) -> Result<(), Denied> {
        let name = user.as_ref();
        let result = match self.inner.users.read().get(name) {
            Some(u) => u.check(args),
            None => Err(Denied { reason: DeniedReason::NoSuchUser, user: name.into(), object: Vec::new(), index: 0 }),
        };
        if let Err(d) = &result {
            self.log_denied(d, "");
        }
        result
    }

    pub(crate) fn log_denied(&self, denied: &Denied, client_info: &str) {
        self.inner.log.lock().add_denied(denied, client_info);
    }

    /// The latest `count` entries of the ACL log, newest first.
    pub fn log(&self, count: usize) -> Vec<LogEntry> {
        self.inner.log.lock().latest(count)
    }

    /// Empties the ACL log (`ACL LOG RESET`).
    pub fn reset_log(&self) {
        self.inner.log.lock().clear();
    }

    /// Bounds the ACL log (Redis's `acllog-max-len`, default [`DEFAULT_LOG_MAX_LEN`]).
    pub fn set_log_max_len(&self, n: usize) {
        self.inner.log.lock().set_max_len(n);
    }
}

#[cfg(test)]
mod tests;
