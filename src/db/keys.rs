//! Generic key commands: DEL, EXISTS, TYPE, RENAME, COPY, the EXPIRE
//! family, TTL, SCAN, KEYS, OBJECT, …

use super::command::Command;

pub(super) const COMMANDS: &[Command] = &[];
