use super::*;
use crate::db::Reply;

/// A command's arguments.
type Args = Vec<Vec<u8>>;

/// Every command in `buf` (empty requests dropped) and the bytes consumed.
fn parse_all(buf: &[u8]) -> Result<(Vec<Args>, usize), ProtocolError> {
    let mut p = RequestParser::default();
    let mut at = 0;
    let mut out = Vec::new();
    while let Some(req) = p.parse(&buf[at..])? {
        assert!(req.consumed > 0 && at + req.consumed <= buf.len());
        at += req.consumed;
        if !req.args.is_empty() {
            out.push(req.args);
        }
    }
    Ok((out, at))
}

fn cmd(args: &[&str]) -> Args {
    args.iter().map(|a| a.as_bytes().to_vec()).collect()
}

#[test]
fn parses_multibulk_and_inline() {
    let table: &[(&[u8], &[&str])] = &[
        (b"*1\r\n$4\r\nPING\r\n", &["PING"]),
        (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n", &["SET", "k", ""]),
        (b"*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n", &["ECHO", "a\r\nb"]),
        (b"PING\r\n", &["PING"]),
        (b"PING\n", &["PING"]),
        (b"  set  k   v \r\n", &["set", "k", "v"]),
        (b"set k \"a b\\n\\x41\\\"\"\r\n", &["set", "k", "a b\nA\""]),
        (b"set k 'it\\'s \"x\"'\r\n", &["set", "k", "it's \"x\""]),
        (b"set k \"\"\r\n", &["set", "k", ""]),
        (b"set a\"b c\" d\r\n", &["set", "ab c", "d"]),
        (b"echo \"\\xZZ\"\r\n", &["echo", "xZZ"]),
        (b"echo '\\n'\r\n", &["echo", "\\n"]),
    ];
    for (input, want) in table {
        let (cmds, used) = parse_all(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(cmds, vec![cmd(want)], "{:?}", String::from_utf8_lossy(input));
        assert_eq!(used, input.len());
    }
}

#[test]
fn skips_empty_requests() {
    for input in [&b"*0\r\n"[..], b"*-1\r\n", b"\r\n", b"\n", b"   \r\n"] {
        assert_eq!(parse_all(input).unwrap(), (vec![], input.len()), "{input:?}");
    }
}

#[test]
fn every_protocol_error_has_redis_text() {
    let big_inline = vec![b'a'; MAX_INLINE_LEN + 1];
    let mut big_count = b"*".to_vec();
    big_count.extend(vec![b'1'; MAX_INLINE_LEN + 1]);
    let mut big_bulk_count = b"*1\r\n$".to_vec();
    big_bulk_count.extend(vec![b'1'; MAX_INLINE_LEN + 1]);
    let table: Vec<(&[u8], &str)> = vec![
        (b"*x\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*01\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*+1\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*1048577\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*99999999999999999999\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*1\r\n$x\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*1\r\n$536870913\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*1\r\nx3\r\nfoo\r\n", "ERR Protocol error: expected '$', got 'x'"),
        (b"*2\r\n$1\r\na\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'"),
        (b"set k \"abc\r\n", "ERR Protocol error: unbalanced quotes in request"),
        (b"set k 'abc\r\n", "ERR Protocol error: unbalanced quotes in request"),
        (b"set k \"a\"b\r\n", "ERR Protocol error: unbalanced quotes in request"),
        (b"set k 'a'b\r\n", "ERR Protocol error: unbalanced quotes in request"),
        (b"set a\"b c\"d\r\n", "ERR Protocol error: unbalanced quotes in request"),
        (&big_inline, "ERR Protocol error: too big inline request"),
        (&big_count, "ERR Protocol error: too big mbulk count string"),
        (&big_bulk_count, "ERR Protocol error: too big bulk count string"),
    ];
    for (input, want) in table {
        let err = parse_all(input).expect_err(&String::from_utf8_lossy(input));
        assert_eq!(err.to_string(), want, "{:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn limits_are_configurable() {
    let limits = ParseLimits { max_bulk_len: 3, max_multibulk_len: 2, max_inline_len: 8 };
    let mut p = RequestParser::new(limits);
    assert_eq!(p.parse(b"*1\r\n$4\r\n"), Err(ProtocolError::InvalidBulkLength));
    assert_eq!(p.parse(b"*3\r\n"), Err(ProtocolError::InvalidMultibulkLength));
    assert_eq!(p.parse(b"123456789"), Err(ProtocolError::TooBigInline));
    assert!(p.parse(b"*1\r\n$3\r\nabc\r\n").unwrap().is_some());
}

#[test]
fn huge_declared_lengths_wait_without_allocating() {
    let mut p = RequestParser::default();
    // 512 MiB declared, 3 bytes sent: incomplete, nothing reserved.
    assert_eq!(p.parse(b"*1048576\r\n$536870912\r\nabc"), Ok(None));
}

#[test]
fn split_reads_at_every_byte_boundary() {
    let input: &[u8] =
        b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\nPING\r\n*0\r\nset 'a b' \"c\\x41\"\n*1\r\n$4\r\nQUIT\r\n";
    let (want, _) = parse_all(input).unwrap();
    assert_eq!(want.len(), 4);
    // Feed the bytes one at a time, as a slow client would.
    let mut p = RequestParser::default();
    let mut buf = Vec::new();
    let mut got = Vec::new();
    for &b in input {
        buf.push(b);
        while let Some(req) = p.parse(&buf).unwrap() {
            buf.drain(..req.consumed);
            if !req.args.is_empty() {
                got.push(req.args);
            }
        }
    }
    assert_eq!(got, want);
    assert!(buf.is_empty());
    // And split once at every position.
    for cut in 0..=input.len() {
        let mut p = RequestParser::default();
        let mut buf = input[..cut].to_vec();
        let mut got = Vec::new();
        for chunk in [&input[cut..], &[][..]] {
            while let Some(req) = p.parse(&buf).unwrap() {
                buf.drain(..req.consumed);
                if !req.args.is_empty() {
                    got.push(req.args);
                }
            }
            buf.extend_from_slice(chunk);
        }
        assert_eq!(got, want, "cut at {cut}");
    }
}

#[test]
fn pipelined_commands_in_one_buffer() {
    let mut buf = Vec::new();
    for i in 0..100 {
        encode_command(&["INCR", &format!("k{i}")], &mut buf);
    }
    buf.extend_from_slice(b"PING\r\n");
    let (cmds, used) = parse_all(&buf).unwrap();
    assert_eq!(cmds.len(), 101);
    assert_eq!(cmds[42], cmd(&["INCR", "k42"]));
    assert_eq!(used, buf.len());
}

fn enc(reply: Reply, proto: Protocol) -> String {
    let mut out = Vec::new();
    encode(reply, proto, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn encodes_resp2_and_resp3() {
    use Protocol::{Resp2, Resp3};
    let pairs = || Reply::Pairs(vec![(Reply::bulk("a"), Reply::Double(1.5))]);
    let map = || Reply::Map(vec![(Reply::bulk("f"), Reply::Integer(1))]);
    let table: Vec<(Reply, &str, &str)> = vec![
        (Reply::OK, "+OK\r\n", "+OK\r\n"),
        (Reply::Error("ERR x\r\ny".into()), "-ERR x  y\r\n", "-ERR x  y\r\n"),
        (Reply::Integer(-7), ":-7\r\n", ":-7\r\n"),
        (Reply::bulk("hi"), "$2\r\nhi\r\n", "$2\r\nhi\r\n"),
        (Reply::Double(2.5), "$3\r\n2.5\r\n", ",2.5\r\n"),
        (Reply::Double(f64::INFINITY), "$3\r\ninf\r\n", ",inf\r\n"),
        (Reply::Null, "$-1\r\n", "_\r\n"),
        (Reply::NullArray, "*-1\r\n", "_\r\n"),
        (Reply::Array(vec![Reply::Integer(1), Reply::Null]), "*2\r\n:1\r\n$-1\r\n", "*2\r\n:1\r\n_\r\n"),
        (map(), "*2\r\n$1\r\nf\r\n:1\r\n", "%1\r\n$1\r\nf\r\n:1\r\n"),
        (Reply::Set(vec![Reply::bulk("m")]), "*1\r\n$1\r\nm\r\n", "~1\r\n$1\r\nm\r\n"),
        (pairs(), "*2\r\n$1\r\na\r\n$3\r\n1.5\r\n", "*1\r\n*2\r\n$1\r\na\r\n,1.5\r\n"),
        (Reply::Array(vec![]), "*0\r\n", "*0\r\n"),
    ];
    for (reply, resp2, resp3) in table {
        assert_eq!(enc(reply.clone(), Resp2), resp2, "{reply:?}");
        assert_eq!(enc(reply.clone(), Resp3), resp3, "{reply:?}");
    }
}

#[test]
fn encoded_commands_parse_back() {
    let args = cmd(&["SET", "", "a\r\nb", "\"'"]);
    let mut buf = Vec::new();
    encode_command(&args, &mut buf);
    assert_eq!(parse_all(&buf).unwrap(), (vec![args], buf.len()));
}

#[test]
fn pairs_are_written_in_each_protocols_shape_at_any_depth() {
    use Protocol::{Resp2, Resp3};
    let pair = |a: &str, b: f64| (Reply::bulk(a), Reply::Double(b));
    let nested = Reply::Array(vec![
        Reply::Pairs(vec![pair("a", 1.0), pair("b", -2.5)]),
        Reply::Map(vec![(Reply::bulk("k"), Reply::Pairs(vec![pair("c", 3.0)]))]),
        Reply::Set(vec![Reply::Pairs(vec![]), Reply::Integer(4)]),
        Reply::Pairs(vec![(Reply::Pairs(vec![pair("d", 0.5)]), Reply::Null)]),
    ]);
    // Written directly, as the shape conversions would have made it.
    assert_eq!(enc(nested.clone(), Resp2), enc(nested.clone().into_resp2_shape(), Resp2));
    assert_eq!(enc(nested.clone(), Resp3), enc(nested.into_resp3_shape(), Resp3));
}
