//! `#[actor]`: parse the impl block and its `#[handler]` methods into a model, check it, and
//! generate the dispatch table, the `Handles` marks and the actor-type registration.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ImplItem, ImplItemFn, ItemImpl, LitStr, Type};

use crate::capability::CapabilityArgs;

/// The system messages every actor accepts; a handler for one of them is not marked twice.
const SYSTEM_MESSAGES: &[&str] =
    &["ActorExitRequest", "ChildActorExited", "PoisonMessage", "DeadEnvelope", "WakeupMessage", "ActorStatusRequest"];

/// The whole actor.
struct ActorModel {
    item: ItemImpl,
    args: ActorArgs,
    handlers: Vec<HandlerModel>,
    fallback: Option<HandlerModel>,
}

/// The options of `#[actor(...)]`.
#[derive(Default)]
struct ActorArgs {
    /// `name = "..."`.
    wire_name: Option<LitStr>,
    /// `local`: created only from an instance, so neither `Default` nor registered by name.
    local: Option<Span>,
    /// `on_panic = restart` or `on_panic = restart(max = N, within = "10s")`: (span, max, millis).
    restart: Option<(Span, u32, u64)>,
    /// `troupe(max_count = N, idle_count = M, dismiss_after = "2s")`: (span, max, idle, millis).
    troupe: Option<(Span, usize, usize, u64)>,
    /// `transient(exit_after = "..")` / `transient_idle(exit_after = "..")`: (millis, idle).
    transient: Option<(u64, bool)>,
    /// `initializing_messages(A, B, ..)`.
    init_messages: Vec<Type>,
    /// `process`: runs in a process of its own on the multi-process base.
    process: Option<Span>,
    /// `require_capability ..` and `capability_check = ..`: what the system that hosts it must offer.
    capabilities: CapabilityArgs,
}

/// One `#[handler]` method.
struct HandlerModel {
    method: syn::Ident,
    is_async: bool,
    /// The message type (for a fallback: `Box<dyn Message>`).
    message: Type,
    /// The handler borrows the message (`&M`) instead of taking it.
    by_ref: bool,
    /// The parameters after `self`, in order.
    params: Vec<Param>,
    /// Where the return type is written (or the method name when there is none), for errors.
    output_span: Span,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Param {
    Message,
    Context,
    Sender,
}

/// A duration written as a string with a unit: `"250ms"`, `"10s"`, `"2m"`, `"1h"`. In milliseconds.
fn parse_duration(lit: &LitStr) -> syn::Result<u64> {
    let text = lit.value();
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        _ => 0,
    };
    match number.parse::<u64>() {
        Ok(n) if scale > 0 => {
            n.checked_mul(scale).ok_or_else(|| syn::Error::new_spanned(lit, "this duration is too long"))
        }
        _ => Err(syn::Error::new_spanned(lit, "expected a duration such as \"250ms\", \"10s\", \"2m\" or \"1h\"")),
    }
}

