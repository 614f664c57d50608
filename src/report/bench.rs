//! `tokenboard bench` (DESIGN §7): times every report view through the
//! pipeline next to the naive `GROUP BY` over raw charges that answers the
//! same question, on the reference team, in the same run.

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::{Months, NaiveDate};

use crate::db::{Db, on_db};
use crate::domain::model::Role;
use crate::domain::range::{RangeQuery, ResolvedRange};
use crate::domain::teams::Team;
use crate::error::Result;
use crate::report::params::{TableOrder, UserSort, UserTableQuery};
use crate::report::privacy::{Privacy, PseudonymKey};
use crate::report::{DimensionValue, Direction};
use crate::{report::screens, report::summary};

/// One view at one range.
#[derive(Clone, Debug)]
pub struct Timing {
    pub view: &'static str,
    pub range: &'static str,
    pub pipeline_median: Duration,
    pub pipeline_p95: Duration,
    pub naive_median: Duration,
}

impl Timing {
    pub fn ratio(&self) -> f64 {
        self.naive_median.as_secs_f64() / self.pipeline_median.as_secs_f64().max(1e-9)
    }
}

/// Runs `f` `runs` times after one warm-up; returns (median, p95).
pub async fn time<F, Fut, T>(runs: usize, mut f: F) -> Result<(Duration, Duration)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    f().await?;
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        std::hint::black_box(f().await?);
        samples.push(started.elapsed());
    }
    samples.sort();
    let p95 = samples[((samples.len() as f64 * 0.95).ceil() as usize).clamp(1, samples.len()) - 1];
    Ok((samples[samples.len() / 2], p95))
}

/// The naive way: one GROUP BY over raw charges, rows fetched and dropped.
async fn naive(db: &Db, sql: &str, team_id: i64, range: ResolvedRange, extra: i64) -> Result<usize> {
    Ok(on_db!(db, |pool| sqlx::query(sql)
        .bind(team_id)
        .bind(range.from)
        .bind(range.to)
        .bind(extra)
        .fetch_all(pool)
        .await?
        .len()))
}

const NAIVE_SUMMARY: &str =
    "SELECT SUM(tokens), COUNT(DISTINCT user_id), COUNT(DISTINCT product_id), $4 FROM usage_charges
    WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3";
const NAIVE_PRODUCTS: &str = "SELECT product_id, SUM(tokens), COUNT(DISTINCT user_id), COUNT(DISTINCT user_id || '|' || usage_date), MAX(usage_date), $4
    FROM usage_charges WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3 GROUP BY product_id";
const NAIVE_USERS: &str =
    "SELECT user_id, SUM(tokens) AS t, COUNT(DISTINCT product_id), COUNT(DISTINCT usage_date), MAX(usage_date), $4
    FROM usage_charges WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3 GROUP BY user_id ORDER BY t DESC LIMIT 50";
const NAIVE_USER: &str = "SELECT product_id, product_version, usage_date, feature, SUM(tokens) FROM usage_charges
    WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3 AND user_id = $4 GROUP BY product_id, product_version, usage_date, feature";
const NAIVE_PRODUCT: &str = "SELECT product_version, SUM(tokens), COUNT(DISTINCT user_id), COUNT(*) FROM usage_charges
    WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3 AND product_id = $4 GROUP BY product_version";

/// A user (id and e-mail) and a product slug of the team, for the load
/// bench's detail pages and its import.
pub async fn load_targets(db: &Db, team_id: i64) -> Result<(i64, String, String)> {
    let user = "SELECT id, email FROM team_users WHERE team_id = $1 ORDER BY id LIMIT 1";
    let (id, email): (i64, String) = on_db!(db, |pool| sqlx::query_as(user).bind(team_id).fetch_one(pool).await?);
    let product = "SELECT p.slug FROM products p WHERE EXISTS
        (SELECT 1 FROM usage_charges c WHERE c.team_id = $1 AND c.product_id = p.id) ORDER BY p.id LIMIT 1";
    let slug: String = on_db!(db, |pool| sqlx::query_scalar(product).bind(team_id).fetch_one(pool).await?);
    Ok((id, email, slug))
}

