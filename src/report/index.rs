//! An in-memory usage index per team: for every user and product, the sorted
//! days of use with prefix sums of tokens; for every user, the sorted days of
//! any use. Any range then answers per-user and per-product questions with
//! binary searches — exact distinct users, tokens, days used, last use —
//! instead of a scan of the charges.
//!
//! The index is built from the charges once and reused until the team's
//! `data_version` (bumped by every import, in its transaction) changes, so
//! several app servers each keep a correct copy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use futures_util::TryStreamExt;

use crate::db::{Db, on_db};
use crate::domain::values::MIN_DATE;
use crate::error::Result;
use crate::report::{
    Dimension, DimensionValue, Direction, Filter, Metric, MetricValue, OrderBy, ReportQuery, ReportResult, ReportRow,
    user_matches_search,
};

/// Indexes of the teams of one database, by team id.
#[derive(Default)]
pub struct IndexCache {
    teams: Mutex<HashMap<i64, Arc<UsageIndex>>>,
    /// One build at a time: concurrent first views wait for the same build.
    building: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for IndexCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let teams = self.teams.lock().map(|t| t.len()).unwrap_or(0);
        f.debug_struct("IndexCache").field("teams", &teams).finish()
    }
}

#[derive(Clone, Debug)]
struct IndexedUser {
    id: i64,
    first_name: String,
    last_name: String,
    email: String,
    /// What "sort by name" compares.
    sort_name: String,
}

/// Days are counted from 1970-01-01.
fn day_number(date: NaiveDate) -> i64 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")).num_days()
}

fn day_date(day: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date") + chrono::Days::new(day as u64)
}

pub struct UsageIndex {
    version: i64,
    /// Ordered by id.
    users: Vec<IndexedUser>,
    /// Groups (user × product) of user `u`: `user_groups[u]..user_groups[u + 1]`.
    user_groups: Vec<usize>,
    group_product: Vec<i64>,
    /// Entries of group `g`: `group_entries[g]..group_entries[g + 1]`, sorted by day.
    group_entries: Vec<usize>,
    /// Days as offsets from `epoch`: two bytes an entry keeps the index small
    /// enough for the cache, which is what its speed depends on.
    entry_day: Vec<u16>,
    /// Tokens of the group's entries up to and including this one (64 bits:
    /// a few charges at the import's maximum pass `u32::MAX`).
    entry_cumulative: Vec<u64>,
    /// Distinct days of user `u`: `user_days[user_day_start[u]..user_day_start[u + 1]]`.
    user_day_start: Vec<usize>,
    user_days: Vec<u16>,
    /// The first day of use (day number since 1970).
    epoch: i64,
    /// slug and name by product id.
    products: HashMap<i64, (String, String)>,
}

/// What one user (or one product) did in a range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Stats {
    tokens: i64,
    users: i64,
    products: i64,
    /// Distinct (user, day) pairs.
    user_days: i64,
    last_day: Option<i64>,
}

impl Stats {
    fn value(&self, metric: Metric) -> MetricValue {
        match metric {
            Metric::Tokens => MetricValue::Count(self.tokens),
            Metric::Users => MetricValue::Count(self.users),
            Metric::Products => MetricValue::Count(self.products),
            Metric::UserDays => MetricValue::Count(self.user_days),
            Metric::LastUsed => MetricValue::Date(self.last_day.map(day_date)),
            Metric::Charges => unreachable!("charges are not indexed"),
        }
    }

    fn add(&mut self, other: Stats) {
        self.tokens += other.tokens;
        self.users += other.users;
        self.products += other.products;
        self.user_days += other.user_days;
        self.last_day = self.last_day.max(other.last_day);
    }
}

/// The partition point of `pred` (true for a prefix) within `days[..end]`,
/// searched from the end by galloping: report ranges mostly end today and
/// start near a group's beginning, so this touches a group's two ends only,
/// where a plain binary search would miss the cache at every step.
fn partition_from_end(days: &[u16], end: usize, pred: impl Fn(u16) -> bool) -> usize {
    let (mut right, mut step) = (end, 1);
    while right > 0 {
        let probe = right.saturating_sub(step);
        if pred(days[probe]) {
            return probe + 1 + days[probe + 1..right].partition_point(|d| pred(*d));
        }
        right = probe;
        step *= 2;
    }
    0
}

/// Entries of `days` (sorted) within `from..=to`, as an index range.
fn within(days: &[u16], from: u16, to: u16) -> (usize, usize) {
    let hi = partition_from_end(days, days.len(), |d| d <= to);
    let lo = if days.first().is_some_and(|d| *d >= from) { 0 } else { partition_from_end(days, hi, |d| d < from) };
    (lo, hi.max(lo))
}

