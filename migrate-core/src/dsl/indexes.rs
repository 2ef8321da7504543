//! Index sets: one index or one query-plan assertion per line.
//!
//! ```text
//! unique index idx_mastery on mastery_stats (user_id, operation, fact)
//! index on sessions (user_id, created_at desc)
//! index idx_orders_open on orders (status) where status = 'open'
//! expect "SELECT * FROM sessions WHERE user_id = ?1 ORDER BY created_at DESC" uses idx_sessions_user_id_created_at
//! ```

use crate::sql::quote_identifier as quote;
use std::fmt;

use super::{DslError, DslErrorKind, SHAPE, strip_comment, suggest};

/// A parsed index set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexSet {
    /// The indexes, in file order.
    pub indexes: Vec<Index>,
    /// The query-plan assertions, in file order.
    pub expects: Vec<Expect>,
}

/// One index of a set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// Its name, given or derived (`idx_<table>_<col>_<col>`).
    pub name: String,
    /// `unique index`.
    pub unique: bool,
    /// The table.
    pub table: String,
    /// The key columns.
    pub columns: Vec<Column>,
    /// A partial index's condition, as written.
    pub condition: Option<String>,
    /// The line it is on.
    pub line: u32,
}

/// One key column of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// `collate NAME`, if given.
    pub collation: Option<String>,
    /// `desc`.
    pub descending: bool,
}

/// `expect "<query>" uses <index>`: the query's plan must use the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// The query.
    pub query: String,
    /// The index its plan must use.
    pub index: String,
    /// The line it is on.
    pub line: u32,
}

impl Index {
    /// The key columns as SQL: `"a" COLLATE "nocase", "b" DESC`.
    fn column_list(&self) -> String {
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                let mut s = quote(&c.name);
                if let Some(coll) = &c.collation {
                    s.push_str(&format!(" COLLATE {}", quote(coll)));
                }
                if c.descending {
                    s.push_str(" DESC");
                }
                s
            })
            .collect();
        columns.join(", ")
    }

    /// The `CREATE INDEX` statement for it.
    ///
    /// ```
    /// let set = migrate_core::dsl::indexes::parse("unique index on users (email collate nocase)").unwrap();
    /// assert_eq!(set.indexes[0].sql(), r#"CREATE UNIQUE INDEX "idx_users_email" ON "users" ("email" COLLATE "nocase")"#);
    /// ```
    pub fn sql(&self) -> String {
        let mut sql = format!(
            "CREATE {}INDEX {} ON {} ({})",
            if self.unique { "UNIQUE " } else { "" },
            quote(&self.name),
            quote(&self.table),
            self.column_list()
        );
        if let Some(cond) = &self.condition {
            sql.push_str(" WHERE ");
            sql.push_str(cond);
        }
        sql
    }
}

/// Parses an index set, reporting every bad line.
///
/// ```
/// use migrate_core::dsl::indexes::parse;
/// let set = parse("index on sessions (user_id, created_at desc)\n").unwrap();
/// assert_eq!(set.indexes[0].name, "idx_sessions_user_id_created_at");
/// let errors = parse("index on t (a dsc)\n").unwrap_err();
/// assert!(errors[0].message.contains("did you mean `desc`?"));
/// ```
pub fn parse(text: &str) -> Result<IndexSet, Vec<DslError>> {
    let mut set = IndexSet::default();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i as u32 + 1;
        let body = strip_comment(raw).trim();
        if body.is_empty() {
            continue;
        }
        match parse_line(body, line) {
            Ok(Line::Index(index)) => {
                if let Some(other) = set
                    .indexes
                    .iter()
                    .find(|o| o.name.eq_ignore_ascii_case(&index.name))
                {
                    errors.push(DslError::new(
                        line,
                        DslErrorKind::DuplicateIndexName {
                            name: index.name.clone(),
                            first_line: other.line,
                        },
                    ));
                } else {
                    set.indexes.push(index);
                }
            }
            Ok(Line::Expect(expect)) => set.expects.push(expect),
            Err(kind) => errors.push(DslError::new(line, kind)),
        }
    }
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(errors)
    }
}

enum Line {
    Index(Index),
    Expect(Expect),
}

fn parse_line(body: &str, line: u32) -> Result<Line, DslErrorKind> {
    parse_shape(body, line).map_err(|e| match e {
        Bad::Kind(kind) => kind,
        Bad::Syntax(message) => DslErrorKind::Syntax(message),
    })
}

/// A line that does not parse: a kind of its own, or a syntax message.
enum Bad {
    Kind(DslErrorKind),
    Syntax(String),
}

impl From<String> for Bad {
    fn from(message: String) -> Bad {
        Bad::Syntax(message)
    }
}

impl From<&str> for Bad {
    fn from(message: &str) -> Bad {
        Bad::Syntax(message.to_owned())
    }
}

