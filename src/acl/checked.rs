//! [`CheckedDb`]: a [`Db`] handle that runs every command through an ACL
//! user's permissions first, so one component of an application can be
//! limited to its own keys and commands.

use super::Acl;
use super::error::{AclError, Denied};
use super::runner_answers;
use super::session::Session;
use crate::db::{Db, Reply};
use parking_lot::RwLock;
use std::fmt;

/// A [`Db`] seen through an ACL user: [`CheckedDb::execute`] refuses what
/// the user may not run, with Redis's `NOPERM` errors. From
/// [`Db::with_user`]. Rule changes of the user apply to the next call;
/// once the user is deleted, every call is refused.
///
/// ```
/// use embercache::Db;
/// use embercache::acl::Acl;
/// use embercache::db::Reply;
///
/// let db = Db::new();
/// let acl = Acl::new();
/// // The session store may read and write its own keys, and nothing else.
/// acl.set_user("sessions", &["on", "~session:*", "+@read", "+@write", "-@dangerous"])?;
/// let sessions = db.with_user(&acl, "sessions")?;
///
/// assert_eq!(sessions.execute(&["SET", "session:42", "ada"]), Reply::OK);
/// assert_eq!(sessions.execute(&["GET", "session:42"]), Reply::bulk("ada"));
/// assert_eq!(
///     sessions.execute(&["GET", "billing:42"]),
///     Reply::Error("NOPERM No permissions to access a key".into())
/// );
/// assert_eq!(
///     sessions.execute(&["FLUSHDB"]),
///     Reply::Error("NOPERM User sessions has no permissions to run the 'flushdb' command".into())
/// );
/// # Ok::<(), embercache::acl::AclError>(())
/// ```
pub struct CheckedDb {
    db: Db,
    session: RwLock<Session>,
}

impl fmt::Debug for CheckedDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let user = String::from_utf8_lossy(self.session.read().user_name()).into_owned();
        f.debug_struct("CheckedDb").field("user", &user).field("db", &self.db).finish()
    }
}

impl Clone for CheckedDb {
    /// Another handle for the same user and `Db` (give each thread its
    /// own: clones share nothing mutable).
    fn clone(&self) -> Self {
        CheckedDb { db: self.db.clone(), session: RwLock::new(self.session.read().clone()) }
    }
}

impl Db {
    /// This keyspace seen through the ACL user `user` (no password: the
    /// application vouches for its own components). The user must exist
    /// and be `on`.
    pub fn with_user(&self, acl: &Acl, user: impl AsRef<[u8]>) -> Result<CheckedDb, AclError> {
        Ok(CheckedDb { db: self.clone(), session: RwLock::new(acl.session(user)?) })
    }
}

impl CheckedDb {
    /// The user's name.
    pub fn user_name(&self) -> Vec<u8> {
        self.session.read().user_name().to_vec()
    }

    /// Whether the user may run `args` (a refusal is logged in the ACL log).
    pub fn check<A: AsRef<[u8]>>(&self, args: &[A]) -> Result<(), Denied> {
        self.check_unlogged(args).inspect_err(|d| self.session.read().log(d))
    }

    fn check_unlogged<A: AsRef<[u8]>>(&self, args: &[A]) -> Result<(), Denied> {
        if let Some(result) = self.session.read().check_current(args) {
            return result;
        }
        self.session.write().check_unlogged(args)
    }

    /// Runs `args` as [`Db::execute`] does, if the user may: else Redis's
    /// `NOPERM` error. As in Redis, an unknown command or a wrong argument
    /// count is reported before the permission check.
    pub fn execute<A: AsRef<[u8]>>(&self, args: &[A]) -> Reply {
        match self.check_unlogged(args) {
            Ok(()) => self.db.execute(args),
            Err(_) if runner_answers(args) => self.db.execute(args),
            Err(denied) => {
                self.session.read().log(&denied);
                denied.into()
            }
        }
    }
}