fn parse_int<T: std::str::FromStr>(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<T>
where
    T::Err: std::fmt::Display,
{
    let lit: syn::LitInt = meta.value()?.parse()?;
    lit.base10_parse()
}

fn parse_args(args: TokenStream) -> syn::Result<ActorArgs> {
    let mut out = ActorArgs::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("local") {
            out.local = Some(meta.path.span());
            Ok(())
        } else if meta.path.is_ident("process") {
            out.process = Some(meta.path.span());
            Ok(())
        } else if meta.path.is_ident("name") {
            let lit: LitStr = meta.value()?.parse()?;
            if lit.value().is_empty() {
                return Err(syn::Error::new_spanned(&lit, "a wire name cannot be empty"));
            }
            out.wire_name = Some(lit);
            Ok(())
        } else if meta.path.is_ident("on_panic") {
            let policy: syn::Expr = meta.value()?.parse()?;
            out.restart = parse_on_panic(&policy)?;
            Ok(())
        } else if meta.path.is_ident("troupe") {
            let span = meta.path.span();
            let (mut max, mut idle, mut dismiss) = (10usize, 2usize, 2_000u64);
            if meta.input.peek(syn::token::Paren) {
                meta.parse_nested_meta(|inner| {
                    if inner.path.is_ident("max_count") {
                        max = parse_int(&inner)?;
                        if max == 0 {
                            return Err(inner.error("a troupe needs `max_count` of at least 1"));
                        }
                    } else if inner.path.is_ident("idle_count") {
                        idle = parse_int(&inner)?;
                    } else if inner.path.is_ident("dismiss_after") {
                        dismiss = parse_duration(&inner.value()?.parse()?)?;
                    } else {
                        return Err(inner.error(
                            "unknown `troupe` option; expected `max_count = N`, `idle_count = N` or `dismiss_after = \"2s\"`",
                        ));
                    }
                    Ok(())
                })?;
            }
            out.troupe = Some((span, max, idle, dismiss));
            Ok(())
        } else if meta.path.is_ident("transient") || meta.path.is_ident("transient_idle") {
            let idle = meta.path.is_ident("transient_idle");
            let mut after = None;
            meta.parse_nested_meta(|inner| {
                if inner.path.is_ident("exit_after") {
                    after = Some(parse_duration(&inner.value()?.parse()?)?);
                    Ok(())
                } else {
                    Err(inner.error("unknown option; expected `exit_after = \"10s\"`"))
                }
            })?;
            let after = after.ok_or_else(|| meta.error("expected `exit_after = \"10s\"`"))?;
            out.transient = Some((after, idle));
            Ok(())
        } else if meta.path.is_ident("require_capability") {
            out.capabilities.parse_require(&meta)
        } else if meta.path.is_ident("capability_check") {
            out.capabilities.parse_check(&meta)
        } else if meta.path.is_ident("initializing_messages") {
            let content;
            syn::parenthesized!(content in meta.input);
            let types = syn::punctuated::Punctuated::<Type, syn::Token![,]>::parse_terminated(&content)?;
            if types.is_empty() {
                return Err(
                    meta.error("list the message types that must arrive first, e.g. `initializing_messages(Config)`")
                );
            }
            if types.len() > 64 {
                return Err(meta.error("at most 64 initializing messages"));
            }
            out.init_messages = types.into_iter().collect();
            Ok(())
        } else {
            Err(meta.error(
                "unknown `actor` option; expected `name = \"...\"`, `local`, `process`, `on_panic = restart`, `troupe(..)`, `transient(..)`, `transient_idle(..)`, `initializing_messages(..)`, `require_capability = \"...\"`, `require_capability(..)` or `capability_check = path`",
            ))
        }
    });
    syn::parse::Parser::parse2(parser, args)?;
    if let (Some(name), Some(_)) = (&out.wire_name, out.local) {
        return Err(syn::Error::new_spanned(
            name,
            "a `local` actor is not registered by name; remove `name` or `local`",
        ));
    }
    if let (Some(span), Some(_)) = (out.process, out.local) {
        return Err(syn::Error::new(
            span,
            "a `process` actor is created by name in its own process: it cannot be `local`",
        ));
    }
    if let (Some((span, ..)), Some(_)) = (out.troupe, out.local) {
        return Err(syn::Error::new(span, "a troupe creates its workers by type: it cannot be `local`"));
    }
    if let (Some((span, ..)), false) = (out.troupe, out.init_messages.is_empty()) {
        return Err(syn::Error::new(
            span,
            "a troupe cannot have `initializing_messages`: each message goes to one worker only",
        ));
    }
    Ok(out)
}

/// `restart` or `restart(max = N, within = "10s")`; `resume` is the default.
fn parse_on_panic(policy: &syn::Expr) -> syn::Result<Option<(Span, u32, u64)>> {
    let expected =
        "expected `on_panic = restart`, `on_panic = restart(max = 3, within = \"10s\")` or `on_panic = resume`";
    let (path, args) = match policy {
        syn::Expr::Path(p) => (&p.path, None),
        syn::Expr::Call(c) => match &*c.func {
            syn::Expr::Path(p) => (&p.path, Some(&c.args)),
            _ => return Err(syn::Error::new_spanned(policy, expected)),
        },
        _ => return Err(syn::Error::new_spanned(policy, expected)),
    };
    if path.is_ident("resume") && args.is_none() {
        return Ok(None);
    }
    if !path.is_ident("restart") {
        return Err(syn::Error::new_spanned(policy, expected));
    }
    let (mut max, mut within) = (3u32, 10_000u64);
    for arg in args.into_iter().flatten() {
        let syn::Expr::Assign(assign) = arg else { return Err(syn::Error::new_spanned(arg, expected)) };
        let syn::Expr::Path(key) = &*assign.left else { return Err(syn::Error::new_spanned(arg, expected)) };
        let syn::Expr::Lit(syn::ExprLit { lit, .. }) = &*assign.right else {
            return Err(syn::Error::new_spanned(&assign.right, expected));
        };
        match (key.path.get_ident().map(ToString::to_string).as_deref(), lit) {
            (Some("max"), syn::Lit::Int(n)) => max = n.base10_parse()?,
            (Some("within"), syn::Lit::Str(s)) => within = parse_duration(s)?,
            _ => return Err(syn::Error::new_spanned(arg, expected)),
        }
    }
    Ok(Some((path.span(), max, within)))
}

