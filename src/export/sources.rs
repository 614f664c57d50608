//! The rows of each export. Breakdowns render the same [`ReportQuery`] as
//! their screen (so the file has exactly the rows and totals the view shows);
//! token usage streams raw charges from the database, one row per charge,
//! with the pack that paid for it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;
use futures_util::TryStreamExt;
use sqlx::Row;

use super::writers::{Cell, TableSink};
use super::{ExportParams, ExportReport};
use crate::access::personal_data::{Privacy, ShownUser};
use crate::db::{Db, Pool, on_db};
use crate::domain::ledger::DayDraw;
use crate::domain::range::ResolvedRange;
use crate::domain::teams::Team;
use crate::error::{Error, Result};
use crate::report::screens;
use crate::report::sql::run;
use crate::report::views::{UserSort, UserTableQuery};
use crate::report::{
    Dimension, DimensionValue, Filter, Metric, MetricValue, Order, ReportQuery, ReportResult, user_matches_search,
};

/// Rows between two updates of the shared progress counter.
const PROGRESS_EVERY: u64 = 4096;

/// One export to produce: the team, what, and for which view.
#[derive(Clone, Debug)]
pub struct ExportInput {
    pub team: Team,
    pub report: ExportReport,
    pub params: ExportParams,
    pub range: ResolvedRange,
    pub privacy: Privacy,
}

impl ExportInput {
    /// Checks what the view names (product, user, sort) before anything is written.
    pub fn validate(&self) -> Result<()> {
        match self.report {
            ExportReport::Product if self.params.product.is_none() => {
                Err(Error::Invalid("the product export needs ?product=<slug>".into()))
            }
            ExportReport::User if self.params.user.is_none() => {
                Err(Error::Invalid("the user export needs ?user=<id>".into()))
            }
            _ => {
                self.user_table()?;
                Ok(())
            }
        }
    }

    /// [`ExportInput::validate`], and the product and user it names exist
    /// (in this team): checked before a download starts.
    pub async fn check(&self, db: &Db) -> Result<()> {
        self.validate()?;
        if let Some(slug) = &self.params.product {
            screens::product_ref(db, slug).await?;
        }
        if let Some(user) = self.params.user {
            screens::user_ref(db, self.team.id, user).await?;
        }
        Ok(())
    }

    fn filters(&self) -> Vec<Filter> {
        let mut filters = Vec::new();
        if let Some(product) = &self.params.product {
            filters.push(Filter::Product(product.clone()));
        }
        if let Some(user) = self.params.user {
            filters.push(Filter::User(user));
        }
        if let Some(search) = self.search() {
            filters.push(Filter::UserSearch(search.to_owned()));
        }
        filters
    }

    /// The user search, as the screen applies it: none while personal data is
    /// off (a search by name would tell who is in the team).
    fn search(&self) -> Option<&str> {
        self.params.q.as_deref().map(str::trim).filter(|q| !q.is_empty() && self.team.personal_data)
    }

    fn user_table(&self) -> Result<UserTableQuery> {
        let sort = match self.params.sort.as_deref() {
            None | Some("") => UserSort::default(),
            Some(s) => UserSort::parse(s).ok_or_else(|| Error::Invalid(format!("unknown sort {s:?}")))?,
        };
        let direction = match self.params.dir.as_deref() {
            None | Some("") => sort.default_direction(),
            Some(d) => crate::report::Direction::parse(d)
                .ok_or_else(|| Error::Invalid(format!("unknown direction {d:?}: use asc or desc")))?,
        };
        Ok(UserTableQuery { search: self.search().unwrap_or_default().to_owned(), sort, direction, page: 1 })
    }

    fn product_order(&self) -> Option<Order> {
        Order::from_url(self.params.sort.as_deref(), self.params.dir.as_deref(), Dimension::Product)
    }
}

