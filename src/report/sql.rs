//! The SQL compiler: a [`ReportQuery`] becomes one statement for SQLite or
//! PostgreSQL over the table `report::plan` picks (a rollup or the charges),
//! then time is gap-filled.

use chrono::NaiveDate;
use sqlx::Row;

use crate::db::{Db, Pool, on_db};
use crate::domain::range::{Bucket, Granularity};
use crate::error::{Error, Result};
use crate::report::plan::{MAX_PAGE, Source, sql_source};
use crate::report::search::{LIKE_ESCAPE, UserSearch};
use crate::report::{
    Dimension, DimensionValue, Direction, Filter, Metric, MetricValue, OrderBy, ReportQuery, ReportResult, ReportRow,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

enum Bind {
    Int(i64),
    Text(String),
    Date(NaiveDate),
}

/// Binds every parameter of a compiled statement to a sqlx query.
macro_rules! bind_all {
    ($query:expr, $binds:expr) => {{
        let mut query = $query;
        for bind in $binds {
            query = match bind {
                Bind::Int(v) => query.bind(*v),
                Bind::Text(v) => query.bind(v.as_str()),
                Bind::Date(v) => query.bind(*v),
            };
        }
        query
    }};
}

/// A compiled statement and its parameters (`$1` = team, `$2`..`$3` = range).
struct Statement {
    sql: String,
    binds: Vec<Bind>,
}

fn bucket_sql(backend: Backend, granularity: Granularity) -> &'static str {
    match (backend, granularity) {
        (_, Granularity::Day) => "c.usage_date",
        (Backend::Sqlite, Granularity::Week) => {
            "date(c.usage_date, '-' || ((CAST(strftime('%w', c.usage_date) AS INTEGER) + 6) % 7) || ' days')"
        }
        (Backend::Sqlite, Granularity::Month) => "strftime('%Y-%m-01', c.usage_date)",
        (Backend::Postgres, Granularity::Week) => "CAST(date_trunc('week', c.usage_date) AS DATE)",
        (Backend::Postgres, Granularity::Month) => "CAST(date_trunc('month', c.usage_date) AS DATE)",
    }
}

/// Columns each dimension selects (all are grouped by).
fn dimension_columns(d: Dimension, backend: Backend, granularity: Granularity) -> Vec<&'static str> {
    match d {
        Dimension::Time => vec![bucket_sql(backend, granularity)],
        Dimension::Product => vec!["p.slug", "p.name"],
        Dimension::ProductVersion => vec!["c.product_version"],
        Dimension::User => vec!["u.id", "u.first_name", "u.last_name", "u.email"],
        Dimension::Feature => vec!["c.feature"],
    }
}

/// The column a dimension sorts by.
fn dimension_sort(d: Dimension, backend: Backend, granularity: Granularity) -> String {
    match d {
        Dimension::Time => bucket_sql(backend, granularity).into(),
        Dimension::Product => "p.name".into(),
        Dimension::ProductVersion => "c.product_version".into(),
        Dimension::User => "lower(u.last_name || ' ' || u.first_name || ' ' || u.email)".into(),
        Dimension::Feature => "c.feature".into(),
    }
}

fn metric_sql(m: Metric, source: Source) -> &'static str {
    match (m, source) {
        (Metric::Tokens, _) => "CAST(COALESCE(SUM(c.tokens), 0) AS BIGINT)",
        (Metric::Charges, Source::TeamRollup | Source::Rollup | Source::VersionRollup) => {
            "CAST(COALESCE(SUM(c.charges), 0) AS BIGINT)"
        }
        (Metric::Charges, Source::Charges) => "COUNT(*)",
        (Metric::Users, _) => "COUNT(DISTINCT c.user_id)",
        (Metric::UserDays, Source::Rollup) => "CAST(COALESCE(SUM(c.user_days), 0) AS BIGINT)",
        (Metric::UserDays, _) => "COUNT(DISTINCT c.user_id || '|' || c.usage_date)",
        (Metric::Products, _) => "COUNT(DISTINCT c.product_id)",
        (Metric::LastUsed, _) => "MAX(c.usage_date)",
    }
}

