//! [`User`]: a name, on/off, passwords (SHA-256), and selectors; the rules
//! of `ACL SETUSER` that change them, and their description in Redis's
//! ACL-file syntax.

use super::error::{AclError, RuleErrorKind};
use super::password::{self, Hash};
use super::selector::Selector;

/// A snapshot of one ACL user. Users are immutable: a change makes a new
/// one ([`crate::acl::Acl::set_user`]), so a snapshot never changes under
/// its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub(crate) name: Box<[u8]>,
    /// Unique per created user: a user deleted and created again (or
    /// replaced by `ACL LOAD`) is another user for the sessions of the old one.
    pub(crate) uid: u64,
    pub(crate) enabled: bool,
    pub(crate) nopass: bool,
    /// `Some(true)`: `sanitize-payload`, `Some(false)`: `skip-sanitize-payload`
    /// (kept and shown, as Redis does; embercache has no RESTORE to sanitize).
    pub(crate) sanitize_payload: Option<bool>,
    pub(crate) passwords: Vec<Hash>,
    pub(crate) root: Selector,
    pub(crate) selectors: Vec<Selector>,
}

fn is(op: &[u8], word: &str) -> bool {
    op.eq_ignore_ascii_case(word.as_bytes())
}

impl User {
    /// A new user: off, no passwords, no permissions.
    pub(crate) fn new(name: &[u8], uid: u64) -> User {
        User {
            name: name.into(),
            uid,
            enabled: false,
            nopass: false,
            sanitize_payload: None,
            passwords: Vec::new(),
            root: Selector::default(),
            selectors: Vec::new(),
        }
    }

