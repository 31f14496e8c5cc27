//! Bitmaps over strings: SETBIT, GETBIT, BITCOUNT, BITPOS.

use super::command::Command;

pub(super) const COMMANDS: &[Command] = &[];
