//! A migration set: discovered in a folder, validated, checksummed.
//!
//! [`load_dir`] is the one code path behind both
//! `embed_migrations!` (at compile time) and [`Migrations::from_dir`] (at run
//! time, for the CLI), so a folder the macro accepts is one the CLI accepts,
//! with the same checksums.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::checksum::checksum;
use crate::dsl::catalogue::Scope;
use crate::dsl::pragmas::Setting;
use crate::dsl::{DslError, indexes, pragmas};
use crate::naming::{self, Direction, Kind, NameError};
use crate::profile::Profile;
use crate::sql::{self, SqlError};

/// One migration: a numbered file and what the runner needs to apply it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The version from the file name.
    pub version: u64,
    /// The name from the file name.
    pub name: Cow<'static, str>,
    /// The kind from the extension.
    pub kind: Kind,
    /// The file's path relative to the migrations folder, with `/` separators.
    pub file: Cow<'static, str>,
    /// The file's text, without a byte-order mark.
    pub text: Cow<'static, str>,
    /// The normalised SHA-256 of the file (see [`crate::checksum`]).
    pub checksum: Cow<'static, str>,
    /// The reverse migration (`.down.sql`), kept but never applied by `up`.
    pub down: Option<Down>,
    /// Runs outside a transaction whatever the file says: diesel's
    /// `run_in_transaction = false` in the folder's `metadata.toml`.
    pub outside_transaction: bool,
    /// The SQL dialect of its set: where its statements end, and what
    /// cannot run in its transaction.
    pub dialect: sql::Dialect,
}

/// The reverse half of a reversible pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Down {
    /// The file's path relative to the migrations folder.
    pub file: Cow<'static, str>,
    /// The file's text.
    pub text: Cow<'static, str>,
}

impl Migration {
    /// The checksum of its separate down file (normalised as the up's is),
    /// which the history keeps when the up runs; `None` without one. A
    /// `-- migrate:down` section is part of the file and its checksum.
    pub fn down_checksum(&self) -> Option<String> {
        self.down
            .as_ref()
            .map(|d| crate::checksum::checksum(d.text.as_bytes()))
    }

    /// A migration whose parts were validated by `embed_migrations!`.
    #[doc(hidden)]
    // One argument per field: only the macro calls it, and a const fn
    // cannot take a builder.
    #[allow(clippy::too_many_arguments)]
    pub const fn embedded(
        version: u64,
        name: &'static str,
        kind: Kind,
        file: &'static str,
        text: &'static str,
        checksum: &'static str,
        down: Option<(&'static str, &'static str)>,
        outside_transaction: bool,
    ) -> Migration {
        Migration {
            version,
            name: Cow::Borrowed(name),
            kind,
            file: Cow::Borrowed(file),
            text: Cow::Borrowed(text),
            checksum: Cow::Borrowed(checksum),
            down: match down {
                Some((file, text)) => Some(Down {
                    file: Cow::Borrowed(file),
                    text: Cow::Borrowed(text),
                }),
                None => None,
            },
            outside_transaction,
            dialect: sql::Dialect::Sqlite,
        }
    }

    /// This migration, of a set written in `dialect` (the macro's
    /// `embed_migrations!("migrations", postgres)`).
    #[doc(hidden)]
    pub const fn in_dialect(mut self, dialect: sql::Dialect) -> Migration {
        self.dialect = dialect;
        self
    }

    /// The SQL script of a `sql` migration, scanned into statements.
    pub fn script(&self) -> Result<sql::Script, SqlError> {
        sql::scan_in(self.dialect, &self.text, self.outside_transaction)
    }

    /// The SQL that reverts this migration, with the file it is in and
    /// that file's text: its `.down.sql` (or diesel `down.sql`) file, or the
    /// down section of its own file (dbmate, goose). `None` when it has
    /// neither.
    pub fn down_script(&self) -> Result<Option<(&str, &str, sql::Script)>, SqlError> {
        let outside = self.outside_transaction;
        if let Some(down) = &self.down {
            let script = match sql::scan_in(self.dialect, &down.text, outside) {
                // A blank down file: no statement, which a revert refuses.
                Err(e) if e.kind == sql::SqlErrorKind::Empty => sql::Script {
                    no_transaction: outside,
                    ..sql::Script::default()
                },
                other => other?,
            };
            return Ok(Some((&down.file, &down.text, script)));
        }
        if self.kind != Kind::Sql {
            return Ok(None);
        }
        let script = sql::scan_down_in(self.dialect, &self.text, outside)?;
        Ok(script.map(|s| (self.file.as_ref(), self.text.as_ref(), s)))
    }
}