/// Removes the records of the exports `admin_id` made. The load bench's
/// files go with its server's temporary data directory, and the rows would
/// make the next run's export caps read more.
pub async fn forget_exports_of(db: &Db, admin_id: i64) -> Result<u64> {
    let sql = "DELETE FROM exports WHERE admin_id = $1";
    Ok(on_db!(db, |pool| sqlx::query(sql).bind(admin_id).execute(pool).await?.rows_affected()))
}

/// The time of the first user report, which builds the team's usage index
/// (what the first view after an import pays).
pub async fn first_view(db: &Db, team: &Team, end: NaiveDate) -> Result<Duration> {
    let range = RangeQuery::preset(crate::domain::range::RangePreset::Days30)
        .resolve(end)
        .map_err(|e| crate::Error::Invalid(e.to_string()))?;
    let privacy = Privacy::new(&PseudonymKey::new(b"bench"), team);
    let started = Instant::now();
    screens::users(db, team, range, UserTableQuery { page: 1, ..UserTableQuery::default() }, &privacy).await?;
    Ok(started.elapsed())
}

/// What the team's usage index holds, against the charges it stands for
/// (DESIGN §7: at most 16 bytes a charge).
#[derive(Clone, Copy, Debug)]
pub struct IndexFootprint {
    pub bytes: usize,
    pub charges: i64,
}

impl IndexFootprint {
    pub fn bytes_per_charge(&self) -> f64 {
        self.bytes as f64 / self.charges.max(1) as f64
    }
}

pub async fn index_footprint(db: &Db, team: &Team) -> Result<IndexFootprint> {
    let bytes = crate::report::index::resident_bytes(db, team.id).await?;
    let charges: i64 = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(charges), 0) AS BIGINT) FROM daily_usage WHERE team_id = $1"
    )
    .bind(team.id)
    .fetch_one(pool)
    .await?);
    Ok(IndexFootprint { bytes, charges })
}

/// This process's resident size now and its peak since start (or since the
/// last export timing), in kB (Linux; `None` elsewhere).
pub fn resident_kb() -> Option<(u64, u64)> {
    memory_kb("VmRSS:").zip(memory_kb("VmHWM:"))
}

