//! `#[actor(require_capability ..)]` and `#[actor(capability_check = path)]`: parse the options
//! into a model of what the actor type asks of the system that hosts it, and generate its
//! `CapabilityCheck`.
//!
//! Forms:
//! - `require_capability = "Server"`: the capability must be set to a true value;
//! - `require_capability(name = "Server")`: the same;
//! - `require_capability(name = "Colour", value = "red")`: it must equal the value (a string,
//!   integer, float or bool literal);
//! - `capability_check = path::to::function`: a `fn(&Capabilities, &Requirements) -> bool`.
//!
//! Every entry must hold (AND), in the order written, then the function.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, Lit, LitStr};

/// What the actor type asks of the system that hosts it.
#[derive(Default)]
pub(crate) struct CapabilityArgs {
    required: Vec<Required>,
    check: Option<syn::Path>,
}

/// One `require_capability` entry.
struct Required {
    name: LitStr,
    value: Option<Value>,
}

/// A required value, checked to be a literal of a type a capability can equal.
enum Value {
    Str(LitStr),
    Int(i64, Span),
    Float(f64, Span),
    Bool(bool, Span),
}

const NAME_EXPECTED: &str = "expected the capability's name as a string, e.g. `require_capability = \"Server\"` or `require_capability(name = \"Colour\", value = \"red\")`";
const VALUE_EXPECTED: &str = "a required value is a string, integer, float or bool literal; for anything else write a `capability_check` function";

impl CapabilityArgs {
    /// `require_capability = "Name"` or `require_capability(name = "Name", value = ..)`.
    pub fn parse_require(&mut self, meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
        let entry = if meta.input.peek(syn::Token![=]) {
            Required { name: name_literal(&meta.value()?.parse()?)?, value: None }
        } else if meta.input.peek(syn::token::Paren) {
            let (mut name, mut value) = (None, None);
            meta.parse_nested_meta(|inner| {
                if inner.path.is_ident("name") {
                    name = Some(name_literal(&inner.value()?.parse()?)?);
                } else if inner.path.is_ident("value") {
                    value = Some(value_literal(&inner.value()?.parse()?)?);
                } else {
                    return Err(inner.error(
                        "unknown `require_capability` option; expected `name = \"..\"` and, optionally, `value = ..`",
                    ));
                }
                Ok(())
            })?;
            let Some(name) = name else {
                return Err(syn::Error::new(
                    meta.path.span(),
                    "`require_capability(..)` needs the capability's name: `name = \"..\"`",
                ));
            };
            Required { name, value }
        } else {
            return Err(meta.error(NAME_EXPECTED));
        };
        if let Some(first) = self.required.iter().find(|r| r.name.value() == entry.name.value()) {
            let mut err = syn::Error::new_spanned(
                &entry.name,
                format!("capability `{}` is required twice; list each capability once", entry.name.value()),
            );
            err.combine(syn::Error::new_spanned(&first.name, "first required here"));
            return Err(err);
        }
        self.required.push(entry);
        Ok(())
    }

    /// `capability_check = path::to::function`.
    pub fn parse_check(&mut self, meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
        let expected = "expected the path of a function `fn(&Capabilities, &Requirements) -> bool`, e.g. `capability_check = my_check`";
        let path = match meta.value()?.parse::<Expr>()? {
            Expr::Path(p) if p.qself.is_none() => p.path,
            other => return Err(syn::Error::new_spanned(other, expected)),
        };
        if self.check.is_some() {
            return Err(syn::Error::new_spanned(
                path,
                "at most one `capability_check` function; combine the conditions in one function",
            ));
        }
        self.check = Some(path);
        Ok(())
    }

    /// The `CapabilityCheck` expression, or `None` when the actor type asks for nothing.
    pub fn generate(&self) -> Option<TokenStream> {
        if self.required.is_empty() && self.check.is_none() {
            return None;
        }
        let entries = self.required.iter().map(|r| {
            let name = &r.name;
            match &r.value {
                None => quote!(::thespian::__private::RequiredCapability::truthy(#name)),
                Some(value) => {
                    let value = value.generate();
                    quote!(::thespian::__private::RequiredCapability::equal(#name, #value))
                }
            }
        });
        // Spanned at the path, so a function of the wrong type is reported there.
        let function = self.check.as_ref().map(|path| {
            let name = quote!(#path).to_string().replace(' ', "");
            quote_spanned! {path.span()=> .with_function(#path, #name) }
        });
        Some(quote! {
            ::thespian::__private::CapabilityCheck::new(&[#(#entries),*]) #function
        })
    }
}

impl Value {
    fn generate(&self) -> TokenStream {
        match self {
            Value::Str(s) => quote!(::thespian::__private::RequiredValue::Str(#s)),
            Value::Int(n, span) => {
                let n = Literal::i64_suffixed(*n);
                quote_spanned!(*span=> ::thespian::__private::RequiredValue::Int(#n))
            }
            Value::Float(x, span) => {
                let x = Literal::f64_suffixed(*x);
                quote_spanned!(*span=> ::thespian::__private::RequiredValue::Float(#x))
            }
            Value::Bool(b, span) => quote_spanned!(*span=> ::thespian::__private::RequiredValue::Bool(#b)),
        }
    }
}

fn name_literal(expr: &Expr) -> syn::Result<LitStr> {
    match expr {
        Expr::Lit(syn::ExprLit { lit: Lit::Str(name), .. }) if name.value().is_empty() => {
            Err(syn::Error::new_spanned(name, "a capability's name cannot be empty"))
        }
        Expr::Lit(syn::ExprLit { lit: Lit::Str(name), .. }) => Ok(name.clone()),
        other => Err(syn::Error::new_spanned(other, NAME_EXPECTED)),
    }
}

fn value_literal(expr: &Expr) -> syn::Result<Value> {
    let (negative, lit) = match expr {
        Expr::Lit(syn::ExprLit { lit, .. }) => (false, lit),
        Expr::Unary(syn::ExprUnary { op: syn::UnOp::Neg(_), expr: inner, .. }) => match &**inner {
            Expr::Lit(syn::ExprLit { lit: lit @ (Lit::Int(_) | Lit::Float(_)), .. }) => (true, lit),
            _ => return Err(syn::Error::new_spanned(expr, VALUE_EXPECTED)),
        },
        _ => return Err(syn::Error::new_spanned(expr, VALUE_EXPECTED)),
    };
    let span = expr.span();
    match lit {
        Lit::Str(s) => Ok(Value::Str(s.clone())),
        Lit::Bool(b) => Ok(Value::Bool(b.value, span)),
        Lit::Int(n) => {
            let digits = if negative { format!("-{}", n.base10_digits()) } else { n.base10_digits().to_owned() };
            let n = digits
                .parse::<i64>()
                .map_err(|_| syn::Error::new_spanned(expr, "a required integer must fit in an `i64`"))?;
            Ok(Value::Int(n, span))
        }
        Lit::Float(x) => {
            let x: f64 = x.base10_parse()?;
            if !x.is_finite() {
                return Err(syn::Error::new_spanned(expr, "a required float must be finite"));
            }
            Ok(Value::Float(if negative { -x } else { x }, span))
        }
        _ => Err(syn::Error::new_spanned(expr, VALUE_EXPECTED)),
    }
}
