//! Encryption at rest through the `Db` API (feature `encryption`): an
//! encrypted snapshot and journal recover with the key, fail by name
//! without it or with the wrong one, and rotation keeps old files readable.

#![cfg(feature = "encryption")]

mod support;

use embercache::Db;
use embercache::db::{BackupOptions, Backups};
use embercache::persist::crypt::{Cipher, Encryption, LocalKeyFile};
use embercache::persist::{PersistError, SnapshotOptions};
use std::sync::Arc;
use support::{assert_same, dump, tempdir};

fn keys(ids: &[(&str, u8)]) -> Encryption {
    let provider = LocalKeyFile::from_keys(ids.iter().map(|&(id, b)| (id, [b; 32]))).unwrap();
    Encryption::new(Arc::new(provider))
}

fn sample() -> Db {
    let db = Db::new();
    db.execute(&["SET", "secret", "hunter2"]);
    db.execute(&["ZADD", "z", "1", "a", "2", "b"]);
    db.execute(&["HSET", "h", "f", "v"]);
    db
}

#[test]
fn encrypted_snapshots_need_the_right_key_and_hide_the_data() {
    for cipher in [Cipher::Aes256Gcm, Cipher::ChaCha20Poly1305] {
        let db = sample();
        let opts = SnapshotOptions::new().encryption(keys(&[("k1", 1)]).cipher(cipher)).compress(true);
        let mut bytes = Vec::new();
        db.write_snapshot(&mut bytes, &opts).unwrap();
        assert!(!bytes.windows(7).any(|w| w == b"hunter2"), "no plaintext in the file");
        let back = Db::new();
        back.read_snapshot(&bytes[..], &opts).unwrap();
        assert_same(&dump(&db), &dump(&back), 1000);

        let none = Db::new().read_snapshot(&bytes[..], &SnapshotOptions::new()).unwrap_err();
        assert!(matches!(none, PersistError::Encrypted(_)), "{none}");
        let wrong = SnapshotOptions::new().encryption(keys(&[("k1", 9)]));
        let err = Db::new().read_snapshot(&bytes[..], &wrong).unwrap_err();
        assert!(matches!(err, PersistError::Authentication { .. }), "{err}");
        let missing = SnapshotOptions::new().encryption(keys(&[("other", 1)]));
        let err = Db::new().read_snapshot(&bytes[..], &missing).unwrap_err();
        assert!(matches!(err, PersistError::KeyUnavailable(_)), "{err}");
    }
}

#[test]
fn an_encrypted_backup_directory_recovers_across_a_key_rotation() {
    let dir = tempdir("backups-encrypted");
    let old = BackupOptions::new().files(SnapshotOptions::new().encryption(keys(&[("k1", 1)])));
    let live = {
        let db = Db::builder().backups(&dir, old.clone()).build().unwrap();
        db.execute(&["SET", "before", "snapshot"]);
        db.backups().unwrap().snapshot_now().unwrap();
        db.execute(&["SET", "after", "snapshot"]);
        dump(&db)
    };
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(8).any(|w| w == b"snapshot"), "no plaintext in snapshot or journal");
    }
    // Rotated: k2 is current, k1 still available for the old files.
    let rotated = BackupOptions::new().files(SnapshotOptions::new().encryption(keys(&[("k1", 1), ("k2", 2)])));
    let db = Db::builder().backups(&dir, rotated).build().unwrap();
    assert_same(&live, &dump(&db), 0);
    db.execute(&["SET", "rotated", "yes"]);
    drop(db);
    // Without k1 the old snapshot cannot be read.
    let only_new = BackupOptions::new().files(SnapshotOptions::new().encryption(keys(&[("k2", 2)])));
    let err = Backups::open(&Db::new(), &dir, only_new).unwrap_err();
    assert!(matches!(err, PersistError::KeyUnavailable(_) | PersistError::NotCovered(_)), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
