//! The connection profile: the per-connection pragmas of a migration set's
//! pragma sets, which SQLite forgets when a connection closes, so they are
//! applied to every connection instead of once.

use std::borrow::Cow;

use crate::dsl::catalogue::Scope;
use crate::dsl::pragmas::{self, Setting};
use crate::naming::Kind;
use crate::source::Migration;

/// The per-connection pragmas of every pragma set of a migration set (later
/// sets override earlier keys). [`Migrations::open`](crate::Migrations::open)
/// and the CLI apply it to every connection they open, since these pragmas
/// do not persist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// The settings, each with the file that set it.
    pub settings: Vec<(Cow<'static, str>, Setting)>,
}

impl Profile {
    /// The profile of `migrations`: the per-connection settings of their
    /// pragma sets, later sets overriding earlier ones.
    pub(crate) fn of<'a>(migrations: impl Iterator<Item = &'a Migration>) -> Profile {
        Profile {
            settings: settings_of(migrations, Scope::Connection)
                .into_iter()
                .map(|(m, s)| (m.file.clone(), s))
                .collect(),
        }
    }

    /// True when there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.settings.is_empty()
    }
}

/// The settings of `scope` that the pragma sets among `migrations` leave in
/// force, a later set overriding an earlier one's key, each with its set.
pub(crate) fn settings_of<'a>(
    migrations: impl Iterator<Item = &'a Migration>,
    scope: Scope,
) -> Vec<(&'a Migration, Setting)> {
    let mut settings: Vec<(&Migration, Setting)> = Vec::new();
    for m in migrations.filter(|m| m.kind == Kind::Pragmas) {
        // Validated when the set was built; a bad set adds nothing here.
        let Ok(set) = pragmas::parse(&m.text) else {
            continue;
        };
        for s in set.settings.into_iter().filter(|s| s.scope() == scope) {
            settings.retain(|(_, old)| old.pragma.name != s.pragma.name);
            settings.push((m, s));
        }
    }
    settings
}
