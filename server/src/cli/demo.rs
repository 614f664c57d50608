//! `tokenboard demo`: the deterministic demo organisation and its two admins.

use anyhow::Result;
use tokenboard::access::{accounts, auth};
use tokenboard::domain::model::Role;
use tokenboard::domain::teams;
use tokenboard::ingest::demo::{self, DemoOptions};

use super::{DemoArgs, open_db};
use crate::config::Config;

/// The demo admin that `tokenboard demo` creates (demo data only).
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.tokenboard";
pub const DEMO_ADMIN_PASSWORD: &str = "tokenboard-demo";
/// A second demo admin who sees only the first demo team, as a secondary.
pub const DEMO_VIEWER_EMAIL: &str = "viewer@demo.tokenboard";

pub(super) async fn run(config: &Config, args: DemoArgs) -> Result<()> {
    let db = open_db(config).await?;
    if args.if_empty && !teams::all_teams(&db).await?.is_empty() {
        println!("the database already has teams; no demo data added");
        return Ok(());
    }
    let end_date = args.end_date.unwrap_or_else(|| demo::default_end_date(args.teams));
    let options = DemoOptions {
        teams: args.teams,
        users: args.users,
        products: args.products,
        days: args.days,
        seed: args.seed,
        end_date,
    };
    let started = std::time::Instant::now();
    eprintln!(
        "generating demo data: {} teams, {} users, {} products, {} days to {end_date}…",
        options.teams, options.users, options.products, options.days
    );
    let report = demo::generate(&db, &options).await?;
    let admin = accounts::upsert_admin(&db, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD).await?;
    let viewer = accounts::upsert_admin(&db, DEMO_VIEWER_EMAIL, DEMO_ADMIN_PASSWORD).await?;
    for (i, slug) in report.teams.iter().enumerate() {
        let team = teams::team(&db, slug).await?;
        auth::grant_role(&db, team.id, admin.id, Role::Primary).await?;
        if i == 0 {
            auth::grant_role(&db, team.id, viewer.id, Role::Secondary).await?;
        }
    }
    println!(
        "demo data: teams {}, {} users, {} charges, {} packs in {:.1}s",
        report.teams.join(", "),
        report.users,
        report.charges,
        report.packs,
        started.elapsed().as_secs_f64()
    );
    println!("demo admin: {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD} (all teams, primary)");
    println!("demo viewer: {DEMO_VIEWER_EMAIL} / {DEMO_ADMIN_PASSWORD} ({}, secondary)", report.teams[0]);
    Ok(())
}
