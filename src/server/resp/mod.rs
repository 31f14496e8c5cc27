//! RESP, the Redis serialization protocol, without I/O: [`RequestParser`]
//! takes commands off a byte buffer (multibulk and inline, with Redis's
//! exact protocol errors and limits), [`encode`] writes a [`Reply`] in
//! RESP2 or RESP3.
//!
//! [`Reply`]: crate::db::Reply

mod encode;
mod parse;
mod peek;
#[cfg(test)]
mod tests;

pub(crate) use encode::{Outcome, RespOut};
pub use encode::{Protocol, encode, encode_command, encode_push, encode_status};
pub(crate) use parse::split_args as split_inline;
pub use parse::{
    Args, DEFAULT_MAX_BULK_LEN, DEFAULT_MAX_MULTIBULK_LEN, MAX_INLINE_LEN, ParseLimits, ProtocolError, Request,
    RequestParser,
};
pub(crate) use peek::get_key;

/// [`get_key`], for the `resp_parse` fuzz target.
#[doc(hidden)]
#[cfg(fuzzing)]
pub fn fuzz_get_key(input: &[u8]) -> Option<&[u8]> {
    get_key(input)
}
