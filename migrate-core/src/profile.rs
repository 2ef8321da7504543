//! The connection profile: the per-connection pragmas of a migration set's
//! pragma sets, which SQLite forgets when a connection closes, so they are
//! applied to every connection instead of once.

use std::borrow::Cow;

use crate::dsl::pragmas::Setting;

/// The per-connection pragmas of every pragma set of a migration set (later
/// sets override earlier keys). [`Migrations::open`](crate::Migrations::open)
/// and the CLI apply it to every connection they open, since these pragmas
/// do not persist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// The settings, each with the file that set it.
    pub settings: Vec<(Cow<'static, str>, Setting)>,
}
