//! Random picks and cursors over hashes and sets: HRANDFIELD and HSCAN, and
//! the helpers SRANDMEMBER and SSCAN share with them (Redis's count
//! semantics, cursor and option parsing, one scan step over a table).

use super::table::{DenseTable, Keyed, random_below, sample_distinct};
use crate::db::args::{self, is};
use crate::db::cursor::{item_position, scan_items};
use crate::db::glob;
use crate::db::{Db, DbError, DbResult, Reply, Value};

/// Redis's error for a count of `i64::MIN` (HRANDFIELD, SRANDMEMBER take
/// counts in `-i64::MAX..=i64::MAX`, so that `-count` cannot overflow).
pub(crate) const COUNT_RANGE: DbError =
    DbError::OutOfRange("value is out of range, value must between -9223372036854775807 and 9223372036854775807");

/// Initial room for the picks of a negative count: the result grows as it
/// is filled, so a huge count does not reserve memory up front.
const PICKS_RESERVE: usize = 1024;

/// The most a reply of repeated picks (a negative count) may hold, in
/// bytes: Redis's largest bulk string (`proto-max-bulk-len`), 512 MB.
/// Redis streams such a reply until memory runs out; a command that builds
/// its reply refuses it with [`DbError::ReplyTooLarge`] instead.
pub const MAX_PICKS_BYTES: usize = 512 * 1024 * 1024;

/// What one pick costs beyond its own bytes, in [`MAX_PICKS_BYTES`]: its
/// `Vec` and [`Reply`] headers and an allocation's rounding, rounded up.
const PICK_OVERHEAD: usize = 64;

/// The bytes a pick holds, counted against [`MAX_PICKS_BYTES`].
pub(crate) trait PickSize {
    /// The bytes of the pick's fields, members and values.
    fn pick_size(&self) -> usize;
}

impl PickSize for Vec<u8> {
    fn pick_size(&self) -> usize {
        self.len()
    }
}

impl PickSize for (Vec<u8>, f64) {
    fn pick_size(&self) -> usize {
        self.0.len() + size_of::<f64>()
    }
}

impl PickSize for FieldValue {
    fn pick_size(&self) -> usize {
        self.field.len() + self.value.as_ref().map_or(0, Vec::len)
    }
}

/// A field of a hash and, when asked for, its value (HRANDFIELD, HSCAN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldValue {
    /// The field.
    pub field: Vec<u8>,
    /// Its value, with `WITHVALUES` (HRANDFIELD) or without `NOVALUES` (HSCAN).
    pub value: Option<Vec<u8>>,
}

/// The options of HSCAN and SSCAN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemScanOptions {
    /// `MATCH pattern`: only items whose field (or member) matches this glob.
    pub pattern: Option<Vec<u8>>,
    /// `COUNT n`: about how many items one call visits (Redis's default is 10).
    pub count: usize,
    /// `NOVALUES` (HSCAN only): fields without their values.
    pub no_values: bool,
}

impl Default for ItemScanOptions {
    fn default() -> Self {
        ItemScanOptions { pattern: None, count: 10, no_values: false }
    }
}

/// Redis's random picks from `table`: for `count >= 0`, that many distinct
/// entries (all of them when the table is smaller); for `count < 0`,
/// `|count|` independent picks that may repeat. `f` turns each pick into
/// the result.
pub(crate) fn random_picks<E: Keyed, R: PickSize>(
    table: &DenseTable<E>,
    count: i64,
    mut f: impl FnMut(&E) -> R,
) -> DbResult<Vec<R>> {
    picks(table.len(), count, |i| table.get(i).map(&mut f))
}

