//! Builds the report screens from the report pipeline: each screen is a few
//! [`ReportQuery`] values run through [`report::plan::run`](crate::report::plan::run).

use crate::db::{Db, on_db};
use crate::domain::range::{Granularity, ResolvedRange};
use crate::domain::teams::Team;
use crate::error::{Error, Result};
use crate::report::params::{ProductSort, TableOrder, TableSort, UserSort, UserTableQuery};
use crate::report::plan::run;
use crate::report::privacy::Privacy;
use crate::report::views::{
    ChargeLine, ForecastView, PackView, ProductDetailView, ProductRef, ProductWeeks, ProductsView, TeamBalanceView,
    USERS_PER_PAGE, UserDetailView, UserRef, UsersView,
};
use crate::report::{
    Dimension, DimensionValue, Direction, Filter, Metric, MetricValue, OrderBy, ReportQuery, ReportResult,
};

/// Users shown in the top-users charts.
pub const TOP_USERS: u32 = 10;

/// The By product screen, in `order`.
pub async fn products(
    db: &Db,
    team: &Team,
    range: ResolvedRange,
    order: TableOrder<ProductSort>,
) -> Result<ProductsView> {
    Ok(ProductsView { range: (&range).into(), order, products: run(db, &products_query(team.id, range, order)).await? })
}

/// The By product table, sorted as its URL says: the screen and the export.
pub fn products_query(team_id: i64, range: ResolvedRange, order: TableOrder<ProductSort>) -> ReportQuery {
    let metrics = [Metric::Tokens, Metric::Users, Metric::UserDays, Metric::LastUsed];
    ReportQuery::totals(team_id, range, &metrics).by(Dimension::Product).order(order.sort.order_by(), order.direction)
}

pub async fn product_ref(db: &Db, slug: &str) -> Result<ProductRef> {
    let sql = "SELECT slug, name FROM products WHERE slug = $1";
    let row = on_db!(db, |pool| sqlx::query_as::<_, (String, String)>(sql).bind(slug).fetch_optional(pool).await?);
    row.map(|(slug, name)| ProductRef { slug, name }).ok_or_else(|| Error::NotFound(format!("product {slug:?}")))
}

/// A product's users, most tokens first: the top of it on the product's
/// screen, all of it in the export.
pub fn product_users_query(team_id: i64, range: ResolvedRange, product_slug: &str) -> ReportQuery {
    ReportQuery::totals(team_id, range, &[Metric::Tokens, Metric::UserDays])
        .by(Dimension::User)
        .filter(Filter::Product(product_slug.to_owned()))
        .order(OrderBy::Metric(Metric::Tokens), Direction::Desc)
}

/// A product's screen, its top users as `privacy` shows them.
pub async fn product_detail(
    db: &Db,
    team: &Team,
    range: ResolvedRange,
    slug: &str,
    privacy: &Privacy,
    compare: bool,
) -> Result<ProductDetailView> {
    let product = product_ref(db, slug).await?;
    let only = Filter::Product(product.slug.clone());
    let time = ReportQuery::totals(team.id, range, &[Metric::Tokens]).by(Dimension::Time).filter(only.clone());
    let over_time = run(db, &time).await?.series(Metric::Tokens);
    let previous_over_time =
        if compare { crate::report::summary::previous_buckets(db, time, &over_time).await? } else { Vec::new() };
    let versions = run(
        db,
        &ReportQuery::totals(team.id, range, &[Metric::Tokens, Metric::Charges])
            .by(Dimension::ProductVersion)
            .filter(only)
            .order(OrderBy::Dimension(Dimension::ProductVersion), Direction::Desc),
    )
    .await?;
    let mut top_users = run(db, &product_users_query(team.id, range, &product.slug).page(TOP_USERS, 0)).await?;
    privacy.mask_report(&mut top_users);
    Ok(ProductDetailView { range: (&range).into(), over_time, previous_over_time, product, versions, top_users })
}

/// Metrics of the user table.
const USER_TABLE_METRICS: [Metric; 4] = [Metric::Tokens, Metric::Products, Metric::UserDays, Metric::LastUsed];

/// The user table, every page: searched and sorted as `table` says. The
/// screen shows one page of it, the export all of it.
pub fn user_table_query(team_id: i64, range: ResolvedRange, table: &UserTableQuery) -> ReportQuery {
    let query = ReportQuery::totals(team_id, range, &USER_TABLE_METRICS)
        .by(Dimension::User)
        .order(table.sort.order_by(), table.direction);
    match table.search.trim() {
        "" => query,
        search => query.filter(Filter::UserSearch(search.to_owned())),
    }
}

