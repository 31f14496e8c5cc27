//! Feeds arbitrary bytes to every loader of the persistence layer: a `Db`
//! snapshot, a typed `Cache` snapshot, and a backup directory holding the
//! bytes as a journal segment (recovery, with and without recovering up to
//! damage). Each must return an error or a valid store, never panic, and a
//! failed load must leave the target store as it was.
//!
//! Input: the first byte picks the loader; the rest is the file.

#![no_main]

use embercache::db::{BackupOptions, Backups};
use embercache::persist::SnapshotOptions;
use embercache::{Cache, Db};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, file)) = data.split_first() else { return };
    let opts = SnapshotOptions::new();
    match which % 3 {
        0 => {
            let db = Db::new();
            db.execute(&["SET", "keep", "me"]);
            match db.read_snapshot(file, &opts) {
                Ok(_) => db.validate(),
                Err(_) => assert_eq!(db.keys(b"*"), vec![b"keep".to_vec()], "a failed load changes nothing"),
            }
        }
        1 => {
            let cache: Cache<u64, Vec<u8>> = Cache::new(1000);
            cache.insert(u64::MAX, b"keep".to_vec());
            if cache.read_snapshot(file, &opts).is_err() {
                assert_eq!(cache.len(), 1, "a failed load changes nothing");
            }
            cache.validate();
        }
        _ => {
            let dir = std::env::temp_dir().join(format!("embercache-fuzz-journal-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            if std::fs::create_dir_all(&dir).is_err()
                || std::fs::write(dir.join("journal-00000000000000000000.ember"), file).is_err()
            {
                return;
            }
            let db = Db::new();
            let lenient = which & 0x80 != 0;
            match Backups::open(&db, &dir, BackupOptions::new().recover_to_corruption(lenient)) {
                Ok(b) => {
                    db.validate();
                    drop(b);
                }
                Err(_) => assert!(db.keys(b"*").is_empty(), "a failed recovery leaves nothing half-loaded"),
            }
            drop(db);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
});
