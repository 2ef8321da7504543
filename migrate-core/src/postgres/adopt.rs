//! `adopt` on PostgreSQL: the other tools' tables in the current schema.

use postgres::Client;

use super::{Postgres, literal, pg, pg_error};
use crate::backend::Catalog;
use crate::error::{Error, Failure};

impl Catalog for Client {
    fn table_exists(&mut self, table: &str) -> Result<bool, Error> {
        Ok(!self.columns_of(table)?.is_empty())
    }

    fn columns_of(&mut self, table: &str) -> Result<Vec<String>, Error> {
        // A table of the current schema (a view is nobody's history).
        let sql = format!(
            "SELECT lower(a.attname::text) FROM pg_attribute a \
             WHERE a.attrelid = (SELECT c.oid FROM pg_class c \
               WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') \
               AND lower(c.relname::text) = lower({}) ORDER BY c.relname LIMIT 1) \
             AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            literal(table)
        );
        Ok(self
            .rows(&sql)?
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect())
    }

    fn any_table(&mut self, tables: &[&str]) -> Result<bool, Error> {
        let names: Vec<String> = tables.iter().map(|t| literal(&t.to_lowercase())).collect();
        let sql = format!(
            "SELECT EXISTS (SELECT FROM pg_class WHERE relnamespace = current_schema()::regnamespace \
             AND relkind IN ('r', 'p') AND lower(relname::text) = ANY (ARRAY[{}]))",
            names.join(", ")
        );
        Ok(super::value(self, &sql).map_err(pg_error)?.as_deref() != Some("f"))
    }

    fn user_version(&mut self) -> Result<i64, Error> {
        // SQLite's pragma: no counterpart here.
        Ok(0)
    }

    fn rows(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, Error> {
        super::rows(self, sql).map_err(pg_error)
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), Failure> {
        let quote = crate::sql::quote_identifier;
        super::send(
            self,
            &format!("ALTER TABLE {} RENAME TO {}", quote(from), quote(to)),
        )
        .map_err(pg)
    }
}

impl Postgres<'_> {
    /// The client, as `adopt` reads other tools' tables through it.
    pub(super) fn catalog(&mut self) -> &mut dyn Catalog {
        &mut *self.client
    }
}