/// An ordered, validated set of migrations.
///
/// Build one with `embed_migrations!` (checked at compile time) or
/// [`Migrations::from_dir`] (checked when loaded).
#[derive(Debug, Clone)]
pub struct Migrations {
    list: Cow<'static, [Migration]>,
    dir: Option<Cow<'static, str>>,
    embedded: bool,
    /// The connection profile, parsed from the set's pragma sets on first use.
    profile: std::sync::OnceLock<Profile>,
}

impl Migrations {
    /// The set `embed_migrations!` emits: sorted and validated at compile
    /// time. `dir` is the folder it came from, given in debug builds so that a
    /// binary built before a file was added can say "rebuild".
    #[doc(hidden)]
    pub const fn embedded(list: &'static [Migration], dir: Option<&'static str>) -> Migrations {
        Migrations {
            list: Cow::Borrowed(list),
            dir: match dir {
                Some(d) => Some(Cow::Borrowed(d)),
                None => None,
            },
            embedded: true,
            profile: std::sync::OnceLock::new(),
        }
    }

    /// Loads and validates the migrations folder `dir` at run time.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// std::fs::write(dir.path().join("0001_users.sql"), "CREATE TABLE users (id INTEGER PRIMARY KEY);").unwrap();
    /// let set = migrate_core::Migrations::from_dir(dir.path()).unwrap();
    /// assert_eq!(set.iter().next().unwrap().name, "users");
    /// ```
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Migrations, LoadErrors> {
        Migrations::from_dir_in(dir, sql::Dialect::Sqlite)
    }

    /// [`Migrations::from_dir`], for a folder written in `dialect`: its
    /// statements split and checked as that database runs them.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// std::fs::write(
    ///     dir.path().join("0001_touch.sql"),
    ///     "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;",
    /// ).unwrap();
    /// use migrate_core::sql::Dialect;
    /// let set = migrate_core::Migrations::from_dir_in(dir.path(), Dialect::Postgres).unwrap();
    /// assert_eq!(set.iter().next().unwrap().script().unwrap().statements.len(), 1);
    /// ```
    pub fn from_dir_in(
        dir: impl AsRef<Path>,
        dialect: sql::Dialect,
    ) -> Result<Migrations, LoadErrors> {
        let dir = dir.as_ref();
        let list = load_dir_in(dir, dialect)?;
        Ok(Migrations::loaded(
            Cow::Owned(list),
            Some(Cow::Owned(dir.display().to_string())),
        ))
    }

    /// A set built at run time: its profile computed on first use.
    fn loaded(list: Cow<'static, [Migration]>, dir: Option<Cow<'static, str>>) -> Migrations {
        Migrations {
            list,
            dir,
            embedded: false,
            profile: std::sync::OnceLock::new(),
        }
    }

    /// The connection profile: the per-connection settings of every pragma
    /// set, later sets overriding earlier ones. Parsed once per set.
    pub fn profile(&self) -> &Profile {
        self.profile.get_or_init(|| Profile::of(self.iter()))
    }

    /// The migrations of this set whose versions `keep` accepts.
    pub fn subset(&self, keep: impl Fn(u64) -> bool) -> Migrations {
        let list = self.list.iter().filter(|m| keep(m.version)).cloned();
        Migrations::loaded(Cow::Owned(list.collect()), None)
    }

    /// The migrations in version order.
    pub fn iter(&self) -> std::slice::Iter<'_, Migration> {
        self.list.iter()
    }

    /// The migrations in version order, as a slice.
    pub fn as_slice(&self) -> &[Migration] {
        &self.list
    }

    /// The number of migrations.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when the set has no migrations.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The folder the set came from, when known.
    pub fn dir(&self) -> Option<&str> {
        self.dir.as_deref()
    }

    /// For an embedded set whose folder still exists: the files added to or
    /// removed from the folder since the binary was built. Empty when the
    /// build is current, or when there is nothing to compare with.
    pub fn stale_files(&self) -> Vec<String> {
        let Some(dir) = self.dir.as_deref().filter(|_| self.embedded) else {
            return Vec::new();
        };
        let Ok(on_disk) = list_migration_files(Path::new(dir)) else {
            return Vec::new();
        };
        // Sets, not lists: this runs at every start of a debug build.
        let built: std::collections::BTreeSet<&str> = self
            .list
            .iter()
            .flat_map(|m| {
                std::iter::once(m.file.as_ref()).chain(m.down.as_ref().map(|d| d.file.as_ref()))
            })
            .collect();
        let on_disk: std::collections::BTreeSet<&str> =
            on_disk.iter().map(String::as_str).collect();
        let added = on_disk.difference(&built).map(|f| format!("+{f}"));
        let removed = built.difference(&on_disk).map(|f| format!("-{f}"));
        added.chain(removed).collect()
    }
}

