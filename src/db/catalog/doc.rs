//! What `COMMAND DOCS` reports of a command: summary, version, group,
//! complexity, history and the argument tree (what `redis-cli` builds its
//! hints from).

/// An argument's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArgKind {
    /// A string.
    Str,
    /// An integer.
    Integer,
    /// A float.
    Double,
    /// A key.
    Key,
    /// A glob pattern.
    Pattern,
    /// A Unix time.
    UnixTime,
    /// A keyword alone (its `token`).
    PureToken,
    /// One of the nested arguments.
    OneOf,
    /// All the nested arguments, in order.
    Block,
}

impl ArgKind {
    /// The name `COMMAND DOCS` uses.
    pub fn name(self) -> &'static str {
        match self {
            ArgKind::Str => "string",
            ArgKind::Integer => "integer",
            ArgKind::Double => "double",
            ArgKind::Key => "key",
            ArgKind::Pattern => "pattern",
            ArgKind::UnixTime => "unix-time",
            ArgKind::PureToken => "pure-token",
            ArgKind::OneOf => "oneof",
            ArgKind::Block => "block",
        }
    }
}

/// The argument may be left out.
pub const OPTIONAL: u8 = 1;
/// The argument may repeat.
pub const MULTIPLE: u8 = 2;
/// The argument repeats with its token each time.
pub const MULTIPLE_TOKEN: u8 = 4;
/// The command is deprecated.
pub const DEPRECATED: u8 = 1;
/// The command is a system command, not for users.
pub const SYSCMD: u8 = 2;

/// One argument of a command's syntax.
#[derive(Debug)]
#[non_exhaustive]
pub struct Arg {
    /// Its name.
    pub name: &'static str,
    /// Its type.
    pub kind: ArgKind,
    /// For a key, the index of its key spec.
    pub key_spec_index: Option<u8>,
    /// The keyword before it (or that it is, for a pure token).
    pub token: Option<&'static str>,
    /// The version that added it.
    pub since: Option<&'static str>,
    /// The version that deprecated it.
    pub deprecated_since: Option<&'static str>,
    /// [`OPTIONAL`], [`MULTIPLE`], [`MULTIPLE_TOKEN`].
    pub flags: u8,
    /// Nested arguments, for [`ArgKind::OneOf`] and [`ArgKind::Block`].
    pub args: &'static [Arg],
}

/// A command's documentation.
#[derive(Debug)]
#[non_exhaustive]
pub struct CommandDoc {
    /// One line on what it does.
    pub summary: &'static str,
    /// The Redis version that added it.
    pub since: &'static str,
    /// Its group (`string`, `server`, …).
    pub group: &'static str,
    /// Its time complexity.
    pub complexity: &'static str,
    /// [`DEPRECATED`], [`SYSCMD`].
    pub doc_flags: u8,
    /// The version that deprecated it.
    pub deprecated_since: Option<&'static str>,
    /// What replaces it.
    pub replaced_by: Option<&'static str>,
    /// (version, change) pairs.
    pub history: &'static [(&'static str, &'static str)],
    /// Its arguments.
    pub arguments: &'static [Arg],
}

/// The defaults generated entries start from.
pub(super) const ARG: Arg = Arg {
    name: "",
    kind: ArgKind::Str,
    key_spec_index: None,
    token: None,
    since: None,
    deprecated_since: None,
    flags: 0,
    args: &[],
};

/// The defaults generated entries start from.
pub(super) const DOC: CommandDoc = CommandDoc {
    summary: "",
    since: "",
    group: "",
    complexity: "",
    doc_flags: 0,
    deprecated_since: None,
    replaced_by: None,
    history: &[],
    arguments: &[],
};
