//! Sends each command to both servers and compares the replies: raw bytes
//! first; where they differ, after the few normalizations documented here.
//!
//! # Normalizations
//!
//! | What | Why |
//! |------|-----|
//! | SCAN, SSCAN, HSCAN, ZSCAN: a call from cursor 0 is followed to the end on each server, the elements of every call joined | a cursor is each server's own; embercache's SCAN covers one shard per call, where Redis covers a small keyspace in one |
//! | Unordered replies sorted (SMEMBERS, SINTER, SUNION, SDIFF, KEYS, HKEYS, HVALS, HGETALL, SRANDMEMBER/SPOP/HRANDFIELD/ZRANDMEMBER with a count covering the whole value, the elements of SCAN/SSCAN/HSCAN/ZSCAN, RESP3 maps and sets) | Redis leaves their order open (it follows its hash tables) |
//! | TTL, PTTL, EXPIRETIME, PEXPIRETIME: two non-negative answers within 2 s | the servers read their clocks at different moments |
//! | Scores (sorted-set replies and RESP3 doubles) that Redis printed with `%.17g`, rewritten as the shortest text of the same double | Redis 7.0 prints doubles with `%.17g` (`0.10000000000000001`), Redis 7.2 and later, and embercache, print the shortest text that reads back to the same double (`0.1`); embercache follows current Redis |
//! | [`ERROR_TEXTS`]: error texts that differ on purpose | see each entry |
//! | [`VERSION_RULES`]: behaviour that changed after Redis 7.0 | embercache follows Redis 7.2 and later; the reference here is the distribution's 7.0 |
//! | [`STOP_RULES`]: accepted, and the rest of the case is not compared (the keyspaces differ from then on) | see each entry |

use super::generate::{Args, Cmd, render};
use super::resp::{Conn, Resp};
use proptest::test_runner::TestCaseError;
use std::fmt::Write as _;

/// Errors worded differently on purpose: (command, Redis's text,
/// embercache's text, why).
pub(crate) const ERROR_TEXTS: &[(&str, &str, &str, &str)] = &[];

/// A reply pair accepted although it differs: (embercache's, Redis's)
/// replies to `args`, with a connection to Redis for probes that leave
/// its keyspace as it is.
type Rule = fn(args: &[Vec<u8>], ember: &Resp, redis: &Resp, probe: &mut Conn) -> bool;

/// Behaviour changed after Redis 7.0 that embercache follows (name,
/// the change, the rule accepting both).
pub(crate) const VERSION_RULES: &[(&str, &str, Rule)] = &[
    (
        "BITCOUNT/BITPOS with malformed options on a missing key, a key of another type, or a reversed negative range",
        "Redis 7.2 (#11734) reads every option first and errs; 7.0 looks the key up first, answering 0 (-1 for \
         BITPOS 1) or WRONGTYPE, and BITCOUNT answers 0 for start < end < 0 before reading the unit",
        |args, ember, redis, probe| {
            let cmd = name(args);
            if !(cmd == "BITCOUNT" || cmd == "BITPOS")
                || !matches!(ember, Resp::Error(e) if !e.starts_with("WRONGTYPE"))
            {
                return false;
            }
            let int = |i: usize| args.get(i).and_then(|a| std::str::from_utf8(a).ok()?.parse::<i64>().ok());
            let reversed = cmd == "BITCOUNT"
                && args.len() == 5
                && matches!((int(2), int(3)), (Some(s), Some(e)) if s < 0 && e < 0 && s > e);
            match redis {
                Resp::Error(e) => e.starts_with("WRONGTYPE"),
                Resp::Int(0 | -1) => {
                    reversed || matches!(probe.call(&[b"EXISTS".to_vec(), args[1].clone()]), Ok((Resp::Int(0), _)))
                }
                _ => false,
            }
        },
    ),
    (
        "ZRANK/ZREVRANK with a fourth argument",
        "Redis 7.2 added WITHSCORE (ZRANK k m x is a syntax error); 7.0 has arity 3",
        |args, ember, redis, _| {
            matches!(name(args).as_str(), "ZRANK" | "ZREVRANK")
                && args.len() == 4
                && !args[3].eq_ignore_ascii_case(b"WITHSCORE")
                && matches!(ember, Resp::Error(e) if e == "ERR syntax error")
                && matches!(redis, Resp::Error(e) if e.starts_with("ERR wrong number of arguments"))
        },
    ),
];