/// An empty set: no migrations, no profile.
impl Default for Migrations {
    fn default() -> Self {
        Migrations::loaded(Cow::Borrowed(&[]), None)
    }
}

impl<'a> IntoIterator for &'a Migrations {
    type Item = &'a Migration;
    type IntoIter = std::slice::Iter<'a, Migration>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// A problem with one file of a migrations folder.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {kind}", self.file.display(), self.line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct LoadError {
    /// The file (or folder) at fault.
    pub file: PathBuf,
    /// The line at fault, for problems inside a file.
    pub line: Option<u32>,
    /// What is wrong.
    #[source]
    pub kind: LoadErrorKind,
}

/// What is wrong with a file of a migrations folder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadErrorKind {
    /// The folder or file could not be read.
    #[error("cannot read it: {0}")]
    Io(#[source] std::io::Error),
    /// The folder does not exist.
    #[error("no such migrations folder; create it, or give the path of the one you have")]
    NoFolder,
    /// The file name is not `<version>_<name>.<kind>`.
    #[error(transparent)]
    Name(NameError),
    /// The bytes are not UTF-8.
    #[error("the file is not valid UTF-8; save it as UTF-8")]
    NotUtf8,
    /// The SQL cannot be run as written.
    #[error(transparent)]
    Sql(SqlError),
    /// A bad line in a pragma set or an index set.
    #[error(transparent)]
    Dsl(DslError),
    /// Two files with the same version after parsing (`1_a.sql`, `001_b.sql`).
    #[error("version {version} is also used by `{other}`; give each migration its own version")]
    DuplicateVersion {
        /// The version both files parse to.
        version: u64,
        /// The other file.
        other: String,
    },
    /// A name that looks like a migration but is not a regular file: a
    /// FIFO, a device, a socket (or a link to one), which would block or
    /// never end if read.
    #[error("not a regular file ({what}); a migration must be a plain file")]
    NotAFile {
        /// What it is.
        what: &'static str,
    },
    /// More problems in a file than are shown.
    #[error("{count} more problems in this file (is it a migration?)")]
    MoreProblems {
        /// How many were not shown.
        count: usize,
    },
    /// A file name that is not valid UTF-8.
    #[error("the file name is not valid UTF-8; rename it with letters, digits, `_` and `-`")]
    NameNotUtf8,
    /// A diesel `metadata.toml` this tool cannot read.
    #[error("{message}")]
    Metadata {
        /// What is wrong.
        message: String,
    },
    /// A file of another naming layout than the folder's others.
    #[error(
        "this file uses {this}, and `{example}` uses {other}: one folder holds one tool's layout, since each \
         orders its names its own way; rename the files to one of them"
    )]
    MixedLayouts {
        /// This file's layout.
        this: naming::Layout,
        /// The other layout of the folder.
        other: naming::Layout,
        /// A file of the other layout.
        example: String,
    },
    /// A drizzle `meta/_journal.json` this tool cannot read.
    #[error("{message}")]
    Journal {
        /// What is wrong.
        message: String,
    },
    /// A SQL file that drizzle's journal does not list: drizzle would not
    /// run it.
    #[error(
        "`meta/_journal.json` does not list this file, so drizzle would never run it, and where it goes in the \
         order is unknown; add it to the journal (`drizzle-kit generate --custom` writes both) or remove it"
    )]
    NotInJournal,
    /// A journal entry with no file.
    #[error(
        "the journal lists `{tag}`, and there is no `{tag}.sql`; restore the file or remove the entry"
    )]
    JournalWithoutFile {
        /// The entry's tag.
        tag: String,
    },
    /// A pragma set in a PostgreSQL folder.
    #[error(
        "pragma sets are SQLite's (PRAGMA exists only there); on PostgreSQL, set server and role settings with \
         `ALTER DATABASE … SET` or `ALTER ROLE … SET` in a SQL migration, or in postgresql.conf"
    )]
    PragmasOnPostgres,
    /// A `.down.sql` file with no migration of its version.
    #[error(
        "a down migration with no up migration of version {version}; add `{version}_<name>.up.sql`"
    )]
    DownWithoutUp {
        /// The version of the down file.
        version: u64,
    },
}