impl UsageIndex {
    async fn load(db: &Db, team_id: i64, version: i64) -> Result<UsageIndex> {
        let users: Vec<(i64, String, String, String)> = on_db!(db, |pool| sqlx::query_as(
            "SELECT id, first_name, last_name, email FROM team_users WHERE team_id = $1 ORDER BY id"
        )
        .bind(team_id)
        .fetch_all(pool)
        .await?);
        let products: Vec<(i64, String, String)> =
            on_db!(db, |pool| sqlx::query_as("SELECT id, slug, name FROM products").fetch_all(pool).await?);
        let ordinal: HashMap<i64, u32> = users.iter().enumerate().map(|(i, u)| (u.0, i as u32)).collect();

        // (user ordinal, product, day, tokens), one per charge. Only days a
        // range can reach (from 2000-01-01, as many as the u16 offsets hold):
        // a row outside, written by hand, must not break the team's reports.
        let (first_day, last_day) = (MIN_DATE, MIN_DATE + chrono::Days::new(u16::MAX.into()));
        let mut entries: Vec<(u32, i64, i64, i64)> = Vec::new();
        on_db!(db, |pool| {
            let mut rows = sqlx::query_as::<_, (i64, i64, NaiveDate, i64)>(
                "SELECT user_id, product_id, usage_date, tokens FROM usage_charges
                 WHERE team_id = $1 AND usage_date >= $2 AND usage_date <= $3",
            )
            .bind(team_id)
            .bind(first_day)
            .bind(last_day)
            .fetch(pool);
            while let Some((user, product, date, tokens)) = rows.try_next().await? {
                if let Some(&u) = ordinal.get(&user) {
                    entries.push((u, product, day_number(date), tokens));
                }
            }
        });
        entries.sort_unstable();
        // Every day is within u16::MAX of the first (filtered above).
        let epoch = entries.iter().map(|e| e.2).min().unwrap_or(0);

        let mut index = UsageIndex {
            version,
            users: users
                .into_iter()
                .map(|(id, first_name, last_name, email)| IndexedUser {
                    sort_name: format!("{last_name} {first_name} {email}").to_lowercase(),
                    id,
                    first_name,
                    last_name,
                    email,
                })
                .collect(),
            user_groups: vec![0],
            group_product: Vec::new(),
            group_entries: vec![0],
            entry_day: Vec::with_capacity(entries.len()),
            entry_cumulative: Vec::with_capacity(entries.len()),
            user_day_start: vec![0],
            user_days: Vec::new(),
            epoch,
            products: products.into_iter().map(|(id, slug, name)| (id, (slug, name))).collect(),
        };
        let mut next = 0;
        for user in 0..index.users.len() as u32 {
            let mut days_of_user = Vec::new();
            while next < entries.len() && entries[next].0 == user {
                let product = entries[next].1;
                while next < entries.len() && entries[next].0 == user && entries[next].1 == product {
                    let (_, _, day, tokens) = entries[next];
                    let day = (day - epoch) as u16;
                    let tokens = u64::try_from(tokens).unwrap_or(0);
                    let group_start = *index.group_entries.last().expect("not empty");
                    let in_group = index.entry_day.len() > group_start;
                    // Several charges on one day (different features) are one day of use.
                    if in_group && index.entry_day.last() == Some(&day) {
                        *index.entry_cumulative.last_mut().expect("not empty") += tokens;
                    } else {
                        let before = if in_group { *index.entry_cumulative.last().expect("not empty") } else { 0 };
                        index.entry_day.push(day);
                        index.entry_cumulative.push(before + tokens);
                        days_of_user.push(day);
                    }
                    next += 1;
                }
                index.group_product.push(product);
                index.group_entries.push(index.entry_day.len());
            }
            index.user_groups.push(index.group_product.len());
            days_of_user.sort_unstable();
            days_of_user.dedup();
            index.user_days.extend(days_of_user);
            index.user_day_start.push(index.user_days.len());
        }
        Ok(index)
    }

    fn groups(&self, user: usize) -> std::ops::Range<usize> {
        self.user_groups[user]..self.user_groups[user + 1]
    }

    /// `from..=to` (day numbers) as offsets from the epoch; `None` when no
    /// day of use can fall inside.
    fn offsets(&self, from: i64, to: i64) -> Option<(u16, u16)> {
        let last = self.epoch + u16::MAX as i64;
        if to < self.epoch || from > last || from > to {
            return None;
        }
        Some(((from.max(self.epoch) - self.epoch) as u16, (to.min(last) - self.epoch) as u16))
    }