/// Divergences after which a case stops being compared (name, why, rule).
pub(crate) const STOP_RULES: &[(&str, &str, Rule)] = &[(
    "PFADD/PFMERGE on a sketch whose sparse opcodes are corrupt (a string edit such as APPEND on a HyperLogLog)",
    "embercache checks every sparse run before a write and answers INVALIDOBJ; Redis 7.0 walks only to the \
     register it changes and edits the corrupt sketch in place (which its own PFCOUNT then calls corrupt)",
    |args, ember, redis, probe| {
        const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";
        let key = match name(args).as_str() {
            "PFADD" | "PFMERGE" => &args[1],
            _ => return false,
        };
        matches!(ember, Resp::Error(e) if e == CORRUPT)
            && !matches!(redis, Resp::Error(_))
            && matches!(probe.call(&[b"PFCOUNT".to_vec(), key.clone()]), Ok((Resp::Error(e), _)) if e == CORRUPT)
    },
)];

/// The two connections of one comparison, and the base of absolute times.
pub(crate) struct Pair {
    ember: Conn,
    redis: Conn,
    resp3: bool,
    /// `$DIFF_SURVEY` set: divergences are collected (the first per
    /// command name), not failed on, to triage many at once.
    pub(crate) survey: Option<std::collections::BTreeMap<String, String>>,
    /// Set when a [`STOP_RULES`] entry matched: the case ends there.
    stopped: bool,
    /// Unix seconds far in the future: `@S+n` is `base + n`, `@MS+n` is `base * 1000 + n`.
    base_secs: i64,
}

fn name(args: &[Vec<u8>]) -> String {
    String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
}

fn has(args: &[Vec<u8>], word: &str) -> bool {
    args.iter().any(|a| a.eq_ignore_ascii_case(word.as_bytes()))
}

/// `%.17g`, as C prints it: Redis 7.0's format for doubles.
pub(crate) fn g17(x: f64) -> String {
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let e = format!("{x:.16e}");
    let (mantissa, exp) = e.split_once('e').expect("an exponent");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let trim = |s: &str| -> String {
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s.to_string() }
    };
    if !(-4..17).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exp.abs())
    } else {
        let decimals = usize::try_from(16 - exp).expect("at most 20 decimals");
        trim(&format!("{x:.decimals$}"))
    }
}

/// Redis's `%.17g` double text as the shortest text of the same double.
fn shortest_score(text: &str) -> Option<String> {
    let x: f64 = text.parse().ok()?;
    (g17(x) == text).then(|| embercache::db::format_double(x))
}

/// Rewrites every score Redis printed with `%.17g` (bulks of sorted-set
/// replies when `bulks`, and every RESP3 double).
fn rewrite_scores(r: Resp, bulks: bool) -> Resp {
    let go = |v: Vec<Resp>| v.into_iter().map(|x| rewrite_scores(x, bulks)).collect();
    match r {
        Resp::Bulk(b) if bulks => match std::str::from_utf8(&b).ok().and_then(shortest_score) {
            Some(s) => Resp::Bulk(s.into_bytes()),
            None => Resp::Bulk(b),
        },
        Resp::Double(d) => Resp::Double(shortest_score(&d).unwrap_or(d)),
        Resp::Array(v) => Resp::Array(go(v)),
        Resp::Set(v) => Resp::Set(go(v)),
        Resp::Push(v) => Resp::Push(go(v)),
        Resp::Map(p) => {
            Resp::Map(p.into_iter().map(|(k, v)| (rewrite_scores(k, bulks), rewrite_scores(v, bulks))).collect())
        }
        other => other,
    }
}

fn sort_flat_pairs(v: Vec<Resp>) -> Vec<Resp> {
    let mut pairs: Vec<Vec<Resp>> = v.chunks(2).map(<[Resp]>::to_vec).collect();
    pairs.sort();
    pairs.concat()
}

/// Sorts the elements of an unordered reply; `pairs`: a flat array of pairs.
fn sort_unordered(r: Resp, pairs: bool) -> Resp {
    match r {
        Resp::Array(v) if pairs => Resp::Array(sort_flat_pairs(v)),
        Resp::Array(mut v) => {
            v.sort();
            Resp::Array(v)
        }
        Resp::Set(mut v) => {
            v.sort();
            Resp::Set(v)
        }
        Resp::Map(mut p) => {
            p.sort();
            Resp::Map(p)
        }
        other => other,
    }
}