/// Every problem found in a migrations folder, in file order. `Debug`
/// prints the message, one problem per line (see [`crate::Error`]).
pub struct LoadErrors(pub Vec<LoadError>);

impl fmt::Debug for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::debug_as_message(self, f)
    }
}

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for e in &self.0 {
            if !first {
                writeln!(f)?;
            }
            first = false;
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadErrors {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self.0.as_slice() {
            [one] => one.kind_source(),
            _ => None,
        }
    }
}

impl LoadError {
    fn kind_source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            LoadErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<LoadError> for LoadErrors {
    fn from(e: LoadError) -> Self {
        LoadErrors(vec![e])
    }
}

fn error(file: impl Into<PathBuf>, line: Option<u32>, kind: LoadErrorKind) -> LoadError {
    LoadError {
        file: file.into(),
        line,
        kind,
    }
}

/// The files a versioned folder may hold: diesel's `up.sql` and `down.sql`,
/// prisma's `migration.sql`.
const FOLDER_FILES: [(&str, Direction); 3] = [
    ("up.sql", Direction::Up),
    ("migration.sql", Direction::Up),
    ("down.sql", Direction::Down),
];

/// A folder's listing: migration files (relative, sorted), and versioned
/// folders that hold no up file (a mistake, never skipped).
struct Listing {
    files: Vec<String>,
    /// Versioned folders with a diesel `metadata.toml`.
    metadata: Vec<String>,
    empty_folders: Vec<String>,
    /// Names that are not UTF-8 but look like migrations (shown lossily).
    bad_names: Vec<String>,
}

/// Lists `dir` without reading the files; also used by the stale-build check.
fn list(dir: &Path) -> std::io::Result<Listing> {
    let mut listing = Listing {
        files: Vec::new(),
        metadata: Vec::new(),
        empty_folders: Vec::new(),
        bad_names: Vec::new(),
    };
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_name().to_str().is_none() {
            if !matches!(naming::parse(&name), Ok(None)) {
                listing.bad_names.push(name);
            }
            continue;
        }
        // The type from the directory listing needs no stat, but for a link.
        let kind = entry.file_type()?;
        let is_dir = kind.is_dir() || (kind.is_symlink() && entry.path().is_dir());
        if !is_dir {
            if !matches!(naming::parse(&name), Ok(None)) {
                listing.files.push(name);
            }
            continue;
        }
        if name.starts_with('.') || naming::split_version(&name, true).is_err() {
            continue; // drizzle's meta/, and other folders
        }
        let inside: Vec<&str> = FOLDER_FILES
            .iter()
            .map(|(f, _)| *f)
            .filter(|f| present(&entry.path().join(f)))
            .collect();
        if inside.iter().all(|f| *f == "down.sql") {
            listing.empty_folders.push(name.clone());
        }
        if present(&entry.path().join(METADATA)) {
            listing.metadata.push(name.clone());
        }
        listing
            .files
            .extend(inside.iter().map(|f| format!("{name}/{f}")));
    }
    listing.files.sort();
    listing.empty_folders.sort();
    Ok(listing)
}

/// What `new` numbers after, from one listing of `dir` and without
/// validating the files: the version digits of every migration as written
/// (`0003`), and whether they use Flyway/refinery names (`V1__name.sql`),
/// so that the new file is named the same way.
pub fn written_versions(dir: &Path) -> std::io::Result<(Vec<String>, bool)> {
    let files = list(dir)?.files;
    let flyway = files.iter().any(|f| {
        matches!(
            naming::parse(f),
            Ok(Some(naming::FileName {
                layout: naming::Layout::Flyway,
                ..
            }))
        )
    });
    let versions = files
        .iter()
        .map(|f| written_version(f))
        .filter(|v| !v.is_empty())
        .collect();
    Ok((versions, flyway))
}

fn list_migration_files(dir: &Path) -> std::io::Result<Vec<String>> {
    Ok(list(dir)?.files)
}

/// Reads and validates every migration file of `dir` into a sorted set,
/// reporting every problem: files named like migrations, and versioned
/// folders (diesel's `2024-01-31-120000_create_users/up.sql`, prisma's
/// `20240131120000_init/migration.sql`). Hidden files, other extensions and
/// other folders are ignored. Each file is read and checked on the same
/// thread, on every core.
#[doc(hidden)]
pub fn load_dir(dir: &Path) -> Result<Vec<Migration>, LoadErrors> {
    load_dir_in(dir, sql::Dialect::Sqlite)
}

