//! [`DbError`]: the errors of `Db` commands, worded exactly as Redis words
//! them (the `Display` text is the reply a Redis client would see).

/// An error from a `Db` command. Its `Display` is Redis's error reply,
/// prefix (`ERR`, `WRONGTYPE`, `OOM`, …) included.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// The key holds a value of another type.
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    /// An argument (or stored value) is not a 64-bit integer.
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    /// An argument (or stored value) is not a float.
    #[error("ERR value is not a valid float")]
    NotFloat,
    /// A stored hash field is not an integer (HINCRBY).
    #[error("ERR hash value is not an integer")]
    HashNotInteger,
    /// A stored hash field is not a float (HINCRBYFLOAT).
    #[error("ERR hash value is not a float")]
    HashNotFloat,
    /// Options that do not parse or do not go together.
    #[error("ERR syntax error")]
    Syntax,
    /// An integer increment would overflow.
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    /// A float increment would produce NaN or infinity.
    #[error("ERR increment would produce NaN or Infinity")]
    NanOrInfinity,
    /// The result of a sorted-set score operation is NaN.
    #[error("ERR resulting score is not a number (NaN)")]
    ScoreNan,
    /// The key does not exist (RENAME, LSET, …).
    #[error("ERR no such key")]
    NoSuchKey,
    /// A list index is out of range (LSET).
    #[error("ERR index out of range")]
    IndexOutOfRange,
    /// Wrong argument count for a command.
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    /// No such command.
    #[error("ERR unknown command '{name}', with args beginning with: {args}")]
    UnknownCommand {
        /// The command name as given.
        name: String,
        /// The first arguments, quoted, as Redis prints them.
        args: String,
    },
    /// The memory limit is reached and the policy cannot evict.
    #[error("OOM command not allowed when used memory > 'maxmemory'.")]
    OutOfMemory,
    /// An expire time that is not positive or overflows.
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpire(&'static str),
    /// A sorted-set range bound that is not a float.
    #[error("ERR min or max is not a float")]
    MinMaxNotFloat,
    /// A lexicographic range bound without `[`, `(`, `-` or `+`.
    #[error("ERR min or max not valid string range item")]
    MinMaxNotLex,
    /// A weight of ZUNIONSTORE/ZINTERSTORE is not a float.
    #[error("ERR weight value is not a float")]
    WeightNotFloat,
    /// A string would grow past the 512 MB limit.
    #[error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")]
    StringTooLong,
    /// A reply of repeated random picks (HRANDFIELD, SRANDMEMBER,
    /// ZRANDMEMBER with a negative count) would pass 512 MB.
    #[error("ERR count is too large: the reply would exceed 512 MB (proto-max-bulk-len)")]
    ReplyTooLarge,
    /// A bit offset out of range (SETBIT/GETBIT).
    #[error("ERR bit offset is not an integer or out of range")]
    BitOffset,
    /// A bit argument other than 0 or 1.
    #[error("ERR bit is not an integer or out of range")]
    BitValue,
    /// The value is a string but not a HyperLogLog.
    #[error("WRONGTYPE Key is not a valid HyperLogLog string value.")]
    NotHll,
    /// A HyperLogLog whose bytes are corrupt.
    #[error("INVALIDOBJ Corrupted HLL object detected")]
    CorruptHll,
    /// Source and destination are the same where Redis refuses that.
    #[error("ERR source and destination objects are the same")]
    SameObject,
    /// An argument out of its allowed range; the text says which
    /// (for instance `ERR value is out of range, must be positive`).
    #[error("ERR {0}")]
    OutOfRange(&'static str),
    /// A numeric argument out of range with Redis's wording naming it
    /// (for instance `ERR numkeys should be greater than 0`).
    #[error("ERR {0}")]
    Invalid(&'static str),
    /// A `timeout` argument that is negative or not a number.
    #[error("ERR timeout is not a float or out of range")]
    Timeout,
    /// A negative `timeout`.
    #[error("ERR timeout is negative")]
    NegativeTimeout,
    /// An option of OBJECT that the configured eviction policy does not track.
    #[error("ERR {0}")]
    NotTracked(&'static str),
    /// A subcommand that the command (OBJECT, PUBSUB, …) does not have.
    #[error("ERR unknown subcommand '{name}'. Try {command} HELP.")]
    UnknownSubcommand {
        /// The subcommand as given (clipped to 128 bytes).
        name: String,
        /// The command, in capitals.
        command: &'static str,
    },
    /// A subcommand given the wrong number of arguments, where Redis's
    /// handler (rather than its arity table) says so.
    #[error("ERR unknown subcommand or wrong number of arguments for '{name}'. Try {command} HELP.")]
    SubcommandSyntax {
        /// The subcommand as given (clipped to 128 bytes).
        name: String,
        /// The command, in capitals.
        command: &'static str,
    },
    /// An option keyword the command does not know (the EXPIRE family).
    #[error("ERR Unsupported option {0}")]
    UnsupportedOption(String),
}

/// `Result` of a `Db` command.
pub type DbResult<T> = Result<T, DbError>;
