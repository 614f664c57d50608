//! Reports about one person, answered from that person's charges read once
//! (DESIGN §7: the user detail screen asks 3 + N questions of a few hundred
//! charges; one indexed read and grouping in memory beats a query each).
//! The answers are the SQL answerer's, row for row: the same groups, the
//! same order and ties, the same gap-filled time buckets and totals
//! (`tests/integration/reports.rs` compares them on both backends). Texts
//! order by their bytes, as SQLite orders them and as the usage index
//! orders names; a PostgreSQL database with a language collation may order
//! two names differently (`VRED` and `Vault`), as it already does there.

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

/// One charge of the person. Its texts are numbered in their sort order
/// (`UserCharges::texts`), so grouping and ordering compare numbers.
#[derive(Clone, Copy, Debug)]
struct Charge {
    date: NaiveDate,
    product_id: i64,
    /// The product's (slug, name), its version and its feature, as numbers.
    product: u32,
    version: u32,
    feature: u32,
    tokens: i64,
}

/// A person's charges over a range, read in one query.
pub struct UserCharges {
    team_id: i64,
    user: UserRef,
    range: ResolvedRange,
    charges: Vec<Charge>,
    /// The products' (slug, name) in that order, then the versions and the
    /// features, each sorted: a charge's numbers index them.
    products: Vec<(String, String)>,
    versions: Vec<String>,
    features: Vec<String>,
    /// Each product's rank by name (what an order by product compares).
    product_name_rank: Vec<u32>,
}

/// The person's charges as one JSON array of `[day, product id, slug, name,
/// version, feature, tokens]`: one row for the whole answer instead of a
/// row each (sqlx hands each row across a thread; that was three quarters
/// of the screen's time at 12 months). `$1` team, `$2` user, `$3..$4` days.
fn charges_of_user(db: &Db) -> &'static str {
    match db.pool() {
        crate::db::Pool::Sqlite(_) => {
            "SELECT json_group_array(json_array(c.usage_date, c.product_id, p.slug, p.name, c.product_version,
                    c.feature, c.tokens))
             FROM usage_charges c JOIN products p ON p.id = c.product_id
             WHERE c.team_id = $1 AND c.user_id = $2 AND c.usage_date BETWEEN $3 AND $4"
        }
        crate::db::Pool::Postgres(_) => {
            "SELECT CAST(COALESCE(json_agg(json_build_array(c.usage_date, c.product_id, p.slug, p.name,
                    c.product_version, c.feature, c.tokens)), '[]') AS TEXT)
             FROM usage_charges c JOIN products p ON p.id = c.product_id
             WHERE c.team_id = $1 AND c.user_id = $2 AND c.usage_date BETWEEN $3 AND $4"
        }
    }
}

/// Numbers the distinct values of `texts` in their sort order.
fn numbered<T: Ord + Clone>(texts: impl Iterator<Item = T>) -> (Vec<T>, BTreeMap<T, u32>) {
    let sorted: Vec<T> = texts.collect::<BTreeSet<T>>().into_iter().collect();
    let numbers = sorted.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
    (sorted, numbers)
}

impl UserCharges {
    /// Reads the charges of `user` (as stored, not masked) in `range`.
    pub async fn load(db: &Db, team_id: i64, user: UserRef, range: ResolvedRange) -> Result<UserCharges> {
        type Row = (NaiveDate, i64, String, String, String, String, i64);
        let json: String = on_db!(db, |pool| sqlx::query_scalar(charges_of_user(db))
            .bind(team_id)
            .bind(user.id)
            .bind(range.from)
            .bind(range.to)
            .fetch_one(pool)
            .await?);
        let rows: Vec<Row> = serde_json::from_str(&json)
            .map_err(|e| crate::error::Error::Corrupt(format!("a person's charges as JSON: {e}")))?;
        let (products, product_numbers) = numbered(rows.iter().map(|r| (r.2.clone(), r.3.clone())));
        let (versions, version_numbers) = numbered(rows.iter().map(|r| r.4.clone()));
        let (features, feature_numbers) = numbered(rows.iter().map(|r| r.5.clone()));
        let mut by_name: Vec<u32> = (0..products.len() as u32).collect();
        by_name.sort_by(|a, b| products[*a as usize].1.cmp(&products[*b as usize].1).then(a.cmp(b)));
        let mut product_name_rank = vec![0; products.len()];
        for (rank, product) in by_name.into_iter().enumerate() {
            product_name_rank[product as usize] = rank as u32;
        }
        let charges = rows
            .into_iter()
            .map(|(date, product_id, slug, name, version, feature, tokens)| Charge {
                date,
                product_id,
                product: product_numbers[&(slug, name)],
                version: version_numbers[&version],
                feature: feature_numbers[&feature],
                tokens,
            })
            .collect();
        Ok(UserCharges { team_id, user, range, charges, products, versions, features, product_name_rank })
    }

