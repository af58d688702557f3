//! `#[derive(Message)]`: parse the type and its `#[message(...)]` options, then generate the
//! typetag registration and the registry entry.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{DeriveInput, LitStr};

/// What the derive needs to know.
struct MessageModel {
    ident: syn::Ident,
    /// A pinned wire name; otherwise the module path and the type name.
    name: Option<LitStr>,
}

fn parse(input: TokenStream) -> syn::Result<MessageModel> {
    let input: DeriveInput = syn::parse2(input)?;
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "a message type cannot be generic: the receiving process must know its concrete type by name",
        ));
    }
    let mut name = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("message")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                let lit: LitStr = meta.value()?.parse()?;
                if lit.value().is_empty() {
                    return Err(syn::Error::new_spanned(&lit, "a wire name cannot be empty"));
                }
                name = Some(lit);
                Ok(())
            } else {
                Err(meta.error("unknown `message` option; expected `name = \"...\"`"))
            }
        })?;
    }
    Ok(MessageModel { ident: input.ident, name })
}

fn generate(model: MessageModel) -> TokenStream {
    let ident = &model.ident;
    let wire_name = match &model.name {
        Some(name) => quote!(#name),
        None => {
            let bare = ident.to_string();
            quote!(::core::concat!(::core::module_path!(), "::", #bare))
        }
    };
    quote! {
        const _: () = {
            use ::thespian::__private::typetag;

            #[typetag::serde(name = #wire_name)]
            impl ::thespian::Message for #ident {
                fn type_name(&self) -> &'static str {
                    ::core::any::type_name::<Self>()
                }
            }

            ::thespian::__private::inventory::submit! {
                ::thespian::__private::MessageRegistration {
                    wire_name: #wire_name,
                    type_name: ::core::any::type_name::<#ident>,
                }
            }
        };
    }
}

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    Ok(generate(parse(input)?))
}
