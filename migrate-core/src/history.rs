//! The history table: which migrations ran, when, and with what checksum.
//!
//! The rules of the table (its name, its columns, which other tools' tables
//! share the name); each backend writes the statements (`sqlite_history.rs`,
//! `postgres/`).

use crate::error::Error;

/// The default name of the history table.
pub const DEFAULT_TABLE: &str = "schema_migrations";

/// The history tables of other migration tools (lowercase): bookkeeping a
/// switch from them leaves in place, never part of the schema the
/// migrations make (drift, baseline and repair leave them out).
pub(crate) const OTHER_TOOLS: [&str; 8] = [
    "_sqlx_migrations",
    "schema_migrations",
    "goose_db_version",
    "__diesel_schema_migrations",
    "refinery_schema_history",
    "flyway_schema_history",
    "__drizzle_migrations",
    "ar_internal_metadata",
];

/// Whether `table` is another tool's history: one of [`OTHER_TOOLS`], or
/// one kept by `adopt` under the tool's name
/// (`golang_migrate_schema_migrations`).
pub(crate) fn is_other_tools(table: &str) -> bool {
    let table = table.to_ascii_lowercase();
    let known = |t: &str| OTHER_TOOLS.contains(&t);
    known(&table)
        || crate::adopt::Tool::ALL
            .iter()
            .any(|tool| table.strip_prefix(&tool.kept_prefix()).is_some_and(known))
}

/// A validated history table name: an identifier, never pasted raw; on
/// PostgreSQL it may name its schema (`app.schema_migrations`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    schema: Option<String>,
    name: String,
    quoted: String,
}

impl Table {
    /// Validates `name`, `table` or `schema.table`: each part ASCII
    /// letters, digits and `_`, not starting with a digit, at most 63
    /// characters (PostgreSQL's limit), and the table not SQLite's reserved
    /// `sqlite_` prefix. A schema is PostgreSQL's: SQLite refuses it when
    /// a run starts.
    ///
    /// ```
    /// use migrate_core::history::Table;
    /// assert!(Table::new("app_migrations").is_ok());
    /// assert_eq!(Table::new("app.schema_migrations")?.schema(), Some("app"));
    /// assert!(Table::new("x; DROP TABLE users").is_err());
    /// assert!(Table::new("a.b.c").is_err());
    /// # Ok::<(), migrate_core::Error>(())
    /// ```
    pub fn new(name: &str) -> Result<Table, Error> {
        let part = |p: &str| {
            !p.is_empty()
                && p.len() <= 63
                && !p.starts_with(|c: char| c.is_ascii_digit())
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        let (schema, table) = match name.split_once('.') {
            Some((schema, table)) => (Some(schema), table),
            None => (None, name),
        };
        let valid = schema.is_none_or(part)
            && part(table)
            && !table.to_ascii_lowercase().starts_with("sqlite_");
        if !valid {
            return Err(Error::InvalidTableName {
                name: name.to_owned(),
            });
        }
        let quoted = match schema {
            Some(schema) => format!(
                "{}.{}",
                crate::sql::quote_identifier(schema),
                crate::sql::quote_identifier(table)
            ),
            None => crate::sql::quote_identifier(table),
        };
        Ok(Table {
            schema: schema.map(str::to_owned),
            name: table.to_owned(),
            quoted,
        })
    }

    /// The name as PostgreSQL reads it unquoted: folded to lower case
    /// (`--table Schema_Migrations` is `schema_migrations` there).
    pub fn folded(&self) -> Table {
        let lower = match &self.schema {
            Some(schema) => format!("{schema}.{}", self.name),
            None => self.name.clone(),
        }
        .to_ascii_lowercase();
        Table::new(&lower).unwrap_or_else(|_| self.clone())
    }

    /// The table's name, without its schema.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The schema named with it, if any (PostgreSQL's).
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The name, quoted (with its schema, if any): what SQL is given.
    pub fn quoted(&self) -> &str {
        &self.quoted
    }

    /// Refuses a schema-qualified name on SQLite, whose history lives in
    /// the main database.
    #[doc(hidden)]
    pub fn check_sqlite(&self) -> Result<(), Error> {
        match &self.schema {
            None => Ok(()),
            Some(schema) => Err(Error::QualifiedTableOnSqlite {
                schema: schema.clone(),
                table: self.name.clone(),
            }),
        }
    }
}

impl Default for Table {
    fn default() -> Self {
        Table::new(DEFAULT_TABLE).expect("the default name is valid")
    }
}

impl Table {
    /// The companion table that builds before 0.2 kept beside the history
    /// (`<history>_fingerprint`); a run drops it.
    pub(crate) fn legacy_fingerprint_table(&self) -> String {
        format!("{}_fingerprint", self.name)
    }
}

/// Whether `text` names `table` (ASCII case folded, as SQLite compares
/// names): a substring test, so quoting and schema prefixes are covered.
pub(crate) fn named_in(text: &str, table: &Table) -> bool {
    crate::sql::contains_ignoring_ascii_case(text, table.name())
}

/// The columns added to the history table after its first form, in the
/// order they came: tables of earlier builds have a prefix of them.
pub(crate) const LATER_COLUMNS: [&str; 2] = ["origin", "down_checksum"];

/// The columns every history table of ours has.
pub(crate) const COLUMNS: [&str; 6] = [
    "version",
    "name",
    "kind",
    "checksum",
    "applied_at",
    "duration_ms",
];
