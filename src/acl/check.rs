//! The permission check: may this user run this call? A call is allowed if
//! any of the user's selectors allows it; if none does, the reason
//! reported is Redis's pick (a key or channel refusal over a command
//! refusal, the later argument on a tie).

use super::error::{Denied, DeniedReason};
use super::user::User;
use crate::db::{catalog, command};

impl User {
    /// Whether this user may run `args` (the command name first). Unknown
    /// commands and subcommands are allowed here (their error comes from
    /// whoever runs them, as in Redis, where the unknown-command error comes
    /// first), except a command the `Db` runs but the catalog misses: that
    /// one only a user allowed every command may run.
    ///
    /// Only the permissions are checked, not whether the user is enabled
    /// (Redis lets connections of a user turned `off` carry on).
    pub fn check<A: AsRef<[u8]>>(&self, args: &[A]) -> Result<(), Denied> {
        let root = &self.root;
        if root.allows_everything() {
            return Ok(());
        }
        let Some(cmd) = catalog::resolve(args) else {
            return self.check_unknown(args);
        };
        let mut worst: Option<(DeniedReason, usize)> = None;
        for selector in std::iter::once(root).chain(&self.selectors) {
            match selector.check(cmd, args) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let rank = |(reason, at): (DeniedReason, usize)| (reason_rank(reason), at);
                    if worst.is_none_or(|w| rank(e) > rank(w)) {
                        worst = Some(e);
                    }
                }
            }
        }
        let (reason, index) = worst.unwrap_or((DeniedReason::Command, 0));
        let object = match reason {
            DeniedReason::Command => cmd.name.as_bytes().to_vec(),
            _ => args.get(index).map_or_else(Vec::new, |a| a.as_ref().to_vec()),
        };
        Err(Denied { reason, user: self.name.clone(), object, index })
    }

    fn check_unknown<A: AsRef<[u8]>>(&self, args: &[A]) -> Result<(), Denied> {
        let name = args.first().map_or(&[][..], AsRef::as_ref);
        // A known container with an unknown subcommand is not this case.
        let missed = command::lookup(name).is_some() && catalog::lookup(name).is_none();
        if !missed || self.root.all_commands || self.selectors.iter().any(|s| s.all_commands) {
            return Ok(());
        }
        Err(Denied {
            reason: DeniedReason::Command,
            user: self.name.clone(),
            object: name.to_ascii_lowercase(),
            index: 0,
        })
    }
}

/// Redis's order of precedence between refusals: command < key < channel.
fn reason_rank(reason: DeniedReason) -> u8 {
    match reason {
        DeniedReason::Command | DeniedReason::NoSuchUser => 1,
        DeniedReason::Key => 2,
        DeniedReason::Channel => 4,
    }
}

/// Whether the call is unknown, or has a wrong argument count: then the
/// error of whoever runs it comes before any access error, as in Redis
/// (which checks existence and arity first). A command the `Db` runs but
/// the catalog misses is not "unknown" here.
pub(crate) fn runner_answers<A: AsRef<[u8]>>(args: &[A]) -> bool {
    match catalog::resolve(args) {
        Some(cmd) => !cmd.arity_ok(args.len()),
        None => {
            let name = args.first().map_or(&[][..], AsRef::as_ref);
            catalog::lookup(name).is_some() || command::lookup(name).is_none()
        }
    }
}