    /// Tokens, days and last day of group `g` within `from..=to` (offsets).
    fn group_stats(&self, g: usize, from: u16, to: u16) -> Stats {
        let (start, end) = (self.group_entries[g], self.group_entries[g + 1]);
        let (lo, hi) = within(&self.entry_day[start..end], from, to);
        if lo == hi {
            return Stats::default();
        }
        let before = if lo > 0 { self.entry_cumulative[start + lo - 1] } else { 0 };
        Stats {
            tokens: (self.entry_cumulative[start + hi - 1] - before) as i64,
            users: 1,
            products: 1,
            user_days: (hi - lo) as i64,
            last_day: Some(self.epoch + self.entry_day[start + hi - 1] as i64),
        }
    }

    fn product_value(&self, id: i64) -> DimensionValue {
        let (slug, name) = self.products.get(&id).cloned().unwrap_or_default();
        DimensionValue::Product { slug, name }
    }

    fn user_value(&self, u: usize) -> DimensionValue {
        let user = &self.users[u];
        DimensionValue::User {
            id: user.id,
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            email: user.email.clone(),
        }
    }
}

/// The filters the index understands, resolved against it.
struct Selection {
    product: Option<i64>,
    user: Option<i64>,
    search: Option<String>,
    /// A product filter named no known product: nothing matches.
    nothing: bool,
}

impl Selection {
    fn new(index: &UsageIndex, filters: &[Filter]) -> Option<Selection> {
        let mut selection = Selection { product: None, user: None, search: None, nothing: false };
        for filter in filters {
            match filter {
                Filter::Product(slug) => match index.products.iter().find(|(_, (s, _))| s == slug) {
                    Some((id, _)) => selection.product = Some(*id),
                    None => selection.nothing = true,
                },
                Filter::User(id) => selection.user = Some(*id),
                Filter::UserSearch(text) => selection.search = Some(text.trim().to_lowercase()),
                Filter::ProductVersion(_) => return None,
            }
        }
        Some(selection)
    }

    fn includes(&self, user: &IndexedUser) -> bool {
        !self.nothing
            && self.user.is_none_or(|id| id == user.id)
            && self
                .search
                .as_deref()
                .is_none_or(|s| user_matches_search(s, &user.first_name, &user.last_name, &user.email))
    }
}

fn answerable(q: &ReportQuery) -> bool {
    let metrics_ok = q
        .metrics
        .iter()
        .all(|m| matches!(m, Metric::Tokens | Metric::Users | Metric::Products | Metric::UserDays | Metric::LastUsed));
    let dims_ok = matches!(q.dimensions.as_slice(), [] | [Dimension::User] | [Dimension::Product]);
    // Products by themselves are answered faster by the rollup; the index is
    // for what needs users: distinct users, or rows per user.
    let needs_users = q.metrics.contains(&Metric::Users)
        || q.dimensions.contains(&Dimension::User)
        || q.filters.iter().any(|f| matches!(f, Filter::User(_) | Filter::UserSearch(_)));
    metrics_ok && dims_ok && needs_users
}

impl IndexCache {
    /// The team's index, rebuilt when its charges changed since it was built.
    async fn get(&self, db: &Db, team_id: i64) -> Result<Arc<UsageIndex>> {
        let version = on_db!(db, |pool| sqlx::query_scalar::<_, i64>("SELECT data_version FROM teams WHERE id = $1")
            .bind(team_id)
            .fetch_optional(pool)
            .await?
            .unwrap_or(0));
        let cached = |cache: &IndexCache| {
            cache.teams.lock().ok().and_then(|t| t.get(&team_id).filter(|i| i.version == version).cloned())
        };
        if let Some(index) = cached(self) {
            return Ok(index);
        }
        let _building = self.building.lock().await;
        if let Some(index) = cached(self) {
            return Ok(index);
        }
        let index = Arc::new(UsageIndex::load(db, team_id, version).await?);
        if let Ok(mut teams) = self.teams.lock() {
            teams.insert(team_id, index.clone());
        }
        Ok(index)
    }
}

/// Builds (or refreshes) the usage index of `team_id` ahead of the first view
/// that needs it: the server calls this at start and after an API import.
pub async fn warm(db: &Db, team_id: i64) -> Result<()> {
    db.indexes().get(db, team_id).await.map(|_| ())
}