/// The user table (every row, or page `page` of it) with its users as
/// `privacy` shows them. Sorting by name while names are hidden sorts by the
/// hashed id shown instead, so the order tells nothing of the hidden names
/// (DESIGN §3.7); the screen, `/api/users` and the export all come here, and
/// the index and SQL answer alike.
pub async fn user_table(
    db: &Db,
    team: &Team,
    range: ResolvedRange,
    table: &UserTableQuery,
    privacy: &Privacy,
    page: Option<u32>,
) -> Result<ReportResult> {
    let query = user_table_query(team.id, range, table);
    let offset = |page: u32| (page.max(1) - 1) * USERS_PER_PAGE;
    if table.sort == UserSort::Name && privacy.hides_names() {
        let mut all = run(db, &ReportQuery { order: None, ..query }).await?;
        privacy.mask_report(&mut all);
        privacy.order_by_shown_id(&mut all, table.direction);
        if let Some(page) = page {
            all.rows = all.rows.into_iter().skip(offset(page) as usize).take(USERS_PER_PAGE as usize).collect();
        }
        return Ok(all);
    }
    let mut result = match page {
        Some(page) => run(db, &query.page(USERS_PER_PAGE, offset(page))).await?,
        None => run(db, &query).await?,
    };
    privacy.mask_report(&mut result);
    Ok(result)
}

/// The By user screen: a page of the user table and the top users, as
/// `privacy` shows them.
pub async fn users(
    db: &Db,
    team: &Team,
    range: ResolvedRange,
    mut table: UserTableQuery,
    privacy: &Privacy,
) -> Result<UsersView> {
    if !team.personal_data {
        // Searching by name would tell who is in the team: no search while names are hidden.
        table.search.clear();
    }
    let metrics = USER_TABLE_METRICS;
    let page = table.page.max(1);
    let users = user_table(db, team, range, &table, privacy, Some(page)).await?;
    // The first page by most tokens already is the top of the chart.
    let top = if page == 1
        && table.sort == UserSort::Tokens
        && table.direction == Direction::Desc
        && table.search.trim().is_empty()
    {
        ReportResult { rows: users.rows.iter().take(TOP_USERS as usize).cloned().collect(), ..users.clone() }
    } else {
        run(
            db,
            &ReportQuery::totals(team.id, range, &metrics)
                .by(Dimension::User)
                .order(OrderBy::Metric(Metric::Tokens), Direction::Desc)
                .page(TOP_USERS, 0),
        )
        .await?
    };
    let mut top = top;
    privacy.mask_report(&mut top);
    Ok(UsersView { range: (&range).into(), table: UserTableQuery { page, ..table }, users, top })
}

/// The team's user `user_id`, or not found.
pub async fn user_ref(db: &Db, team_id: i64, user_id: i64) -> Result<UserRef> {
    let sql = "SELECT id, first_name, last_name, email FROM team_users WHERE team_id = $1 AND id = $2";
    let row = on_db!(db, |pool| sqlx::query_as::<_, (i64, String, String, String)>(sql)
        .bind(team_id)
        .bind(user_id)
        .fetch_optional(pool)
        .await?);
    row.map(|(id, first_name, last_name, email)| UserRef { id, first_name, last_name, email })
        .ok_or_else(|| Error::NotFound(format!("user {user_id}")))
}