fn parse_shape(body: &str, line: u32) -> Result<Line, Bad> {
    let mut p = Parser { rest: body };
    let first = p
        .word()
        .ok_or_else(|| format!("{SHAPE}; found `{}`", crate::sql::shorten(body)))?;
    if first.eq_ignore_ascii_case("expect") {
        let query = p
            .string()
            .ok_or("expected a quoted query after `expect`, like `expect \"SELECT …\" uses idx`")?;
        if query.trim().is_empty() {
            return Err("the query after `expect` is empty".into());
        }
        p.keyword("uses")?;
        let index = p.ident().ok_or("expected an index name after `uses`")?;
        p.end()?;
        return Ok(Line::Expect(Expect { query, index, line }));
    }
    let unique = first.eq_ignore_ascii_case("unique");
    if unique {
        p.keyword("index")?;
    } else if !first.eq_ignore_ascii_case("index") {
        return Err(Bad::Kind(DslErrorKind::UnknownWord {
            suggestion: suggest(&first, ["index", "unique", "expect"]),
            word: first,
        }));
    }
    let name = match p.ident() {
        Some(w) if w.eq_ignore_ascii_case("on") => None,
        Some(w) => {
            p.keyword("on")?;
            Some(w)
        }
        None => return Err("expected an index name or `on` after `index`".into()),
    };
    let table = p.ident().ok_or("expected a table name after `on`")?;
    p.punct('(')
        .map_err(|_| format!("expected `(` and the columns after the table `{table}`"))?;
    let mut columns = Vec::new();
    loop {
        if p.peek(')') {
            if columns.is_empty() {
                return Err(Bad::Kind(DslErrorKind::EmptyColumnList { table }));
            }
            return Err("expected a column after `,`".into());
        }
        let name = p.ident().ok_or_else(|| {
            format!("expected a column name in the column list of `{table}` (expressions are not supported; use a SQL migration for those)")
        })?;
        let mut column = Column {
            name,
            collation: None,
            descending: false,
        };
        loop {
            if p.peek(',') || p.peek(')') {
                break;
            }
            let word = p.word().ok_or_else(|| {
                if p.rest.trim().is_empty() {
                    format!("missing `)` at the end of the column list of `{table}`")
                } else {
                    "expected `,` or `)` after a column".to_string()
                }
            })?;
            match word.to_ascii_lowercase().as_str() {
                // What follows the list: its `)` is missing.
                "where" => {
                    return Err(format!(
                        "missing `)` after the column list of `{table}`, before `{word}`"
                    )
                    .into());
                }
                "asc" => {}
                "desc" => column.descending = true,
                "collate" => {
                    column.collation = Some(
                        p.ident()
                            .ok_or("expected a collation name after `collate`")?,
                    )
                }
                _ => {
                    return Err(Bad::Kind(DslErrorKind::UnknownDirection {
                        suggestion: suggest(&word, ["asc", "desc", "collate"]),
                        column: column.name,
                        word,
                    }));
                }
            }
        }
        columns.push(column);
        if p.punct(',').is_err() {
            p.punct(')')
                .map_err(|_| "expected `,` or `)` in the column list".to_string())?;
            break;
        }
    }
    let condition = match p.word() {
        None => None,
        Some(w) if w.eq_ignore_ascii_case("where") => {
            let cond = p.rest.trim();
            if cond.is_empty() {
                return Err("expected a condition after `where`".into());
            }
            Some(cond.to_owned())
        }
        Some(w) => {
            return Err(format!(
                "unexpected `{w}` after the column list; expected `where` or the end of the line"
            )
            .into());
        }
    };
    let name = name.unwrap_or_else(|| {
        let cols: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        format!("idx_{table}_{}", cols.join("_"))
    });
    Ok(Line::Index(Index {
        name,
        unique,
        table,
        columns,
        condition,
        line,
    }))
}