/// Times all views at 1, 3 and 12 months ending `end`.
pub async fn run(db: &Db, team: &Team, end: NaiveDate, runs: usize, naive_runs: usize) -> Result<Vec<Timing>> {
    let mut timings = Vec::new();
    let privacy = Privacy::new(&PseudonymKey::new(b"bench"), team);
    for (label, months) in [("1 month", 1), ("3 months", 3), ("12 months", 12)] {
        let from = end - Months::new(months);
        let query = RangeQuery::custom(from, end);
        let range = query.resolve(end).map_err(|e| crate::Error::Invalid(e.to_string()))?;

        let first = UserTableQuery { page: 1, ..UserTableQuery::default() };
        let top = screens::users(db, team, range, first, &privacy).await?;
        let top_user = match top.users.rows.first().map(|r| &r.keys[0]) {
            Some(DimensionValue::User { id, .. }) => *id,
            _ => continue,
        };
        let products = screens::products(db, team, range, TableOrder::default()).await?;
        let Some(DimensionValue::Product { slug: top_product, .. }) =
            products.products.rows.first().map(|r| r.keys[0].clone())
        else {
            continue;
        };
        let product_id = on_db!(db, |pool| sqlx::query_scalar::<_, i64>("SELECT id FROM products WHERE slug = $1")
            .bind(&top_product)
            .fetch_one(pool)
            .await?);

        let table =
            UserTableQuery { search: String::new(), sort: UserSort::Tokens, direction: Direction::Desc, page: 1 };
        let views: [(&'static str, &str, i64); 5] = [
            ("summary", NAIVE_SUMMARY, 0),
            ("by product", NAIVE_PRODUCTS, 0),
            ("users page 1", NAIVE_USERS, 0),
            ("user detail", NAIVE_USER, top_user),
            ("product detail", NAIVE_PRODUCT, product_id),
        ];
        for (view, naive_sql, extra) in views {
            let (pipeline_median, pipeline_p95) = match view {
                "summary" => {
                    time(runs, || summary::summary(db, team, Role::Primary, end, &query, Default::default())).await?
                }
                "by product" => time(runs, || screens::products(db, team, range, TableOrder::default())).await?,
                "users page 1" => time(runs, || screens::users(db, team, range, table.clone(), &privacy)).await?,
                "user detail" => time(runs, || screens::user_detail(db, team, range, top_user, &privacy)).await?,
                _ => time(runs, || screens::product_detail(db, team, range, &top_product, &privacy, false)).await?,
            };
            let (naive_median, _) = time(naive_runs, || naive(db, naive_sql, team.id, range, extra)).await?;
            timings.push(Timing { view, range: label, pipeline_median, pipeline_p95, naive_median });
        }
    }
    Ok(timings)
}

/// One export through the whole job (database, pack of each charge, writer,
/// SHA-256, file).
#[derive(Clone, Debug)]
pub struct ExportTiming {
    pub format: crate::export::ExportFormat,
    pub rows: u64,
    pub bytes: u64,
    pub elapsed: Duration,
    /// Growth of the process's peak resident memory during the export (Linux).
    pub peak_memory_growth_kb: Option<u64>,
}

impl ExportTiming {
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A field of `/proc/self/status` in kB: `VmRSS` (resident now) or `VmHWM`
/// (peak resident since start or since [`reset_peak_memory`]).
fn memory_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets `VmHWM` to the current resident size, so the peak of one export is
/// not hidden by the larger peak of generating the data set.
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Exports the team's 12 months of token usage (one row per charge) as CSV
/// and as XLSX into `dir`.
pub async fn exports(db: &Db, team: &Team, end: NaiveDate, dir: &std::path::Path) -> Result<Vec<ExportTiming>> {
    use crate::export::history::{self, NewExport};
    use crate::export::job::{self, ExportContext, ExportFiles};
    use crate::export::{ExportFormat, ExportParams, ExportReport, ExportStatus};

    let ctx = ExportContext {
        db: db.clone(),
        files: ExportFiles::new(dir)?,
        key: crate::report::privacy::PseudonymKey::new(b"bench"),
    };
    let from = end - Months::new(12);
    let query = RangeQuery::custom(from, end);
    let range = query.resolve(end).map_err(|e| crate::Error::Invalid(e.to_string()))?;
    let params = ExportParams {
        range: query.range.clone(),
        from: query.from.clone(),
        to: query.to.clone(),
        ..ExportParams::default()
    };
    let mut timings = Vec::new();
    for format in [ExportFormat::Csv, ExportFormat::Xlsx] {
        let new = NewExport {
            team,
            actor: &crate::access::audit::Actor::CommandLine,
            schedule_id: None,
            report: ExportReport::TokenUsage,
            format,
            params: &params,
            range: &range,
        };
        let record = history::create(db, new, ExportStatus::Running, chrono::Utc::now()).await?;
        reset_peak_memory();
        let before = memory_kb("VmRSS:");
        let started = Instant::now();
        let written = job::run(&ctx, &record, None).await?;
        let elapsed = started.elapsed();
        let growth = before.zip(memory_kb("VmHWM:")).map(|(b, a)| a.saturating_sub(b));
        ctx.files.remove(record.id, format)?;
        history::delete(db, record.id).await?;
        timings.push(ExportTiming {
            format,
            rows: written.rows,
            bytes: written.bytes,
            elapsed,
            peak_memory_growth_kb: growth,
        });
    }
    Ok(timings)
}
