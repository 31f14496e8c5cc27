//! The options of `#[cached(...)]`: parsed, checked for duplicates and
//! validated (a ttl string, a capacity above zero) at compile time, each
//! error spanned on the option at fault.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Expr, Ident, LitBool, LitInt, LitStr, Token, Type};

/// The options every `#[cached]` accepts, for the "unknown option" message.
const KNOWN: &str = "ttl, max_capacity, key, result, option, name, clock";

/// What `#[cached(...)]` said, with defaults filled in later.
#[derive(Default)]
pub(crate) struct Options {
    /// Time to live in milliseconds, with the span of the string.
    pub(crate) ttl_ms: Option<(u64, Span)>,
    /// Entry bound.
    pub(crate) max_capacity: Option<u64>,
    /// A custom key: its type (when given) and expression.
    pub(crate) key: Option<Key>,
    /// `result = true`: cache only `Ok`.
    pub(crate) result: Option<Span>,
    /// `option = true`: cache only `Some`.
    pub(crate) option: Option<Span>,
    /// The name under which stats are registered.
    pub(crate) name: Option<LitStr>,
    /// An expression giving the cache's clock, evaluated on first use.
    pub(crate) clock: Option<Expr>,
}

/// `key = <expr>` or `key: Type = <expr>`.
pub(crate) struct Key {
    pub(crate) ty: Option<Type>,
    pub(crate) expr: Expr,
    /// The option's name, for errors spanning the whole option.
    pub(crate) name: Ident,
}

impl Parse for Options {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut o = Options::default();
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() {
            let name: Ident = input.parse()?;
            let n = name.to_string();
            if seen.contains(&n) {
                return Err(syn::Error::new(name.span(), format!("`{n}` is given twice")));
            }
            seen.push(n.clone());
            match n.as_str() {
                "key" => {
                    let ty = if input.peek(Token![:]) {
                        input.parse::<Token![:]>()?;
                        Some(input.parse::<Type>()?)
                    } else {
                        None
                    };
                    input.parse::<Token![=]>()?;
                    let expr: Expr = input.parse()?;
                    o.key = Some(Key { ty, expr, name: name.clone() });
                }
                "ttl" => {
                    let lit = value::<LitStr>(input, &name, "a string with units, like \"60s\" or \"1h30m\"")?;
                    let ms = parse_duration_ms(&lit.value()).map_err(|why| syn::Error::new(lit.span(), why))?;
                    o.ttl_ms = Some((ms, lit.span()));
                }
                "max_capacity" => {
                    let lit = value::<LitInt>(input, &name, "a whole number of entries, like 10_000")?;
                    let n: u64 = lit.base10_parse()?;
                    if n == 0 {
                        return Err(syn::Error::new(lit.span(), "max_capacity = 0 would cache nothing"));
                    }
                    o.max_capacity = Some(n);
                }
                "result" | "option" => {
                    let lit = value::<LitBool>(input, &name, "`true` or `false`")?;
                    let flag = lit.value.then_some(name.span());
                    if n == "result" { o.result = flag } else { o.option = flag }
                }
                "name" => o.name = Some(value::<LitStr>(input, &name, "a string, like \"user_by_id\"")?),
                "clock" => {
                    input.parse::<Token![=]>()?;
                    o.clock = Some(input.parse()?);
                }
                _ => {
                    return Err(syn::Error::new(
                        name.span(),
                        format!("unknown option `{n}` for #[cached]; the options are: {KNOWN}"),
                    ));
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        if let (Some(r), Some(_)) = (o.result, o.option) {
            return Err(syn::Error::new(
                r,
                "`result = true` and `option = true` exclude each other: pick the one that matches the return type",
            ));
        }
        Ok(o)
    }
}

/// Parses `= <literal of type L>`, or explains what `option` takes.
fn value<L: Parse>(input: ParseStream<'_>, option: &Ident, takes: &str) -> syn::Result<L> {
    input.parse::<Token![=]>()?;
    let expr: Expr = input.fork().parse()?;
    input.parse::<L>().map_err(|_| syn::Error::new(expr.span(), format!("`{option}` takes {takes}")))
}

/// Parses a duration such as `"500ms"`, `"60s"`, `"5m"`, `"1h30m"` into
/// milliseconds. The units are `ms`, `s`, `m` and `h`; the total must be
/// above zero and fit in a `u64` of milliseconds.
pub(crate) fn parse_duration_ms(s: &str) -> Result<u64, String> {
    let bad = |why: &str| format!("bad ttl {s:?}: {why} (write it like \"500ms\", \"60s\", \"5m\", \"1h30m\")");
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad("it is empty"));
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad("expected a number"));
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad("number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let scale = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "" => return Err(bad("a number needs a unit: ms, s, m or h")),
            u => return Err(bad(&format!("unknown unit `{u}`; the units are ms, s, m and h"))),
        };
        rest = &rest[unit_len..];
        total = n.checked_mul(scale).and_then(|ms| total.checked_add(ms)).ok_or_else(|| bad("too long"))?;
    }
    if total == 0 {
        return Err(bad("a ttl must be longer than zero"));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::parse_duration_ms as p;

    #[test]
    fn durations() {
        assert_eq!(p("500ms"), Ok(500));
        assert_eq!(p("60s"), Ok(60_000));
        assert_eq!(p("5m"), Ok(300_000));
        assert_eq!(p("1h30m"), Ok(5_400_000));
        assert_eq!(p(" 2s "), Ok(2_000));
        for bad in ["", "60", "s", "5d", "0s", "1.5s", "99999999999999999999s", "18446744073709551615h", "-1s"] {
            assert!(p(bad).is_err(), "{bad:?} accepted");
        }
    }
}
