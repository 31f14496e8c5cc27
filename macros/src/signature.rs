//! What `#[cached]` needs from the function's signature: its arguments as
//! key parts (owned type and how to make it from the argument) and the
//! cached value's type, with a spanned error for each shape it cannot cache.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, GenericParam, Ident, Pat, PathArguments, ReturnType, Signature, Type};

/// One argument, as a part of the default key.
pub(crate) struct Arg {
    pub(crate) name: Ident,
    /// The owned type stored in the key (`String` for `&str`).
    pub(crate) key_ty: TokenStream,
    /// An expression making that owned value from the argument, by reference.
    pub(crate) to_key: TokenStream,
    /// A reference the key type borrows as, to look up without an owned
    /// key (`name` itself for `&str`, `&name` for a value).
    pub(crate) lookup: TokenStream,
}

/// How the return type is cached.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Every value.
    Plain,
    /// `Result<T, E>`: only `Ok`.
    Result,
    /// `Option<T>`: only `Some`.
    Option,
}

/// The parts of a signature `#[cached]` works with.
pub(crate) struct Analysed {
    pub(crate) args: Vec<Arg>,
    /// The declared return type.
    pub(crate) ret: Type,
    /// The cached value's type: `T` of `Result<T, E>`/`Option<T>`, else the return type.
    pub(crate) value: Type,
}

/// An error spanning all of `at` (its first to its last token).
fn err(at: impl ToTokens, msg: impl std::fmt::Display) -> syn::Error {
    syn::Error::new_spanned(at, msg)
}

/// Checks `sig` and splits it into key parts and the value type.
pub(crate) fn analyse(sig: &Signature, mode: Mode, mode_span: Option<Span>) -> syn::Result<Analysed> {
    if let Some(c) = &sig.constness {
        return Err(err(c, "#[cached] cannot cache a `const fn`: its cache lives in a static read at run time"));
    }
    if let Some(u) = &sig.unsafety {
        return Err(err(
            u,
            "#[cached] does not support `unsafe fn`: cache a safe wrapper that upholds the contract instead",
        ));
    }
    if let Some(abi) = &sig.abi {
        return Err(err(abi, "#[cached] does not support `extern` functions: cache a Rust wrapper instead"));
    }
    if let Some(v) = &sig.variadic {
        return Err(err(v, "#[cached] does not support variadic functions"));
    }
    for p in &sig.generics.params {
        if !matches!(p, GenericParam::Lifetime(_)) {
            return Err(err(
                p,
                "#[cached] does not support generic functions: one static cache cannot hold the values of \
                 every instantiation; write a non-generic wrapper for each type you need and cache that",
            ));
        }
    }
    let args = sig.inputs.iter().map(analyse_arg).collect::<syn::Result<Vec<_>>>()?;
    let ret = match &sig.output {
        ReturnType::Default => {
            return Err(err(
                &sig.ident,
                "#[cached] needs a function that returns a value: a function returning `()` has nothing to cache",
            ));
        }
        ReturnType::Type(_, ty) => (**ty).clone(),
    };
    if let Type::Reference(r) = &ret
        && r.lifetime.as_ref().is_none_or(|l| l.ident != "static")
    {
        return Err(err(
            &ret,
            "#[cached] cannot cache a borrowed return value: return an owned value (or an `Arc`) instead",
        ));
    }
    check_cacheable(&ret, "return type")?;
    let value = match mode {
        Mode::Plain => ret.clone(),
        Mode::Result => first_type_arg(&ret, "Result").ok_or_else(|| {
            err(&ret, "`result = true` needs a function returning `Result<T, E>`: only `Ok(T)` is cached")
                .with_note(mode_span)
        })?,
        Mode::Option => first_type_arg(&ret, "Option").ok_or_else(|| {
            err(&ret, "`option = true` needs a function returning `Option<T>`: only `Some(T)` is cached")
                .with_note(mode_span)
        })?,
    };
    Ok(Analysed { args, ret, value })
}

trait WithNote {
    fn with_note(self, at: Option<Span>) -> Self;
}

impl WithNote for syn::Error {
    /// Adds a second error pointing at the option that asked for the mode.
    fn with_note(mut self, at: Option<Span>) -> Self {
        if let Some(at) = at {
            self.combine(syn::Error::new(at, "asked for here"));
        }
        self
    }
}

fn analyse_arg(arg: &FnArg) -> syn::Result<Arg> {
    let pt = match arg {
        FnArg::Receiver(r) => {
            return Err(err(
                r,
                "#[cached] cannot cache a method taking `self`: its cache is one static shared by every \
                 instance; cache a free function (or an associated fn without `self`) taking what the \
                 result depends on",
            ));
        }
        FnArg::Typed(pt) => pt,
    };
    let name = match &*pt.pat {
        Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => p.ident.clone(),
        other => {
            return Err(err(
                other,
                "#[cached] needs a plain name for each argument (no patterns): it is part of the key",
            ));
        }
    };
    let ty = &*pt.ty;
    let span = ty.span();
    let (key_ty, to_key, lookup) = match ty {
        Type::ImplTrait(_) => {
            return Err(err(
                ty,
                "#[cached] does not support `impl Trait` arguments: they make the function generic; \
                 take a concrete type",
            ));
        }
        Type::Reference(r) if r.mutability.is_some() => {
            return Err(err(
                ty,
                "#[cached] does not support `&mut` arguments: a cached call would skip the body's changes to them",
            ));
        }
        Type::Reference(r) => {
            let elem = &*r.elem;
            check_cacheable(elem, "argument type")?;
            let owned = if is_ident(elem, "str") {
                quote!(::std::string::String)
            } else {
                quote!(<#elem as ::std::borrow::ToOwned>::Owned)
            };
            (owned, quote_spanned!(span=> ::std::borrow::ToOwned::to_owned(#name)), quote!(#name))
        }
        _ => {
            check_cacheable(ty, "argument type")?;
            (quote!(#ty), quote_spanned!(span=> ::std::clone::Clone::clone(&#name)), quote!(&#name))
        }
    };
    Ok(Arg { name, key_ty, to_key, lookup })
}

/// Rejects types that cannot appear in the static cache's type: `impl
/// Trait` and `Self`.
pub(crate) fn check_cacheable(ty: &Type, what: &str) -> syn::Result<()> {
    match ty {
        Type::ImplTrait(_) => Err(err(
            ty,
            format!("#[cached] cannot name an `impl Trait` {what} in its static cache: use a concrete type"),
        )),
        _ if mentions_self(quote!(#ty)) => Err(err(
            ty,
            format!("#[cached] cannot use `Self` in the {what}: its cache is a static; spell the type out"),
        )),
        _ => Ok(()),
    }
}

fn mentions_self(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|t| match t {
        TokenTree::Ident(i) => i == "Self",
        TokenTree::Group(g) => mentions_self(g.stream()),
        _ => false,
    })
}

fn is_ident(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident(name))
}

/// `T` in `...::Result<T, ...>` / `...::Option<T>` (any path ending so,
/// which covers aliases such as `io::Result<T>`).
fn first_type_arg(ty: &Type, last: &str) -> Option<Type> {
    let Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    if seg.ident != last {
        return None;
    }
    let PathArguments::AngleBracketed(a) = &seg.arguments else { return None };
    a.args.iter().find_map(|g| match g {
        GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    })
}