/// A cursor over one line.
struct Parser<'a> {
    rest: &'a str,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn peek(&mut self, c: char) -> bool {
        self.skip_space();
        self.rest.starts_with(c)
    }

    fn punct(&mut self, c: char) -> Result<(), ()> {
        if self.peek(c) {
            self.rest = &self.rest[1..];
            Ok(())
        } else {
            Err(())
        }
    }

    /// A bare word: letters, digits, `_`, `$`.
    fn word(&mut self) -> Option<String> {
        self.skip_space();
        let end = self
            .rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(self.rest.len());
        if end == 0 || self.rest.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let (w, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(w.to_owned())
    }

    /// A bare word or a `"quoted"`, `` `quoted` `` or `[quoted]` identifier.
    fn ident(&mut self) -> Option<String> {
        self.skip_space();
        let close = match self.rest.chars().next()? {
            '"' => return self.string().filter(|n| !n.is_empty()),
            '`' => '`',
            '[' => ']',
            _ => return self.word(),
        };
        let inner = &self.rest[1..];
        let end = inner.find(close)?;
        let name = inner[..end].to_owned();
        self.rest = &inner[end + 1..];
        (!name.is_empty()).then_some(name)
    }

    /// A `"double-quoted"` string, `""` inside standing for `"`.
    fn string(&mut self) -> Option<String> {
        self.skip_space();
        let mut chars = self.rest.char_indices();
        if chars.next()?.1 != '"' {
            return None;
        }
        let mut out = String::new();
        let mut pending_quote = false;
        for (i, c) in chars {
            if pending_quote {
                if c == '"' {
                    out.push('"');
                    pending_quote = false;
                    continue;
                }
                self.rest = &self.rest[i..];
                return Some(out);
            }
            if c == '"' {
                pending_quote = true;
            } else {
                out.push(c);
            }
        }
        pending_quote.then(|| {
            self.rest = "";
            out
        })
    }

    fn keyword(&mut self, k: &str) -> Result<(), String> {
        match self.word() {
            Some(w) if w.eq_ignore_ascii_case(k) => Ok(()),
            Some(w) => Err(format!("expected `{k}`, found `{w}`")),
            None => Err(format!("expected `{k}`")),
        }
    }

    fn end(&mut self) -> Result<(), String> {
        self.skip_space();
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(format!("unexpected `{}` at the end of the line", self.rest))
        }
    }
}

/// The set as canonical lines, names spelled out: parsing it again gives
/// the same set (line numbers aside).
impl fmt::Display for IndexSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for i in &self.indexes {
            // The column list is written as in SQL, which the DSL reads too.
            write!(
                f,
                "{}index {} on {} ({})",
                if i.unique { "unique " } else { "" },
                quote(&i.name),
                quote(&i.table),
                i.column_list()
            )?;
            match &i.condition {
                Some(c) => writeln!(f, " where {c}")?,
                None => writeln!(f)?,
            }
        }
        for e in &self.expects {
            writeln!(
                f,
                "expect \"{}\" uses {}",
                e.query.replace('"', "\"\""),
                quote(&e.index)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_parenthesis_is_called_that() {
        let errors = parse("index on t (a, b where a > 0\nindex on t (a, b\n").unwrap_err();
        assert_eq!(
            errors[0].message,
            "missing `)` after the column list of `t`, before `where`"
        );
        assert_eq!(
            errors[1].message,
            "missing `)` at the end of the column list of `t`"
        );
    }

    #[test]
    fn parses_the_seed_set() {
        let set = parse(
            "-- hot paths\n\
             unique index idx_mastery_user_op_fact on mastery_stats (user_id, operation, fact)\n\
             index on league_participants (league_id, weekly_xp desc)\n\
             index idx_orders_open on orders (status) where status = 'open' -- partial\n\
             expect \"SELECT * FROM sessions WHERE user_id = ?1 ORDER BY created_at DESC\" uses idx_sessions_user_date\n",
        )
        .unwrap();
        assert_eq!(set.indexes.len(), 3);
        assert!(set.indexes[0].unique);
        assert_eq!(
            set.indexes[1].name,
            "idx_league_participants_league_id_weekly_xp"
        );
        assert!(set.indexes[1].columns[1].descending);
        assert_eq!(set.indexes[2].condition.as_deref(), Some("status = 'open'"));
        assert_eq!(set.expects[0].index, "idx_sessions_user_date");
        assert_eq!(set.expects[0].line, 5);
    }

    #[test]
    fn reports_every_bad_line() {
        let errors = parse(
            "index on t ()\nindex on t (a dsc)\nindx on t (a)\nindex on t (lower(a))\nexpect SELECT 1 uses i\nindex x on t (a)\nindex x on u (b)\n",
        )
        .unwrap_err();
        let lines: Vec<u32> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5, 7], "{errors:?}");
        assert!(errors[0].message.contains("column list of `t` is empty"));
        assert!(errors[1].message.contains("unknown direction `dsc`"));
        assert!(errors[2].message.contains("did you mean `index`?"));
        assert!(
            errors[3].message.contains("expected `,` or `)`"),
            "{}",
            errors[3].message
        );
        assert!(errors[4].message.contains("quoted query"));
        assert!(errors[5].message.contains("already used on line 6"));
    }

    #[test]
    fn formatted_set_parses_back_the_same() {
        let text = "unique index \"odd name\" on [my table] (\"a\"\"b\" collate nocase desc, c)\nexpect \"SELECT \"\"x\"\" FROM t\" uses \"odd name\"\nindex on t (a) where a > 0\n";
        let set = parse(text).unwrap();
        assert_eq!(set.indexes[0].columns[0].name, "a\"b");
        let again = parse(&set.to_string()).unwrap();
        let strip = |s: &IndexSet| {
            let mut s = s.clone();
            s.indexes.iter_mut().for_each(|i| i.line = 0);
            s.expects.iter_mut().for_each(|e| e.line = 0);
            s
        };
        assert_eq!(strip(&set), strip(&again));
    }
}