/// [`load_dir`], for a folder written in `dialect`.
#[doc(hidden)]
pub fn load_dir_in(dir: &Path, dialect: sql::Dialect) -> Result<Vec<Migration>, LoadErrors> {
    if !dir.is_dir() {
        return Err(error(dir, None, LoadErrorKind::NoFolder).into());
    }
    let listing = list(dir).map_err(|e| error(dir, None, LoadErrorKind::Io(e)))?;
    let mut errors: Vec<LoadError> = listing
        .bad_names
        .into_iter()
        .map(|name| error(name, None, LoadErrorKind::NameNotUtf8))
        .collect();
    errors.extend(listing.empty_folders.into_iter().map(|folder| {
        let hint =
            " (this folder is named like a migration but holds no `up.sql` or `migration.sql`)";
        error(
            folder,
            None,
            LoadErrorKind::Name(NameError::NoVersion { hint: hint.into() }),
        )
    }));
    // diesel's metadata.toml: which folders run outside a transaction.
    let mut outside: Vec<&str> = Vec::new();
    for folder in &listing.metadata {
        let path = format!("{folder}/{METADATA}");
        let read = read_regular(&dir.join(&path))
            .and_then(|bytes| String::from_utf8(bytes).map_err(|_| LoadErrorKind::NotUtf8));
        match read.map(|text| run_in_transaction(&text)) {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => outside.push(folder),
            Ok(Err((line, message))) => {
                errors.push(error(path, Some(line), LoadErrorKind::Metadata { message }))
            }
            Err(kind) => errors.push(error(path, None, kind)),
        }
    }
    // drizzle's journal: the order its SQL files run in.
    let mut journal = None;
    if present(&dir.join(JOURNAL)) {
        let read = read_regular(&dir.join(JOURNAL))
            .and_then(|bytes| String::from_utf8(bytes).map_err(|_| LoadErrorKind::NotUtf8));
        match read.map(|text| journal_tags(&text)) {
            Ok(Ok(tags)) => journal = Some(tags),
            Ok(Err((line, message))) => errors.push(error(
                JOURNAL,
                Some(line),
                LoadErrorKind::Journal { message },
            )),
            Err(kind) => errors.push(error(JOURNAL, None, kind)),
        }
    }
    let checked = par_map(listing.files, |path| {
        let folder = path.split_once('/').map(|(f, _)| f);
        let outside = folder.is_some_and(|f| outside.contains(&f));
        match read_regular(&dir.join(&path)) {
            Ok(bytes) => check_file(path, bytes, outside, dialect),
            Err(kind) => Err(vec![error(&path, None, kind)]),
        }
    });
    let list = merge(checked, errors)?;
    match journal {
        Some(tags) => journal_order(list, &tags),
        None => Ok(list),
    }
}

/// drizzle's journal, beside its SQL files.
#[doc(hidden)]
pub const JOURNAL: &str = "meta/_journal.json";

/// The `tag` of each entry of a drizzle journal, with its line, in the
/// journal's order
/// (`{"entries": [{"idx": 0, "tag": "0000_init", …}, …]}`). The journal is
/// machine-written and its tags are file names, so this reads the tags
/// and nothing else, rather than parse JSON in the core crate.
fn journal_tags(text: &str) -> Result<Vec<(u32, String)>, (u32, String)> {
    let line_of = |at: usize| 1 + text[..at].matches('\n').count() as u32;
    if !text.contains("\"entries\"") {
        return Err((1, "not a drizzle journal: it has no `entries`".into()));
    }
    let mut tags = Vec::new();
    let mut rest = 0;
    while let Some(found) = text[rest..].find("\"tag\"") {
        let at = rest + found;
        let after = text[at + 5..].trim_start();
        let value = after
            .strip_prefix(':')
            .map(str::trim_start)
            .and_then(|v| v.strip_prefix('"'))
            .and_then(|v| v.split_once('"'))
            .map(|(tag, _)| tag)
            .filter(|tag| !tag.is_empty() && !tag.contains(['\\', '/']));
        match value {
            Some(tag) => tags.push((line_of(at), tag.to_owned())),
            None => {
                return Err((
                    line_of(at),
                    "an entry's `tag` is not a plain file name in quotes".into(),
                ));
            }
        }
        rest = at + 5;
    }
    Ok(tags)
}

