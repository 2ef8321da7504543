//! How one schema differs from another, object by object: what drift,
//! verify, baseline, repair and adopt report, and what a later `diff` turns
//! into SQL. Values, not text: the model's vocabulary, for every backend.

use std::fmt;

/// One way a live schema differs from the schema its migrations make.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Difference {
    /// The migrations create it; the database does not have it.
    Missing {
        /// `table`, `index`, `view` or `trigger`.
        kind: String,
        /// Its name.
        name: String,
    },
    /// The database has it; no migration creates it.
    Extra {
        /// `table`, `index`, `view` or `trigger`.
        kind: String,
        /// Its name.
        name: String,
    },
    /// Both have it, defined differently.
    Changed {
        /// `table`, `index`, `view` or `trigger`.
        kind: String,
        /// Its name.
        name: String,
        /// What differs.
        changes: Vec<Change>,
        /// Its SQL in the database.
        live: String,
        /// Its SQL as the migrations make it.
        want: String,
    },
}

/// What differs in an object both schemas have.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// A column the migrations make is not there.
    ColumnMissing(String),
    /// A column no migration makes is there.
    ColumnAdded(String),
    /// A column is defined differently.
    Column {
        /// The column.
        name: String,
        /// Its definition in the database.
        live: String,
        /// Its definition as the migrations make it.
        want: String,
    },
    /// The same columns stand in another order.
    ColumnOrder,
    /// The table's foreign keys differ.
    ForeignKeys,
    /// The table's PRIMARY KEY or UNIQUE constraints differ (as SQLite
    /// resolved them: key columns, order, collation).
    Keys,
    /// The table's CHECK constraints differ.
    Checks {
        /// Those of the database.
        live: Vec<String>,
        /// Those the migrations make.
        want: Vec<String>,
    },
    /// The `ON CONFLICT` clauses of its constraints differ.
    Conflicts {
        /// Those of the database.
        live: Vec<String>,
        /// Those the migrations make.
        want: Vec<String>,
    },
    /// A table option (`STRICT`, `WITHOUT ROWID`, `AUTOINCREMENT`) is
    /// there on one side only.
    Option {
        /// The option.
        option: &'static str,
        /// Whether the database's table has it.
        live: bool,
    },
    /// The table's other constraints differ.
    Constraints,
    /// The definition differs (an index, a view, a trigger).
    Definition,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::ColumnMissing(c) => write!(f, "column `{c}` is missing"),
            Change::ColumnAdded(c) => write!(f, "column `{c}` was added"),
            Change::Column { name, live, want } => {
                write!(
                    f,
                    "column `{name}` is `{live}`, the migrations make it `{want}`"
                )
            }
            Change::ColumnOrder => f.write_str("its columns stand in another order"),
            Change::ForeignKeys => f.write_str("its foreign keys differ"),
            Change::Keys => f.write_str("its PRIMARY KEY or UNIQUE constraints differ"),
            Change::Checks { live, want } | Change::Conflicts { live, want } => {
                let what = if matches!(self, Change::Checks { .. }) {
                    "CHECK constraints"
                } else {
                    "ON CONFLICT clauses"
                };
                let list = |l: &[String]| {
                    if l.is_empty() {
                        "none".to_owned()
                    } else {
                        l.join(", ")
                    }
                };
                write!(
                    f,
                    "its {what} are {}, the migrations make {}",
                    list(live),
                    list(want)
                )
            }
            Change::Option { option, live } => {
                let (has, lacks) = if *live {
                    ("the database", "the migrations")
                } else {
                    ("the migrations", "the database")
                };
                write!(f, "it is {option} in {has}, not in {lacks}")
            }
            Change::Constraints => f.write_str("its constraints differ"),
            Change::Definition => f.write_str("its definition differs"),
        }
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Missing { kind, name } => {
                write!(
                    f,
                    "drift: {kind} `{name}` is missing (the migrations create it)"
                )
            }
            Difference::Extra { kind, name } => {
                write!(f, "drift: {kind} `{name}` is not created by any migration")
            }
            Difference::Changed {
                kind,
                name,
                changes,
                live,
                want,
            } => {
                write!(
                    f,
                    "drift: {kind} `{name}` was changed outside the migrations: "
                )?;
                // A table says what differs; for the others the SQL does.
                if kind == "table" {
                    let notes: Vec<String> = changes.iter().map(Change::to_string).collect();
                    f.write_str(&notes.join("; "))?;
                }
                write!(f, "\n  live:  {live}\n  files: {want}")
            }
        }
    }
}
