//! In-process PUBLISH/SUBSCRIBE with channel and pattern subscriptions,
//! bounded per subscriber: a slow subscriber loses messages (counted), it
//! never blocks publishers.

use super::command::Command;

pub(super) const COMMANDS: &[Command] = &[];

/// The registry of subscribers.
#[derive(Debug, Default)]
pub(crate) struct Hub {}