/// `list` in the order of drizzle's journal: each tag is `<tag>.sql`.
/// Every SQL file must be in it, and every entry must have its file; this
/// tool's own sets (pragmas, indexes), which drizzle does not know, keep
/// their place by version.
fn journal_order(
    list: Vec<Migration>,
    tags: &[(u32, String)],
) -> Result<Vec<Migration>, LoadErrors> {
    let mut errors = Vec::new();
    let (mut sql, sets): (Vec<Migration>, Vec<Migration>) =
        list.into_iter().partition(|m| m.kind == Kind::Sql);
    let mut ordered: Vec<Migration> = Vec::with_capacity(sql.len() + sets.len());
    for (line, tag) in tags {
        let file = format!("{tag}.sql");
        match sql.iter().position(|m| m.file == file) {
            Some(i) => ordered.push(sql.remove(i)),
            None if ordered.iter().any(|m| m.file == file) => {}
            None => errors.push(error(
                JOURNAL,
                Some(*line),
                LoadErrorKind::JournalWithoutFile { tag: tag.clone() },
            )),
        }
    }
    errors.extend(
        sql.iter()
            .map(|m| error(m.file.as_ref(), None, LoadErrorKind::NotInJournal)),
    );
    if !errors.is_empty() {
        errors.sort_by(|a, b| a.file.cmp(&b.file));
        return Err(LoadErrors(errors));
    }
    for set in sets {
        let at = ordered
            .iter()
            .position(|m| m.version > set.version)
            .unwrap_or(ordered.len());
        ordered.insert(at, set);
    }
    Ok(ordered)
}

/// Whether something is at `path`, of any kind (a FIFO, a broken link):
/// then it is read with [`read_regular`], which names what it is, rather
/// than passed over as if it were not there.
fn present(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// A file's bytes, if it is a regular file (after links). Anything else is
/// refused without reading it: a FIFO would block the open or the read, a
/// device like `/dev/zero` would never end. The file is opened without
/// blocking and checked again once open, so a swap after the first look
/// cannot slip through either.
fn read_regular(path: &Path) -> Result<Vec<u8>, LoadErrorKind> {
    use std::io::Read;
    let not_a_file = |m: &std::fs::Metadata| LoadErrorKind::NotAFile {
        what: file_type_name(m),
    };
    let before = std::fs::metadata(path).map_err(LoadErrorKind::Io)?;
    if !before.is_file() {
        return Err(not_a_file(&before));
    }
    let mut options = std::fs::File::options();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(O_NONBLOCK);
    }
    let mut file = options.open(path).map_err(LoadErrorKind::Io)?;
    let opened = file.metadata().map_err(LoadErrorKind::Io)?;
    if !opened.is_file() {
        return Err(not_a_file(&opened));
    }
    let mut bytes = Vec::with_capacity(opened.len() as usize);
    file.read_to_end(&mut bytes).map_err(LoadErrorKind::Io)?;
    Ok(bytes)
}

/// `O_NONBLOCK`, so that opening a FIFO returns at once.
#[cfg(any(target_os = "linux", target_os = "android"))]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
const O_NONBLOCK: i32 = 0x0004;

fn file_type_name(m: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = m.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if m.is_dir() {
        "a folder"
    } else {
        "not a plain file"
    }
}

/// `f` over `items`, in order: a large list on as many threads as there
/// are cores (a thousand small files cost a thousand opens and scans).
pub(crate) fn par_map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if items.len() < 64 || threads < 2 {
        return items.into_iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let mut parts: Vec<Vec<T>> = Vec::with_capacity(threads);
    let mut items = items.into_iter();
    loop {
        let part: Vec<T> = items.by_ref().take(chunk).collect();
        if part.is_empty() {
            break;
        }
        parts.push(part);
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(move || part.into_iter().map(f).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("the mapped function does not panic"))
            .collect()
    })
}

/// Parses a path of a listing: a file name, or `folder/leaf` of a versioned folder.
fn parse_path(path: &str) -> Result<Option<naming::FileName>, NameError> {
    let Some((folder, leaf)) = path.split_once('/') else {
        return naming::parse(path);
    };
    let Some(&(_, direction)) = FOLDER_FILES.iter().find(|(f, _)| *f == leaf) else {
        return Ok(None);
    };
    let (version, name) = naming::split_version(folder, true)?;
    Ok(Some(naming::FileName {
        version,
        name: name.to_owned(),
        kind: Kind::Sql,
        direction,
        layout: naming::Layout::Folder,
    }))
}

/// Every problem in a file's text, by line, from the parser of its kind.
/// diesel's per-migration settings file, in a versioned folder.
const METADATA: &str = "metadata.toml";

