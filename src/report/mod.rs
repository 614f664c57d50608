//! The report pipeline's values (DESIGN §6): a report is a [`ReportQuery`];
//! summary, breakdowns and time series differ only in their dimensions, a
//! drill-down adds a filter. Charts, tables and exports all render the same
//! [`ReportResult`]. `plan::run` answers every query (feature `ssr`).
//!
//! May import `domain` and `db` (only `bench.rs` reaches `export` and
//! `access`, to time the exports). Nothing here knows of pages or HTTP.

pub mod params;
pub mod search;
pub mod views;

#[cfg(feature = "ssr")]
pub mod bench;
#[cfg(feature = "ssr")]
pub mod index;
#[cfg(feature = "ssr")]
pub mod memo;
#[cfg(feature = "ssr")]
pub mod one_user;
#[cfg(feature = "ssr")]
pub mod plan;
#[cfg(feature = "ssr")]
pub mod privacy;
#[cfg(feature = "ssr")]
pub mod rollups;
#[cfg(feature = "ssr")]
pub mod screens;
#[cfg(feature = "ssr")]
pub mod sql;
#[cfg(feature = "ssr")]
pub mod summary;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::range::ResolvedRange;

/// What rows are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// The range's buckets at its granularity (gap-filled).
    Time,
    Product,
    ProductVersion,
    User,
    Feature,
}

/// What is measured for each row.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Metric {
    /// Tokens charged.
    Tokens,
    /// Charges recorded (including 0-token short sessions).
    Charges,
    /// Distinct users (exact for any range).
    Users,
    /// Distinct (user, day) pairs per row; for a product, its user-days.
    UserDays,
    /// Distinct products.
    Products,
    /// The last day with a charge.
    LastUsed,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Restricts the charges a report looks at.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    /// Product by slug.
    Product(String),
    ProductVersion(String),
    /// Team user by id.
    User(i64),
    /// Case-insensitive substring of the user's name or e-mail (`report::search`).
    UserSearch(String),
}

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Direction {
    Asc,
    #[default]
    Desc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderBy {
    Metric(Metric),
    /// The row's label: bucket start, product name, version, user name, feature.
    Dimension(Dimension),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Order {
    pub by: OrderBy,
    pub direction: Direction,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn flip(self) -> Direction {
        match self {
            Direction::Asc => Direction::Desc,
            Direction::Desc => Direction::Asc,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Page {
    pub limit: u32,
    pub offset: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReportQuery {
    pub team_id: i64,
    pub range: ResolvedRange,
    pub dimensions: Vec<Dimension>,
    pub metrics: Vec<Metric>,
    pub filters: Vec<Filter>,
    pub order: Option<Order>,
    pub page: Option<Page>,
}

impl ReportQuery {
    /// Totals of `metrics` over the whole range: no dimensions.
    pub fn totals(team_id: i64, range: ResolvedRange, metrics: &[Metric]) -> ReportQuery {
        ReportQuery {
            team_id,
            range,
            dimensions: Vec::new(),
            metrics: metrics.to_vec(),
            filters: Vec::new(),
            order: None,
            page: None,
        }
    }

    pub fn by(mut self, dimension: Dimension) -> ReportQuery {
        self.dimensions.push(dimension);
        self
    }

    pub fn filter(mut self, filter: Filter) -> ReportQuery {
        self.filters.push(filter);
        self
    }

    pub fn order(mut self, by: OrderBy, direction: Direction) -> ReportQuery {
        self.order = Some(Order { by, direction });
        self
    }

    pub fn page(mut self, limit: u32, offset: u32) -> ReportQuery {
        self.page = Some(Page { limit, offset });
        self
    }
}

/// One value of a dimension.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DimensionValue {
    Bucket { start: NaiveDate, end: NaiveDate, partial: bool },
    Product { slug: String, name: String },
    Version(String),
    User { id: i64, first_name: String, last_name: String, email: String },
    Feature(String),
}

impl DimensionValue {
    /// The stable key used in URLs and `data-key` attributes.
    pub fn key(&self) -> String {
        match self {
            DimensionValue::Bucket { start, .. } => start.to_string(),
            DimensionValue::Product { slug, .. } => slug.clone(),
            DimensionValue::Version(v) | DimensionValue::Feature(v) => v.clone(),
            DimensionValue::User { id, .. } => id.to_string(),
        }
    }

    /// What a person reads.
    pub fn label(&self) -> String {
        match self {
            DimensionValue::Bucket { start, end, .. } => crate::domain::range::date_span(*start, *end),
            DimensionValue::Product { name, .. } => name.clone(),
            DimensionValue::Version(v) | DimensionValue::Feature(v) if v.is_empty() => "(none)".into(),
            DimensionValue::Version(v) | DimensionValue::Feature(v) => v.clone(),
            DimensionValue::User { first_name, email, .. }
                if first_name == crate::domain::model::PERSONAL_DATA_MASK =>
            {
                email.clone()
            }
            DimensionValue::User { first_name, last_name, email, .. } => {
                let name = format!("{first_name} {last_name}");
                if name.trim().is_empty() { email.clone() } else { name.trim().to_owned() }
            }
        }
    }
}

/// One measured value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricValue {
    Count(i64),
    Date(Option<NaiveDate>),
}

impl MetricValue {
    pub fn count(self) -> i64 {
        match self {
            MetricValue::Count(n) => n,
            MetricValue::Date(_) => 0,
        }
    }

    /// The raw value for `data-value`: the number, or the ISO date.
    pub fn raw(self) -> String {
        match self {
            MetricValue::Count(n) => n.to_string(),
            MetricValue::Date(Some(d)) => d.to_string(),
            MetricValue::Date(None) => String::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    /// One value per dimension of the query, in its order.
    pub keys: Vec<DimensionValue>,
    /// One value per metric of the query, in its order.
    pub values: Vec<MetricValue>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportResult {
    pub dimensions: Vec<Dimension>,
    pub metrics: Vec<Metric>,
    pub rows: Vec<ReportRow>,
    /// Rows before pagination.
    pub total_rows: u64,
    /// The metrics over everything the filters select (not just this page).
    pub totals: Vec<MetricValue>,
}

impl ReportResult {
    pub fn metric_index(&self, metric: Metric) -> Option<usize> {
        self.metrics.iter().position(|m| *m == metric)
    }

    /// Sum of a count metric over the rows.
    pub fn sum(&self, metric: Metric) -> i64 {
        self.metric_index(metric).map_or(0, |i| self.rows.iter().map(|r| r.values[i].count()).sum())
    }

    pub fn total(&self, metric: Metric) -> MetricValue {
        self.metric_index(metric).map_or(MetricValue::Count(0), |i| self.totals[i])
    }

    /// The chart points of a report by time: one per bucket of its range.
    pub fn series(&self, metric: Metric) -> Vec<crate::domain::model::SeriesPoint> {
        let Some(i) = self.metric_index(metric) else { return Vec::new() };
        self.rows
            .iter()
            .filter_map(|row| match row.keys.first() {
                Some(DimensionValue::Bucket { start, end, partial }) => Some(crate::domain::model::SeriesPoint {
                    start: *start,
                    end: *end,
                    tokens: row.values[i].count(),
                    partial: *partial,
                }),
                _ => None,
            })
            .collect()
    }
}