/// Redis's random picks among `n` entries, `pick` turning an index into
/// the result (see [`random_picks`]).
pub(crate) fn picks<R: PickSize>(n: usize, count: i64, mut pick: impl FnMut(usize) -> Option<R>) -> DbResult<Vec<R>> {
    if count >= 0 {
        let k = usize::try_from(count).unwrap_or(usize::MAX);
        return Ok(sample_distinct(n, k).into_iter().filter_map(pick).collect());
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    repeated_picks(count.unsigned_abs(), || pick(random_below(n)))
}

/// `times` picks that may repeat, each drawn by `pick`: refused with
/// [`DbError::ReplyTooLarge`] before any is drawn when `times` alone would
/// pass [`MAX_PICKS_BYTES`], or as soon as the picks' bytes do.
pub(crate) fn repeated_picks<R: PickSize>(times: u64, mut pick: impl FnMut() -> Option<R>) -> DbResult<Vec<R>> {
    let budget = MAX_PICKS_BYTES as u64;
    if times.checked_mul(PICK_OVERHEAD as u64).is_none_or(|bytes| bytes > budget) {
        return Err(DbError::ReplyTooLarge);
    }
    let mut out = Vec::with_capacity(usize::try_from(times).unwrap_or(usize::MAX).min(PICKS_RESERVE));
    let mut bytes = 0usize;
    for _ in 0..times {
        let Some(r) = pick() else { continue };
        bytes = bytes.saturating_add(r.pick_size().saturating_add(PICK_OVERHEAD));
        if bytes > MAX_PICKS_BYTES {
            return Err(DbError::ReplyTooLarge);
        }
        out.push(r);
    }
    Ok(out)
}

/// A scan step over a small collection: every item whose position is at
/// or past `cursor` (all of them from cursor 0) that matches the pattern,
/// and cursor 0 (the scan ends).
pub(crate) fn scan_all<T>(
    items: impl Iterator<Item = T>,
    key: impl Fn(&T) -> &[u8],
    cursor: u64,
    opts: &ItemScanOptions,
) -> (u64, Vec<T>) {
    let mut items: Vec<T> = if cursor == 0 {
        items.collect()
    } else {
        scan_items(items, |t| item_position(key(t)), cursor, usize::MAX, 1).1
    };
    if let Some(p) = opts.pattern.as_deref().filter(|p| *p != b"*") {
        items.retain(|t| glob::matches(p, key(t)));
    }
    (0, items)
}

/// One HSCAN/SSCAN step over `table`: the next cursor and the entries of
/// this step that match the pattern.
pub(crate) fn scan_table<'a, E: Keyed>(
    table: &'a DenseTable<E>,
    cursor: u64,
    opts: &ItemScanOptions,
) -> (u64, Vec<&'a E>) {
    let (next, mut items) =
        scan_items(table.entries().iter(), |e| item_position(e.key()), cursor, opts.count, table.len());
    if let Some(p) = opts.pattern.as_deref().filter(|p| *p != b"*") {
        items.retain(|e| glob::matches(p, e.key()));
    }
    (next, items)
}

/// Parses `[MATCH pattern] [COUNT n] [NOVALUES]` as Redis's SCAN family
/// does (`NOVALUES` only where `hash`).
fn parse_scan_options(opts: &[&[u8]], hash: bool) -> DbResult<ItemScanOptions> {
    let mut out = ItemScanOptions::default();
    let mut i = 0;
    while let Some(&kw) = opts.get(i) {
        let next = opts.get(i + 1);
        if is(kw, "COUNT")
            && let Some(n) = next
        {
            let n = args::int(n)?;
            out.count = usize::try_from(n).ok().filter(|&n| n >= 1).ok_or(DbError::Syntax)?;
            i += 2;
        } else if is(kw, "MATCH")
            && let Some(p) = next
        {
            out.pattern = Some(p.to_vec());
            i += 2;
        } else if is(kw, "NOVALUES") {
            if !hash {
                return Err(DbError::Invalid("NOVALUES option can only be used in HSCAN"));
            }
            out.no_values = true;
            i += 1;
        } else {
            return Err(DbError::Syntax);
        }
    }
    Ok(out)
}

/// The reply to a SCAN-family call.
pub(crate) fn scan_reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![Reply::bulk(cursor.to_string()), Reply::Array(items)])
}

/// Parses `HSCAN`/`SSCAN key cursor [options]`, failing in Redis's order:
/// a bad cursor first, then an absent key (an empty page, whatever the
/// options) or one of another type (WRONGTYPE), then bad options.
pub(crate) fn parse_scan(
    db: &Db,
    a: &[&[u8]],
    is_kind: fn(&Value) -> bool,
    hash: bool,
) -> Result<(u64, ItemScanOptions), Reply> {
    let cursor = args::cursor(a[2])?;
    parse_scan_options(a.get(3..).unwrap_or_default(), hash).map(|o| (cursor, o)).map_err(|e| {
        match db.read(a[1], is_kind) {
            None => scan_reply(0, Vec::new()),
            Some(false) => DbError::WrongType.into(),
            Some(true) => e.into(),
        }
    })
}

