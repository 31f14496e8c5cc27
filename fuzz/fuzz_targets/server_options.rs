//! Feeds arbitrary text to `embercache-server`'s option parsing: as a
//! redis.conf (`ServerOptions::from_config_text`) and, split at NUL bytes,
//! as a command line of `--name value…` options (`from_args`). Any panic
//! is a bug. `include` (which reads files, in any spelling) and arguments that would read
//! a config file or standard input are left out, so the target touches no
//! file. Checked: parsing is deterministic, and the options a text gives
//! are the same when the text is read twice in a row (every directive
//! sets a value, so doing it again changes nothing — except `save`,
//! whose first occurrence resets the defaults, and
//! `client-output-buffer-limit`, which merges: both are left out of that
//! check).

#![no_main]

use embercache::server::options::{ServerOptions, Startup};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Leaves out every spelling of `include` (quotes and `\c` escapes
    // removed; `\xHH` escapes skipped altogether).
    let spelled = text.to_ascii_lowercase().replace(['\\', '"', '\''], "");
    if spelled.contains("include") || text.contains("\\x") {
        return;
    }
    let once = ServerOptions::from_config_text(&text);
    let again = ServerOptions::from_config_text(&text);
    assert_eq!(once.is_ok(), again.is_ok());
    if let (Ok(a), Ok(b)) = (&once, &again) {
        assert_eq!(a, b);
        let lower = text.to_ascii_lowercase();
        if !lower.contains("save") && !lower.contains("client-output-buffer-limit") {
            let twice = ServerOptions::from_config_text(&format!("{text}\n{text}"));
            if let Ok(t) = twice {
                assert_eq!(&t, a);
            }
        }
    }

    // As a command line: the first argument starts with `--`, so none is
    // taken for a config file; a lone `-` (standard input) is dropped.
    let mut args: Vec<String> = text.split('\0').filter(|a| *a != "-").map(str::to_string).collect();
    if let Some(first) = args.first_mut()
        && !first.starts_with("--")
    {
        first.insert_str(0, "--");
    }
    if matches!(args.first().map(String::as_str), Some("--version" | "--help")) {
        return;
    }
    match ServerOptions::from_args(&args) {
        Ok(Startup::Serve(_)) | Err(_) => {}
        Ok(other) => panic!("unexpected {other:?} for {args:?}"),
    }
});