/// Rows the export will have, known before writing (for the CSV comment and
/// the progress bar).
pub async fn expected_rows(db: &Db, input: &ExportInput) -> Result<u64> {
    let count = match input.report {
        ExportReport::TokenUsage => {
            let mut query = ReportQuery::totals(input.team.id, input.range, &[Metric::Charges]);
            query.filters = input.filters();
            run(db, &query).await?.total(Metric::Charges).count()
        }
        // The others are computed whole before they are written.
        _ => return Ok(0),
    };
    Ok(count.max(0) as u64)
}

/// Writes the export's header and rows into `sink`; returns the rows written.
pub async fn write_rows(db: &Db, input: &ExportInput, sink: &mut dyn TableSink, progress: &AtomicU64) -> Result<u64> {
    input.validate()?;
    let rows = match input.report {
        ExportReport::TokenUsage => return token_usage(db, input, sink, progress).await,
        ExportReport::SeatUsage => return seat_usage(db, input, sink, progress).await,
        ExportReport::Summary => {
            let query =
                ReportQuery::totals(input.team.id, input.range, &[Metric::Tokens, Metric::Charges, Metric::Users])
                    .by(Dimension::Time);
            report_table(&run(db, &query).await?, input, sink)?
        }
        ExportReport::ByProduct => {
            let view = screens::products(db, &input.team, input.range, input.product_order()).await?;
            report_table(&view.products, input, sink)?
        }
        ExportReport::Product => {
            let slug = input.params.product.as_deref().unwrap_or_default();
            screens::product_ref(db, slug).await?;
            let query = screens::product_users_query(input.team.id, input.range, slug);
            report_table(&run(db, &query).await?, input, sink)?
        }
        ExportReport::ByUser => {
            let table = input.user_table()?;
            report_table(
                &screens::user_table(db, &input.team, input.range, &table, &input.privacy, None).await?,
                input,
                sink,
            )?
        }
        ExportReport::User => {
            let user = input.params.user.unwrap_or_default();
            let view = screens::user_detail(db, &input.team, input.range, user).await?;
            sink.header(&["Usage date", "Product", "Product version", "Feature", "Tokens used"])?;
            for charge in &view.charges {
                sink.row(&[
                    Cell::Date(charge.date),
                    Cell::Text(&charge.product),
                    Cell::Text(&charge.version),
                    Cell::Text(&charge.feature),
                    Cell::Int(charge.tokens),
                ])?;
            }
            view.charges.len() as u64
        }
    };
    progress.store(rows, Ordering::Relaxed);
    Ok(rows)
}

/// Column titles of a report's dimensions.
fn dimension_columns(dimension: Dimension) -> &'static [&'static str] {
    match dimension {
        Dimension::Time => &["Period start", "Period end"],
        Dimension::Product => &["Product"],
        Dimension::ProductVersion => &["Product version"],
        Dimension::User => &["First name", "Last name", "Email"],
        Dimension::Feature => &["Feature"],
    }
}

fn metric_column(metric: Metric) -> &'static str {
    match metric {
        Metric::Tokens => "Tokens used",
        Metric::Charges => "Charges",
        Metric::Users => "Users",
        Metric::UserDays => "Days used",
        Metric::Products => "Products",
        Metric::LastUsed => "Last used",
    }
}

