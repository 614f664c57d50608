//! The URL state of the report views, typed: each table's sort columns as an
//! enum (one spelling in URLs, forms, server functions and exports), and one
//! reader and writer of the query string per view family. The page, its
//! server function and its export all go through these.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use strum::{IntoStaticStr, VariantArray};

use crate::domain::range::RangeQuery;
use crate::report::{Dimension, Direction, Metric, OrderBy};

/// A sortable table's columns.
pub trait TableSort: Copy + Default + Eq + FromStr + Into<&'static str> + VariantArray + 'static {
    /// What the report pipeline orders by for this column.
    fn order_by(self) -> OrderBy;

    /// Names sort A→Z first; numbers biggest first.
    fn default_direction(self) -> Direction {
        if matches!(self.order_by(), OrderBy::Dimension(_)) { Direction::Asc } else { Direction::Desc }
    }

    /// The `sort` URL value.
    fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Columns of the By product table.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    IntoStaticStr,
    strum::EnumString,
    VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ProductSort {
    Name,
    #[default]
    Tokens,
    Users,
    UserDays,
    LastUsed,
}

impl TableSort for ProductSort {
    fn order_by(self) -> OrderBy {
        match self {
            ProductSort::Name => OrderBy::Dimension(Dimension::Product),
            ProductSort::Tokens => OrderBy::Metric(Metric::Tokens),
            ProductSort::Users => OrderBy::Metric(Metric::Users),
            ProductSort::UserDays => OrderBy::Metric(Metric::UserDays),
            ProductSort::LastUsed => OrderBy::Metric(Metric::LastUsed),
        }
    }
}

/// Columns of the By user table.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    IntoStaticStr,
    strum::EnumString,
    VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum UserSort {
    Name,
    #[default]
    Tokens,
    Products,
    UserDays,
    LastUsed,
}

impl TableSort for UserSort {
    fn order_by(self) -> OrderBy {
        match self {
            UserSort::Name => OrderBy::Dimension(Dimension::User),
            UserSort::Tokens => OrderBy::Metric(Metric::Tokens),
            UserSort::Products => OrderBy::Metric(Metric::Products),
            UserSort::UserDays => OrderBy::Metric(Metric::UserDays),
            UserSort::LastUsed => OrderBy::Metric(Metric::LastUsed),
        }
    }
}

/// How a view's query string is read: a page shows the default for a value
/// it does not know (an old bookmark still opens); an export refuses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    Lenient,
    Strict,
}

/// Reads typed values from a query string's `get`, remembering the first
/// bad one.
struct QueryReader<F> {
    get: F,
    reading: Reading,
    error: Option<String>,
}

impl<F: Fn(&str) -> Option<String>> QueryReader<F> {
    fn new(get: F, reading: Reading) -> Self {
        QueryReader { get, reading, error: None }
    }

    /// `key`'s value, `None` when absent or empty, or unknown (noted).
    fn value<T: FromStr>(&mut self, key: &str, expected: &str) -> Option<T> {
        let text = (self.get)(key).filter(|v| !v.is_empty())?;
        let value = text.parse().ok();
        if value.is_none() && self.error.is_none() && self.reading == Reading::Strict {
            self.error = Some(format!("unknown {key} {text:?}: use {expected}"));
        }
        value
    }

    fn text(&self, key: &str) -> String {
        (self.get)(key).unwrap_or_default()
    }

    fn finish<T>(self, value: T) -> Result<T, String> {
        self.error.map_or(Ok(value), Err)
    }
}

fn choices<S: TableSort>() -> String {
    S::VARIANTS.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

/// A table's order as the URL has it: `?sort=…&dir=…`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableOrder<S> {
    pub sort: S,
    pub direction: Direction,
}

impl<S: TableSort> TableOrder<S> {
    pub fn new(sort: S) -> Self {
        TableOrder { sort, direction: sort.default_direction() }
    }