fn last_segment_is(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == name),
        Type::Group(g) => last_segment_is(&g.elem, name),
        _ => false,
    }
}

fn classify(arg: &syn::PatType) -> Param {
    match &*arg.ty {
        Type::Reference(r) if r.mutability.is_some() && last_segment_is(&r.elem, "Context") => Param::Context,
        ty if last_segment_is(ty, "ActorAddress") => Param::Sender,
        _ => Param::Message,
    }
}

fn handler_attr(method: &mut ImplItemFn) -> syn::Result<Option<bool>> {
    let Some(pos) = method.attrs.iter().position(|a| a.path().is_ident("handler")) else {
        return Ok(None);
    };
    let attr = method.attrs.remove(pos);
    let mut fallback = false;
    if !matches!(attr.meta, syn::Meta::Path(_)) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("fallback") {
                fallback = true;
                Ok(())
            } else {
                Err(meta.error("unknown `handler` option; expected `fallback`"))
            }
        })?;
    }
    if let Some(dup) = method.attrs.iter().find(|a| a.path().is_ident("handler")) {
        return Err(syn::Error::new_spanned(dup, "duplicate `#[handler]` attribute"));
    }
    Ok(Some(fallback))
}

fn parse_handler(method: &ImplItemFn) -> syn::Result<HandlerModel> {
    let sig = &method.sig;
    match sig.inputs.first() {
        Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_some() => {}
        Some(FnArg::Receiver(r)) => return Err(syn::Error::new_spanned(r, "a handler takes `&mut self`")),
        _ => return Err(syn::Error::new_spanned(&sig.ident, "a handler is a method taking `&mut self`")),
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            "a handler cannot be generic: it handles one concrete message type",
        ));
    }
    let mut params = Vec::new();
    let mut message: Option<(Type, bool)> = None;
    for arg in sig.inputs.iter().skip(1) {
        let FnArg::Typed(arg) = arg else { unreachable!("only the first argument can be a receiver") };
        let kind = classify(arg);
        if params.contains(&kind) && kind != Param::Message {
            let what = if kind == Param::Context { "context" } else { "sender" };
            return Err(syn::Error::new_spanned(&arg.ty, format!("a handler takes at most one {what} parameter")));
        }
        if kind == Param::Message {
            if let Some((first, _)) = &message {
                let mut err = syn::Error::new_spanned(
                    &arg.ty,
                    format!(
                        "handler `{}` has two message parameters (`{}` and `{}`); a handler takes exactly one message",
                        sig.ident,
                        quote!(#first),
                        type_text(&arg.ty),
                    ),
                );
                err.combine(syn::Error::new_spanned(first, "the first message parameter is here"));
                return Err(err);
            }
            message = Some(match &*arg.ty {
                Type::Reference(r) if r.mutability.is_none() => ((*r.elem).clone(), true),
                ty => (ty.clone(), false),
            });
        }
        params.push(kind);
    }
    // `ActorAddress` is a message too: a handler whose only candidate is an address parameter
    // handles addresses (the sender is then reached through `cx.sender()`).
    if message.is_none()
        && let Some(pos) = params.iter().position(|p| *p == Param::Sender)
        && let Some(FnArg::Typed(arg)) = sig.inputs.iter().nth(pos + 1)
    {
        params[pos] = Param::Message;
        message = Some(((*arg.ty).clone(), false));
    }
    let Some((message, by_ref)) = message else {
        return Err(syn::Error::new_spanned(
            &sig.ident,
            format!("handler `{}` has no message parameter; add the message it handles, e.g. `msg: String`", sig.ident),
        ));
    };
    let output_span = match &sig.output {
        syn::ReturnType::Type(_, ty) => ty.span(),
        syn::ReturnType::Default => sig.ident.span(),
    };
    Ok(HandlerModel {
        method: sig.ident.clone(),
        is_async: sig.asyncness.is_some(),
        message,
        by_ref,
        params,
        output_span,
    })
}