/// A [`ReportResult`] as a table: dimension columns, then metric columns.
fn report_table(result: &ReportResult, input: &ExportInput, sink: &mut dyn TableSink) -> Result<u64> {
    let mut columns: Vec<&str> = result.dimensions.iter().flat_map(|d| dimension_columns(*d)).copied().collect();
    columns.extend(result.metrics.iter().map(|m| metric_column(*m)));
    sink.header(&columns)?;
    for row in &result.rows {
        let mut shown: Vec<ShownUser> = Vec::new();
        for key in &row.keys {
            if let DimensionValue::User { id, first_name, last_name, email } = key {
                shown.push(input.privacy.show(*id, first_name.clone(), last_name.clone(), email.clone()));
            }
        }
        let mut users = shown.iter();
        let mut cells: Vec<Cell<'_>> = Vec::with_capacity(columns.len());
        for key in &row.keys {
            match key {
                DimensionValue::Bucket { start, end, .. } => cells.extend([Cell::Date(*start), Cell::Date(*end)]),
                DimensionValue::Product { name, .. } => cells.push(Cell::Text(name)),
                DimensionValue::Version(text) | DimensionValue::Feature(text) => cells.push(Cell::Text(text)),
                DimensionValue::User { .. } => {
                    let user = users.next().expect("one shown user per user key");
                    cells.extend([Cell::Text(&user.first_name), Cell::Text(&user.last_name), Cell::Text(&user.email)]);
                }
            }
        }
        for value in &row.values {
            cells.push(match value {
                MetricValue::Count(n) => Cell::Int(*n),
                MetricValue::Date(Some(date)) => Cell::Date(*date),
                MetricValue::Date(None) => Cell::Empty,
            });
        }
        sink.row(&cells)?;
    }
    Ok(result.rows.len() as u64)
}

/// The team's users, read once for an export.
struct ExportUsers {
    /// As the export shows them, by id.
    shown: HashMap<i64, ShownUser>,
    /// With a search, the ids it finds (the rule of the screens); `None` without.
    searched: Option<HashSet<i64>>,
}

impl ExportUsers {
    async fn load(db: &Db, input: &ExportInput) -> Result<ExportUsers> {
        let sql = "SELECT id, first_name, last_name, email FROM team_users WHERE team_id = $1";
        let rows = on_db!(db, |pool| sqlx::query_as::<_, (i64, String, String, String)>(sql)
            .bind(input.team.id)
            .fetch_all(pool)
            .await?);
        let searched = input.search().map(str::to_lowercase).map(|search| {
            rows.iter()
                .filter(|(_, first, last, email)| user_matches_search(&search, first, last, email))
                .map(|(id, ..)| *id)
                .collect()
        });
        let shown =
            rows.into_iter().map(|(id, first, last, email)| (id, input.privacy.show(id, first, last, email))).collect();
        Ok(ExportUsers { shown, searched })
    }

    /// Whether the view's search (if any) keeps this user.
    fn kept(&self, user_id: i64) -> bool {
        self.searched.as_ref().is_none_or(|searched| searched.contains(&user_id))
    }
}

async fn product_names(db: &Db) -> Result<HashMap<i64, (String, String)>> {
    let sql = "SELECT id, slug, name FROM products";
    let rows = on_db!(db, |pool| sqlx::query_as::<_, (i64, String, String)>(sql).fetch_all(pool).await?);
    Ok(rows.into_iter().map(|(id, slug, name)| (id, (slug, name))).collect())
}

fn product_id(products: &HashMap<i64, (String, String)>, slug: &str) -> Result<i64> {
    products
        .iter()
        .find(|(_, (s, _))| s == slug)
        .map(|(id, _)| *id)
        .ok_or_else(|| Error::NotFound(format!("product {slug:?}")))
}

/// The WHERE clause of raw-charge exports: team, range, and the view's
/// product and user (bound as $4 and $5; -1 means "any").
const CHARGE_FILTER: &str = "team_id = $1 AND usage_date BETWEEN $2 AND $3
     AND ($4 = -1 OR product_id = $4) AND ($5 = -1 OR user_id = $5)";

/// Which pack paid for each charge: a day paid by one pack names it for all
/// its charges; on a day that switched packs, charges draw in id order.
struct PackLabels {
    by_day: HashMap<NaiveDate, String>,
    by_charge: HashMap<i64, String>,
}

fn pack_label(pack_id: Option<i64>) -> String {
    pack_id.map_or_else(|| "overdraft".to_owned(), |id| format!("#{id}"))
}

