//! ACL rules and ACL files from arbitrary bytes. The first byte picks the
//! mode; any panic is a bug.
//!
//! - rules (even first byte): the rest, split at spaces, is given to `ACL
//!   SETUSER` as a whole (all or nothing) and rule by rule; whatever user
//!   results, its description (`ACL LIST`) applied to a new user must give
//!   the same description back, and a user that decides every call built
//!   from the same words as the first one does.
//! - file (odd first byte): the rest is loaded as an ACL file; if it loads,
//!   what `ACL SAVE` would write loads again into another table and lists
//!   the same users.

#![no_main]

use embercache::acl::Acl;
use libfuzzer_sys::fuzz_target;

/// A user's description read into a new table as `name` (panics if it does not read).
fn read_back(described: &[u8], name: &[u8]) -> Acl {
    let rules: Vec<&[u8]> = described.split(|&b| b == b' ').collect();
    let again = Acl::new();
    if let Err(e) = again.set_user(name, &rules) {
        panic!("{:?} does not read back: {e}", String::from_utf8_lossy(described));
    }
    again
}

fn round_trip(acl: &Acl, name: &[u8], calls: &[&[&[u8]]]) {
    let Some(user) = acl.user(name) else { return };
    let described = user.describe();
    let again = read_back(&described, name);
    let Some(reread) = again.user(name) else { panic!("the user was not created") };
    assert_eq!(
        String::from_utf8_lossy(&reread.describe()),
        String::from_utf8_lossy(&described),
        "the description changed on reading back"
    );
    for &call in calls {
        assert_eq!(
            acl.check(name, call).is_ok(),
            again.check(name, call).is_ok(),
            "the user read back decides {call:?} otherwise"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let acl = Acl::new();
    if mode % 2 == 0 {
        let words: Vec<&[u8]> = rest.split(|&b| b == b' ').collect();
        let calls: Vec<&[&[u8]]> = words.chunks(3).collect();
        let _ = acl.set_user("whole", &words);
        round_trip(&acl, b"whole", &calls);
        for w in &words {
            let _ = acl.set_user("each", &[w]);
        }
        round_trip(&acl, b"each", &calls);
        let _ = acl.command(
            &[&b"ACL"[..], b"DRYRUN", b"each"].into_iter().chain(words.iter().copied()).collect::<Vec<_>>(),
            None,
        );
    } else {
        if acl.load_acl(rest, "fuzz.acl").is_err() {
            return;
        }
        let saved = acl.to_acl_file();
        let other = Acl::new();
        if let Err(e) = other.load_acl(&saved, "saved.acl") {
            panic!("a saved file does not load: {e}\n{}", String::from_utf8_lossy(&saved));
        }
        assert_eq!(other.list(), acl.list(), "a saved file loads different users");
    }
});
