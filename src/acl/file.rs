//! ACL files, in Redis's syntax: one `user <name> <rules…>` line per user,
//! blank lines allowed, nothing else (no comments: the file is rewritten by
//! `ACL SAVE`). Loading is all or nothing: a file with any bad line changes
//! nothing, and the error lists the problems by line as Redis does.

use super::error::{AclError, RuleErrorKind};
use super::user::{self, User};
use super::{Acl, DEFAULT, Users};
use crate::persist::PersistError;
use crate::persist::file::write_atomically;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

impl Acl {
    /// Replaces every user with those of `text` (ACL file syntax); `source`
    /// names the file in error messages. Without a `default` line, the
    /// `default` user is reset to `on nopass ~* &* +@all`. Users other than
    /// `default` are new users: sessions of the old ones are refused.
    pub fn load_acl(&self, text: &[u8], source: &str) -> Result<(), AclError> {
        let mut loaded = Users::new();
        let mut errors = String::new();
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            let n = i + 1;
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            let argv: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
            if argv.len() < 2 || argv[0] != b"user" {
                errors += &format!("{source}:{n} should start with user keyword followed by the username. ");
                continue;
            }
            let name = argv[1];
            if !user::valid_name(name) {
                let name = String::from_utf8_lossy(name);
                errors += &format!("{source}:{n}: username '{name}' contains invalid characters. ");
                continue;
            }
            if loaded.contains_key(name) {
                errors += &format!("WARNING: Duplicate user '{}' found on line {n}. ", String::from_utf8_lossy(name));
                continue;
            }
            let Ok(ops) = user::merge_selectors(&argv[2..]) else {
                errors += &format!("{source}:{n}: Unmatched parenthesis in selector definition.");
                continue;
            };
            let mut u = User::new(name, self.uid());
            let mut syntax_error = false;
            for op in &ops {
                let op = op.trim_ascii();
                if let Err(kind) = u.apply(op) {
                    if kind == RuleErrorKind::UnknownCommand {
                        let op = String::from_utf8_lossy(op);
                        errors += &format!("{source}:{n}: Error in applying operation '{op}': {kind}. ");
                    } else if !syntax_error {
                        errors += &format!("{source}:{n}: {kind}. ");
                        syntax_error = true;
                    }
                }
            }
            loaded.insert(name.into(), Arc::new(u));
        }
        if !errors.is_empty() {
            errors += "WARNING: ACL errors detected, no change to the previously active ACL rules was performed";
            return Err(AclError::Load(errors));
        }
        self.update(|users| {
            // The default user keeps its identity: its sessions carry on with the new rules.
            let uid = users.get(DEFAULT).map_or(0, |u| u.uid);
            let mut default = loaded.remove(DEFAULT).map_or_else(|| User::new_default(uid), |u| User::clone(&u));
            default.uid = uid;
            loaded.insert(DEFAULT.into(), Arc::new(default));
            *users = loaded;
        });
        Ok(())
    }

    /// The users in ACL file syntax (what `ACL SAVE` writes), sorted by name.
    pub fn to_acl_file(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for line in self.list() {
            out.extend_from_slice(&line);
            out.push(b'\n');
        }
        out
    }

    /// Loads the ACL file at `path` ([`Acl::load_acl`]).
    pub fn load_file(&self, path: impl AsRef<Path>) -> Result<(), AclError> {
        let path = path.as_ref();
        let text = std::fs::read(path)
            .map_err(|e| AclError::Load(format!("Error loading ACLs, opening file '{}': {e}", path.display())))?;
        self.load_acl(&text, &path.display().to_string())
    }

    /// Writes the users to `path`, replacing the file atomically.
    pub fn save_file(&self, path: impl AsRef<Path>) -> Result<(), AclError> {
        let text = self.to_acl_file();
        write_atomically(path.as_ref(), |w| Ok(w.write_all(&text)?)).map_err(|e| match e {
            PersistError::Io(e) => AclError::Save(e),
            other => AclError::Save(std::io::Error::other(other.to_string())),
        })
    }

    /// The file `ACL LOAD` and `ACL SAVE` use (Redis's `aclfile`); `None`
    /// disables them.
    pub fn set_acl_file(&self, path: Option<PathBuf>) {
        *self.inner.file.lock() = path;
    }

    /// The file `ACL LOAD` and `ACL SAVE` use, if any.
    pub fn acl_file(&self) -> Option<PathBuf> {
        self.inner.file.lock().clone()
    }
}