impl PackLabels {
    async fn load(db: &Db, input: &ExportInput) -> Result<PackLabels> {
        let ledger = crate::domain::packs::ledger(db, input.team.id, input.range.to.max(input.team.today())).await?;
        let mut labels = PackLabels { by_day: HashMap::new(), by_charge: HashMap::new() };
        let in_range = ledger.day_draws.iter().filter(|d| d.date >= input.range.from && d.date <= input.range.to);
        for DayDraw { date, parts } in in_range {
            match parts.as_slice() {
                [only] => {
                    labels.by_day.insert(*date, pack_label(only.pack_id));
                }
                parts => {
                    let sql = "SELECT id, tokens FROM usage_charges WHERE team_id = $1 AND usage_date = $2 ORDER BY id";
                    let charges = on_db!(db, |pool| sqlx::query_as::<_, (i64, i64)>(sql)
                        .bind(input.team.id)
                        .bind(*date)
                        .fetch_all(pool)
                        .await?);
                    let mut parts = parts.iter().copied().peekable();
                    let mut left_in_part = parts.peek().map_or(0, |p| p.tokens);
                    for (id, mut tokens) in charges {
                        let mut names = Vec::new();
                        while tokens > 0 {
                            let Some(part) = parts.peek().copied() else { break };
                            names.push(pack_label(part.pack_id));
                            let take = tokens.min(left_in_part);
                            tokens -= take;
                            left_in_part -= take;
                            if left_in_part == 0 {
                                parts.next();
                                left_in_part = parts.peek().map_or(0, |p| p.tokens);
                            }
                        }
                        labels.by_charge.insert(id, names.join("+"));
                    }
                }
            }
        }
        Ok(labels)
    }

    fn get(&self, id: i64, date: NaiveDate, tokens: i64) -> &str {
        if tokens == 0 {
            return "";
        }
        self.by_charge.get(&id).or_else(|| self.by_day.get(&date)).map_or("", String::as_str)
    }
}

pub const TOKEN_USAGE_COLUMNS: [&str; 10] = [
    "Team",
    "First name",
    "Last name",
    "Email",
    "Product",
    "Product version",
    "Feature",
    "Usage date",
    "Tokens used",
    "Pack",
];

/// One charge as the database holds it.
struct Charge<'a> {
    id: i64,
    user_id: i64,
    product_id: i64,
    version: &'a str,
    feature: &'a str,
    date: NaiveDate,
    tokens: i64,
}

/// Turns charges into token-usage rows: names, product, pack.
struct TokenUsageWriter<'a> {
    input: &'a ExportInput,
    users: ExportUsers,
    products: HashMap<i64, (String, String)>,
    packs: PackLabels,
    sink: &'a mut dyn TableSink,
    progress: &'a AtomicU64,
    written: u64,
}

