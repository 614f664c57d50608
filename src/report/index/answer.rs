//! Answers a report from a team's usage index: rows per user or per
//! product, and totals that need distinct users (`report::plan` decides
//! which queries come here).

use std::collections::HashMap;

use super::{IndexedUser, Stats, UsageIndex, day_number};
use crate::db::Db;
use crate::error::Result;
use crate::report::search::UserSearch;
use crate::report::{Dimension, Direction, Filter, MetricValue, OrderBy, ReportQuery, ReportResult, ReportRow};

/// The filters the index understands, resolved against it.
struct Selection {
    product: Option<i64>,
    user: Option<i64>,
    search: Option<UserSearch>,
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
                Filter::UserSearch(text) => selection.search = UserSearch::new(text),
                Filter::ProductVersion(_) => return None,
            }
        }
        Some(selection)
    }

    fn includes(&self, user: &IndexedUser) -> bool {
        !self.nothing
            && self.user.is_none_or(|id| id == user.id)
            && self.search.as_ref().is_none_or(|s| s.matches(&user.first_name, &user.last_name, &user.email))
    }
}

/// Answers `q` from the team's usage index when it can (rows per user or per
/// product, or totals that need distinct users); `None` leaves it to SQL.
pub async fn try_answer(db: &Db, q: &ReportQuery) -> Result<Option<ReportResult>> {
    Ok(answer(&*super::cache::index_of(db, q.team_id).await?, q))
}

/// `q` answered from `index`; `None` when its filters need SQL.
pub(super) fn answer(index: &UsageIndex, q: &ReportQuery) -> Option<ReportResult> {
    let selection = Selection::new(index, &q.filters)?;
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
        index.for_each_product_used(u, from, to, selection.product, |product, s| {
            user.tokens += s.tokens;
            user.products += 1;
            user.user_days += s.user_days;
            user.last_day = user.last_day.max(s.last_day);
            used_products.entry(product).or_default().add(s);
        });
        if user.products > 0 {
            user.users = 1;
            if selection.product.is_none() {
                // Days of use across products: each day once.
                user.user_days = index.days_used(u, from, to);
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
    Some(ReportResult {
        dimensions: q.dimensions.clone(),
        metrics: q.metrics.clone(),
        rows,
        total_rows,
        totals: values(&totals),
    })
}
