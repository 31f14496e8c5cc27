//! A strict RESP2/RESP3 reply reader for the differential test: every
//! frame keeps its exact type marker, and the bytes it came from.

use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One reply frame, as sent (RESP3 doubles, big numbers and verbatim
/// strings keep their text).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    /// `$-1`
    NullBulk,
    /// `*-1`
    NullArray,
    /// RESP3 `_`
    Null,
    Array(Vec<Resp>),
    /// RESP3 `,`
    Double(String),
    /// RESP3 `#`
    Bool(bool),
    /// RESP3 `(`
    BigNum(String),
    /// RESP3 `=`
    Verbatim(Vec<u8>),
    /// RESP3 `%`
    Map(Vec<(Resp, Resp)>),
    /// RESP3 `~`
    Set(Vec<Resp>),
    /// RESP3 `>`
    Push(Vec<Resp>),
}

fn bad(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// A client connection speaking raw RESP.
pub(crate) struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    out: Vec<u8>,
}

impl Conn {
    /// Connects to `addr` (ten-second read timeout: a hang fails the test).
    pub(crate) fn connect(addr: SocketAddr) -> io::Result<Conn> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Conn { reader: BufReader::new(s.try_clone()?), writer: s, out: Vec::new() })
    }

    /// Sends one command and reads its reply, with the reply's raw bytes.
    pub(crate) fn call(&mut self, args: &[Vec<u8>]) -> io::Result<(Resp, Vec<u8>)> {
        self.out.clear();
        self.out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            self.out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            self.out.extend_from_slice(a);
            self.out.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&self.out)?;
        let mut raw = Vec::new();
        let r = read(&mut self.reader, &mut raw)?;
        Ok((r, raw))
    }
}

fn line(r: &mut impl BufRead, raw: &mut Vec<u8>) -> io::Result<String> {
    let mut l = Vec::new();
    r.read_until(b'\n', &mut l)?;
    raw.extend_from_slice(&l);
    if !l.ends_with(b"\r\n") {
        return Err(bad(format!("unterminated line {:?}", String::from_utf8_lossy(&l))));
    }
    l.truncate(l.len() - 2);
    String::from_utf8(l).map_err(|e| bad(e.to_string()))
}

fn len(s: &str) -> io::Result<i64> {
    s.parse().map_err(|_| bad(format!("bad length {s:?}")))
}

fn blob(r: &mut impl BufRead, raw: &mut Vec<u8>, n: i64) -> io::Result<Vec<u8>> {
    let n = usize::try_from(n).map_err(|_| bad("negative length"))?;
    let mut b = vec![0; n + 2];
    r.read_exact(&mut b)?;
    raw.extend_from_slice(&b);
    if !b.ends_with(b"\r\n") {
        return Err(bad("bulk without CRLF"));
    }
    b.truncate(n);
    Ok(b)
}

fn items(r: &mut impl BufRead, raw: &mut Vec<u8>, n: i64) -> io::Result<Vec<Resp>> {
    (0..n).map(|_| read(r, raw)).collect()
}

/// Reads one frame, appending its bytes to `raw`.
pub(crate) fn read(r: &mut impl BufRead, raw: &mut Vec<u8>) -> io::Result<Resp> {
    let l = line(r, raw)?;
    let (kind, rest) = l.split_at_checked(1).ok_or_else(|| bad("empty line"))?;
    Ok(match kind {
        "+" => Resp::Simple(rest.into()),
        "-" => Resp::Error(rest.into()),
        ":" => Resp::Int(len(rest)?),
        "$" if rest == "-1" => Resp::NullBulk,
        "$" => Resp::Bulk(blob(r, raw, len(rest)?)?),
        "*" if rest == "-1" => Resp::NullArray,
        "*" => Resp::Array(items(r, raw, len(rest)?)?),
        "_" => Resp::Null,
        "," => Resp::Double(rest.into()),
        "#" => Resp::Bool(rest == "t"),
        "(" => Resp::BigNum(rest.into()),
        "=" => Resp::Verbatim(blob(r, raw, len(rest)?)?),
        "~" => Resp::Set(items(r, raw, len(rest)?)?),
        ">" => Resp::Push(items(r, raw, len(rest)?)?),
        "%" => {
            let n = len(rest)?;
            let mut pairs = Vec::new();
            for _ in 0..n {
                let k = read(r, raw)?;
                pairs.push((k, read(r, raw)?));
            }
            Resp::Map(pairs)
        }
        other => return Err(bad(format!("unknown frame type {other:?}"))),
    })
}

fn quote(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

/// redis-cli-like rendering, for failure messages.
impl fmt::Display for Resp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, open: &str, v: &[Resp], close: &str| {
            write!(f, "{open}")?;
            for (i, x) in v.iter().enumerate() {
                write!(f, "{}{x}", if i == 0 { "" } else { ", " })?;
            }
            write!(f, "{close}")
        };
        match self {
            Resp::Simple(s) => write!(f, "+{s}"),
            Resp::Error(s) => write!(f, "(error) {s}"),
            Resp::Int(n) => write!(f, "(integer) {n}"),
            Resp::Bulk(b) => write!(f, "{}", quote(b)),
            Resp::NullBulk => write!(f, "(nil bulk)"),
            Resp::NullArray => write!(f, "(nil array)"),
            Resp::Null => write!(f, "(null)"),
            Resp::Array(v) => list(f, "[", v, "]"),
            Resp::Double(d) => write!(f, "(double) {d}"),
            Resp::Bool(b) => write!(f, "(bool) {b}"),
            Resp::BigNum(n) => write!(f, "(big number) {n}"),
            Resp::Verbatim(b) => write!(f, "(verbatim) {}", quote(b)),
            Resp::Set(v) => list(f, "(set) {", v, "}"),
            Resp::Push(v) => list(f, "(push) [", v, "]"),
            Resp::Map(pairs) => {
                write!(f, "(map) {{")?;
                for (i, (k, v)) in pairs.iter().enumerate() {
                    write!(f, "{}{k} => {v}", if i == 0 { "" } else { ", " })?;
                }
                write!(f, "}}")
            }
        }
    }
}