impl Db {
    /// HRANDFIELD with a count: for `count >= 0`, up to `count` distinct
    /// fields; for `count < 0`, `|count|` fields that may repeat. Each
    /// comes with its value when `with_values`.
    ///
    /// `count` must not be `i64::MIN`, nor above `i64::MAX / 2` in absolute
    /// value with values (Redis's bounds, so the RESP2 reply length cannot
    /// overflow). A negative count whose picks would pass
    /// [`MAX_PICKS_BYTES`] is refused with [`DbError::ReplyTooLarge`].
    pub fn hrandfield(&self, key: &[u8], count: i64, with_values: bool) -> DbResult<Vec<FieldValue>> {
        if count == i64::MIN {
            return Err(COUNT_RANGE);
        }
        if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
            return Err(DbError::OutOfRange("value is out of range"));
        }
        let picks = self.read_hash(key, |h| {
            h.random_picks(count, |f, v| FieldValue { field: f.to_vec(), value: with_values.then(|| v.to_vec()) })
        })?;
        Ok(picks.transpose()?.unwrap_or_default())
    }

    /// HSCAN: one step of a cursor over the fields of `key` (start with 0;
    /// a returned cursor of 0 ends the scan). Every field present for the
    /// whole scan is returned at least once. Values come along unless
    /// `opts.no_values`.
    pub fn hscan(&self, key: &[u8], cursor: u64, opts: &ItemScanOptions) -> DbResult<(u64, Vec<FieldValue>)> {
        let page = self.read_hash(key, |h| {
            let (next, items) = h.scan(cursor, opts);
            let items = items
                .into_iter()
                .map(|(f, v)| FieldValue { field: f.to_vec(), value: (!opts.no_values).then(|| v.to_vec()) });
            (next, items.collect())
        })?;
        Ok(page.unwrap_or_default())
    }
}

/// Each field followed by its value, if present, as HSCAN replies (flat in
/// both protocols).
fn field_replies(fv: Vec<FieldValue>) -> Vec<Reply> {
    let mut out = Vec::with_capacity(fv.len().saturating_mul(2));
    for FieldValue { field: f, value } in fv {
        out.push(Reply::Bulk(f));
        if let Some(v) = value {
            out.push(Reply::Bulk(v));
        }
    }
    out
}

/// HRANDFIELD's picks: field/value [`Reply::Pairs`] with `WITHVALUES`
/// (flat in RESP2, `[[field, value], …]` in RESP3), else an array of fields.
fn random_fields_reply(fv: Vec<FieldValue>, with_values: bool) -> Reply {
    if with_values {
        let pairs = fv
            .into_iter()
            .map(|FieldValue { field, value }| (Reply::Bulk(field), Reply::Bulk(value.unwrap_or_default())));
        Reply::Pairs(pairs.collect())
    } else {
        Reply::Array(fv.into_iter().map(|fv| Reply::Bulk(fv.field)).collect())
    }
}

pub(super) fn cmd_hrandfield(db: &Db, a: &[&[u8]]) -> Reply {
    let Some(&count) = a.get(2) else {
        return db.hrandfield(a[1], 1, false).map(|mut p| Reply::from(p.pop().map(|fv| fv.field))).into();
    };
    let count = match args::int(count) {
        Ok(i64::MIN) => return COUNT_RANGE.into(),
        Ok(n) => n,
        Err(e) => return e.into(),
    };
    let with_values = match a.get(3..).unwrap_or_default() {
        [] => false,
        [kw] if is(kw, "WITHVALUES") => true,
        _ => return DbError::Syntax.into(),
    };
    db.hrandfield(a[1], count, with_values).map(|fv| random_fields_reply(fv, with_values)).into()
}

pub(super) fn cmd_hscan(db: &Db, a: &[&[u8]]) -> Reply {
    let (cursor, opts) = match parse_scan(db, a, |v| matches!(v, Value::Hash(_)), true) {
        Ok(parsed) => parsed,
        Err(reply) => return reply,
    };
    match db.hscan(a[1], cursor, &opts) {
        Ok((next, fv)) => scan_reply(next, field_replies(fv)),
        Err(e) => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::{DbError, MAX_PICKS_BYTES, PickSize, repeated_picks};

    /// A pick that claims its `.0` bytes, so the budget can be reached without
    /// allocating it.
    struct Claimed(usize);

    impl PickSize for Claimed {
        fn pick_size(&self) -> usize {
            self.0
        }
    }

    #[test]
    fn repeated_picks_stop_at_the_byte_budget() {
        let tenth = MAX_PICKS_BYTES / 10;
        let mut drawn = 0;
        let got = repeated_picks(100, || {
            drawn += 1;
            Some(Claimed(tenth))
        });
        assert_eq!(got.err(), Some(DbError::ReplyTooLarge));
        assert_eq!(drawn, 10, "refused at the pick that passed the budget");
        assert_eq!(repeated_picks(9, || Some(Claimed(tenth))).map(|v| v.len()), Ok(9));
        // A count too large for the per-pick overhead alone draws nothing.
        let mut drawn = 0;
        let got = repeated_picks(u64::MAX / 2, || {
            drawn += 1;
            Some(Claimed(0))
        });
        assert_eq!(got.err(), Some(DbError::ReplyTooLarge));
        assert_eq!(drawn, 0);
    }
}
