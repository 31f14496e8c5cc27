//! The code `#[cached]` writes: the function keeps its signature and
//! attributes; its body becomes a closure (or an async block) handed to a
//! per-function static `CachedFn` in `embercache::cached::__private`, keyed
//! by the arguments (or the `key` expression).
//!
//! Generated names use `Span::mixed_site()`, so the body cannot see them
//! and they cannot clash with the user's.

use crate::options::Options;
use crate::signature::{self, Analysed, Mode};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, ItemFn};

/// `max_capacity` when the attribute names none.
const DEFAULT_MAX_CAPACITY: u64 = 10_000;

/// Expands `#[cached(options)] func`.
pub(crate) fn expand(options: Options, func: ItemFn) -> syn::Result<TokenStream> {
    let (mode, mode_span) = match (options.result, options.option) {
        (Some(s), _) => (Mode::Result, Some(s)),
        (None, Some(s)) => (Mode::Option, Some(s)),
        (None, None) => (Mode::Plain, None),
    };
    let Analysed { args, ret, value } = signature::analyse(&func.sig, mode, mode_span)?;
    let rt = quote!(::embercache::cached::__private);
    let site = Span::mixed_site();

    // The key: its type, the expression that makes it, and a borrowed form
    // to look it up by, when there is one. (Its bounds are checked by the
    // static's type, `CachedFn`.)
    let key_plan = match &options.key {
        Some(k) => match &k.ty {
            Some(ty) => {
                signature::check_cacheable(ty, "key type")?;
                let expr = &k.expr;
                KeyPlan { ty: quote!(#ty), expr: quote!(#expr), lookup: None }
            }
            None => infer_key(&k.expr, &args).ok_or_else(|| {
                let (name, expr) = (&k.name, &k.expr);
                syn::Error::new_spanned(
                    quote!(#name = #expr),
                    "#[cached] cannot infer the type of this key: write it as `key: Type = <expr>` \
                     (the cache is a static, so its key type must be named); `key = arg` and \
                     `key = (arg1, arg2)` over argument names need no type",
                )
            })?,
        },
        None => {
            let names: Vec<_> = args.iter().map(|a| &a.name).collect();
            infer_key(&syn::parse_quote!((#(#names),*)), &args)
                .ok_or_else(|| syn::Error::new(func.sig.span(), "internal error: default key"))?
        }
    };
    let KeyPlan { ty: key_ty, expr: key_expr, lookup } = key_plan;

    let name = match &options.name {
        Some(n) => quote!(#n),
        None => {
            let ident = func.sig.ident.to_string();
            quote!(::core::concat!(::core::module_path!(), "::", #ident))
        }
    };
    let capacity = options.max_capacity.unwrap_or(DEFAULT_MAX_CAPACITY);
    let ttl =
        options.ttl_ms.map(|(ms, span)| quote_spanned!(span=> .time_to_live(::std::time::Duration::from_millis(#ms))));
    let clock = options.clock.as_ref().map(|c| quote_spanned!(c.span()=> .clock(#c)));

    let cache = format_ident!("__EMBERCACHE", span = site);
    let key = format_ident!("__embercache_key", span = site);
    let body = &func.block;
    let is_async = func.sig.asyncness.is_some();
    let method = format_ident!(
        "{}{}",
        match mode {
            Mode::Plain => "call",
            Mode::Result => "call_result",
            Mode::Option => "call_option",
        },
        if is_async { "_async" } else { "" }
    );
    let call = if is_async {
        quote!(#cache.#method(#key, #rt::typed_future::<#ret, _>(async move #body)).await)
    } else {
        quote!(#cache.#method(#key, move || -> #ret #body))
    };
    // A hit returns at once, before anything is cloned; a miss is counted
    // by the `call` that follows.
    let v = format_ident!("__embercache_value", span = site);
    let hit_value = match mode {
        Mode::Plain => quote!(#v),
        Mode::Result => quote!(::core::result::Result::Ok(#v)),
        Mode::Option => quote!(::core::option::Option::Some(#v)),
    };
    let (before_key, after_key) = match &lookup {
        Some(q) => (quote!(if let ::core::option::Option::Some(#v) = #cache.hit(#q) { return #hit_value; }), quote!()),
        None => (quote!(), quote!(if let ::core::option::Option::Some(#v) = #cache.hit(&#key) { return #hit_value; })),
    };

    let ItemFn { attrs, vis, sig, .. } = &func;
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            static #cache: #rt::CachedFn<#key_ty, #value> =
                #rt::CachedFn::new(#name, |b| b.max_capacity(#capacity) #ttl #clock);
            #before_key
            let #key: #key_ty = #key_expr;
            #after_key
            #call
        }
    })
}

/// How the key is made and looked up.
struct KeyPlan {
    /// The key's type.
    ty: TokenStream,
    /// The expression making it from the arguments.
    expr: TokenStream,
    /// A borrowed form of the key to look it up by, if there is one
    /// (a single argument): no owned key is made for a hit.
    lookup: Option<TokenStream>,
}

/// The key of `arg`, `(arg, ...)` or `()` over argument names; `None` for
/// any other expression.
fn infer_key(expr: &Expr, args: &[signature::Arg]) -> Option<KeyPlan> {
    let part = |e: &Expr| {
        let Expr::Path(p) = e else { return None };
        args.iter().find(|a| p.path.is_ident(&a.name))
    };
    let parts: Vec<&signature::Arg> = match expr {
        Expr::Tuple(t) => t.elems.iter().map(part).collect::<Option<_>>()?,
        Expr::Paren(p) => vec![part(&p.expr)?],
        e => vec![part(e)?],
    };
    Some(if let [one] = parts.as_slice() {
        KeyPlan { ty: one.key_ty.clone(), expr: one.to_key.clone(), lookup: Some(one.lookup.clone()) }
    } else {
        let tys = parts.iter().map(|a| &a.key_ty);
        let exprs = parts.iter().map(|a| &a.to_key);
        KeyPlan { ty: quote!((#(#tys,)*)), expr: quote!((#(#exprs,)*)), lookup: None }
    })
}
