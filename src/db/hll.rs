//! HyperLogLog over strings: PFADD, PFCOUNT, PFMERGE.

use super::command::Command;

pub(super) const COMMANDS: &[Command] = &[];
