//! The cost of an ACL check per call, next to what it guards (a `Db` GET
//! hit), in the same run.
//!
//! Group `acl/check`, one check per iteration:
//! - `session/all` — a [`Session`] of a `+@all ~* &*` user (the `default`
//!   user of every server connection): the fast path, one atomic load;
//! - `session/restricted` — a user with `~app:* +@read +set`: the command
//!   is looked up, its key found and matched against the pattern;
//! - `by-name/all` — [`Acl::check`] by user name (a read lock and a map
//!   lookup first);
//! - `db-get` — a `Db::execute` GET hit, for scale;
//! - `checked-db-get/all` — the same GET through a `CheckedDb` of a
//!   `+@all ~* &*` user.
//!
//! ```text
//! cargo bench --bench acl -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! [`Session`]: embercache::acl::Session

use criterion::Criterion;
use embercache::Db;
use embercache::acl::Acl;
use std::hint::black_box;

fn checks(c: &mut Criterion) {
    let acl = Acl::new();
    acl.set_user("app", &["on", "nopass", "~app:*", "+@read", "+set"]).expect("valid rules");
    let mut all = acl.session("default").expect("default exists");
    let mut restricted = acl.session("app").expect("app exists");
    let get: [&[u8]; 2] = [b"GET", b"app:42"];
    assert!(all.check(&get).is_ok() && restricted.check(&get).is_ok());

    let db = Db::new();
    db.execute(&["SET", "app:42", "v"]);
    let checked = db.with_user(&acl, "default").expect("default exists");

    let mut g = c.benchmark_group("acl/check");
    g.bench_function("session/all", |b| b.iter(|| black_box(all.check(black_box(&get)).is_ok())));
    g.bench_function("session/restricted", |b| b.iter(|| black_box(restricted.check(black_box(&get)).is_ok())));
    g.bench_function("by-name/all", |b| b.iter(|| black_box(acl.check("default", black_box(&get)).is_ok())));
    g.bench_function("db-get", |b| b.iter(|| black_box(db.execute(black_box(&get)))));
    g.bench_function("checked-db-get/all", |b| b.iter(|| black_box(checked.execute(black_box(&get)))));
    g.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    checks(&mut criterion);
    criterion.final_summary();
}
