//! Reports about one person, answered from that person's charges read once
//! (DESIGN §7: the user detail screen asks 3 + N questions of a few hundred
//! charges; one indexed read and grouping in memory beats a query each).
//! The answers are the SQL answerer's, row for row: the same groups, the
//! same order and ties, the same gap-filled time buckets and totals
//! (`tests/integration/reports.rs` compares them on both backends).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use crate::db::{Db, on_db};
use crate::domain::range::ResolvedRange;
use crate::error::Result;
use crate::report::search::UserSearch;
use crate::report::views::UserRef;
use crate::report::{
    Dimension, DimensionValue, Direction, Filter, Metric, MetricValue, OrderBy, ReportQuery, ReportResult, ReportRow,
};

/// One charge of the person, with its product's names.
#[derive(Clone, Debug)]
struct Charge {
    date: NaiveDate,
    product_id: i64,
    slug: String,
    name: String,
    version: String,
    feature: String,
    tokens: i64,
}

/// A person's charges over a range, read in one query.
pub struct UserCharges {
    team_id: i64,
    user: UserRef,
    range: ResolvedRange,
    charges: Vec<Charge>,
}

const CHARGES_OF_USER: &str =
    "SELECT c.usage_date, c.product_id, p.slug, p.name, c.product_version, c.feature, c.tokens
    FROM usage_charges c JOIN products p ON p.id = c.product_id
    WHERE c.team_id = $1 AND c.user_id = $2 AND c.usage_date BETWEEN $3 AND $4";

impl UserCharges {
    /// Reads the charges of `user` (as stored, not masked) in `range`.
    pub async fn load(db: &Db, team_id: i64, user: UserRef, range: ResolvedRange) -> Result<UserCharges> {
        type Row = (NaiveDate, i64, String, String, String, String, i64);
        let rows: Vec<Row> = on_db!(db, |pool| sqlx::query_as(CHARGES_OF_USER)
            .bind(team_id)
            .bind(user.id)
            .bind(range.from)
            .bind(range.to)
            .fetch_all(pool)
            .await?);
        let charges = rows
            .into_iter()
            .map(|(date, product_id, slug, name, version, feature, tokens)| Charge {
                date,
                product_id,
                slug,
                name,
                version,
                feature,
                tokens,
            })
            .collect();
        Ok(UserCharges { team_id, user, range, charges })
    }

    /// Whether `q` is about this person, within the days read.
    pub fn answers(&self, q: &ReportQuery) -> bool {
        q.team_id == self.team_id
            && q.filters.contains(&Filter::User(self.user.id))
            && self.range.from <= q.range.from
            && q.range.to <= self.range.to
    }

    /// Answers `q` (which [`UserCharges::answers`]) as `report::sql` would.
    pub fn answer(&self, q: &ReportQuery) -> ReportResult {
        debug_assert!(self.answers(q));
        let selected: Vec<&Charge> = self.charges.iter().filter(|c| self.selects(q, c)).collect();
        let granularity = q.range.granularity;

        // Groups by the dimensions' values, as SQL's GROUP BY.
        let mut groups: BTreeMap<Vec<GroupKey>, Vec<&Charge>> = BTreeMap::new();
        for &charge in &selected {
            let key = q.dimensions.iter().map(|d| self.group_key(*d, granularity, charge)).collect();
            groups.entry(key).or_default().push(charge);
        }
        if q.dimensions.is_empty() {
            // An aggregate without GROUP BY answers one row, even over nothing.
            groups.entry(Vec::new()).or_default();
        }
        let mut rows: Vec<(Vec<GroupKey>, Vec<MetricValue>)> =
            groups.into_iter().map(|(key, charges)| (key, metric_values(&q.metrics, &charges))).collect();
        rows.sort_by(|a, b| self.compare(q, a, b));
        let total_rows = rows.len() as u64;
        if let Some(page) = q.page {
            rows = rows
                .into_iter()
                .skip(page.offset as usize)
                .take(page.limit.min(super::plan::MAX_PAGE) as usize)
                .collect();
        }
        let rows: Vec<ReportRow> = rows
            .into_iter()
            .map(|(key, values)| ReportRow { keys: key.into_iter().map(|k| self.value_of(k)).collect(), values })
            .collect();
        let rows = super::sql::fill_time(q, rows);
        let total_rows = if q.page.is_some() { total_rows } else { rows.len() as u64 };
        ReportResult {
            dimensions: q.dimensions.clone(),
            metrics: q.metrics.clone(),
            rows,
            total_rows,
            totals: metric_values(&q.metrics, &selected),
        }
    }

