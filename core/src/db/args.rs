//! Queries whose conditions depend on input (filters, search): the SQL is
//! built with `$N` placeholders numbered as conditions are added, and the
//! values bound in the same order, on either backend.

use sqlx::database::Database;
use sqlx::query::{Query, QueryAs, QueryScalar};

/// One bound value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    Int(i64),
}

/// Conditions joined by `AND`, and their values.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Conditions {
    pub fn new() -> Self {
        Self::default()
    }

    /// The number the next bound value gets.
    pub fn next(&self) -> usize {
        self.args.len() + 1
    }

    /// Binds `arg` and adds the condition `build(placeholder)`.
    pub fn add(&mut self, arg: Arg, build: impl FnOnce(&str) -> String) -> &mut Self {
        let placeholder = format!("${}", self.next());
        self.args.push(arg);
        self.clauses.push(build(&placeholder));
        self
    }

    /// Binds `arg` without a condition (for LIMIT, OFFSET, ...); returns
    /// its placeholder.
    pub fn value(&mut self, arg: Arg) -> String {
        let placeholder = format!("${}", self.next());
        self.args.push(arg);
        placeholder
    }

    /// Adds a condition that binds nothing.
    pub fn raw(&mut self, clause: &str) -> &mut Self {
        self.clauses.push(clause.to_owned());
        self
    }

    /// `cond AND cond ...` (or `TRUE`).
    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "TRUE".to_owned()
        } else {
            self.clauses.join(" AND ")
        }
    }

    pub fn args(&self) -> &[Arg] {
        &self.args
    }
}

/// A `LIKE` pattern that matches `text` anywhere, with `%`, `_` and `\`
/// escaped (use with `ESCAPE '\'`), lower-cased.
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

macro_rules! binder {
    ($name:ident, $ty:ident $(, $out:ident)?) => {
        /// Binds `args` in order.
        pub fn $name<'q, DB: Database $(, $out)?>(
            mut query: $ty<'q, DB, $($out,)? <DB as Database>::Arguments<'q>>,
            args: &'q [Arg],
        ) -> $ty<'q, DB, $($out,)? <DB as Database>::Arguments<'q>>
        where
            String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        {
            for arg in args {
                query = match arg {
                    Arg::Text(text) => query.bind(text.clone()),
                    Arg::Int(n) => query.bind(*n),
                };
            }
            query
        }
    };
}

binder!(bind_query, Query);
binder!(bind_query_as, QueryAs, O);
binder!(bind_scalar, QueryScalar, O);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_values() {
        let mut c = Conditions::new();
        c.raw("a = 1").add(Arg::Int(5), |p| format!("b = {p}"));
        c.add(Arg::Text("x".into()), |p| format!("(c = {p} OR d = {p})"));
        let limit = c.value(Arg::Int(10));
        assert_eq!(c.sql(), "a = 1 AND b = $1 AND (c = $2 OR d = $2)");
        assert_eq!(limit, "$3");
        assert_eq!(c.args().len(), 3);
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(contains_pattern("Printer"), "%printer%");
    }
}