    fn read<F: Fn(&str) -> Option<String>>(query: &mut QueryReader<F>) -> Self {
        let sort: S = query.value("sort", &choices::<S>()).unwrap_or_default();
        let direction = query.value("dir", "asc or desc").unwrap_or(sort.default_direction());
        TableOrder { sort, direction }
    }

    /// Reads `?sort=…&dir=…`.
    pub fn from_query(get: impl Fn(&str) -> Option<String>, reading: Reading) -> Result<Self, String> {
        let mut query = QueryReader::new(get, reading);
        let order = Self::read(&mut query);
        query.finish(order)
    }

    pub fn to_query(self) -> Vec<(&'static str, String)> {
        vec![("sort", self.sort.as_str().to_owned()), ("dir", self.direction.as_str().to_owned())]
    }

    /// The order after a click on `sort`'s header: the other way round when
    /// it is the current column, else that column's natural direction.
    pub fn clicked(self, sort: S) -> Self {
        if sort == self.sort { TableOrder { sort, direction: self.direction.flip() } } else { TableOrder::new(sort) }
    }
}

/// The By user table's state: `?q=…&sort=…&dir=…&page=…`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserTableQuery {
    pub search: String,
    pub sort: UserSort,
    pub direction: Direction,
    /// 1-based.
    pub page: u32,
}

impl UserTableQuery {
    pub fn order(&self) -> TableOrder<UserSort> {
        TableOrder { sort: self.sort, direction: self.direction }
    }

    pub fn from_query(get: impl Fn(&str) -> Option<String>, reading: Reading) -> Result<Self, String> {
        let mut query = QueryReader::new(get, reading);
        let TableOrder { sort, direction } = TableOrder::<UserSort>::read(&mut query);
        let search = query.text("q");
        let page = query.value::<u32>("page", "a page number").unwrap_or(1).max(1);
        query.finish(UserTableQuery { search, sort, direction, page })
    }

    /// The query pairs of this state (the first page is left out).
    pub fn to_query(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![("q", self.search.clone())];
        pairs.extend(self.order().to_query());
        if self.page > 1 {
            pairs.push(("page", self.page.to_string()));
        }
        pairs
    }
}

/// The range part of a view's URL: `range`, `from`, `to`, `granularity`
/// (resolved on the server, in the team's time zone).
pub fn range_from_query(get: impl Fn(&str) -> Option<String>) -> RangeQuery {
    RangeQuery { range: get("range"), from: get("from"), to: get("to"), granularity: get("granularity") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn every_sort_round_trips_through_the_url() {
        for sort in UserSort::VARIANTS {
            let table = UserTableQuery { search: "a b".into(), sort: *sort, direction: Direction::Asc, page: 3 };
            let pairs = table.to_query();
            let get = |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
            assert_eq!(UserTableQuery::from_query(get, Reading::Strict), Ok(table));
        }
        for sort in ProductSort::VARIANTS {
            let order = TableOrder::new(*sort);
            let pairs = order.to_query();
            let get = |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
            assert_eq!(TableOrder::from_query(get, Reading::Strict), Ok(order));
        }
        assert_eq!(UserSort::UserDays.as_str(), "user_days");
        assert_eq!(serde_json::to_string(&UserSort::UserDays).unwrap(), "\"user_days\"");
    }

    #[test]
    fn a_page_shows_defaults_for_unknown_values_an_export_refuses_them() {
        let bad = query(&[("sort", "users"), ("dir", "up"), ("q", "ann")]);
        let lenient = UserTableQuery::from_query(&bad, Reading::Lenient).unwrap();
        assert_eq!(
            (lenient.sort, lenient.direction, lenient.search.as_str()),
            (UserSort::Tokens, Direction::Desc, "ann")
        );
        let strict = UserTableQuery::from_query(&bad, Reading::Strict).unwrap_err();
        assert!(strict.starts_with("unknown sort \"users\": use name, tokens"), "{strict}");
        let products = TableOrder::<ProductSort>::from_query(query(&[("sort", "users")]), Reading::Strict).unwrap();
        assert_eq!(products, TableOrder { sort: ProductSort::Users, direction: Direction::Desc });
    }
}