fn type_text(ty: &Type) -> String {
    quote!(#ty).to_string().replace(' ', "")
}

fn parse(args: TokenStream, input: TokenStream) -> syn::Result<ActorModel> {
    let args = parse_args(args)?;
    let mut item: ItemImpl = syn::parse2(input).map_err(|e| {
        syn::Error::new(e.span(), "`#[actor]` goes on an inherent impl block (`impl MyActor { .. }`), not on this item")
    })?;
    if let Some((_, path, _)) = &item.trait_ {
        return Err(syn::Error::new_spanned(
            path,
            "`#[actor]` goes on an inherent impl block (`impl MyActor { .. }`), not a trait impl",
        ));
    }
    if !item.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &item.generics,
            "an actor type cannot be generic: it is registered by name so another process can create it",
        ));
    }
    let mut handlers: Vec<HandlerModel> = Vec::new();
    let mut fallback: Option<HandlerModel> = None;
    let mut errors: Option<syn::Error> = None;
    let mut push_error = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    for impl_item in &mut item.items {
        let ImplItem::Fn(method) = impl_item else { continue };
        let is_fallback = match handler_attr(method) {
            Ok(Some(f)) => f,
            Ok(None) => continue,
            Err(e) => {
                push_error(e);
                continue;
            }
        };
        let handler = match parse_handler(method) {
            Ok(h) => h,
            Err(e) => {
                push_error(e);
                continue;
            }
        };
        if is_fallback {
            if let Some(first) = &fallback {
                let mut err =
                    syn::Error::new_spanned(&handler.method, "an actor has at most one `#[handler(fallback)]`");
                err.combine(syn::Error::new_spanned(&first.method, "the first fallback handler is here"));
                push_error(err);
            } else if !last_segment_is(&handler.message, "Box") || handler.by_ref {
                push_error(syn::Error::new_spanned(
                    &handler.message,
                    "a fallback handler takes the unrecognised message as `Box<dyn Message>`",
                ));
            } else {
                fallback = Some(handler);
            }
            continue;
        }
        let text = type_text(&handler.message);
        if let Some(first) = handlers.iter().find(|h| type_text(&h.message) == text) {
            let mut err = syn::Error::new_spanned(
                &handler.message,
                format!(
                    "two handlers for message type `{text}`: `{}` and `{}`; each message type has one handler",
                    first.method, handler.method
                ),
            );
            err.combine(syn::Error::new_spanned(&first.message, format!("the first handler for `{text}` is here")));
            push_error(err);
            continue;
        }
        handlers.push(handler);
    }
    if let Some(errors) = errors {
        return Err(errors);
    }
    Ok(ActorModel { item, args, handlers, fallback })
}

