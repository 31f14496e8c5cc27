//! The ACL errors, worded as Redis words them.

use std::fmt;
use std::io;

/// Why one ACL rule was refused: the text after `Error in ACL SETUSER
/// modifier '…': `.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleErrorKind {
    /// `+foo`, `-@nope`: no such command or category.
    #[error("Unknown command or category name in ACL")]
    UnknownCommand,
    /// Not a rule, or a pattern with a space.
    #[error("Syntax error")]
    Syntax,
    /// A key pattern after `~*` or `allkeys`.
    #[error(
        "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. \
         Try 'resetkeys' to start with an empty list of patterns"
    )]
    KeyPatternAfterAll,
    /// A channel pattern after `&*` or `allchannels`.
    #[error(
        "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any \
         effect. Try 'resetchannels' to start with an empty list of channels"
    )]
    ChannelPatternAfterAll,
    /// `<pw` or `!hash` for a password the user does not have.
    #[error("The password you are trying to remove from the user does not exist")]
    NoSuchPassword,
    /// `#hash` or `!hash` with something else than 64 lowercase hex digits.
    #[error("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")]
    BadHash,
    /// `+config|get|x`.
    #[error("Allowing first-arg of a subcommand is not supported")]
    FirstArgOfSubcommand,
}

/// An error of the ACL: a refused rule, an unknown or protected user, an
/// ACL file that does not load. `Display` is Redis's error text without
/// the `ERR ` prefix ([`AclError::reply_text`] adds it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AclError {
    /// A rule of `ACL SETUSER` (or of a file line) was refused; nothing was changed.
    #[error("Error in ACL SETUSER modifier '{op}': {kind}")]
    Rule {
        /// The rule as given (lossy UTF-8).
        op: String,
        /// Why.
        kind: RuleErrorKind,
    },
    /// A selector `(…` that never closes.
    #[error("Unmatched parenthesis in acl selector starting at '{0}'.")]
    UnmatchedParenthesis(String),
    /// A user name with a space or a NUL byte.
    #[error("Usernames can't contain spaces or null characters")]
    BadUsername,
    /// `ACL DELUSER default`.
    #[error("The 'default' user cannot be removed")]
    DefaultUser,
    /// No user of that name.
    #[error("User '{0}' not found")]
    NoSuchUser(String),
    /// The user is `off`.
    #[error("User '{0}' is disabled")]
    UserDisabled(String),
    /// An ACL file that does not load: Redis's list of the problems, by line.
    #[error("{0}")]
    Load(String),
    /// `ACL LOAD`/`ACL SAVE` without a configured file.
    #[error(
        "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL \
         SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in \
         order to store users in the Redis configuration."
    )]
    NoAclFile,
    /// The ACL file could not be written.
    #[error("There was an error trying to save the ACLs. Please check the server logs for more information")]
    Save(#[source] io::Error),
}

impl AclError {
    /// The error reply Redis sends for it (`ERR …`).
    pub fn reply_text(&self) -> String {
        format!("ERR {self}")
    }

    pub(crate) fn rule(op: &[u8], kind: RuleErrorKind) -> AclError {
        AclError::Rule { op: String::from_utf8_lossy(op).into_owned(), kind }
    }
}

/// A failed authentication: unknown user, wrong password, or a disabled
/// user (Redis does not say which).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("WRONGPASS invalid username-password pair or user is disabled.")]
pub struct AuthError;

/// What a denied call was refused for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeniedReason {
    /// The command (or subcommand) is not allowed.
    Command,
    /// A key argument matches none of the user's patterns (with the access needed).
    Key,
    /// A channel argument matches none of the user's channel patterns.
    Channel,
    /// The user does not exist (any more: a session's user was deleted, or replaced by `ACL LOAD`).
    NoSuchUser,
}

/// A call refused by the ACL. `Display` is Redis's `NOPERM` error reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub(crate) reason: DeniedReason,
    pub(crate) user: Box<[u8]>,
    /// The command's full name, or the key or channel refused.
    pub(crate) object: Vec<u8>,
    /// The position of the refused argument (0 for the command).
    pub(crate) index: usize,
}

impl Denied {
    /// Why.
    pub fn reason(&self) -> DeniedReason {
        self.reason
    }

    /// The user refused.
    pub fn user(&self) -> &[u8] {
        &self.user
    }

    /// The command's full name (`set`, `config|get`), or the key or channel refused.
    pub fn object(&self) -> &[u8] {
        &self.object
    }

    /// The position of the refused argument (0 for the command itself).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The longer text of `ACL DRYRUN`, which names the key or channel.
    pub fn verbose(&self) -> String {
        let user = String::from_utf8_lossy(&self.user);
        let object = String::from_utf8_lossy(&self.object);
        match self.reason {
            DeniedReason::Command => format!("User {user} has no permissions to run the '{object}' command"),
            DeniedReason::Key => format!("User {user} has no permissions to access the '{object}' key"),
            DeniedReason::Channel => format!("User {user} has no permissions to access the '{object}' channel"),
            DeniedReason::NoSuchUser => format!("User {user} does not exist"),
        }
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            DeniedReason::Command | DeniedReason::NoSuchUser => write!(f, "NOPERM {}", self.verbose()),
            DeniedReason::Key => f.write_str("NOPERM No permissions to access a key"),
            DeniedReason::Channel => f.write_str("NOPERM No permissions to access a channel"),
        }
    }
}

impl std::error::Error for Denied {}

impl From<Denied> for crate::db::Reply {
    fn from(d: Denied) -> Self {
        crate::db::Reply::Error(d.to_string())
    }
}