/// The reply with its open order fixed and, from Redis, its scores in
/// current Redis's text.
fn normalize(args: &[Vec<u8>], r: Resp, from_redis: bool, resp3: bool) -> Resp {
    let cmd = name(args);
    let sorted_set = cmd.starts_with('Z') || cmd.starts_with("BZ");
    let r = if from_redis { rewrite_scores(r, sorted_set) } else { r };
    let with = has(args, "WITHVALUES") || has(args, "WITHSCORES");
    match cmd.as_str() {
        "SMEMBERS" | "SINTER" | "SUNION" | "SDIFF" | "KEYS" | "HKEYS" | "HVALS" | "SRANDMEMBER" | "SPOP" => {
            sort_unordered(r, false)
        }
        "HGETALL" => sort_unordered(r, !resp3),
        // In RESP3 the pairs are two-element arrays: sorted as elements.
        "HRANDFIELD" | "ZRANDMEMBER" => sort_unordered(r, with && !resp3),
        "SCAN" | "SSCAN" | "HSCAN" | "ZSCAN" => match r {
            Resp::Array(mut v) if v.len() == 2 => {
                let elements = v.pop().expect("two elements");
                v.push(sort_unordered(elements, matches!(cmd.as_str(), "HSCAN" | "ZSCAN")));
                Resp::Array(v)
            }
            other => other,
        },
        _ => r,
    }
}

/// Whether normalized replies agree, with the TTL tolerance and the error table.
fn agree(args: &[Vec<u8>], ember: &Resp, redis: &Resp) -> bool {
    if ember == redis {
        return true;
    }
    let cmd = name(args);
    match (ember, redis) {
        (Resp::Int(a), Resp::Int(b)) if *a >= 0 && *b >= 0 => match cmd.as_str() {
            "TTL" | "EXPIRETIME" => (a - b).abs() <= 2,
            "PTTL" | "PEXPIRETIME" => (a - b).abs() <= 2000,
            _ => false,
        },
        (Resp::Error(e), Resp::Error(r)) => {
            ERROR_TEXTS.iter().any(|&(c, rt, et, _)| c.eq_ignore_ascii_case(&cmd) && rt == r && et == e)
        }
        _ => false,
    }
}

/// Runs `args`; a SCAN-family call is followed to the end of its
/// iteration (at most 10,000 calls), its elements joined in one reply.
fn call_to_end(conn: &mut Conn, args: &[Vec<u8>]) -> std::io::Result<(Resp, Vec<u8>)> {
    let at = match name(args).as_str() {
        "SCAN" => 1,
        "SSCAN" | "HSCAN" | "ZSCAN" => 2,
        _ => return conn.call(args),
    };
    let (mut reply, mut raw) = conn.call(args)?;
    let mut args = args.to_vec();
    for _ in 0..10_000 {
        let Resp::Array(parts) = &mut reply else { break };
        let [Resp::Bulk(cursor), Resp::Array(elements)] = &mut parts[..] else { break };
        if cursor.as_slice() == b"0" {
            break;
        }
        args[at] = std::mem::take(cursor);
        let (next, next_raw) = conn.call(&args)?;
        raw.extend_from_slice(&next_raw);
        match next {
            Resp::Array(mut more) if more.len() == 2 => {
                if let Resp::Array(e) = more.pop().expect("two parts") {
                    elements.extend(e);
                }
                if let Some(Resp::Bulk(c)) = more.pop() {
                    *cursor = c;
                }
            }
            other => return Ok((other, next_raw)),
        }
    }
    Ok((reply, raw))
}

impl Pair {
    /// Connects to both servers (switching both to RESP3 with `resp3`).
    pub(crate) fn connect(ember: std::net::SocketAddr, redis: std::net::SocketAddr, resp3: bool) -> Pair {
        let mut pair = Pair {
            ember: Conn::connect(ember).expect("connect to embercache"),
            redis: Conn::connect(redis).expect("connect to redis-server"),
            resp3,
            survey: std::env::var_os("DIFF_SURVEY").map(|_| Default::default()),
            stopped: false,
            base_secs: 0,
        };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs();
        // A round number ten million seconds (~4 months) ahead.
        pair.base_secs = i64::try_from(now / 1_000_000 * 1_000_000 + 10_000_000).expect("in range");
        if resp3 {
            let hello = [b"HELLO".to_vec(), b"3".to_vec()];
            for c in [&mut pair.ember, &mut pair.redis] {
                // The servers describe themselves differently: not compared.
                match c.call(&hello) {
                    Ok((Resp::Map(_), _)) => {}
                    other => panic!("HELLO 3 answered {other:?}"),
                }
            }
        }
        pair
    }

    /// `@S+n` and `@MS+n` as absolute times.
    fn substitute(&self, args: &[Vec<u8>]) -> Args {
        args.iter()
            .map(|a| {
                let s = String::from_utf8_lossy(a);
                if let Some(n) = s.strip_prefix("@S+").and_then(|n| n.parse::<i64>().ok()) {
                    (self.base_secs + n).to_string().into_bytes()
                } else if let Some(n) = s.strip_prefix("@MS+").and_then(|n| n.parse::<i64>().ok()) {
                    (self.base_secs * 1000 + n).to_string().into_bytes()
                } else {
                    a.clone()
                }
            })
            .collect()
    }