/// `SELECT … FROM … WHERE … GROUP BY …` without order and paging.
fn grouped(q: &ReportQuery, backend: Backend, source: Source) -> Statement {
    let g = q.range.granularity;
    let mut columns: Vec<String> =
        q.dimensions.iter().flat_map(|d| dimension_columns(*d, backend, g)).map(str::to_owned).collect();
    let group_by = columns.clone();
    columns.extend(q.metrics.iter().enumerate().map(|(i, m)| format!("{} AS m{i}", metric_sql(*m, source))));

    let table = match source {
        Source::TeamRollup => "daily_usage",
        Source::Rollup => "daily_product_usage",
        Source::VersionRollup => "daily_version_usage",
        Source::Charges => "usage_charges",
    };
    let needs_product =
        q.dimensions.contains(&Dimension::Product) || q.filters.iter().any(|f| matches!(f, Filter::Product(_)));
    let needs_user =
        q.dimensions.contains(&Dimension::User) || q.filters.iter().any(|f| matches!(f, Filter::UserSearch(_)));
    let mut sql = format!("SELECT {} FROM {table} c", columns.join(", "));
    if needs_product {
        sql.push_str(" JOIN products p ON p.id = c.product_id");
    }
    if needs_user {
        sql.push_str(" JOIN team_users u ON u.team_id = c.team_id AND u.id = c.user_id");
    }
    sql.push_str(" WHERE c.team_id = $1 AND c.usage_date BETWEEN $2 AND $3");
    let mut binds = vec![Bind::Int(q.team_id), Bind::Date(q.range.from), Bind::Date(q.range.to)];
    for filter in &q.filters {
        let n = binds.len() + 1;
        match filter {
            Filter::Product(slug) => {
                sql.push_str(&format!(" AND p.slug = ${n}"));
                binds.push(Bind::Text(slug.clone()));
            }
            Filter::ProductVersion(version) => {
                sql.push_str(&format!(" AND c.product_version = ${n}"));
                binds.push(Bind::Text(version.clone()));
            }
            Filter::User(id) => {
                sql.push_str(&format!(" AND c.user_id = ${n}"));
                binds.push(Bind::Int(*id));
            }
            Filter::UserSearch(text) => {
                // A blank search finds everyone (as `UserSearch::new` says).
                let Some(search) = UserSearch::new(text) else { continue };
                sql.push_str(&format!(
                    " AND (lower(u.email) LIKE ${n} ESCAPE '{LIKE_ESCAPE}' \
                     OR lower(u.first_name || ' ' || u.last_name) LIKE ${n} ESCAPE '{LIKE_ESCAPE}')"
                ));
                binds.push(Bind::Text(search.like_pattern()));
            }
        }
    }
    if !group_by.is_empty() {
        sql.push_str(&format!(" GROUP BY {}", group_by.join(", ")));
    }
    Statement { sql, binds }
}

fn ordered(q: &ReportQuery, backend: Backend, mut statement: Statement) -> Statement {
    let g = q.range.granularity;
    let mut order: Vec<String> = Vec::new();
    if let Some(o) = q.order {
        let dir = match o.direction {
            Direction::Asc => "ASC",
            Direction::Desc => "DESC",
        };
        match o.by {
            OrderBy::Metric(m) => {
                if let Some(i) = q.metrics.iter().position(|x| *x == m) {
                    order.push(format!("m{i} {dir}"));
                }
            }
            OrderBy::Dimension(d) if q.dimensions.contains(&d) => {
                order.push(format!("{} {dir}", dimension_sort(d, backend, g)))
            }
            OrderBy::Dimension(_) => {}
        }
    }
    // Ties break on the dimensions so pages are stable.
    order.extend(q.dimensions.iter().flat_map(|d| dimension_columns(*d, backend, g)).map(str::to_owned));
    if !order.is_empty() {
        statement.sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
    }
    if let Some(page) = q.page {
        statement.sql.push_str(&format!(" LIMIT {} OFFSET {}", page.limit.min(MAX_PAGE), page.offset));
    }
    statement
}

fn backend(db: &Db) -> Backend {
    match db.pool() {
        Pool::Sqlite(_) => Backend::Sqlite,
        Pool::Postgres(_) => Backend::Postgres,
    }
}