/// Answers `q` from the team's usage index when it can (rows per user or per
/// product, or totals that need distinct users); `None` leaves it to SQL.
pub async fn try_answer(db: &Db, q: &ReportQuery) -> Result<Option<ReportResult>> {
    if !answerable(q) {
        return Ok(None);
    }
    let index = db.indexes().get(db, q.team_id).await?;
    let Some(selection) = Selection::new(&index, &q.filters) else { return Ok(None) };
    // An empty day range still yields a correct, empty answer below.
    let (from, to, empty) = match index.offsets(day_number(q.range.from), day_number(q.range.to)) {
        Some((from, to)) => (from, to, false),
        None => (0, 0, true),
    };

    // One pass over the selected users' groups gives per-user and per-product stats.
    let mut per_user: Vec<(usize, Stats)> = Vec::new();
    let mut used_products: HashMap<i64, Stats> = HashMap::new();
    for u in (0..index.users.len()).filter(|&u| !empty && selection.includes(&index.users[u])) {
        let mut user = Stats::default();
        for g in index.groups(u) {
            let product = index.group_product[g];
            if selection.product.is_some_and(|p| p != product) {
                continue;
            }
            let s = index.group_stats(g, from, to);
            if s.users > 0 {
                user.tokens += s.tokens;
                user.products += 1;
                user.user_days += s.user_days;
                user.last_day = user.last_day.max(s.last_day);
                used_products.entry(product).or_default().add(s);
            }
        }
        if user.products > 0 {
            user.users = 1;
            if selection.product.is_none() {
                // Days of use across products: each day once.
                let days = &index.user_days[index.user_day_start[u]..index.user_day_start[u + 1]];
                let (lo, hi) = within(days, from, to);
                user.user_days = (hi - lo) as i64;
            }
            per_user.push((u, user));
        }
    }
    let mut totals = Stats::default();
    for (_, s) in &per_user {
        totals.add(*s);
    }
    totals.products = used_products.len() as i64;
    for stats in used_products.values_mut() {
        stats.products = 1;
    }
    let values = |s: &Stats| q.metrics.iter().map(|m| s.value(*m)).collect::<Vec<_>>();

    // Rows as (key, stats) first; only the requested page becomes ReportRows.
    enum Key {
        User(usize),
        Product(i64),
        Total,
    }
    let mut rows: Vec<(Key, Stats)> = match q.dimensions.as_slice() {
        [Dimension::User] => per_user.iter().map(|(u, s)| (Key::User(*u), *s)).collect(),
        [Dimension::Product] => used_products.iter().map(|(id, s)| (Key::Product(*id), *s)).collect(),
        _ => vec![(Key::Total, totals)],
    };
    let label = |key: &Key| -> &str {
        match key {
            Key::User(u) => &index.users[*u].sort_name,
            Key::Product(id) => index.products.get(id).map_or("", |(_, name)| name.as_str()),
            Key::Total => "",
        }
    };
    // Ties break on the row's identity (user id, product slug), like the SQL path.
    let identity = |key: &Key| -> (i64, &str) {
        match key {
            Key::User(u) => (index.users[*u].id, ""),
            Key::Product(id) => (0, index.products.get(id).map_or("", |(slug, _)| slug.as_str())),
            Key::Total => (0, ""),
        }
    };
    let compare = |a: &(Key, Stats), b: &(Key, Stats)| {
        let primary = match q.order {
            Some(order) => {
                let ordering = match order.by {
                    OrderBy::Metric(m) => match (a.1.value(m), b.1.value(m)) {
                        (MetricValue::Count(x), MetricValue::Count(y)) => x.cmp(&y),
                        (MetricValue::Date(x), MetricValue::Date(y)) => x.cmp(&y),
                        _ => std::cmp::Ordering::Equal,
                    },
                    OrderBy::Dimension(_) => label(&a.0).cmp(label(&b.0)),
                };
                if order.direction == Direction::Desc { ordering.reverse() } else { ordering }
            }
            None => std::cmp::Ordering::Equal,
        };
        primary.then_with(|| identity(&a.0).cmp(&identity(&b.0)))
    };
    let total_rows = rows.len() as u64;
    // Only the rows up to the end of the page need to be in order.
    let (skip, take) = q.page.map_or((0, usize::MAX), |p| (p.offset as usize, p.limit as usize));
    let needed = skip.saturating_add(take);
    if needed < rows.len() {
        rows.select_nth_unstable_by(needed, compare);
        rows.truncate(needed);
    }
    rows.sort_by(compare);
    let rows: Vec<ReportRow> = rows
        .iter()
        .skip(skip)
        .take(take)
        .map(|(key, stats)| ReportRow {
            keys: match key {
                Key::User(u) => vec![index.user_value(*u)],
                Key::Product(id) => vec![index.product_value(*id)],
                Key::Total => Vec::new(),
            },
            values: values(stats),
        })
        .collect();
    Ok(Some(ReportResult {
        dimensions: q.dimensions.clone(),
        metrics: q.metrics.clone(),
        rows,
        total_rows,
        totals: values(&totals),
    }))
}

#[cfg(test)]
mod tests {
    use super::within;

    #[test]
    fn within_finds_the_same_range_as_a_binary_search() {
        let days: Vec<u16> = vec![3, 5, 5, 8, 13, 21, 34, 55, 89];
        for from in 0..95 {
            for to in from..95 {
                let expected = (days.partition_point(|d| *d < from), days.partition_point(|d| *d <= to));
                assert_eq!(within(&days, from, to), expected, "{from}..={to}");
            }
        }
        assert_eq!(within(&[], 1, 5), (0, 0));
    }
}