    fn selects(&self, q: &ReportQuery, charge: &Charge) -> bool {
        (q.range.from..=q.range.to).contains(&charge.date)
            && q.filters.iter().all(|filter| match filter {
                Filter::Product(slug) => charge.slug == *slug,
                Filter::ProductVersion(version) => charge.version == *version,
                Filter::User(id) => *id == self.user.id,
                Filter::UserSearch(text) => UserSearch::new(text)
                    .is_none_or(|s| s.matches(&self.user.first_name, &self.user.last_name, &self.user.email)),
            })
    }

    fn group_key(&self, dimension: Dimension, granularity: crate::domain::range::Granularity, c: &Charge) -> GroupKey {
        match dimension {
            Dimension::Time => GroupKey::Bucket(granularity.bucket_start(c.date)),
            Dimension::Product => GroupKey::Product(c.slug.clone(), c.name.clone()),
            Dimension::ProductVersion => GroupKey::Version(c.version.clone()),
            Dimension::User => GroupKey::User,
            Dimension::Feature => GroupKey::Feature(c.feature.clone()),
        }
    }

    fn value_of(&self, key: GroupKey) -> DimensionValue {
        match key {
            // As `report::sql` reads a bucket: `fill_time` clips it to the range.
            GroupKey::Bucket(start) => DimensionValue::Bucket { start, end: start, partial: false },
            GroupKey::Product(slug, name) => DimensionValue::Product { slug, name },
            GroupKey::Version(version) => DimensionValue::Version(version),
            GroupKey::Feature(feature) => DimensionValue::Feature(feature),
            GroupKey::User => DimensionValue::User {
                id: self.user.id,
                first_name: self.user.first_name.clone(),
                last_name: self.user.last_name.clone(),
                email: self.user.email.clone(),
            },
        }
    }

    /// SQL's `ORDER BY`: the asked order, then every dimension's columns.
    fn compare(
        &self,
        q: &ReportQuery,
        a: &(Vec<GroupKey>, Vec<MetricValue>),
        b: &(Vec<GroupKey>, Vec<MetricValue>),
    ) -> Ordering {
        let primary = q.order.map_or(Ordering::Equal, |order| {
            let ordering = match order.by {
                OrderBy::Metric(m) => match q.metrics.iter().position(|x| *x == m) {
                    Some(i) => compare_values(a.1[i], b.1[i]),
                    None => Ordering::Equal,
                },
                OrderBy::Dimension(d) => match q.dimensions.iter().position(|x| *x == d) {
                    Some(i) => a.0[i].sort_column().cmp(&b.0[i].sort_column()),
                    None => Ordering::Equal,
                },
            };
            if order.direction == Direction::Desc { ordering.reverse() } else { ordering }
        });
        primary.then_with(|| a.0.cmp(&b.0))
    }
}

/// A group's value of one dimension, ordered as SQL orders its columns.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum GroupKey {
    Bucket(NaiveDate),
    /// Slug, then name.
    Product(String, String),
    Version(String),
    Feature(String),
    /// The one person.
    User,
}

impl GroupKey {
    /// What an order by this dimension sorts on (a product: its name).
    fn sort_column(&self) -> (&str, Option<NaiveDate>) {
        match self {
            GroupKey::Bucket(start) => ("", Some(*start)),
            GroupKey::Product(_, name) => (name, None),
            GroupKey::Version(text) | GroupKey::Feature(text) => (text, None),
            GroupKey::User => ("", None),
        }
    }
}

fn compare_values(a: MetricValue, b: MetricValue) -> Ordering {
    match (a, b) {
        (MetricValue::Count(x), MetricValue::Count(y)) => x.cmp(&y),
        (MetricValue::Date(x), MetricValue::Date(y)) => x.cmp(&y),
        _ => Ordering::Equal,
    }
}

/// The metrics over `charges`, as SQL's aggregates compute them.
fn metric_values(metrics: &[Metric], charges: &[&Charge]) -> Vec<MetricValue> {
    metrics
        .iter()
        .map(|m| match m {
            Metric::Tokens => MetricValue::Count(charges.iter().map(|c| c.tokens).sum()),
            Metric::Charges => MetricValue::Count(charges.len() as i64),
            Metric::Users => MetricValue::Count(i64::from(!charges.is_empty())),
            Metric::UserDays => {
                MetricValue::Count(charges.iter().map(|c| c.date).collect::<BTreeSet<_>>().len() as i64)
            }
            Metric::Products => {
                MetricValue::Count(charges.iter().map(|c| c.product_id).collect::<BTreeSet<_>>().len() as i64)
            }
            Metric::LastUsed => MetricValue::Date(charges.iter().map(|c| c.date).max()),
        })
        .collect()
}