    /// Whether `q` is about this person, within the days read.
    pub fn answers(&self, q: &ReportQuery) -> bool {
        q.team_id == self.team_id
            && q.filters.contains(&Filter::User(self.user.id))
            && self.range.from <= q.range.from
            && q.range.to <= self.range.to
    }

    /// Answers `q` as `report::sql` would; `None` when it is not about this
    /// person within the days read ([`UserCharges::answers`]).
    pub fn answer(&self, q: &ReportQuery) -> Option<ReportResult> {
        if !self.answers(q) {
            return None;
        }
        // Every search must find the person, or nothing is selected.
        let person_found = q.filters.iter().all(|f| match f {
            Filter::UserSearch(text) => UserSearch::new(text)
                .is_none_or(|s| s.matches(&self.user.first_name, &self.user.last_name, &self.user.email)),
            _ => true,
        });
        let selected: Vec<&Charge> = self.charges.iter().filter(|c| person_found && self.selects(q, c)).collect();
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
        // Without dimensions SQL's totals are its one row, on the page or not.
        let totals = if q.dimensions.is_empty() {
            rows.first().map_or_else(|| super::sql::empty_values(&q.metrics), |r| r.values.clone())
        } else {
            metric_values(&q.metrics, &selected)
        };
        Some(ReportResult { dimensions: q.dimensions.clone(), metrics: q.metrics.clone(), rows, total_rows, totals })
    }

    /// Whether the query's range and filters take `charge` (a search is the
    /// person's, checked once by [`UserCharges::answer`]).
    fn selects(&self, q: &ReportQuery, charge: &Charge) -> bool {
        (q.range.from..=q.range.to).contains(&charge.date)
            && q.filters.iter().all(|filter| match filter {
                Filter::Product(slug) => self.products[charge.product as usize].0 == *slug,
                Filter::ProductVersion(version) => self.versions[charge.version as usize] == *version,
                Filter::User(id) => *id == self.user.id,
                Filter::UserSearch(_) => true,
            })
    }

    fn group_key(&self, dimension: Dimension, granularity: crate::domain::range::Granularity, c: &Charge) -> GroupKey {
        match dimension {
            Dimension::Time => GroupKey::Bucket(granularity.bucket_start(c.date)),
            Dimension::Product => GroupKey::Product(c.product),
            Dimension::ProductVersion => GroupKey::Version(c.version),
            Dimension::User => GroupKey::User,
            Dimension::Feature => GroupKey::Feature(c.feature),
        }
    }

    fn value_of(&self, key: GroupKey) -> DimensionValue {
        match key {
            // As `report::sql` reads a bucket: `fill_time` clips it to the range.
            GroupKey::Bucket(start) => DimensionValue::Bucket { start, end: start, partial: false },
            GroupKey::Product(n) => {
                let (slug, name) = self.products[n as usize].clone();
                DimensionValue::Product { slug, name }
            }
            GroupKey::Version(n) => DimensionValue::Version(self.versions[n as usize].clone()),
            GroupKey::Feature(n) => DimensionValue::Feature(self.features[n as usize].clone()),
            GroupKey::User => DimensionValue::User {
                id: self.user.id,
                first_name: self.user.first_name.clone(),
                last_name: self.user.last_name.clone(),
                email: self.user.email.clone(),
            },
        }
    }

    /// What an order by this dimension compares (a product: its name).
    fn sort_column(&self, key: GroupKey) -> (u32, Option<NaiveDate>) {
        match key {
            GroupKey::Bucket(start) => (0, Some(start)),
            GroupKey::Product(n) => (self.product_name_rank[n as usize], None),
            GroupKey::Version(n) | GroupKey::Feature(n) => (n, None),
            GroupKey::User => (0, None),
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
                    Some(i) => self.sort_column(a.0[i]).cmp(&self.sort_column(b.0[i])),
                    None => Ordering::Equal,
                },
            };
            if order.direction == Direction::Desc { ordering.reverse() } else { ordering }
        });
        primary.then_with(|| a.0.cmp(&b.0))
    }
}

/// A group's value of one dimension, ordered as SQL orders its columns
/// (texts are numbered in their sort order; a product by slug, then name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum GroupKey {
    Bucket(NaiveDate),
    Product(u32),
    Version(u32),
    Feature(u32),
    /// The one person.
    User,
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
