//! INCRBYFLOAT's arithmetic: Redis computes it in C's `long double`, the
//! x87 80-bit format on x86-64 (a 64-bit significand), and stores the sum
//! printed with `%.17Lf`, trailing zeros removed. With an `f64` instead,
//! `INCRBYFLOAT` of `0.1` on `0.2` would store `0.30000000000000004` where
//! Redis stores `0.3`; this module reproduces Redis's results exactly:
//!
//! - [`LongDouble::parse`] reads text as glibc's `strtold` (correctly
//!   rounded to 64 significant bits, ties to even), with Redis's
//!   `string2ld` checks (see `parse_long_double` in `counter.rs`);
//! - [`LongDouble::add`] adds with one rounding, ties to even;
//! - [`LongDouble::to_human`] prints as `%.17Lf` (exactly, ties to even)
//!   and trims as Redis's `ld2string(LD_STR_HUMAN)`.
//!
//! Subnormal long doubles (below about 3.4e-4932) are flushed to zero; a
//! value past the long double range does not parse (`ERANGE`).

use std::cmp::Ordering;

/// A finite x87 extended-precision number: `(-1)^neg × m × 2^e`, with `m`
/// either 0 or normalized (top bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LongDouble {
    neg: bool,
    m: u64,
    e: i32,
}

/// What `strtold` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Number {
    /// A finite value.
    Finite(LongDouble),
    /// `inf` or `infinity` (any case, either sign).
    Infinite,
}

/// Largest exponent `e` of a normalized finite value (`m × 2^e < 2^16384`).
const MAX_EXP: i32 = 16384 - 64;
/// Smallest exponent of a normal value (2^-16382 = 2^63 × 2^MIN_EXP).
const MIN_EXP: i32 = -16382 - 63;
/// Decimal digits kept after the point by `%.17Lf`.
const FRACTION_DIGITS: u32 = 17;

impl LongDouble {
    /// Zero.
    pub(crate) const ZERO: LongDouble = LongDouble { neg: false, m: 0, e: 0 };