/// A user's screen, the user as `privacy` shows them.
pub async fn user_detail(
    db: &Db,
    team: &Team,
    range: ResolvedRange,
    user_id: i64,
    privacy: &Privacy,
) -> Result<UserDetailView> {
    let stored = user_ref(db, team.id, user_id).await?;
    // Every question below is about this person: their charges are read once.
    let charges = crate::report::one_user::UserCharges::load(db, team.id, stored.clone(), range).await?;
    let mut user = stored;
    privacy.mask_user(&mut user);
    let only = Filter::User(user.id);

    // Days used per week, per product: one gap-filled series each.
    let weekly = ResolvedRange { granularity: Granularity::Week, ..range };
    let answer = |q: ReportQuery| charges.answer(&q).ok_or_else(|| Error::Invalid(format!("not one person: {q:?}")));
    let by_product = answer(
        ReportQuery::totals(team.id, range, &[Metric::Tokens])
            .by(Dimension::Product)
            .filter(only.clone())
            .order(OrderBy::Metric(Metric::Tokens), Direction::Desc),
    )?;
    let mut products = Vec::new();
    for row in &by_product.rows {
        let DimensionValue::Product { slug, name } = &row.keys[0] else { continue };
        let weeks = answer(
            ReportQuery::totals(team.id, weekly, &[Metric::UserDays])
                .by(Dimension::Time)
                .filter(only.clone())
                .filter(Filter::Product(slug.clone())),
        )?;
        products.push(ProductWeeks {
            product: ProductRef { slug: slug.clone(), name: name.clone() },
            weeks: weeks.series(Metric::UserDays),
        });
    }

    let versions = answer(
        ReportQuery::totals(team.id, range, &[Metric::Charges])
            .by(Dimension::Product)
            .by(Dimension::ProductVersion)
            .filter(only.clone())
            .order(OrderBy::Dimension(Dimension::Product), Direction::Asc),
    )?;

    let daily = ResolvedRange { granularity: Granularity::Day, ..range };
    let log = answer(
        ReportQuery::totals(team.id, daily, &[Metric::Tokens])
            .by(Dimension::Time)
            .by(Dimension::Product)
            .by(Dimension::ProductVersion)
            .by(Dimension::Feature)
            .filter(only)
            .order(OrderBy::Dimension(Dimension::Time), Direction::Desc),
    )?;
    let charges = log
        .rows
        .iter()
        .filter_map(|row| match (&row.keys[0], &row.keys[1], &row.keys[2], &row.keys[3], row.values[0]) {
            (
                DimensionValue::Bucket { start, .. },
                DimensionValue::Product { name, .. },
                DimensionValue::Version(version),
                DimensionValue::Feature(feature),
                MetricValue::Count(tokens),
            ) => Some(ChargeLine {
                date: *start,
                product: name.clone(),
                version: version.clone(),
                feature: feature.clone(),
                tokens,
            }),
            _ => None,
        })
        .collect();
    Ok(UserDetailView {
        range: (&range).into(),
        tokens: by_product.sum(Metric::Tokens),
        user,
        products,
        versions,
        charges,
    })
}

/// Days looked back on the Balances screen.
pub const BALANCE_WINDOW_DAYS: u64 = 90;

/// One team's balances as of its today.
pub async fn team_balance(db: &Db, team: &Team, role: crate::domain::model::Role) -> Result<TeamBalanceView> {
    let today = team.today();
    let state = crate::report::memo::balance_state(db, team.id, today).await?;
    let ledger = state.ledger;
    let records = crate::domain::packs::pack_records(db, team.id).await?;
    let horizon = today + chrono::Days::new(BALANCE_WINDOW_DAYS);
    let packs: Vec<PackView> = ledger
        .packs
        .iter()
        .map(|s| {
            let record = records.iter().find(|r| r.pack.id == s.pack.id);
            PackView {
                id: s.pack.id,
                tokens: s.tokens(),
                bought: s.pack.tokens,
                order_ref: record.map(|r| r.order_ref.clone()).unwrap_or_default(),
                note: record.map(|r| r.note.clone()).unwrap_or_default(),
                moved_in: s.pack.origin == crate::domain::ledger::PackOrigin::MoveIn,
                purchased_on: s.pack.purchased_on,
                expires_on: s.pack.expires_on,
                used: s.used,
                remaining: s.remaining(),
                expired_unused: s.expired_unused,
                days_left: (s.pack.expires_on - today).num_days(),
                active: s.pack.is_active_on(today),
            }
        })
        .collect();
    let expiring_90 = packs.iter().filter(|p| p.active && p.expires_on <= horizon).map(|p| p.remaining).sum();
    let since = today - chrono::Days::new(BALANCE_WINDOW_DAYS - 1);
    let window = ResolvedRange {
        preset: crate::domain::range::RangePreset::Custom,
        from: since,
        to: today,
        granularity: Granularity::Month,
    };
    let recent =
        run(db, &ReportQuery::totals(team.id, window, &[Metric::Tokens, Metric::Products, Metric::Users])).await?;
    let mut events: Vec<_> = ledger.events.iter().filter(|e| e.date >= since).cloned().collect();
    events.reverse();
    Ok(TeamBalanceView {
        team: crate::domain::model::TeamRef { slug: team.slug.clone(), name: team.name.clone(), role },
        today,
        balance: ledger.balance(),
        outlook: state.outlook,
        packs,
        expiring_90,
        tokens_90: recent.total(Metric::Tokens).count(),
        products_90: recent.total(Metric::Products).count(),
        users_90: recent.total(Metric::Users).count(),
        events,
    })
}

pub async fn forecast(db: &Db, team: &Team) -> Result<ForecastView> {
    let today = team.today();
    let (forecast, state) = crate::report::memo::forecast(db, team.id, today).await?;
    Ok(ForecastView { forecast, outlook: state.outlook })
}
