//! Procedural macros of `thespian`: `#[actor]`, `#[handler]`, `#[derive(Message)]` and
//! `#[thespian::main]`.
//!
//! Each macro is parse → model → generate. Errors point at the user's code. Use them through the
//! `thespian` crate, which re-exports them:
//!
//! ```
//! use thespian::prelude::*;
//!
//! #[derive(Debug, Serialize, Deserialize, Message)]
//! struct Ping(u32);
//!
//! #[derive(Default)]
//! struct Ponger;
//!
//! #[actor]
//! impl Ponger {
//!     #[handler]
//!     fn ping(&mut self, ping: Ping) -> u32 { ping.0 }
//! }
//!
//! let system = ActorSystem::new()?;
//! let ponger = system.create_actor::<Ponger>()?;
//! assert_eq!(system.ask::<u32, _, _>(&ponger, Ping(7), Duration::from_secs(1))?, 7);
//! # Ok::<(), thespian::Error>(())
//! ```

#![deny(missing_docs)]

mod actor;
mod capability;
mod message;

use proc_macro::TokenStream;

/// Turns an inherent `impl` block into an actor: each `#[handler]` method handles the message
/// type of its message parameter.
///
/// Options: `#[actor(name = "wire::Name")]` pins the wire name the actor type is registered under
/// (default: the module path and the type name). What the actor type asks of the system that hosts
/// it: `require_capability = "Name"` (the capability must be true),
/// `require_capability(name = "Name", value = "..")` (it must equal a string, integer, float or
/// bool literal), and `capability_check = path::to::function` (a
/// `fn(&Capabilities, &Requirements) -> bool`); all of them must hold.
#[proc_macro_attribute]
pub fn actor(args: TokenStream, input: TokenStream) -> TokenStream {
    actor::expand(args.into(), input.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Marks a message handler. Only meaningful inside an `#[actor]` impl block, which consumes it;
/// anywhere else it is an error.
#[proc_macro_attribute]
pub fn handler(_args: TokenStream, input: TokenStream) -> TokenStream {
    let input = proc_macro2::TokenStream::from(input);
    let span = match syn::parse2::<syn::ItemFn>(input.clone()) {
        Ok(item) => item.sig.ident.span(),
        Err(_) => proc_macro2::Span::call_site(),
    };
    let mut out = syn::Error::new(span, "`#[handler]` can only be used on a method inside an `#[actor]` impl block")
        .into_compile_error();
    out.extend(input);
    out.into()
}

/// Marks the program's `main`: it first lets the process take up the role the runtime started it
/// for (a node of the multi-process base, or an isolated actor's process), as
/// `thespian::init()` does, then runs the body.
#[proc_macro_attribute]
pub fn main(args: TokenStream, input: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    if !args.is_empty() {
        return syn::Error::new_spanned(args, "`#[thespian::main]` takes no options").into_compile_error().into();
    }
    let mut item: syn::ItemFn = match syn::parse(input) {
        Ok(item) => item,
        Err(e) => {
            return syn::Error::new(e.span(), "`#[thespian::main]` goes on the `main` function")
                .into_compile_error()
                .into();
        }
    };
    if item.sig.ident != "main" || item.sig.asyncness.is_some() {
        let mut out = syn::Error::new_spanned(
            &item.sig,
            "`#[thespian::main]` goes on a synchronous `fn main` (call `thespian::init()` first in an async main instead)",
        )
        .into_compile_error();
        // The function stays, so that the one error is the only one.
        out.extend(quote::quote!(#item));
        return out.into();
    }
    item.block.stmts.insert(0, syn::parse_quote!(::thespian::init();));
    quote::quote!(#item).into()
}

/// Makes a `serde` type a message: registers it under a module-qualified wire name (or the one
/// given by `#[message(name = "...")]`) so it can be decoded in another process.
#[proc_macro_derive(Message, attributes(message))]
pub fn derive_message(input: TokenStream) -> TokenStream {
    message::expand(input.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}