    /// Redis's `default` user: `on nopass ~* &* +@all`.
    pub(crate) fn new_default(uid: u64) -> User {
        let mut u = User::new(b"default", uid);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            let _ = u.apply(op.as_bytes());
        }
        u
    }

    /// The name.
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// Whether it is `on` (may authenticate).
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Whether any password authenticates it (`nopass`).
    pub fn is_nopass(&self) -> bool {
        self.nopass
    }

    /// Its passwords' SHA-256 hashes, as 64 hex digits.
    pub fn password_hashes(&self) -> impl Iterator<Item = String> + '_ {
        self.passwords.iter().map(password::to_hex)
    }

    /// Whether `password` authenticates it (an enabled user with `nopass`,
    /// or one of its passwords), compared in constant time per password.
    pub fn check_password(&self, password: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let hashed = password::hash(password);
        // Every stored hash is compared, so the time does not tell which matched.
        self.passwords.iter().fold(false, |found, p| password::ct_eq(p, &hashed) | found)
    }

    /// Applies one rule of `ACL SETUSER` (see [`crate::acl`] for the list).
    pub(crate) fn apply(&mut self, op: &[u8]) -> Result<(), RuleErrorKind> {
        if op.is_empty() {
            return Ok(());
        }
        if is(op, "on") {
            self.enabled = true;
        } else if is(op, "off") {
            self.enabled = false;
        } else if is(op, "skip-sanitize-payload") {
            self.sanitize_payload = Some(false);
        } else if is(op, "sanitize-payload") {
            self.sanitize_payload = Some(true);
        } else if is(op, "nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is(op, "resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if is(op, "clearselectors") {
            self.selectors.clear();
        } else if is(op, "reset") {
            for op in ["resetpass", "resetkeys", "resetchannels", "off", "sanitize-payload", "clearselectors", "-@all"]
            {
                self.apply(op.as_bytes())?;
            }
        } else {
            match op {
                [b'>', pw @ ..] => self.add_password(password::hash(pw)),
                [b'#', hex @ ..] => self.add_password(password::parse_hex(hex).ok_or(RuleErrorKind::BadHash)?),
                [b'<', pw @ ..] => self.remove_password(&password::hash(pw))?,
                [b'!', hex @ ..] => self.remove_password(&password::parse_hex(hex).ok_or(RuleErrorKind::BadHash)?)?,
                [b'(', .., b')'] => {
                    let mut selector = Selector::default();
                    let inner = &op[1..op.len() - 1];
                    for part in inner.split(|&b| b == b' ').filter(|p| !p.is_empty()) {
                        // A rule ending in ')' would close the selector early
                        // when its description is read back (`(~a) +get)`):
                        // refused, so every user's ACL LIST line reads back.
                        if part.ends_with(b")") {
                            return Err(RuleErrorKind::Syntax);
                        }
                        selector.apply(part)?;
                    }
                    self.selectors.push(selector);
                }
                _ => self.root.apply(op)?,
            }
        }
        Ok(())
    }

    fn add_password(&mut self, hash: Hash) {
        if !self.passwords.contains(&hash) {
            self.passwords.push(hash);
        }
        self.nopass = false;
    }

    fn remove_password(&mut self, hash: &Hash) -> Result<(), RuleErrorKind> {
        let at = self.passwords.iter().position(|p| p == hash).ok_or(RuleErrorKind::NoSuchPassword)?;
        self.passwords.remove(at);
        Ok(())
    }

    /// Applies `ops` in order: all of them or, at the first refused one,
    /// none (`self` is left as it was).
    pub(crate) fn apply_all<A: AsRef<[u8]>>(&mut self, ops: &[A]) -> Result<(), AclError> {
        let merged = merge_selectors(ops)?;
        let mut staged = self.clone();
        for op in &merged {
            staged.apply(op).map_err(|kind| AclError::rule(op, kind))?;
        }
        *self = staged;
        Ok(())
    }

    /// The user's rules, as `ACL LIST` shows them after `user <name> `:
    /// `on nopass ~* &* +@all`. Applying them to a new user gives this one.
    pub fn describe(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(if self.enabled { b"on " } else { b"off " });
        if self.nopass {
            out.extend_from_slice(b"nopass ");
        }
        match self.sanitize_payload {
            Some(false) => out.extend_from_slice(b"skip-sanitize-payload "),
            Some(true) => out.extend_from_slice(b"sanitize-payload "),
            None => {}
        }
        for p in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(password::to_hex(p).as_bytes());
            out.push(b' ');
        }
        self.root.describe(&mut out);
        for s in &self.selectors {
            out.extend_from_slice(b" (");
            s.describe(&mut out);
            out.push(b')');
        }
        out
    }

    /// The `ACL LIST` line: `user <name> <rules>`.
    pub fn acl_list_line(&self) -> Vec<u8> {
        let mut out = b"user ".to_vec();
        out.extend_from_slice(&self.name);
        out.push(b' ');
        out.extend_from_slice(&self.describe());
        out
    }
}

/// Joins selector rules spread over several arguments (`(~a`, `+get)`) into
/// one, as Redis does, so `ACL SETUSER u (~a +get)` works from a shell.
pub(crate) fn merge_selectors<A: AsRef<[u8]>>(ops: &[A]) -> Result<Vec<Vec<u8>>, AclError> {
    let mut out = Vec::with_capacity(ops.len());
    let mut open: Option<Vec<u8>> = None;
    let mut open_at = 0;
    for (i, op) in ops.iter().enumerate() {
        let op = op.as_ref();
        if let Some(sel) = open.as_mut() {
            sel.push(b' ');
            sel.extend_from_slice(op);
            if op.last() == Some(&b')') {
                out.extend(open.take());
            }
        } else if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some(op.to_vec());
            open_at = i;
        } else {
            out.push(op.to_vec());
        }
    }
    if open.is_some() {
        let start = ops.get(open_at).map(|o| String::from_utf8_lossy(o.as_ref()).into_owned()).unwrap_or_default();
        return Err(AclError::UnmatchedParenthesis(start));
    }
    Ok(out)
}

/// Redis refuses user names with spaces or NUL bytes; embercache also any
/// ASCII whitespace, which would split an ACL file line.
pub(crate) fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && !name.iter().any(|&b| b == 0 || b.is_ascii_whitespace())
}
