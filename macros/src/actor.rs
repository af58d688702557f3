//! `#[actor]`: parse the impl block and its `#[handler]` methods into a model, check it, and
//! generate the dispatch table, the `Handles` marks and the actor-type registration.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ImplItem, ImplItemFn, ItemImpl, LitStr, Type};

/// The system messages every actor accepts; a handler for one of them is not marked twice.
const SYSTEM_MESSAGES: &[&str] =
    &["ActorExitRequest", "ChildActorExited", "PoisonMessage", "DeadEnvelope", "WakeupMessage"];

/// The whole actor.
struct ActorModel {
    item: ItemImpl,
    /// `#[actor(name = "...")]`.
    wire_name: Option<LitStr>,
    /// `#[actor(local)]`: created only from an instance, so neither `Default` nor registered by name.
    local: bool,
    handlers: Vec<HandlerModel>,
    fallback: Option<HandlerModel>,
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

fn parse_args(args: TokenStream) -> syn::Result<(Option<LitStr>, bool)> {
    let mut name = None;
    let mut local = false;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("local") {
            local = true;
            Ok(())
        } else if meta.path.is_ident("name") {
            let lit: LitStr = meta.value()?.parse()?;
            if lit.value().is_empty() {
                return Err(syn::Error::new_spanned(&lit, "a wire name cannot be empty"));
            }
            name = Some(lit);
            Ok(())
        } else {
            Err(meta.error("unknown `actor` option; expected `name = \"...\"` or `local`"))
        }
    });
    syn::parse::Parser::parse2(parser, args)?;
    if let (Some(name), true) = (&name, local) {
        return Err(syn::Error::new_spanned(
            name,
            "a `local` actor is not registered by name; remove `name` or `local`",
        ));
    }
    Ok((name, local))
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
    let (wire_name, local) = parse_args(args)?;
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
    Ok(ActorModel { item, wire_name, local, handlers, fallback })
}

/// The call of one handler, as the body of its dispatch arm. `msg` is the message expression.
fn call(handler: &HandlerModel, msg: TokenStream) -> TokenStream {
    let method = &handler.method;
    let needs_sender = handler.params.contains(&Param::Sender);
    let args = handler.params.iter().map(|p| match p {
        Param::Message => msg.clone(),
        Param::Context => quote!(&mut *__cx),
        Param::Sender => quote!(__sender),
    });
    let sender = needs_sender.then(|| quote!(let __sender = __cx.sender();));
    let complete = quote_spanned! {handler.output_span=>
        ::thespian::__private::HandlerOutput::complete(__out, __cx)
    };
    if handler.is_async {
        quote! {
            #sender
            return ::thespian::__private::Box::pin(async move {
                let __out = self.#method(#(#args),*).await;
                #complete
            });
        }
    } else {
        quote! {
            #sender
            let __out = self.#method(#(#args),*);
            return ::thespian::__private::Dispatch::Done(#complete);
        }
    }
}

/// One arm of a dispatch chain: if the message is a `ty`, run `body` with it as `__m`.
fn arm(handler: &HandlerModel) -> TokenStream {
    let ty = &handler.message;
    let msg = if handler.by_ref { quote!(&__m) } else { quote!(__m) };
    let body = call(handler, msg);
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
    let wire_name = wire_name(model.wire_name.as_ref(), self_ty);

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
                ::core::result::Result::Err(::thespian::HandlerError(::std::format!("no async handler for `{}`", __name)))
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

    let (actor_type, registration, type_name) = if model.local {
        (quote!(), quote!(), quote!(::core::any::type_name::<Self>()))
    } else {
        let actor_type = quote_spanned! {ty_span=>
            impl ::thespian::ActorType for #self_ty {
                const WIRE_NAME: &'static str = #wire_name;
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
                }
            }
        };
        (actor_type, registration, wire_name.clone())
    };

    quote! {
        #item

        const _: () = {
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
            }

            #actor_type

            #handles

            #registration
        };
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
        Ok((pinned, false)) => {
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