/// `run_in_transaction` from a diesel `metadata.toml` (true when absent),
/// or the line that is not `run_in_transaction = true|false`.
fn run_in_transaction(text: &str) -> Result<bool, (u32, String)> {
    let mut value = true;
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let setting = line.split_once('=').map(|(k, v)| (k.trim(), v.trim()));
        value = match setting {
            Some(("run_in_transaction", "true")) => true,
            Some(("run_in_transaction", "false")) => false,
            _ => {
                return Err((
                    i as u32 + 1,
                    format!(
                        "expected `run_in_transaction = true` or `run_in_transaction = false` (the one setting \
                         diesel reads here); found `{}`",
                        sql::shorten(line)
                    ),
                ));
            }
        };
    }
    Ok(value)
}

/// The problem of a file with nothing in it but spaces.
fn is_blank(kind: &LoadErrorKind) -> bool {
    matches!(kind, LoadErrorKind::Sql(e) if e.kind == sql::SqlErrorKind::Empty)
}

fn validate(
    kind: Kind,
    text: &str,
    outside: bool,
    dialect: sql::Dialect,
) -> Vec<(u32, LoadErrorKind)> {
    let dsl = |errors: Vec<DslError>| {
        errors
            .into_iter()
            .map(|e| (e.line, LoadErrorKind::Dsl(e)))
            .collect()
    };
    match kind {
        // A down section (dbmate, goose) is checked like the up part; the
        // markers are looked for first, so a plain file is scanned once.
        Kind::Pragmas if dialect == sql::Dialect::Postgres => {
            vec![(1, LoadErrorKind::PragmasOnPostgres)]
        }
        Kind::Sql => sql::problems_in(dialect, text, outside)
            .into_iter()
            .map(|e| (e.line, LoadErrorKind::Sql(e)))
            .collect(),
        Kind::Pragmas => pragmas::parse(text).err().map_or_else(Vec::new, dsl),
        Kind::Indexes => indexes::parse(text).err().map_or_else(Vec::new, dsl),
    }
}

/// The problems shown for one file; the rest are counted.
const MAX_PROBLEMS_PER_FILE: usize = 3;

/// One file after its own checks, before it meets the others.
enum Checked {
    Up(Migration, naming::Layout),
    Down {
        version: u64,
        path: String,
        text: String,
    },
    NotAMigration,
    /// A named migration file with problems in its content.
    Invalid {
        /// Its version, when it is an up file (its down file is then not
        /// also "without an up").
        up: Option<u64>,
        problems: Vec<LoadError>,
    },
}

/// The checks that need only the file itself: its name, its encoding, its
/// content, and its checksum.
fn check_file(
    path: String,
    mut bytes: Vec<u8>,
    outside: bool,
    dialect: sql::Dialect,
) -> Result<Checked, Vec<LoadError>> {
    let parsed = match parse_path(&path) {
        Ok(Some(p)) => p,
        Ok(None) => return Ok(Checked::NotAMigration),
        Err(e) => return Err(vec![error(&path, None, LoadErrorKind::Name(e))]),
    };
    let sum = checksum(&bytes);
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    let invalid = |problems| {
        Ok(Checked::Invalid {
            up: (parsed.direction == Direction::Up).then_some(parsed.version),
            problems,
        })
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let line = 1 + e.as_bytes()[..valid]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u32;
            return invalid(vec![error(&path, Some(line), LoadErrorKind::NotUtf8)]);
        }
    };
    // A down file is held to the rules of an up file: it runs the same way.
    // A blank one (diesel and sqlx write them, and run such folders) loads;
    // reverting it is refused, naming it, as a comment-only one is.
    let mut problems = validate(parsed.kind, &text, outside, dialect);
    if parsed.direction == Direction::Down {
        problems.retain(|(_, kind)| !is_blank(kind));
    }
    if parsed.layout == naming::Layout::Folder {
        // In a diesel folder, the way out of the transaction is diesel's.
        for (_, kind) in &mut problems {
            if let LoadErrorKind::Sql(SqlError {
                kind: sql::SqlErrorKind::NotInTransaction { advice, .. },
                ..
            }) = kind
                && *advice == sql::USE_NO_TRANSACTION
            {
                *advice = sql::USE_DIESEL_METADATA;
            }
        }
    }
    if !problems.is_empty() {
        // Each problem quotes at most its own line, shortened; a file that
        // is not a migration at all (a link to some other file) shows only
        // its first few.
        let more = problems.len().saturating_sub(MAX_PROBLEMS_PER_FILE);
        let mut errors: Vec<LoadError> = problems
            .into_iter()
            .take(MAX_PROBLEMS_PER_FILE)
            .map(|(line, kind)| error(&path, Some(line), kind))
            .collect();
        if more > 0 {
            errors.push(error(
                &path,
                None,
                LoadErrorKind::MoreProblems { count: more },
            ));
        }
        return invalid(errors);
    }
    if parsed.direction == Direction::Down {
        return Ok(Checked::Down {
            version: parsed.version,
            path,
            text,
        });
    }
    Ok(Checked::Up(
        Migration {
            version: parsed.version,
            name: Cow::Owned(parsed.name),
            kind: parsed.kind,
            file: Cow::Owned(path),
            checksum: Cow::Owned(sum),
            text: Cow::Owned(text),
            down: None,
            outside_transaction: outside,
            dialect,
        },
        parsed.layout,
    ))
}