    /// Reads a number as `strtold` does once Redis's `string2ld` has
    /// checked the text (no surrounding space, not too long): `None` if it
    /// is not one, or if it overflows or underflows to zero (`ERANGE`).
    pub(crate) fn parse(text: &str) -> Option<Number> {
        let (neg, body) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
            return Some(Number::Infinite);
        }
        let (digits, radix_bits, exp2, exp10) = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            Some(hex) => {
                let (mantissa, exp) = split_exponent(hex, ['p', 'P'])?;
                let (digits, fraction) = mantissa_digits(mantissa, 16)?;
                (digits, 4, exp.checked_sub(4 * i64::try_from(fraction).ok()?)?, 0)
            }
            None => {
                let (mantissa, exp) = split_exponent(body, ['e', 'E'])?;
                let (digits, fraction) = mantissa_digits(mantissa, 10)?;
                (digits, 0, 0, exp.checked_sub(i64::try_from(fraction).ok()?)?)
            }
        };
        let significant = digits.iter().skip_while(|&&d| d == 0).count();
        if significant == 0 {
            return Some(Number::Finite(LongDouble { neg, ..LongDouble::ZERO }));
        }
        // Far outside the range: overflow or underflow, before any big work.
        let magnitude =
            if radix_bits == 4 { (significant as i64 * 4 + exp2) * 3 / 10 } else { significant as i64 + exp10 };
        if magnitude > 4935 {
            return None;
        }
        if magnitude < -4951 {
            return None;
        }
        let mut num = Big::default();
        for &d in &digits {
            num.mul_add(if radix_bits == 4 { 16 } else { 10 }, d);
        }
        let mut den = Big::from(1);
        let mut exp2 = exp2;
        if exp10 >= 0 {
            (0..exp10).for_each(|_| num.mul_add(10, 0));
        } else {
            (0..-exp10).for_each(|_| den.mul_add(10, 0));
        }
        // Keep the quotient around 2^67 so that it rounds to 64 bits.
        let shift = 67 - (num.bits() as i64 - den.bits() as i64);
        if shift >= 0 {
            num.shl(shift as usize);
        } else {
            den.shl((-shift) as usize);
        }
        exp2 -= shift;
        let (q, inexact) = num.div_small_quotient(&den);
        // Below half the smallest subnormal (2^-16445) strtold rounds to
        // zero and reports ERANGE.
        if q.bits() as i64 - 1 + exp2 < -16446 {
            return None;
        }
        round(neg, q, inexact, exp2).map(Number::Finite)
    }

    /// The product by `k`, rounded once to 64 significant bits (ties to
    /// even): C's `x * k` in `long double`. `None` on overflow.
    pub(crate) fn mul_small(self, k: u32) -> Option<LongDouble> {
        let mut q = Big::from_u128(u128::from(self.m));
        q.mul_add(k, 0);
        round(self.neg, q, false, i64::from(self.e))
    }

    /// C's `(long long) ceill(x)`: `None` at or above 2^63; a negative
    /// value below -2^63 saturates to `i64::MIN` (what the cast gives on
    /// x86-64); `-0.5` is 0.
    pub(crate) fn ceil_i64(self) -> Option<i64> {
        if self.m == 0 {
            return Some(0);
        }
        if self.e >= 0 {
            // |x| >= 2^63: the top bit of m is set.
            return self.neg.then_some(i64::MIN);
        }
        let shift = self.e.unsigned_abs();
        let (int, fraction) =
            if shift >= 64 { (0, true) } else { (self.m >> shift, self.m & ((1u64 << shift) - 1) != 0) };
        // Below 2^63 (shift >= 1); up by one for a positive fraction.
        let int = i64::try_from(int).ok()?;
        if self.neg { Some(-int) } else { int.checked_add(i64::from(fraction)) }
    }

    /// The nearest `f64`.
    pub(crate) fn to_f64(self) -> f64 {
        let mut x = self.m as f64;
        let mut e = self.e;
        while e != 0 {
            let step = e.clamp(-1000, 1000);
            x *= 2f64.powi(step);
            e -= step;
        }
        if self.neg { -x } else { x }
    }

    /// The sum, rounded once (ties to even); `None` if it overflows.
    pub(crate) fn add(self, other: LongDouble) -> Option<LongDouble> {
        if other.m == 0 {
            return Some(if self.m == 0 { LongDouble { neg: self.neg && other.neg, ..self } } else { self });
        }
        if self.m == 0 {
            return Some(other);
        }
        let (big, small) = match (self.e, self.m).cmp(&(other.e, other.m)) {
            Ordering::Less => (other, self),
            _ => (self, other),
        };
        let diff = i64::from(big.e) - i64::from(small.e);
        if diff > 66 {
            // Less than a quarter of big's last place: big wins the rounding.
            return Some(big);
        }
        // Both scaled so that big has 62 guard bits below its significand.
        const GUARD: i64 = 62;
        let big_m = u128::from(big.m) << GUARD;
        let t = diff - GUARD;
        let (small_m, inexact) = if t <= 0 {
            (u128::from(small.m) << -t, false)
        } else {
            (u128::from(small.m) >> t, small.m & ((1u64 << t) - 1) != 0)
        };
        let (sum, neg) = if big.neg == small.neg {
            (big_m + small_m, big.neg)
        } else if big_m >= small_m {
            (big_m - small_m, big.neg)
        } else {
            (small_m - big_m, small.neg)
        };
        if sum == 0 {
            return Some(LongDouble::ZERO);
        }
        // The dropped bits of `small` make the exact sum a little larger
        // (same signs) or a little smaller (opposite signs) than `sum`.
        let (sum, inexact) = match (inexact, big.neg == small.neg) {
            (false, _) => (sum, false),
            (true, true) => (sum, true),
            (true, false) => (sum - 1, true),
        };
        round(neg, Big::from_u128(sum), inexact, i64::from(big.e) - GUARD)
    }

    /// `%.17Lf`, then trailing zeros (and a bare point) removed, and `-0`
    /// written `0`: Redis's `ld2string(LD_STR_HUMAN)`.
    pub(crate) fn to_human(self) -> String {
        let mut s = String::new();
        if self.neg {
            s.push('-');
        }
        if self.e >= 0 {
            let mut int = Big::from_u128(u128::from(self.m));
            int.shl(self.e as usize);
            s.push_str(&int.to_decimal());
        } else {
            // value × 10^17 = m × 10^17 / 2^k, rounded to an integer.
            let x = u128::from(self.m) * 10u128.pow(FRACTION_DIGITS);
            let k = self.e.unsigned_abs();
            let scaled = if k >= 128 {
                0
            } else {
                let kept = x >> k;
                let rest = x & ((1u128 << k) - 1);
                let half = 1u128 << (k - 1);
                kept + u128::from(rest > half || (rest == half && kept & 1 == 1))
            };
            let unit = 10u128.pow(FRACTION_DIGITS);
            s.push_str(&format!("{}.{:017}", scaled / unit, scaled % unit));
            let trimmed = s.trim_end_matches('0').trim_end_matches('.').len();
            s.truncate(trimmed);
        }
        if s == "-0" { "0".into() } else { s }
    }
}

