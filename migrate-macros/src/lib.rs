//! `embed_migrations!`: embeds a folder of numbered migrations at compile
//! time, validated and SHA-256 checksummed by the same code the run-time
//! loader uses (`migrate_core::source`).
//!
//! ```
//! static MIGRATIONS: migrate_core::Migrations =
//!     migrate_macros::embed_migrations!("migrations");
//! assert!(MIGRATIONS.len() > 0);
//! ```
//!
//! A bad file is a compile error spanned at the path literal, starting with
//! `path:line:`; every bad file is reported in the same build. Each file is
//! tracked with `include_bytes!`, so editing one rebuilds the crate. To make
//! a *new* file rebuild it too, add a build script with
//! `println!("cargo:rerun-if-changed=migrations");`.

use std::path::PathBuf;

use migrate_core::source::{self, LoadErrors, Migration};
use migrate_core::sql::Dialect;
use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::{LitStr, parse_macro_input};

/// Embeds the migrations folder at `path` (relative to the calling crate's
/// `Cargo.toml`) as a `migrate_core::Migrations` constant expression.
///
/// ```
/// static MIGRATIONS: migrate_core::Migrations =
///     migrate_macros::embed_migrations!("migrations");
/// ```
///
/// A folder written for PostgreSQL says so, and is split and checked as
/// PostgreSQL runs it (dollar-quoted bodies, `CONCURRENTLY` only under
/// no-transaction, no pragma sets): `embed_migrations!("migrations",
/// postgres)`.
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    let Input { lit, dialect } = parse_macro_input!(input as Input);
    match expand(&lit, dialect) {
        Ok(tokens) => tokens.into(),
        Err(e) => {
            // A stub keeps follow-on errors ("expected Migrations") away.
            let errors = e.to_compile_error();
            quote!({
                #errors
                const LIST: &[::migrate_core::Migration] = &[];
                ::migrate_core::Migrations::embedded(LIST, ::core::option::Option::None)
            })
            .into()
        }
    }
}

/// The macro's input: the folder, then optionally its dialect.
struct Input {
    lit: LitStr,
    dialect: Dialect,
}

impl syn::parse::Parse for Input {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Input> {
        let lit: LitStr = input.parse()?;
        let mut dialect = Dialect::Sqlite;
        if input.parse::<Option<syn::Token![,]>>()?.is_some() && !input.is_empty() {
            let name: syn::Ident = input.parse()?;
            dialect = match name.to_string().as_str() {
                "sqlite" => Dialect::Sqlite,
                "postgres" => Dialect::Postgres,
                other => {
                    return Err(syn::Error::new_spanned(
                        &name,
                        format!(
                            "unknown dialect `{other}`; write `sqlite` (the default) or `postgres`"
                        ),
                    ));
                }
            };
            input.parse::<Option<syn::Token![,]>>()?;
        }
        Ok(Input { lit, dialect })
    }
}

fn expand(lit: &LitStr, dialect: Dialect) -> syn::Result<TokenStream2> {
    let rel = lit.value();
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .ok_or_else(|| {
            syn::Error::new_spanned(lit, "CARGO_MANIFEST_DIR is not set; build with cargo")
        })?;
    let dir = manifest.join(&rel);
    let list = source::load_dir_in(&dir, dialect).map_err(|e| errors(lit, &rel, &dir, e))?;

    let dir_str = dir.to_string_lossy().into_owned();
    let migrations = list.iter().map(|m| migration(&dir, m));
    // drizzle's journal orders the files: an edit must rebuild.
    let journal = dir.join(source::JOURNAL);
    let track_journal = if journal.is_file() {
        let abs = journal.to_string_lossy().into_owned();
        quote!(
            const _: &[u8] = ::core::include_bytes!(#abs);
        )
    } else {
        quote!()
    };
    Ok(quote!({
        #track_journal
        const LIST: &[::migrate_core::Migration] = &[#(#migrations),*];
        ::migrate_core::Migrations::embedded(
            LIST,
            if ::core::cfg!(debug_assertions) {
                ::core::option::Option::Some(#dir_str)
            } else {
                ::core::option::Option::None
            },
        )
    }))
}

/// One `Migration::embedded(...)` call. The text is emitted as a literal
/// (byte-order mark dropped); `include_bytes!` makes cargo track the file.
fn migration(dir: &std::path::Path, m: &Migration) -> TokenStream2 {
    let version = m.version;
    let name = m.name.as_ref();
    let kind = match m.kind {
        migrate_core::Kind::Pragmas => quote!(::migrate_core::Kind::Pragmas),
        migrate_core::Kind::Indexes => quote!(::migrate_core::Kind::Indexes),
        _ => quote!(::migrate_core::Kind::Sql),
    };
    let file = m.file.as_ref();
    let text = m.text.as_ref();
    let checksum = m.checksum.as_ref();
    let track = |f: &str| {
        let abs = dir.join(f).to_string_lossy().into_owned();
        quote!(
            const _: &[u8] = ::core::include_bytes!(#abs);
        )
    };
    let track_up = track(file);
    let (down, track_down) = match &m.down {
        Some(d) => {
            let (f, t) = (d.file.as_ref(), d.text.as_ref());
            (quote!(::core::option::Option::Some((#f, #t))), track(f))
        }
        None => (quote!(::core::option::Option::None), quote!()),
    };
    let outside = m.outside_transaction;
    let in_dialect = match m.dialect {
        Dialect::Postgres => quote!(.in_dialect(::migrate_core::sql::Dialect::Postgres)),
        _ => quote!(),
    };
    // diesel's metadata.toml changes how the folder's files run: an edit
    // must rebuild too.
    let track_metadata = match file.split_once('/') {
        Some((folder, _)) if dir.join(folder).join("metadata.toml").is_file() => {
            track(&format!("{folder}/metadata.toml"))
        }
        _ => quote!(),
    };
    quote!({
        #track_up
        #track_down
        #track_metadata
        ::migrate_core::Migration::embedded(#version, #name, #kind, #file, #text, #checksum, #down, #outside)#in_dialect
    })
}

/// Every load error as one `syn::Error` at the literal, `path:line: message`.
fn errors(lit: &LitStr, rel: &str, dir: &std::path::Path, errors: LoadErrors) -> syn::Error {
    let mut all: Option<syn::Error> = None;
    for e in errors.0 {
        let message = if e.file == dir {
            format!("{rel}: {}", e.kind)
        } else {
            format!("{}/{e}", rel.trim_end_matches('/'))
        };
        let err = syn::Error::new_spanned(lit, message);
        match &mut all {
            Some(a) => a.combine(err),
            None => all = Some(err),
        }
    }
    all.unwrap_or_else(|| syn::Error::new_spanned(lit, format!("{rel}: invalid migrations")))
}