    /// Runs `args` on both; Redis's reply (normalized) if they agree.
    fn step(&mut self, args: &[Vec<u8>], log: &mut Vec<String>) -> Result<Resp, TestCaseError> {
        let args = self.substitute(args);
        log.push(render(&args));
        let io = |who: &str, e: std::io::Error| TestCaseError::fail(format!("{who}: {e}\n{}", log.join("\n")));
        let (e, eraw) = call_to_end(&mut self.ember, &args).map_err(|err| io("embercache", err))?;
        let (r, rraw) = call_to_end(&mut self.redis, &args).map_err(|err| io("redis-server", err))?;
        if eraw == rraw {
            return Ok(r);
        }
        let en = normalize(&args, e, false, self.resp3);
        let rn = normalize(&args, r, true, self.resp3);
        if agree(&args, &en, &rn) || VERSION_RULES.iter().any(|(_, _, rule)| rule(&args, &en, &rn, &mut self.redis)) {
            return Ok(rn);
        }
        if STOP_RULES.iter().any(|(_, _, rule)| rule(&args, &en, &rn, &mut self.redis)) {
            self.stopped = true;
            return Ok(rn);
        }
        let mut msg = String::from("replies differ\n--- commands (the last one differs):\n");
        for l in log.iter() {
            msg.push_str(l);
            msg.push('\n');
        }
        let _ = write!(msg, "--- redis-server: {rn}\n--- embercache:   {en}\n");
        let _ = write!(
            msg,
            "--- raw bytes\nredis-server: {:?}\nembercache:   {:?}",
            String::from_utf8_lossy(&rraw),
            String::from_utf8_lossy(&eraw)
        );
        if let Some(survey) = &mut self.survey {
            let tail = log.join("\n");
            survey.entry(name(&args)).or_insert(format!("{tail}\n--- redis-server: {rn}\n--- embercache:   {en}"));
            return Ok(rn);
        }
        Err(TestCaseError::fail(msg))
    }

    /// One case: FLUSHALL both, run `cmds` on both comparing every reply,
    /// then compare every key's type, contents and time to live.
    pub(crate) fn run_case(&mut self, cmds: &[Cmd]) -> Result<(), TestCaseError> {
        let mut log = Vec::new();
        self.stopped = false;
        self.step(&[b"FLUSHALL".to_vec()], &mut log)?;
        log.clear();
        for cmd in cmds {
            self.step(&cmd.0, &mut log)?;
            if self.stopped {
                return Ok(());
            }
        }
        log.push("# the final contents:".into());
        let keys = match self.step(&[b"KEYS".to_vec(), b"*".to_vec()], &mut log)? {
            Resp::Array(v) | Resp::Set(v) => v,
            other => return Err(TestCaseError::fail(format!("KEYS * answered {other}"))),
        };
        for k in keys {
            let Resp::Bulk(k) = k else { return Err(TestCaseError::fail(format!("a key {k}"))) };
            let ty = self.step(&[b"TYPE".to_vec(), k.clone()], &mut log)?;
            let read: &[&[u8]] = match &ty {
                Resp::Simple(t) if t == "string" => &[b"GET"],
                Resp::Simple(t) if t == "list" => &[b"LRANGE", b"0", b"-1"],
                Resp::Simple(t) if t == "hash" => &[b"HGETALL"],
                Resp::Simple(t) if t == "set" => &[b"SMEMBERS"],
                Resp::Simple(t) if t == "zset" => &[b"ZRANGE", b"0", b"-1", b"WITHSCORES"],
                _ => &[b"EXISTS"],
            };
            let mut args: Args = vec![read[0].to_vec(), k.clone()];
            args.extend(read[1..].iter().map(|a| a.to_vec()));
            self.step(&args, &mut log)?;
            self.step(&[b"PTTL".to_vec(), k], &mut log)?;
        }
        Ok(())
    }
}

#[test]
fn g17_prints_as_c_does() {
    for (x, want) in [
        (0.1, "0.10000000000000001"),
        (1.5, "1.5"),
        (1.0, "1"),
        (-2.5, "-2.5"),
        (1e3, "1000"),
        (1e17, "1e+17"),
        (1e16, "10000000000000000"),
        (1e-7, "9.9999999999999995e-08"),
        (1e-4, "0.0001"),
        (1e308, "1e+308"),
        (f64::MAX, "1.7976931348623157e+308"),
        (-0.0, "-0"),
        (f64::INFINITY, "inf"),
    ] {
        assert_eq!(g17(x), want, "{x}");
    }
}