/// Rounds `q × 2^exp2` (plus a fraction below `q`'s last bit if
/// `inexact`) to a 64-bit significand, ties to even. `None` on overflow;
/// zero when below the normal range.
fn round(neg: bool, q: Big, inexact: bool, exp2: i64) -> Option<LongDouble> {
    let bits = q.bits();
    if bits == 0 {
        return Some(LongDouble { neg, ..LongDouble::ZERO });
    }
    // Every caller passes more than 64 bits when the value is inexact.
    let (m, e) = if bits <= 64 {
        (q.low_u64() << (64 - bits), exp2 - (64 - bits) as i64)
    } else {
        let shift = bits - 64;
        let kept = q.shr_u64(shift);
        let below = q.any_below(shift - 1) || inexact;
        let up = q.bit(shift - 1) && (below || kept & 1 == 1);
        match kept.checked_add(u64::from(up)) {
            Some(m) => (m, exp2 + shift as i64),
            None => (1 << 63, exp2 + shift as i64 + 1),
        }
    };
    if e > i64::from(MAX_EXP) {
        return None;
    }
    if e < i64::from(MIN_EXP) {
        return Some(LongDouble { neg, ..LongDouble::ZERO });
    }
    Some(LongDouble { neg, m, e: e as i32 })
}

/// Splits `text` at its exponent marker: the mantissa and the exponent
/// (`None` if the exponent is malformed).
fn split_exponent(text: &str, markers: [char; 2]) -> Option<(&str, i64)> {
    let Some(i) = text.find(markers) else { return Some((text, 0)) };
    let exp = &text[i + 1..];
    let (neg, digits) = match exp.as_bytes().first() {
        Some(b'-') => (true, &exp[1..]),
        Some(b'+') => (false, &exp[1..]),
        _ => (false, exp),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // Saturate: such exponents over- or underflow anyway.
    let n = digits.bytes().fold(0i64, |n, c| (n * 10 + i64::from(c - b'0')).min(1 << 40));
    Some((&text[..i], if neg { -n } else { n }))
}

/// The digits of a mantissa with an optional point, and how many follow
/// the point; `None` without any digit or with a stray character.
fn mantissa_digits(mantissa: &str, radix: u32) -> Option<(Vec<u32>, usize)> {
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let digits = int.chars().chain(frac.chars()).map(|c| c.to_digit(radix)).collect::<Option<Vec<u32>>>()?;
    Some((digits, frac.len()))
}

/// A non-negative big integer, 32-bit limbs, least significant first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Big(Vec<u32>);

impl From<u32> for Big {
    fn from(n: u32) -> Big {
        Big(vec![n])
    }
}

impl Big {
    fn from_u128(n: u128) -> Big {
        let mut b = Big((0..4).map(|i| (n >> (32 * i)) as u32).collect());
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    /// `self = self × mul + add`.
    fn mul_add(&mut self, mul: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.0 {
            let v = u64::from(*limb) * u64::from(mul) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }

    fn bits(&self) -> usize {
        self.0.last().map_or(0, |top| 32 * self.0.len() - top.leading_zeros() as usize)
    }

    fn bit(&self, i: usize) -> bool {
        self.0.get(i / 32).is_some_and(|limb| limb >> (i % 32) & 1 == 1)
    }

    /// Whether any bit below `i` is set.
    fn any_below(&self, i: usize) -> bool {
        let (whole, part) = (i / 32, i % 32);
        self.0.iter().take(whole).any(|&l| l != 0) || self.0.get(whole).is_some_and(|&l| l & ((1u32 << part) - 1) != 0)
    }

    /// The 64 bits from bit `shift` up.
    fn shr_u64(&self, shift: usize) -> u64 {
        (0..64).filter(|i| self.bit(shift + i)).fold(0, |v, i| v | 1 << i)
    }

    fn low_u64(&self) -> u64 {
        self.shr_u64(0)
    }

    fn shl(&mut self, n: usize) {
        let (limbs, bits) = (n / 32, n % 32);
        if bits > 0 {
            let mut carry = 0;
            for limb in &mut self.0 {
                let v = *limb;
                *limb = v << bits | carry;
                carry = v >> (32 - bits);
            }
            if carry > 0 {
                self.0.push(carry);
            }
        }
        self.0.splice(0..0, std::iter::repeat_n(0, limbs));
        self.trim();
    }

    fn shr1(&mut self) {
        let mut carry = 0;
        for limb in self.0.iter_mut().rev() {
            let v = *limb;
            *limb = v >> 1 | carry << 31;
            carry = v & 1;
        }
        self.trim();
    }

    fn cmp_big(&self, other: &Big) -> Ordering {
        self.0.len().cmp(&other.0.len()).then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    /// `self -= other` (`other <= self`).
    fn sub(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let v = i64::from(*limb) - i64::from(other.0.get(i).copied().unwrap_or(0)) - borrow;
            *limb = v.rem_euclid(1 << 32) as u32;
            borrow = i64::from(v < 0);
        }
        self.trim();
    }

    /// `self / den` for a quotient below 2^70, and whether a remainder
    /// is left: restoring division, one quotient bit at a time.
    fn div_small_quotient(mut self, den: &Big) -> (Big, bool) {
        const BITS: usize = 70;
        let mut d = den.clone();
        d.shl(BITS - 1);
        let mut q: u128 = 0;
        for i in (0..BITS).rev() {
            if self.cmp_big(&d) != Ordering::Less {
                self.sub(&d);
                q |= 1 << i;
            }
            d.shr1();
        }
        (Big::from_u128(q), !self.0.is_empty())
    }

    /// Decimal digits.
    fn to_decimal(&self) -> String {
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.0.is_empty() {
            let mut rem = 0u64;
            for limb in n.0.iter_mut().rev() {
                let v = rem << 32 | u64::from(*limb);
                *limb = (v / 1_000_000_000) as u32;
                rem = v % 1_000_000_000;
            }
            n.trim();
            chunks.push(rem as u32);
        }
        let mut s = chunks.pop().map_or_else(|| "0".to_string(), |top| top.to_string());
        for c in chunks.iter().rev() {
            s.push_str(&format!("{c:09}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::{LongDouble, Number};

    fn ld(text: &str) -> LongDouble {
        match LongDouble::parse(text) {
            Some(Number::Finite(v)) => v,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn sum(a: &str, b: &str) -> String {
        ld(a).add(ld(b)).map_or_else(|| "overflow".into(), LongDouble::to_human)
    }

    #[test]
    fn sums_print_as_redis_does() {
        // Each answer is Redis 7's (x86-64) for `SET k a` then `INCRBYFLOAT k b`.
        assert_eq!(sum("0.1", "0.2"), "0.3");
        assert_eq!(sum("10.50", "0.1"), "10.6");
        assert_eq!(sum("5.0e3", "2.0e2"), "5200");
        assert_eq!(sum("134.456", "0"), "134.456");
        assert_eq!(sum("9.5025", "10.5"), "20.0025");
        assert_eq!(sum("3", "-3"), "0");
        assert_eq!(sum("-0", "-0"), "0");
        assert_eq!(sum("0x10", "0X1p-2"), "16.25");
        assert_eq!(sum("1e-20", "0"), "0");
        assert_eq!(sum("-1e-20", "0"), "0");
        assert_eq!(sum("9223372036854775807", "0"), "9223372036854775807");
        assert_eq!(sum("9223372036854775807", "1"), "9223372036854775808");
        assert_eq!(sum("-9223372036854775808", "-2.25"), "-9223372036854775810");
        assert_eq!(
            sum("1.5e308", "0"),
            "14999999999999999999990147648946846803101684096506094496713368542118010606669104603675666472821602203\
             1902928370522024964340854582506645209487860806577896175175227643677561112877760303256738896516844124\
             921428435196017215141331511736789270744288327321353040504243421434090049846615188904452633296864511849922560"
        );
        assert_eq!(sum("1e4932", "1e4932"), "overflow");
        assert_eq!(sum("0.1", "-0.1"), "0");
        assert_eq!(sum("1", "1e-30"), "1");
        assert_eq!(sum("1e30", "-1"), "1000000000000000000024696061952");
        assert_eq!(sum("0x1p-18", "0"), "0.00000381469726562");
    }

    #[test]
    fn parsing_follows_strtold() {
        assert_eq!(LongDouble::parse("inf"), Some(Number::Infinite));
        assert_eq!(LongDouble::parse("-Infinity"), Some(Number::Infinite));
        for bad in [
            "",
            "e5",
            ".",
            "0x",
            "0xp1",
            "1e",
            "1e+",
            "1.2.3",
            "--1",
            "1e99999",
            "1e-99999",
            "0x1p99999",
            "1e-4951",
            "abc",
        ] {
            assert_eq!(LongDouble::parse(bad), None, "{bad}");
        }
        assert_eq!(ld("0e99999").to_human(), "0");
        assert_eq!(ld("3e-4951").to_human(), "0");
        assert_eq!(ld("1.").to_human(), "1");
        assert_eq!(ld(".25").to_human(), "0.25");
        assert_eq!(ld("+7").to_human(), "7");
        // 2^-18 is a tie at the 17th decimal: it rounds to even.
        assert_eq!(ld("0x1p-18").to_human(), "0.00000381469726562");
        assert_eq!(ld("1e-5").to_human(), "0.00001");
        assert_eq!(ld("1e4931").to_human().len(), 4932);
    }

    #[test]
    fn f64_round_trips() {
        for f in [0.0, 1.0, -2.5, 0.1, 1e300, -1e-300, 5e-324, f64::MAX] {
            assert_eq!(ld(&format!("{f:e}")).to_f64(), f, "{f}");
        }
    }
}