impl TokenUsageWriter<'_> {
    fn write(&mut self, charge: Charge<'_>) -> Result<()> {
        if !self.users.kept(charge.user_id) {
            return Ok(());
        }
        let user =
            self.users.shown.get(&charge.user_id).ok_or_else(|| Error::NotFound(format!("user {}", charge.user_id)))?;
        let product_name = self.products.get(&charge.product_id).map_or("", |(_, name)| name.as_str());
        self.sink.row(&[
            Cell::Text(&self.input.team.name),
            Cell::Text(&user.first_name),
            Cell::Text(&user.last_name),
            Cell::Text(&user.email),
            Cell::Text(product_name),
            Cell::Text(charge.version),
            Cell::Text(charge.feature),
            Cell::Date(charge.date),
            Cell::Int(charge.tokens),
            Cell::Text(self.packs.get(charge.id, charge.date, charge.tokens)),
        ])?;
        self.written += 1;
        if self.written.is_multiple_of(PROGRESS_EVERY) {
            self.progress.store(self.written, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// One row per charge, streamed in date order.
async fn token_usage(db: &Db, input: &ExportInput, sink: &mut dyn TableSink, progress: &AtomicU64) -> Result<u64> {
    let products = product_names(db).await?;
    let product = input.params.product.as_deref().map(|slug| product_id(&products, slug)).transpose()?;
    let mut writer = TokenUsageWriter {
        input,
        users: ExportUsers::load(db, input).await?,
        products,
        packs: PackLabels::load(db, input).await?,
        sink,
        progress,
        written: 0,
    };
    writer.sink.header(&TOKEN_USAGE_COLUMNS)?;

    let sql = format!(
        "SELECT id, user_id, product_id, product_version, feature, usage_date, tokens FROM usage_charges
         WHERE {CHARGE_FILTER} ORDER BY usage_date, user_id, product_id, id"
    );
    let binds =
        (input.team.id, input.range.from, input.range.to, product.unwrap_or(-1), input.params.user.unwrap_or(-1));
    match db.pool() {
        Pool::Sqlite(pool) => {
            let file = pool.connect_options().get_filename().to_owned();
            sqlite_charges(&file, &sql, binds, |charge| writer.write(charge))?;
        }
        Pool::Postgres(pool) => {
            let mut rows =
                sqlx::query(&sql).bind(binds.0).bind(binds.1).bind(binds.2).bind(binds.3).bind(binds.4).fetch(pool);
            while let Some(row) = rows.try_next().await? {
                writer.write(Charge {
                    id: row.try_get(0)?,
                    user_id: row.try_get(1)?,
                    product_id: row.try_get(2)?,
                    version: row.try_get(3)?,
                    feature: row.try_get(4)?,
                    date: row.try_get(5)?,
                    tokens: row.try_get(6)?,
                })?;
            }
        }
    }
    progress.store(writer.written, Ordering::Relaxed);
    Ok(writer.written)
}

/// Charges read ahead on the reader thread, handed over in batches.
#[derive(Default)]
struct ChargeBatch {
    charges: Vec<BatchedCharge>,
    /// The version and then the feature of every charge, back to back.
    text: String,
}

struct BatchedCharge {
    id: i64,
    user_id: i64,
    product_id: i64,
    date: NaiveDate,
    tokens: i64,
    /// Where the charge's version ends and its feature ends in `text`.
    version_end: usize,
    feature_end: usize,
}

/// Charges per batch, and batches read ahead at most (memory stays flat).
const BATCH_ROWS: usize = 4096;
const BATCHES_AHEAD: usize = 8;

/// Reads the charges of an SQLite database with its own read-only
/// connection on a thread of its own, while the calling thread turns the
/// previous batch into rows: sqlx's SQLite stream hands every row across a
/// worker thread (about 190k rows/s), ten times slower than SQLite reads, and
/// reading beside the writing uses the second core. Export writers run on a
/// blocking thread, so blocking here is fine.
fn sqlite_charges(
    file: &std::path::Path,
    sql: &str,
    binds: (i64, NaiveDate, NaiveDate, i64, i64),
    mut each: impl FnMut(Charge<'_>) -> Result<()>,
) -> Result<()> {
    let (batches, received) = std::sync::mpsc::sync_channel::<Result<ChargeBatch>>(BATCHES_AHEAD);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            // A failed send means the writer stopped: reading stops too.
            if let Err(e) = read_charge_batches(file, sql, binds, |batch| batches.send(Ok(batch)).is_ok()) {
                let _ = batches.send(Err(e));
            }
        });
        for batch in received {
            let batch = batch?;
            let mut start = 0;
            for charge in &batch.charges {
                each(Charge {
                    id: charge.id,
                    user_id: charge.user_id,
                    product_id: charge.product_id,
                    version: &batch.text[start..charge.version_end],
                    feature: &batch.text[charge.version_end..charge.feature_end],
                    date: charge.date,
                    tokens: charge.tokens,
                })?;
                start = charge.feature_end;
            }
        }
        Ok(())
    })
}

