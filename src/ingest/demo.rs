//! A realistic, deterministic demo organisation (DESIGN §5): teams in several
//! time zones, a product catalogue with real-looking daily rates and versions,
//! people who use one to three products mostly on weekdays, and packs of
//! which some expired and some expire soon. The same seed always gives the
//! same data, so the generator also feeds the benchmarks.

use std::collections::HashMap;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::db::Db;
use crate::domain::packs::add_pack;
use crate::domain::products::{ProductKind, ensure_product, rate_on, set_rate, tokens_for_session};
use crate::domain::teams::{NewTeam, Team, create_team, find_team};
use crate::error::{Error, Result};
use crate::ingest::import::{ChargeRow, store_charges};

#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub teams: usize,
    /// Users across all teams.
    pub users: usize,
    pub products: usize,
    /// Days of usage, ending with `end_date`.
    pub days: u32,
    pub seed: u64,
    pub end_date: NaiveDate,
}

impl DemoOptions {
    pub fn new(end_date: NaiveDate) -> DemoOptions {
        DemoOptions { teams: 3, users: 2000, products: 30, days: 395, seed: 42, end_date }
    }
}

#[derive(Clone, Debug, Default)]
pub struct DemoReport {
    pub teams: Vec<String>,
    pub users: usize,
    pub charges: u64,
    pub packs: usize,
}

/// (name, tokens per day, kind, latest version). Rates follow the shape of
/// the vendor's published Flex rates; services are charged per use.
const CATALOGUE: [(&str, i64, ProductKind, u32); 34] = [
    ("AutoCAD", 7, ProductKind::Desktop, 2027),
    ("AutoCAD LT", 3, ProductKind::Desktop, 2027),
    ("Revit", 10, ProductKind::Desktop, 2027),
    ("Revit LT", 4, ProductKind::Desktop, 2027),
    ("Civil 3D", 10, ProductKind::Desktop, 2027),
    ("Inventor Professional", 10, ProductKind::Desktop, 2027),
    ("3ds Max", 10, ProductKind::Desktop, 2027),
    ("Maya", 10, ProductKind::Desktop, 2027),
    ("Navisworks Manage", 10, ProductKind::Desktop, 2027),
    ("Navisworks Simulate", 6, ProductKind::Desktop, 2027),
    ("Advance Steel", 9, ProductKind::Desktop, 2027),
    ("Fusion", 6, ProductKind::Desktop, 2026),
    ("InfraWorks", 8, ProductKind::Desktop, 2027),
    ("Vault Professional", 5, ProductKind::Desktop, 2027),
    ("Robot Structural Analysis", 9, ProductKind::Desktop, 2027),
    ("ReCap Pro", 4, ProductKind::Desktop, 2027),
    ("Arnold", 4, ProductKind::Desktop, 2026),
    ("MotionBuilder", 8, ProductKind::Desktop, 2027),
    ("Mudbox", 3, ProductKind::Desktop, 2027),
    ("Alias AutoStudio", 13, ProductKind::Desktop, 2027),
    ("VRED Professional", 12, ProductKind::Desktop, 2027),
    ("Moldflow Insight", 15, ProductKind::Desktop, 2027),
    ("Factory Design Utilities", 7, ProductKind::Desktop, 2027),
    ("Plant 3D", 8, ProductKind::Desktop, 2027),
    ("AutoCAD Architecture", 7, ProductKind::Desktop, 2027),
    ("AutoCAD Electrical", 7, ProductKind::Desktop, 2027),
    ("AutoCAD Mechanical", 7, ProductKind::Desktop, 2027),
    ("AutoCAD Map 3D", 7, ProductKind::Desktop, 2027),
    ("Structural Bridge Design", 9, ProductKind::Desktop, 2027),
    ("Cloud Rendering", 1, ProductKind::Service, 1),
    ("Insight", 5, ProductKind::Desktop, 2026),
    ("Forma", 6, ProductKind::Desktop, 2026),
    ("Flame", 20, ProductKind::Desktop, 2027),
    ("Vehicle Tracking", 6, ProductKind::Desktop, 2027),
];

