use super::envelope::Envelope;
use super::*;
use crate::persist::SnapshotOptions;
use crate::persist::format::{Codec, Content, FileKind, FrameReader, FrameWriter};
use crate::persist::snapshot::{SnapshotReader, SnapshotWriter};

const KEY_A: [u8; 32] = [0xA1; 32];
const KEY_B: [u8; 32] = [0xB2; 32];

fn provider(keys: &[(&str, [u8; 32])]) -> Arc<LocalKeyFile> {
    Arc::new(LocalKeyFile::from_keys(keys.iter().copied()).unwrap())
}

fn opts(p: &Arc<LocalKeyFile>, cipher: Cipher, compress: bool) -> SnapshotOptions {
    SnapshotOptions::new().compress(compress).encryption(Encryption::new(p.clone()).cipher(cipher))
}

fn records(n: u32) -> Vec<(u32, String)> {
    (0..n).map(|i| (i, format!("value number {i} {}", "x".repeat((i % 40) as usize)))).collect()
}

fn write_snapshot(opts: &SnapshotOptions, recs: &[(u32, String)]) -> Vec<u8> {
    let mut w = SnapshotWriter::start(Vec::new(), Content::Keyspace, 1234, 7, opts).unwrap();
    for r in recs {
        w.record(r, true).unwrap();
        if w.block_full() {
            w.flush_block().unwrap();
        }
    }
    w.finish(9, 5678).unwrap().0
}

fn read_snapshot(bytes: &[u8], opts: &SnapshotOptions) -> PersistResult<Vec<(u32, String)>> {
    let mut r = SnapshotReader::open(bytes, Content::Keyspace, opts)?;
    let mut out = Vec::new();
    while let Some(rec) = r.next::<(u32, String)>(|_| true)? {
        out.push(rec);
    }
    Ok(out)
}

fn header_of(bytes: &[u8]) -> (Header, u64) {
    let (h, len, _) = Header::read(&mut &bytes[..], FileKind::Snapshot).unwrap();
    (h, len)
}

/// A file of raw frames sealed by `enc`; returns it and each frame's offset.
fn write_frames(enc: &Encryption, frames: &[&[u8]]) -> (Vec<u8>, Vec<usize>) {
    let mut h = Header::new(FileKind::Snapshot, Content::Keyspace, 1234, 7);
    h.flags = crate::persist::format::ENCRYPTED;
    let cipher = enc.seal_file(&mut h).unwrap();
    let mut w = FrameWriter::start(Vec::new(), h, Codec::new(false, Some(cipher))).unwrap();
    let mut offsets = Vec::new();
    for f in frames {
        offsets.push(w.bytes() as usize);
        w.frame(f).unwrap();
    }
    (w.finish().unwrap(), offsets)
}

fn read_frames(bytes: &[u8], enc: &Encryption) -> PersistResult<Vec<Vec<u8>>> {
    let mut r = bytes;
    let (h, len, _) = Header::read(&mut r, FileKind::Snapshot)?;
    let cipher = enc.open_file(&h)?;
    let mut fr = FrameReader::new(r, Codec::new(h.compressed(), Some(cipher)), len);
    let (mut out, mut buf) = (Vec::new(), Vec::new());
    while fr.next(&mut buf)?.is_some() {
        out.push(buf.clone());
    }
    Ok(out)
}

/// Replaces the header of `bytes` by `h` (checksum recomputed).
fn with_header(bytes: &[u8], h: &Header) -> Vec<u8> {
    let (_, len) = header_of(bytes);
    let mut out = h.encode();
    out.extend_from_slice(&bytes[len as usize..]);
    out
}

#[test]
fn round_trip_each_cipher_with_and_without_compression() {
    let p = provider(&[("a", KEY_A)]);
    let recs = records(5000);
    for cipher in [Cipher::Aes256Gcm, Cipher::ChaCha20Poly1305] {
        for compress in [false, true] {
            let o = opts(&p, cipher, compress);
            let bytes = write_snapshot(&o, &recs);
            let (h, _) = header_of(&bytes);
            assert!(h.encrypted());
            assert_eq!(h.compressed(), compress);
            let env = Envelope::decode(&h.ext).unwrap();
            assert_eq!((env.cipher, env.key_id.as_str()), (cipher.id(), "a"));
            // The records are not in the clear.
            let needle = b"value number 4321";
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{cipher:?} compress={compress}");
            assert_eq!(read_snapshot(&bytes, &o).unwrap(), recs, "{cipher:?} compress={compress}");
            // The reader follows the file's cipher, whatever its own setting.
            let other = opts(&p, Cipher::Aes256Gcm, !compress);
            assert_eq!(read_snapshot(&bytes, &other).unwrap(), recs);
        }
    }
}