/// A migration's version as its file name writes it, dashes left out
/// (`2024-03-13_170000_x/up.sql` is `20240313`; `0003_x.pragmas` is `0003`).
fn written_version(file: &str) -> String {
    let name = file.split('/').next().unwrap_or(file);
    let name = name
        .strip_prefix(['V', 'v'])
        .filter(|n| n.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(name);
    name.chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .filter(char::is_ascii_digit)
        .collect()
}

/// Puts checked files together: versions unique, each down file with its
/// up, everything sorted; `errors` are problems found before.
fn merge(
    checked: Vec<Result<Checked, Vec<LoadError>>>,
    mut errors: Vec<LoadError>,
) -> Result<Vec<Migration>, LoadErrors> {
    let mut ups: BTreeMap<u64, Migration> = BTreeMap::new();
    let mut downs: Vec<(u64, String, String)> = Vec::new();
    // The SQL files of each layout (sets of this tool's own kinds go with
    // any layout).
    let mut layouts: BTreeMap<naming::Layout, Vec<String>> = BTreeMap::new();
    // Versions whose up file has its own errors: their down files are not
    // "without an up" (that would only repeat the problem).
    let mut failed: Vec<u64> = Vec::new();
    for checked in checked {
        match checked {
            Err(problems) => errors.extend(problems),
            Ok(Checked::Invalid { up, problems }) => {
                failed.extend(up);
                errors.extend(problems)
            }
            Ok(Checked::NotAMigration) => {}
            Ok(Checked::Down {
                version,
                path,
                text,
            }) => downs.push((version, path, text)),
            Ok(Checked::Up(m, layout)) => match ups.get(&m.version) {
                Some(other) => errors.push(error(
                    m.file.as_ref(),
                    None,
                    LoadErrorKind::DuplicateVersion {
                        version: m.version,
                        other: other.file.to_string(),
                    },
                )),
                None => {
                    if m.kind == Kind::Sql {
                        layouts.entry(layout).or_default().push(m.file.to_string());
                    }
                    ups.insert(m.version, m);
                }
            },
        }
    }
    let text_order = layouts.len() == 1 && layouts.contains_key(&naming::Layout::Folder);
    if layouts.len() > 1 {
        // Each tool orders its own names; two in one folder have no one
        // order, so the folder is refused whole.
        let found: Vec<(naming::Layout, Vec<String>)> = layouts.into_iter().collect();
        let (first, rest) = found.split_first().expect("two layouts");
        for (layout, files) in rest {
            for file in files {
                errors.push(error(
                    file.as_str(),
                    None,
                    LoadErrorKind::MixedLayouts {
                        this: *layout,
                        other: first.0,
                        example: first.1[0].clone(),
                    },
                ));
            }
        }
    }
    for (version, path, text) in downs {
        match ups.get_mut(&version) {
            Some(m) => {
                m.down = Some(Down {
                    file: Cow::Owned(path),
                    text: Cow::Owned(text),
                })
            }
            None if failed.contains(&version) => {}
            None => errors.push(error(path, None, LoadErrorKind::DownWithoutUp { version })),
        }
    }
    if errors.is_empty() {
        let mut list: Vec<Migration> = ups.into_values().collect();
        if text_order {
            // diesel (and prisma) order their folders by the version as
            // text: `2024-03-13_170000_x` (version 20240313) comes after
            // `2024-01-01-000000_y` (20240101000000), not before it.
            list.sort_by_cached_key(|m| written_version(&m.file));
        }
        Ok(list)
    } else {
        errors.sort_by(|a, b| a.file.cmp(&b.file));
        Err(LoadErrors(errors))
    }
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