/// Steps through the query's rows and hands them to `send` in batches until
/// the rows end or `send` returns false.
fn read_charge_batches(
    file: &std::path::Path,
    sql: &str,
    (team, from, to, product, user): (i64, NaiveDate, NaiveDate, i64, i64),
    mut send: impl FnMut(ChargeBatch) -> bool,
) -> Result<()> {
    use rusqlite::{OpenFlags, params};
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let connection = rusqlite::Connection::open_with_flags(file, flags)?;
    let mut statement = connection.prepare(sql)?;
    let mut rows = statement.query(params![team, from.to_string(), to.to_string(), product, user])?;
    let new_batch =
        || ChargeBatch { charges: Vec::with_capacity(BATCH_ROWS), text: String::with_capacity(BATCH_ROWS * 16) };
    let mut batch = new_batch();
    // Charges come in date order: parse each date once.
    let mut last_date: (String, NaiveDate) = (String::new(), NaiveDate::MIN);
    while let Some(row) = rows.next()? {
        let text = |i: usize| row.get_ref(i).and_then(|v| Ok(v.as_str()?));
        let date_text = text(5)?;
        if date_text != last_date.0 {
            let date =
                date_text.parse::<NaiveDate>().map_err(|e| Error::Invalid(format!("usage date {date_text:?}: {e}")))?;
            last_date = (date_text.to_owned(), date);
        }
        batch.text.push_str(text(3)?);
        let version_end = batch.text.len();
        batch.text.push_str(text(4)?);
        batch.charges.push(BatchedCharge {
            id: row.get(0)?,
            user_id: row.get(1)?,
            product_id: row.get(2)?,
            date: last_date.1,
            tokens: row.get(6)?,
            version_end,
            feature_end: batch.text.len(),
        });
        if batch.charges.len() == BATCH_ROWS && !send(std::mem::replace(&mut batch, new_batch())) {
            return Ok(());
        }
    }
    if !batch.charges.is_empty() {
        send(batch);
    }
    Ok(())
}

/// One row per user and product: first and last day used in the range, days used.
async fn seat_usage(db: &Db, input: &ExportInput, sink: &mut dyn TableSink, progress: &AtomicU64) -> Result<u64> {
    let users = ExportUsers::load(db, input).await?;
    let products = product_names(db).await?;
    let product = input.params.product.as_deref().map(|slug| product_id(&products, slug)).transpose()?;
    let sql = format!(
        "SELECT user_id, product_id, MIN(usage_date), MAX(usage_date), COUNT(DISTINCT usage_date)
         FROM usage_charges WHERE {CHARGE_FILTER} GROUP BY user_id, product_id"
    );
    let rows = on_db!(db, |pool| sqlx::query_as::<_, (i64, i64, NaiveDate, NaiveDate, i64)>(&sql)
        .bind(input.team.id)
        .bind(input.range.from)
        .bind(input.range.to)
        .bind(product.unwrap_or(-1))
        .bind(input.params.user.unwrap_or(-1))
        .fetch_all(pool)
        .await?);
    let mut seats: Vec<(&ShownUser, &str, NaiveDate, NaiveDate, i64)> = rows
        .iter()
        .filter(|(user, ..)| users.kept(*user))
        .filter_map(|&(user, product, first, last, days)| {
            let name = products.get(&product).map_or("", |(_, name)| name.as_str());
            Some((users.shown.get(&user)?, name, first, last, days))
        })
        .collect();
    seats.sort_by(|a, b| {
        (&a.0.last_name, &a.0.first_name, &a.0.email, a.1).cmp(&(&b.0.last_name, &b.0.first_name, &b.0.email, b.1))
    });
    sink.header(&["First name", "Last name", "Email", "Product", "First day used", "Last day used", "Days used"])?;
    for (user, product, first, last, days) in &seats {
        sink.row(&[
            Cell::Text(&user.first_name),
            Cell::Text(&user.last_name),
            Cell::Text(&user.email),
            Cell::Text(product),
            Cell::Date(*first),
            Cell::Date(*last),
            Cell::Int(*days),
        ])?;
    }
    progress.store(seats.len() as u64, Ordering::Relaxed);
    Ok(seats.len() as u64)
}