#[test]
fn each_file_gets_its_own_data_key() {
    let p = provider(&[("a", KEY_A)]);
    let o = opts(&p, Cipher::Aes256Gcm, false);
    let recs = records(10);
    let (x, y) = (write_snapshot(&o, &recs), write_snapshot(&o, &recs));
    assert_ne!(header_of(&x).0.ext, header_of(&y).0.ext);
    assert_ne!(x, y);
}

#[test]
fn every_flipped_byte_is_detected() {
    let p = provider(&[("a", KEY_A)]);
    for cipher in [Cipher::Aes256Gcm, Cipher::ChaCha20Poly1305] {
        let enc = Encryption::new(p.clone()).cipher(cipher);
        let (bytes, _) = write_frames(&enc, &[b"first frame", b"", b"third"]);
        assert_eq!(read_frames(&bytes, &enc).unwrap().len(), 3);
        for i in 0..bytes.len() {
            for bit in [0x01, 0x80] {
                let mut b = bytes.clone();
                b[i] ^= bit;
                assert!(read_frames(&b, &enc).is_err(), "{cipher:?}: flipping bit {bit:#x} of byte {i}");
            }
        }
    }
}

#[test]
fn tampering_with_a_recomputed_crc_fails_authentication() {
    let p = provider(&[("a", KEY_A)]);
    for cipher in [Cipher::Aes256Gcm, Cipher::ChaCha20Poly1305] {
        let enc = Encryption::new(p.clone()).cipher(cipher);
        let (bytes, offsets) = write_frames(&enc, &[b"alpha", b"bravo charlie"]);
        for (k, &at) in offsets.iter().enumerate() {
            let end = offsets.get(k + 1).copied().unwrap_or(bytes.len());
            for i in at + 8..end {
                let mut b = bytes.clone();
                b[i] ^= 0x20;
                let crc = crc32fast::hash(&b[at + 8..end]);
                b[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
                match read_frames(&b, &enc) {
                    Err(PersistError::Authentication { offset }) => assert_eq!(offset, at as u64),
                    other => panic!("{cipher:?}: byte {i}: {other:?}"),
                }
            }
        }
    }
}

#[test]
fn swapped_frames_fail_authentication() {
    let enc = Encryption::new(provider(&[("a", KEY_A)]));
    let (bytes, offsets) = write_frames(&enc, &[b"frame-one", b"frame-two", b"frame-3!!"]);
    let (a, b, c) = (offsets[0], offsets[1], offsets[2]);
    assert_eq!(b - a, c - b, "equal-sized frames");
    let mut swapped = bytes[..a].to_vec();
    swapped.extend_from_slice(&bytes[b..c]);
    swapped.extend_from_slice(&bytes[a..b]);
    swapped.extend_from_slice(&bytes[c..]);
    assert!(matches!(read_frames(&swapped, &enc), Err(PersistError::Authentication { offset }) if offset == a as u64));
    // Dropping the first frame shifts the others' indexes.
    let mut dropped = bytes[..a].to_vec();
    dropped.extend_from_slice(&bytes[b..]);
    assert!(matches!(read_frames(&dropped, &enc), Err(PersistError::Authentication { .. })));
}

#[test]
fn frames_are_bound_to_the_header_identity() {
    let p = provider(&[("a", KEY_A)]);
    let o = opts(&p, Cipher::Aes256Gcm, false);
    let bytes = write_snapshot(&o, &records(20));
    let (h, len) = header_of(&bytes);
    let changes: [fn(&mut Header); 4] = [
        |h| h.position += 1,
        |h| h.created_unix_ms -= 1,
        |h| h.content = Content::TypedCache,
        // A toggled compression flag is refused before anything is decoded.
        |h| h.flags ^= crate::persist::format::COMPRESSED,
    ];
    for change in changes {
        let mut h2 = h.clone();
        change(&mut h2);
        let b = with_header(&bytes, &h2);
        let content = h2.content;
        let r = SnapshotReader::open(&b[..], content, &o).and_then(|mut r| r.next::<(u32, String)>(|_| true));
        assert!(matches!(r, Err(PersistError::Authentication { offset }) if offset == len), "{r:?}");
    }
    // A frame moved into another file (same key provider) fails too.
    let other = write_snapshot(&o, &records(20));
    let (_, other_len) = header_of(&other);
    let mut mixed = other[..other_len as usize].to_vec();
    mixed.extend_from_slice(&bytes[len as usize..]);
    assert!(matches!(read_snapshot(&mixed, &o), Err(PersistError::Authentication { .. })));
}

#[test]
fn wrong_master_key_fails_authentication() {
    let bytes = write_snapshot(&opts(&provider(&[("a", KEY_A)]), Cipher::Aes256Gcm, true), &records(10));
    let wrong = opts(&provider(&[("a", KEY_B)]), Cipher::Aes256Gcm, true);
    assert!(matches!(read_snapshot(&bytes, &wrong), Err(PersistError::Authentication { offset: 0 })));
}

#[test]
fn missing_master_key_is_unavailable() {
    let bytes = write_snapshot(&opts(&provider(&[("a", KEY_A)]), Cipher::Aes256Gcm, false), &records(10));
    let other = opts(&provider(&[("b", KEY_B)]), Cipher::Aes256Gcm, false);
    match read_snapshot(&bytes, &other) {
        Err(PersistError::KeyUnavailable(id)) => assert_eq!(id, "a"),
        r => panic!("{r:?}"),
    }
}

#[test]
fn rotation_keeps_old_files_readable() {
    let recs = records(100);
    let before = provider(&[("a", KEY_A)]);
    let old_file = write_snapshot(&opts(&before, Cipher::Aes256Gcm, false), &recs);
    let after = provider(&[("a", KEY_A), ("b", KEY_B)]);
    assert_eq!(after.current_key_id(), "b");
    let o = opts(&after, Cipher::ChaCha20Poly1305, false);
    let new_file = write_snapshot(&o, &recs);
    assert_eq!(Envelope::decode(&header_of(&new_file).0.ext).unwrap().key_id, "b");
    assert_eq!(read_snapshot(&old_file, &o).unwrap(), recs);
    assert_eq!(read_snapshot(&new_file, &o).unwrap(), recs);
    // The old provider lacks the new key; once "a" is retired, old files no
    // longer load.
    let old_opts = opts(&before, Cipher::Aes256Gcm, false);
    assert!(matches!(read_snapshot(&new_file, &old_opts), Err(PersistError::KeyUnavailable(id)) if id == "b"));
    let retired = opts(&provider(&[("b", KEY_B)]), Cipher::Aes256Gcm, false);
    assert!(matches!(read_snapshot(&old_file, &retired), Err(PersistError::KeyUnavailable(id)) if id == "a"));
}

#[test]
fn encrypted_file_without_options_is_refused() {
    let bytes = write_snapshot(&opts(&provider(&[("a", KEY_A)]), Cipher::Aes256Gcm, false), &records(3));
    let none = SnapshotOptions::new();
    let r = SnapshotReader::open(&bytes[..], Content::Keyspace, &none);
    assert!(matches!(r.err(), Some(PersistError::Encrypted(_))));
}

#[test]
fn malformed_envelopes_are_errors_not_panics() {
    let p = provider(&[("a", KEY_A)]);
    let o = opts(&p, Cipher::Aes256Gcm, false);
    let bytes = write_snapshot(&o, &records(5));
    let (h, _) = header_of(&bytes);
    let ext = h.ext.clone();
    let check = |ext: Vec<u8>, what: &str| {
        let mut h2 = h.clone();
        h2.ext = ext;
        let b = with_header(&bytes, &h2);
        assert!(read_snapshot(&b, &o).is_err(), "{what}");
    };
    for cut in 0..ext.len() {
        check(ext[..cut].to_vec(), &format!("cut at {cut}"));
    }
    for i in 0..ext.len() {
        for v in [0x00, 0xff, ext[i] ^ 0x01, ext[i] ^ 0x03] {
            if v != ext[i] {
                let mut e = ext.clone();
                e[i] = v;
                check(e, &format!("byte {i} = {v:#x}"));
            }
        }
    }
    let mut longer = ext.clone();
    longer.push(0);
    check(longer, "trailing byte");
    check(vec![0xff; 300], "garbage");
    check(vec![1, 1, 0xff, 0xff], "huge key id length");
    // Named errors for the common cases.
    let mut e = ext.clone();
    e[0] = 2;
    assert!(matches!(Envelope::decode(&e), Err(PersistError::Crypto(m)) if m.contains("version 2")));
    let mut e = ext.clone();
    e[1] = 9;
    let mut h2 = h.clone();
    h2.ext = e;
    let r = read_snapshot(&with_header(&bytes, &h2), &o);
    assert!(matches!(r, Err(PersistError::Crypto(m)) if m.contains("unknown cipher 9")));
    let mut h2 = h.clone();
    h2.ext = ext[..ext.len() - 1].to_vec();
    let r = read_snapshot(&with_header(&bytes, &h2), &o);
    assert!(matches!(r, Err(PersistError::Crypto(m)) if m.contains("malformed")));
}

#[test]
fn envelope_round_trips_and_refuses_bad_ids() {
    let env = Envelope { cipher: 2, key_id: "projects/x/keys/y".into(), wrapped: vec![5; 61] };
    assert_eq!(Envelope::decode(&env.encode().unwrap()).unwrap(), env);
    assert!(Envelope { key_id: String::new(), ..env.clone() }.encode().is_err());
    assert!(Envelope { wrapped: vec![], ..env.clone() }.encode().is_err());
    assert!(Envelope { key_id: "k".repeat(envelope::MAX_KEY_ID + 1), ..env }.encode().is_err());
}

#[test]
fn key_file_format() {
    let hex_a = "a1".repeat(32);
    let hex_b = "B2".repeat(32);
    let text = format!("# comment\n\n  old {hex_a}\nnew\t{hex_b}  \n");
    let k = LocalKeyFile::parse(&text).unwrap();
    assert_eq!(k.key_ids().collect::<Vec<_>>(), ["old", "new"]);
    assert_eq!(k.current_key_id(), "new");
    let (id, wrapped) = k.wrap(&[3; 32]).unwrap();
    assert_eq!(id, "new");
    assert_eq!(provider(&[("new", KEY_B)]).unwrap("new", &wrapped).unwrap(), [3; 32]);
    let debug = format!("{k:?}");
    assert!(debug.contains("new") && !debug.contains(&hex_a) && !debug.contains("a1a1"), "{debug}");

    let bad = [
        String::new(),
        "# only comments\n".to_string(),
        format!("k {}", "a1".repeat(31)),
        format!("k {}zz", "a1".repeat(31)),
        format!("k {hex_a} extra"),
        "k".to_string(),
        format!("k {hex_a}\nk {hex_b}"),
        format!("k\u{e9} {hex_a}"),
        format!("{} {hex_a}", "k".repeat(129)),
    ];
    for t in bad {
        let e = LocalKeyFile::parse(&t).unwrap_err();
        assert!(!e.to_string().contains("a1a1"), "errors never echo keys: {e}");
    }
    assert!(LocalKeyFile::from_keys(Vec::<(String, [u8; 32])>::new()).is_err());
    assert!(LocalKeyFile::from_keys([("a b", KEY_A)]).is_err());
}

#[test]
fn wrapped_keys_are_bound_to_their_id_and_checked() {
    let k = provider(&[("a", KEY_A), ("b", KEY_A)]);
    let (id, wrapped) = k.wrap(&[4; 32]).unwrap();
    assert_eq!(id, "b");
    assert_eq!(k.unwrap("b", &wrapped).unwrap(), [4; 32]);
    // Same master key bytes under another id: the id is associated data.
    assert!(matches!(k.unwrap("a", &wrapped), Err(PersistError::Authentication { offset: 0 })));
    for cut in 0..wrapped.len() {
        assert!(k.unwrap("b", &wrapped[..cut]).is_err());
    }
    let mut longer = wrapped.clone();
    longer.push(0);
    assert!(k.unwrap("b", &longer).is_err());
}

#[test]
fn key_file_on_disk_and_rotation_by_appending() {
    let dir = std::env::temp_dir().join(format!("embercache-crypt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("keys");
    let _ = std::fs::remove_file(&path);
    LocalKeyFile::append_new_key(&path, "k1").unwrap();
    let first = Arc::new(LocalKeyFile::open(&path).unwrap());
    assert_eq!(first.current_key_id(), "k1");
    let recs = records(50);
    let old_file = write_snapshot(&opts(&first, Cipher::Aes256Gcm, false), &recs);

    assert!(LocalKeyFile::append_new_key(&path, "k1").is_err(), "duplicate id");
    LocalKeyFile::append_new_key(&path, "k2").unwrap();
    let second = Arc::new(LocalKeyFile::open(&path).unwrap());
    assert_eq!(second.key_ids().collect::<Vec<_>>(), ["k1", "k2"]);
    let o = opts(&second, Cipher::Aes256Gcm, false);
    let new_file = write_snapshot(&o, &recs);
    assert_eq!(Envelope::decode(&header_of(&new_file).0.ext).unwrap().key_id, "k2");
    assert_eq!(read_snapshot(&old_file, &o).unwrap(), recs);
    assert_eq!(read_snapshot(&new_file, &o).unwrap(), recs);

    let entry = LocalKeyFile::generate_entry("k3").unwrap();
    assert!(entry.starts_with("k3 ") && entry.ends_with('\n') && entry.len() == 3 + 64 + 1);
    assert_ne!(entry, LocalKeyFile::generate_entry("k3").unwrap());

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = LocalKeyFile::open(&path).unwrap_err();
        assert!(e.to_string().contains("chmod 600"), "{e}");
        assert!(LocalKeyFile::append_new_key(&path, "k3").is_err());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