/// The call of one handler, as the body of its dispatch arm. `msg` is the (owned) message
/// expression; a handler that borrows its message is given a reference, and hands the message
/// back to the runtime if it fails so that it can be retried once and then returned to its sender.
fn call(handler: &HandlerModel, msg: TokenStream) -> TokenStream {
    let method = &handler.method;
    let needs_sender = handler.params.contains(&Param::Sender);
    let args: Vec<TokenStream> = handler
        .params
        .iter()
        .map(|p| match p {
            // Sync: the closure's parameter is the reference already; async: borrow the owned one.
            Param::Message if handler.by_ref && !handler.is_async => quote!(__m),
            Param::Message if handler.by_ref => quote!(&__m),
            Param::Message => msg.clone(),
            Param::Context => quote!(&mut *__cx),
            Param::Sender => quote!(::core::clone::Clone::clone(&__sender)),
        })
        .collect();
    let sender = needs_sender.then(|| quote!(let __sender = __cx.sender();));
    let complete = quote_spanned! {handler.output_span=>
        ::thespian::__private::HandlerOutput::complete(__out, &mut *__cx)
    };
    match (handler.is_async, handler.by_ref) {
        (false, false) => quote! {
            #sender
            let __out = self.#method(#(#args),*);
            return ::thespian::__private::Dispatch::Done(#complete);
        },
        (false, true) => quote! {
            #sender
            let __m = #msg;
            return ::thespian::__private::run_by_ref(__m, __cx, |__m, __cx| {
                let __out = self.#method(#(#args),*);
                #complete
            });
        },
        (true, false) => quote! {
            #sender
            return ::thespian::__private::Box::pin(async move {
                let __out = self.#method(#(#args),*).await;
                ::thespian::__private::Dispatch::Done(#complete)
            });
        },
        (true, true) => {
            let ty = &handler.message;
            let check = quote_spanned! {ty.span()=> ::thespian::__private::borrowed_across_await::<#ty>(); };
            quote! {
            #check
            #sender
            let __m = #msg;
            return ::thespian::__private::Box::pin(async move {
                let __r = ::thespian::__private::catch_async(async {
                    let __out = self.#method(#(#args),*).await;
                    #complete
                })
                .await;
                ::thespian::__private::by_ref_outcome(__r, __m, __cx)
            });
            }
        }
    }
}

/// One arm of a dispatch chain: if the message is a `ty`, run the handler with it as `__m`.
fn arm(handler: &HandlerModel) -> TokenStream {
    let ty = &handler.message;
    let body = call(handler, quote!(__m));
    quote_spanned! {ty.span()=>
        let __msg = match __msg.downcast::<#ty>() {
            ::core::result::Result::Ok(__m) => { #body }
            ::core::result::Result::Err(__m) => __m,
        };
    }
}

/// The name the actor type is registered under: the pinned one, or the module path and type name.
fn wire_name(pinned: Option<&LitStr>, self_ty: &Type) -> TokenStream {
    match pinned {
        Some(name) => quote!(#name),
        None => {
            let bare = match self_ty {
                Type::Path(p) => p.path.segments.last().map_or_else(|| type_text(self_ty), |s| s.ident.to_string()),
                other => type_text(other),
            };
            quote!(::core::concat!(::core::module_path!(), "::", #bare))
        }
    }
}

fn generate(model: ActorModel) -> TokenStream {
    let item = &model.item;
    let self_ty = &item.self_ty;
    let ty_span = self_ty.span();
    let args = &model.args;
    let wire_name = wire_name(args.wire_name.as_ref(), self_ty);

    // Synchronous handlers run inside `dispatch`; for an async one, `dispatch` only recognises the
    // type and the runtime calls `dispatch_async`, so the synchronous path builds no future.
    let sync_arms = model.handlers.iter().map(|h| {
        if h.is_async {
            let ty = &h.message;
            quote_spanned! {ty.span()=>
                if __msg.is::<#ty>() {
                    return ::thespian::__private::Dispatch::Async(__msg);
                }
            }
        } else {
            arm(h)
        }
    });
    let async_arms = model.handlers.iter().filter(|h| h.is_async).map(arm);
    let tail = match &model.fallback {
        Some(f) if f.is_async => quote!(::thespian::__private::Dispatch::Async(__msg)),
        Some(f) => call(f, quote!(__msg.into_box())),
        None => quote!(::thespian::__private::Dispatch::Unhandled(__msg)),
    };
    let async_tail = match &model.fallback {
        Some(f) if f.is_async => call(f, quote!(__msg.into_box())),
        _ => quote! {
            let __name = __msg.wire_name();
            ::thespian::__private::Box::pin(async move {
                ::thespian::__private::Dispatch::Done(::core::result::Result::Err(::thespian::HandlerError::new(
                    ::std::format!("no async handler for `{}`", __name),
                )))
            })
        },
    };
    let has_async = model.handlers.iter().chain(&model.fallback).any(|h| h.is_async);
    let dispatch_async = has_async.then(|| {
        quote! {
            #[allow(unreachable_code, clippy::needless_return)]
            fn dispatch_async<'__a>(
                &'__a mut self,
                __msg: ::thespian::__private::Payload,
                __cx: &'__a mut ::thespian::Context<'_>,
            ) -> ::thespian::__private::HandlerFuture<'__a> {
                #(#async_arms)*
                #async_tail
            }
        }
    });

    let handles = if model.fallback.is_some() {
        // A fallback accepts every message type.
        quote!(impl<__M: ::thespian::Message> ::thespian::Handles<__M> for #self_ty {})
    } else {
        // Spanned at each message type, so a conflict (one type written two ways) points there.
        let user = model
            .handlers
            .iter()
            .map(|h| &h.message)
            .filter(|ty| !SYSTEM_MESSAGES.iter().any(|s| last_segment_is(ty, s)))
            .map(|ty| quote_spanned! {ty.span()=> impl ::thespian::Handles<#ty> for #self_ty {} });
        let system = SYSTEM_MESSAGES.iter().map(|s| syn::Ident::new(s, Span::call_site()));
        quote! {
            #(#user)*
            #(impl ::thespian::Handles<::thespian::messages::#system> for #self_ty {})*
        }
    };
    // A troupe's address also takes the troupe's own settings and status requests.
    let troupe_handles = args.troupe.map(|_| {
        quote! {
            impl ::thespian::Handles<::thespian::messages::UpdateTroupeSettings> for #self_ty {}
            impl ::thespian::Handles<::thespian::messages::TroupeStatusRequest> for #self_ty {}
        }
    });

    let behaviour = behaviour(args, self_ty);
    let troupe_const = args.troupe.map(|(span, max, idle, dismiss)| {
        quote_spanned! {span=>
            const TROUPE: ::core::option::Option<::thespian::__private::TroupeConfig> =
                ::core::option::Option::Some(::thespian::__private::TroupeConfig {
                    max_count: #max,
                    idle_count: #idle,
                    dismiss_after: ::thespian::__private::Duration::from_millis(#dismiss),
                });
        }
    });
    let process_const = args.process.map(|span| quote_spanned! {span=> const PROCESS: bool = true; });
    let process_field = args.process.is_some();
    let troupe_field = match &troupe_const {
        Some(_) => quote!(<#self_ty as ::thespian::ActorType>::TROUPE),
        None => quote!(::core::option::Option::None),
    };
    // What the actor type asks of its system, defined once in the generated block.
    let check = args.capabilities.generate();
    let check_const = check.as_ref().map(|check| {
        quote! {
            const __THESPIAN_CAPABILITY_CHECK: ::thespian::__private::CapabilityCheck = #check;
        }
    });
    let check_method = check.as_ref().map(|_| {
        quote! {
            fn capability_check(&self) -> ::thespian::__private::CapabilityCheck {
                __THESPIAN_CAPABILITY_CHECK
            }
        }
    });
    let check_type_const = check.as_ref().map(|_| {
        quote!(
            const CAPABILITY_CHECK: ::thespian::__private::CapabilityCheck = __THESPIAN_CAPABILITY_CHECK;
        )
    });
    let check_field = match &check {
        Some(_) => quote!(__THESPIAN_CAPABILITY_CHECK),
        None => quote!(::thespian::__private::CapabilityCheck::NONE),
    };

    let (actor_type, registration, type_name) = if model.args.local.is_some() {
        (quote!(), quote!(), quote!(::core::any::type_name::<Self>()))
    } else {
        let actor_type = quote_spanned! {ty_span=>
            impl ::thespian::ActorType for #self_ty {
                const WIRE_NAME: &'static str = #wire_name;
                #troupe_const
                #process_const
                #check_type_const
            }
        };
        let registration = quote! {
            ::thespian::__private::inventory::submit! {
                ::thespian::__private::ActorRegistration {
                    wire_name: #wire_name,
                    type_name: ::core::any::type_name::<#self_ty>,
                    create: {
                        fn __create() -> ::thespian::__private::Box<dyn ::thespian::Actor> {
                            ::thespian::__private::Box::new(<#self_ty as ::core::default::Default>::default())
                        }
                        __create
                    },
                    troupe: #troupe_field,
                    process: #process_field,
                    capability_check: #check_field,
                }
            }
        };
        (actor_type, registration, wire_name.clone())
    };

    quote! {
        #item

        const _: () = {
            #check_const

            impl ::thespian::Actor for #self_ty {
                #[allow(unreachable_code, clippy::needless_return)]
                fn dispatch(
                    &mut self,
                    __msg: ::thespian::__private::Payload,
                    __cx: &mut ::thespian::Context<'_>,
                ) -> ::thespian::__private::Dispatch {
                    #(#sync_arms)*
                    #tail
                }

                #dispatch_async

                fn actor_type_name(&self) -> &'static str {
                    #type_name
                }

                #behaviour

                #check_method
            }

            #actor_type

            #handles

            #troupe_handles

            #registration
        };
    }
}

/// The `Actor` methods behind the framework behaviours: supervision, transience, initializing
/// messages. Nothing for an actor that asks for none.
fn behaviour(args: &ActorArgs, self_ty: &Type) -> TokenStream {
    let mut chain = Vec::new();
    let mut methods = Vec::new();
    if let Some((span, max, within)) = args.restart {
        chain.push(quote! {
            .on_panic(::thespian::__private::OnPanic::Restart {
                max_restarts: #max,
                within: ::thespian::__private::Duration::from_millis(#within),
            })
        });
        // Spanned at `restart`, so a missing `Default` points there.
        let fresh = quote_spanned! {span=> <#self_ty as ::thespian::__private::Restartable>::fresh_instance() };
        methods.push(quote! {
            fn fresh(&self) -> ::core::option::Option<::thespian::__private::Box<dyn ::thespian::Actor>> {
                ::core::option::Option::Some(#fresh)
            }
        });
    }
    if let Some((after, idle)) = args.transient {
        chain.push(quote! {
            .transient(::thespian::__private::Transient {
                exit_after: ::thespian::__private::Duration::from_millis(#after),
                idle: #idle,
            })
        });
    }
    if !args.init_messages.is_empty() {
        let count = args.init_messages.len() as u32;
        chain.push(quote!(.initializing_messages(#count)));
        let checks = args.init_messages.iter().enumerate().map(|(i, ty)| {
            let i = i as u32;
            quote_spanned! {ty.span()=>
                if __msg.is::<#ty>() {
                    return ::core::option::Option::Some(#i);
                }
            }
        });
        methods.push(quote! {
            fn init_slot(&self, __msg: &::thespian::__private::Payload) -> ::core::option::Option<u32> {
                #(#checks)*
                ::core::option::Option::None
            }
        });
    }
    if chain.is_empty() {
        return quote!(#(#methods)*);
    }
    quote! {
        fn behaviour(&self) -> ::thespian::__private::Behaviour {
            const BEHAVIOUR: ::thespian::__private::Behaviour = ::thespian::__private::Behaviour::DEFAULT #(#chain)*;
            BEHAVIOUR
        }

        #(#methods)*
    }
}

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> syn::Result<TokenStream> {
    match parse(args.clone(), input.clone()) {
        Ok(model) => Ok(generate(model)),
        Err(errors) => Ok(recover(errors, args, input)),
    }
}

/// On an error, emits the errors together with the impl block (minus its `#[handler]` marks) and
/// stand-in trait impls, so that the user sees the real mistake and not a cascade of follow-on
/// errors about missing methods or traits.
fn recover(errors: syn::Error, args: TokenStream, input: TokenStream) -> TokenStream {
    let mut out = errors.into_compile_error();
    let Ok(mut item) = syn::parse2::<ItemImpl>(input) else { return out };
    if item.trait_.is_some() || !item.generics.params.is_empty() {
        return out;
    }
    for impl_item in &mut item.items {
        if let ImplItem::Fn(method) = impl_item {
            method.attrs.retain(|a| !a.path().is_ident("handler"));
        }
    }
    let self_ty = &item.self_ty;
    let actor_type = match parse_args(args) {
        Ok(ActorArgs { wire_name: pinned, local: None, .. }) => {
            let wire_name = wire_name(pinned.as_ref(), self_ty);
            quote! {
                impl ::thespian::ActorType for #self_ty {
                    const WIRE_NAME: &'static str = #wire_name;
                }
            }
        }
        _ => quote!(),
    };
    out.extend(quote! {
        #item

        const _: () = {
            impl ::thespian::Actor for #self_ty {
                fn dispatch(
                    &mut self,
                    __msg: ::thespian::__private::Payload,
                    _: &mut ::thespian::Context<'_>,
                ) -> ::thespian::__private::Dispatch {
                    ::thespian::__private::Dispatch::Unhandled(__msg)
                }

                fn actor_type_name(&self) -> &'static str {
                    ::core::any::type_name::<Self>()
                }
            }

            impl<__M: ::thespian::Message> ::thespian::Handles<__M> for #self_ty {}

            #actor_type
        };
    });
    out
}