const TEAMS: [(&str, &str, &str); 6] = [
    ("design-team", "Design Team", "Europe/Berlin"),
    ("engineering", "Engineering", "America/New_York"),
    ("construction", "Construction", "Asia/Tokyo"),
    ("visualisation", "Visualisation", "Europe/London"),
    ("infrastructure", "Infrastructure", "Australia/Sydney"),
    ("manufacturing", "Manufacturing", "America/Los_Angeles"),
];

/// Most demo teams: enough for the 200-team start-up measure (DESIGN §7).
const MAX_TEAMS: usize = 1000;

/// The demo team at `index`: the named teams first, then numbered copies
/// of them ("Design Team 2", `design-team-2`, …) in the same time zones.
fn demo_team(index: usize) -> (String, String, &'static str) {
    let (slug, name, zone) = TEAMS[index % TEAMS.len()];
    match index / TEAMS.len() {
        0 => (slug.into(), name.into(), zone),
        round => (format!("{slug}-{}", round + 1), format!("{name} {}", round + 1), zone),
    }
}

const FIRST_NAMES: [&str; 40] = [
    "Ada", "Ben", "Chloé", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Lars", "Maya",
    "Nils", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wen", "Xavier", "Yara", "Zoe", "Amir",
    "Bianca", "Carlos", "Dana", "Erik", "Fatima", "Gustav", "Hana", "Ivan", "Julia", "Kofi", "Lena", "Marco", "Nadia",
];
const LAST_NAMES: [&str; 40] = [
    "Andersen",
    "Bauer",
    "Costa",
    "Dubois",
    "Eriksson",
    "Fischer",
    "García",
    "Hoffmann",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Müller",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quintero",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ueda",
    "Vasquez",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zimmermann",
    "Novak",
    "Horvat",
    "Silva",
    "Moreau",
    "Kim",
    "Lee",
    "Singh",
    "Patel",
    "Nguyen",
    "Chen",
    "O'Brien",
    "Walsh",
    "Murphy",
    "Kelly",
];

struct DemoProduct {
    name: &'static str,
    kind: ProductKind,
    rates: Vec<(NaiveDate, i64)>,
    versions: Vec<String>,
}

struct DemoUser {
    email: String,
    first_name: &'static str,
    last_name: &'static str,
    products: Vec<usize>,
    weekday_probability: f64,
    active_from: NaiveDate,
}

/// The last day of demo usage when none is given: today in the demo team
/// whose day is earliest, so no team gets usage dated after its own today
/// (just after midnight UTC, New York is still on the day before).
pub fn default_end_date(teams: usize) -> NaiveDate {
    let now = chrono::Utc::now();
    TEAMS
        .iter()
        .take(teams.max(1))
        .filter_map(|(_, _, zone)| zone.parse::<chrono_tz::Tz>().ok())
        .map(|tz| now.with_timezone(&tz).date_naive())
        .min()
        .unwrap_or_else(|| now.date_naive())
}

