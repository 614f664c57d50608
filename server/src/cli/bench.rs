//! `tokenboard bench`: builds (or reuses) the reference team and prints the
//! views' and exports' timings (DESIGN §7).

use anyhow::{Context, Result};
use tokenboard::Db;
use tokenboard::domain::teams;
use tokenboard::ingest::demo::{self, DemoOptions};

use super::BenchArgs;

pub(super) async fn run(args: BenchArgs) -> Result<()> {
    let url = match &args.postgres {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", args.database),
    };
    let shown = if args.postgres.is_some() { crate::config::redact_url(&url) } else { args.database.clone() };
    let db = Db::open(&url).await.with_context(|| format!("cannot open the bench database {shown}"))?;
    let team = match teams::find_team(&db, "design-team").await? {
        Some(team) => {
            println!(
                "reusing the reference team in {} ({})",
                if args.postgres.is_some() { "PostgreSQL" } else { &args.database },
                db.backend()
            );
            team
        }
        None => {
            let options = DemoOptions {
                teams: 1,
                users: args.users,
                products: args.products,
                days: args.days,
                seed: 42,
                end_date: args.end_date,
            };
            eprintln!(
                "generating the reference team: {} users, {} products, {} days…",
                args.users, args.products, args.days
            );
            let started = std::time::Instant::now();
            let report = demo::generate(&db, &options).await?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "import: {} charges in {secs:.1}s = {:.0} charges/s into {} (generation, users, rollups included)",
                report.charges,
                report.charges as f64 / secs,
                db.backend()
            );
            teams::team(&db, "design-team").await?
        }
    };
    if args.import {
        return super::bench_import::run(&db, &team, &args).await;
    }
    if args.load {
        let plan =
            super::load::LoadPlan { clients: &args.clients, seconds: args.seconds, import_every: args.import_every };
        return super::load::run(&db, &team, &url, plan).await;
    }
    if !args.exports_only {
        bench_views(&db, &team, &args).await?;
    }
    let export_dir = std::path::Path::new(&args.database).with_file_name("bench-exports");
    let exports = tokenboard::report::bench::exports(&db, &team, args.end_date, &export_dir).await?;
    println!(
        "\n{:<8} {:>12} {:>10} {:>10} {:>14} {:>16}",
        "export", "rows", "MB", "seconds", "rows/s", "peak memory +"
    );
    for e in &exports {
        println!(
            "{:<8} {:>12} {:>10.1} {:>10.2} {:>14.0} {:>13} MB",
            e.format.label(),
            e.rows,
            e.bytes as f64 / 1e6,
            e.elapsed.as_secs_f64(),
            e.rows_per_second(),
            e.peak_memory_growth_kb.map_or("?".to_owned(), |kb| format!("{:.0}", kb as f64 / 1024.0)),
        );
    }
    Ok(())
}

/// The views' median and p95 through the pipeline, next to the naive query.
async fn bench_views(db: &Db, team: &teams::Team, args: &BenchArgs) -> Result<()> {
    // Every run computes its answer: kept answers would time a lookup.
    tokenboard::report::memo::set_enabled(false);
    println!("(kept report answers are off: every run computes its view)");
    let first = tokenboard::report::bench::first_view(db, team, args.end_date).await?;
    println!("first view after start or import (builds the usage index): {:.0} ms", first.as_secs_f64() * 1000.0);
    let index = tokenboard::report::bench::index_footprint(db, team).await?;
    println!(
        "usage index: {:.1} MB for {} charges = {:.1} bytes per charge",
        index.bytes as f64 / 1e6,
        index.charges,
        index.bytes_per_charge()
    );
    let timings = tokenboard::report::bench::run(db, team, args.end_date, args.runs, args.naive_runs).await?;
    println!("\n{:<16} {:<10} {:>12} {:>12} {:>14} {:>8}", "view", "range", "median", "p95", "naive median", "ratio");
    for t in &timings {
        let ms = |d: std::time::Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
        println!(
            "{:<16} {:<10} {:>12} {:>12} {:>14} {:>7.1}x",
            t.view,
            t.range,
            ms(t.pipeline_median),
            ms(t.pipeline_p95),
            ms(t.naive_median),
            t.ratio()
        );
    }
    if let Some((now_kb, peak_kb)) = tokenboard::report::bench::resident_kb() {
        println!(
            "resident size after the views: {:.0} MB (peak {:.0} MB since start)",
            now_kb as f64 / 1024.0,
            peak_kb as f64 / 1024.0
        );
    }
    Ok(())
}