/// Runs `statement` and decodes each row into dimension values and metric values.
async fn fetch(db: &Db, statement: &Statement, q: &ReportQuery) -> Result<Vec<ReportRow>> {
    on_db!(db, |pool| {
        let rows = bind_all!(sqlx::query(&statement.sql), &statement.binds).fetch_all(pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut i = 0;
            let mut keys = Vec::with_capacity(q.dimensions.len());
            for d in &q.dimensions {
                keys.push(match d {
                    Dimension::Time => {
                        let start: NaiveDate = row.try_get(i)?;
                        i += 1;
                        DimensionValue::Bucket { start, end: start, partial: false }
                    }
                    Dimension::Product => {
                        let value = DimensionValue::Product { slug: row.try_get(i)?, name: row.try_get(i + 1)? };
                        i += 2;
                        value
                    }
                    Dimension::ProductVersion => {
                        i += 1;
                        DimensionValue::Version(row.try_get(i - 1)?)
                    }
                    Dimension::User => {
                        let value = DimensionValue::User {
                            id: row.try_get(i)?,
                            first_name: row.try_get(i + 1)?,
                            last_name: row.try_get(i + 2)?,
                            email: row.try_get(i + 3)?,
                        };
                        i += 4;
                        value
                    }
                    Dimension::Feature => {
                        i += 1;
                        DimensionValue::Feature(row.try_get(i - 1)?)
                    }
                });
            }
            let mut values = Vec::with_capacity(q.metrics.len());
            for m in &q.metrics {
                values.push(match m {
                    Metric::LastUsed => MetricValue::Date(row.try_get::<Option<NaiveDate>, _>(i)?),
                    _ => MetricValue::Count(row.try_get::<i64, _>(i)?),
                });
                i += 1;
            }
            out.push(ReportRow { keys, values });
        }
        Ok::<_, Error>(out)
    })
}

pub(crate) fn empty_values(metrics: &[Metric]) -> Vec<MetricValue> {
    metrics
        .iter()
        .map(|m| if *m == Metric::LastUsed { MetricValue::Date(None) } else { MetricValue::Count(0) })
        .collect()
}

/// Replaces SQL bucket starts by the range's clipped buckets and, when time
/// is the only dimension, adds a zero row for every bucket without usage.
pub(crate) fn fill_time(q: &ReportQuery, rows: Vec<ReportRow>) -> Vec<ReportRow> {
    let Some(t) = q.dimensions.iter().position(|d| *d == Dimension::Time) else { return rows };
    let buckets: Vec<Bucket> = q.range.buckets();
    let bucket_of = |start: NaiveDate| {
        let date = start.max(q.range.from);
        buckets[buckets.partition_point(|b| b.start <= date).saturating_sub(1)]
    };
    let as_value = |b: Bucket| DimensionValue::Bucket { start: b.start, end: b.end, partial: b.partial };
    let mut rows: Vec<ReportRow> = rows
        .into_iter()
        .map(|mut row| {
            if let DimensionValue::Bucket { start, .. } = row.keys[t] {
                row.keys[t] = as_value(bucket_of(start));
            }
            row
        })
        .collect();
    if q.dimensions.len() == 1 && q.page.is_none() {
        let mut filled = Vec::with_capacity(buckets.len());
        let mut existing = rows.into_iter().peekable();
        for bucket in buckets {
            match existing.peek() {
                Some(row) if row.keys[0] == as_value(bucket) => filled.push(existing.next().expect("peeked")),
                _ => filled.push(ReportRow { keys: vec![as_value(bucket)], values: empty_values(&q.metrics) }),
            }
        }
        rows = filled;
    }
    rows
}

/// Runs a report in SQL, over the table `report::plan` picks for it.
pub async fn run_sql(db: &Db, q: &ReportQuery) -> Result<ReportResult> {
    crate::report::plan::validate(q)?;
    let backend = backend(db);
    let source = sql_source(q);
    let rows = fill_time(q, fetch(db, &ordered(q, backend, grouped(q, backend, source)), q).await?);

    let totals_query = ReportQuery { dimensions: Vec::new(), order: None, page: None, ..q.clone() };
    let totals = if q.dimensions.is_empty() {
        rows.first().map_or_else(|| empty_values(&q.metrics), |r| r.values.clone())
    } else {
        let source = sql_source(&totals_query);
        let totals_rows = fetch(db, &grouped(&totals_query, backend, source), &totals_query).await?;
        totals_rows.into_iter().next().map_or_else(|| empty_values(&q.metrics), |r| r.values)
    };

    let total_rows = match q.page {
        Some(_) => {
            let inner = grouped(q, backend, source);
            let count = Statement { sql: format!("SELECT COUNT(*) FROM ({}) t", inner.sql), binds: inner.binds };
            on_db!(db, |pool| bind_all!(sqlx::query_scalar::<_, i64>(&count.sql), &count.binds).fetch_one(pool).await?
                as u64)
        }
        None => rows.len() as u64,
    };
    Ok(ReportResult { dimensions: q.dimensions.clone(), metrics: q.metrics.clone(), rows, total_rows, totals })
}