/// Generates the demo organisation. Refuses to touch a database that already
/// holds one of the demo teams.
pub async fn generate(db: &Db, options: &DemoOptions) -> Result<DemoReport> {
    if options.teams == 0 || options.teams > MAX_TEAMS {
        return Err(Error::Invalid(format!("--teams must be between 1 and {MAX_TEAMS}")));
    }
    if options.products == 0 || options.products > CATALOGUE.len() {
        return Err(Error::Invalid(format!("--products must be between 1 and {}", CATALOGUE.len())));
    }
    if options.users < options.teams || options.days == 0 {
        return Err(Error::Invalid("--users must be at least --teams, and --days at least 1".into()));
    }
    for (slug, _, _) in (0..options.teams).map(demo_team) {
        if find_team(db, &slug).await?.is_some() {
            return Err(Error::Invalid(format!("team {slug:?} already exists: demo data goes into an empty database")));
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let first_day = options.end_date - Days::new(options.days as u64 - 1);

    let products = catalogue(db, options, first_day).await?;
    let mut report = DemoReport::default();
    let mut remaining_users = options.users;
    for (index, (slug, name, zone)) in (0..options.teams).map(demo_team).enumerate() {
        let team = create_team(db, &NewTeam { slug: slug.clone(), name, time_zone: zone.into() }).await?;
        let team_users = remaining_users / (options.teams - index);
        remaining_users -= team_users;
        let users = make_users(&mut rng, &slug, team_users, &products, first_day, options.end_date);
        let daily =
            write_usage(db, &team, &users, &products, &mut rng, first_day, options.end_date, &mut report).await?;
        report.packs += buy_packs(db, &team, &daily, first_day, options.end_date, index).await?;
        report.teams.push(slug);
        report.users += users.len();
    }
    Ok(report)
}

/// Adds the first `options.products` products with their rate history: a
/// few products became dearer half-way through the period.
async fn catalogue(db: &Db, options: &DemoOptions, first_day: NaiveDate) -> Result<Vec<DemoProduct>> {
    let mut products = Vec::new();
    let rate_change = first_day + Days::new(options.days as u64 / 2);
    for (i, &(name, rate, kind, latest)) in CATALOGUE[..options.products].iter().enumerate() {
        let (id, _) = ensure_product(db, name, kind).await?;
        let mut rates = vec![(first_day - Days::new(400), rate)];
        if i % 7 == 2 {
            rates.push((rate_change, rate + 1));
        }
        for (from, r) in &rates {
            set_rate(db, id, *from, *r).await?;
        }
        let versions = match kind {
            ProductKind::Service => vec![String::new()],
            ProductKind::Desktop => (latest - 3..=latest).map(|v| v.to_string()).collect(),
        };
        products.push(DemoProduct { name, kind, rates, versions });
    }
    Ok(products)
}

fn make_users(
    rng: &mut ChaCha8Rng,
    team_slug: &str,
    count: usize,
    products: &[DemoProduct],
    first_day: NaiveDate,
    end_date: NaiveDate,
) -> Vec<DemoUser> {
    // Each team leans on its own handful of core products.
    let mut core: Vec<usize> = (0..products.len()).collect();
    core.shuffle(rng);
    core.truncate(products.len().min(8));
    let span = (end_date - first_day).num_days().max(1) as u64;
    (0..count)
        .map(|n| {
            let first_name = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
            let last_name = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
            let how_many = *[1, 1, 1, 2, 2, 3].choose(rng).expect("not empty");
            let mut mine = Vec::new();
            while mine.len() < how_many.min(products.len()) {
                let p = if rng.gen_bool(0.8) {
                    core[rng.gen_range(0..core.len())]
                } else {
                    rng.gen_range(0..products.len())
                };
                if !mine.contains(&p) {
                    mine.push(p);
                }
            }
            // Most people are there from the start; some join later.
            let joined = if rng.gen_bool(0.8) { 0 } else { rng.gen_range(0..span) };
            let ascii: String = format!("{first_name}.{last_name}")
                .to_lowercase()
                .chars()
                .map(|c| match c {
                    'é' => 'e',
                    'í' => 'i',
                    'ü' => 'u',
                    '\'' => '-',
                    c => c,
                })
                .collect();
            DemoUser {
                email: format!("{ascii}.{n}@{team_slug}.example.com"),
                first_name,
                last_name,
                products: mine,
                weekday_probability: rng.gen_range(0.3..0.9),
                active_from: first_day + Days::new(joined),
            }
        })
        .collect()
}

/// Generates and stores the team's charges month by month; returns tokens per day.
#[allow(clippy::too_many_arguments)]
async fn write_usage(
    db: &Db,
    team: &Team,
    users: &[DemoUser],
    products: &[DemoProduct],
    rng: &mut ChaCha8Rng,
    first_day: NaiveDate,
    end_date: NaiveDate,
    report: &mut DemoReport,
) -> Result<HashMap<NaiveDate, i64>> {
    let mut daily: HashMap<NaiveDate, i64> = HashMap::new();
    let mut rows = Vec::new();
    let mut day = first_day;
    while day <= end_date {
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        for user in users.iter().filter(|u| u.active_from <= day) {
            let p_day = if weekend { 0.04 } else { user.weekday_probability };
            if !rng.gen_bool(p_day) {
                continue;
            }
            for (k, &p) in user.products.iter().enumerate() {
                // The first product is the main tool; others are used some days.
                if k > 0 && !rng.gen_bool(0.35) {
                    continue;
                }
                let product = &products[p];
                let rate = rate_on(&product.rates, day).unwrap_or(0);
                let (feature, tokens) = match product.kind {
                    ProductKind::Service => ("Cloud render", rate * rng.gen_range(1..=6)),
                    ProductKind::Desktop => {
                        let minutes = if rng.gen_bool(0.03) { rng.gen_range(1..5) } else { rng.gen_range(5..600) };
                        ("Desktop", tokens_for_session(rate, minutes))
                    }
                };
                // Newer versions are more common.
                let v = product.versions.len();
                let version = &product.versions[v - 1 - (rng.gen_range(0..v * v) as f64).sqrt() as usize];
                *daily.entry(day).or_default() += tokens;
                rows.push(ChargeRow {
                    email: user.email.clone(),
                    first_name: user.first_name.into(),
                    last_name: user.last_name.into(),
                    product: product.name.into(),
                    product_version: version.clone(),
                    feature: feature.into(),
                    usage_date: day,
                    tokens,
                });
            }
        }
        day = day.succ_opt().expect("dates are far from the maximum");
        if rows.len() >= 200_000 || day > end_date {
            let outcome = store_charges(db, team.id, &rows).await.map_err(|e| match e {
                crate::ingest::import::ImportError::Database(e) => e,
                rejected => Error::Invalid(rejected.to_string()),
            })?;
            report.charges += outcome.inserted;
            rows.clear();
        }
    }
    Ok(daily)
}

/// Packs sized from the team's real usage: one bought at the start that has
/// expired (with a little left unused), one that expires within 90 days, one
/// recent. The third team buys too little and shows a low balance.
async fn buy_packs(
    db: &Db,
    team: &Team,
    daily: &HashMap<NaiveDate, i64>,
    first_day: NaiveDate,
    end_date: NaiveDate,
    team_index: usize,
) -> Result<usize> {
    let used_between = |from: NaiveDate, to: NaiveDate| -> i64 {
        daily.iter().filter(|(d, _)| **d >= from && **d <= to).map(|(_, t)| *t).sum()
    };
    let total: i64 = daily.values().sum();
    let per_day = (total / daily.len().max(1) as i64).max(1);
    let first_expiry = first_day + chrono::Months::new(12);
    let mut count = 0;
    let buy = |tokens: i64, purchased_on: NaiveDate| {
        let tokens = (tokens.max(100) + 99) / 100 * 100;
        async move { add_pack(db, team.id, tokens, purchased_on, None).await }
    };
    // Oversized by 8%, so some tokens expire unused.
    buy(used_between(first_day, first_expiry) * 108 / 100, first_day).await?;
    count += 1;
    // The third team buys just enough for what it used since the first pack
    // expired, plus about 14%: it shows a low balance today.
    let since_expiry = used_between(first_expiry, end_date);
    let (second_size, third_size) = if team_index == 2 {
        (since_expiry * 90 / 100, since_expiry * 24 / 100)
    } else {
        (per_day * 150, per_day * 200)
    };
    let second = end_date - Days::new(290);
    if second > first_day {
        buy(second_size, second).await?;
        count += 1;
    }
    let third = end_date - Days::new(60);
    if third > first_day {
        buy(third_size, third).await?;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_teams_past_the_named_ones_are_numbered_copies_with_unique_slugs() {
        assert_eq!(demo_team(0), ("design-team".into(), "Design Team".into(), "Europe/Berlin"));
        assert_eq!(demo_team(TEAMS.len()), ("design-team-2".into(), "Design Team 2".into(), "Europe/Berlin"));
        assert_eq!(demo_team(2 * TEAMS.len() + 2).0, "construction-3");
        let slugs: std::collections::HashSet<String> = (0..MAX_TEAMS).map(|i| demo_team(i).0).collect();
        assert_eq!(slugs.len(), MAX_TEAMS);
        assert!(
            slugs.iter().all(|s| crate::domain::teams::validate_slug(s).is_ok()),
            "every slug is a valid team slug"
        );
    }
}
