//! `tokenboard bench --import` (DESIGN §7, issue 15): the reference team's
//! usage written once as a vendor CSV file, imported end to end into a
//! fresh database and timed next to the database's own fastest load of the
//! same file (the baseline); then a one-day import and the first view after
//! it, next to the view's steady state.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::Days;
use tokenboard::Db;
use tokenboard::domain::teams::{self, NewTeam, Team};
use tokenboard::ingest::bench::{UsageSelection, baseline_load, write_usage_file};
use tokenboard::ingest::import::{ImportRequest, import_usage_file};

use super::BenchArgs;

/// Runs of the steady-state view after the first.
const STEADY_RUNS: usize = 9;

pub(super) async fn run(reference: &Db, reference_team: &Team, args: &BenchArgs) -> Result<()> {
    let dir = Path::new(&args.database).parent().unwrap_or(Path::new(".")).to_owned();
    std::fs::create_dir_all(&dir)?;
    let end = args.end_date;
    let year = UsageSelection {
        from: end - Days::new(u64::from(args.days.max(1)) - 1),
        to: end,
        shift_days: 0,
        extra_tokens: 0,
    };
    let file = dir.join(format!("usage-{}-users-{}-days-to-{end}.csv", args.users, args.days));
    if !file.exists() {
        eprintln!("writing the reference team's usage file {}…", file.display());
        let partial = file.with_extension("csv.partial");
        write_usage_file(reference, reference_team.id, year, &partial).await?;
        std::fs::rename(&partial, &file)?;
    }

    let (db, where_to) = fresh_database(args, &dir).await?;
    let team = teams::create_team(
        &db,
        &NewTeam {
            slug: reference_team.slug.clone(),
            name: reference_team.name.clone(),
            time_zone: reference_team.time_zone.clone(),
        },
    )
    .await?;
    eprintln!("importing {} into {where_to}…", file.display());
    let started = Instant::now();
    let outcome = import_usage_file(&db, &team, &file, &request(&file), &mut |_| {}).await?;
    let import_time = started.elapsed();
    let (baseline_rows, baseline_time) = baseline_load(&db, &file).await?;
    if baseline_rows != outcome.rows {
        bail!("the baseline loaded {baseline_rows} rows, the import read {}", outcome.rows);
    }
    let rate = outcome.inserted as f64 / import_time.as_secs_f64();
    let baseline_rate = baseline_rows as f64 / baseline_time.as_secs_f64();
    println!(
        "import: {} charges in {:.1} s = {rate:.0} charges/s; baseline {baseline_rate:.0} charges/s; ratio {:.1}x ({})",
        outcome.inserted,
        import_time.as_secs_f64(),
        baseline_rate / rate,
        db.backend()
    );

    one_day_import(&db, &team, &dir, args).await?;
    db.close().await;
    Ok(())
}

/// Imports one more day (the day after the reference year, or a correction
/// of its last day when the next is still in the team's future) once the
/// team's usage index is warm, and prints the first view after it.
async fn one_day_import(db: &Db, team: &Team, dir: &Path, args: &BenchArgs) -> Result<()> {
    // Every view computes its answer: a kept one would time a lookup.
    tokenboard::report::memo::set_enabled(false);
    let end = args.end_date;
    tokenboard::report::bench::first_view(db, team, end).await?;
    let next = end + Days::new(1);
    let (selection, view_end, what) = if next <= team.today() {
        (UsageSelection { from: end, to: end, shift_days: 1, extra_tokens: 0 }, next, "a new day")
    } else {
        (UsageSelection { from: end, to: end, shift_days: 0, extra_tokens: 1 }, end, "corrections of the last day")
    };
    let day_file = dir.join("usage-one-day.csv");
    let rows = write_usage_file(db, team.id, selection, &day_file).await?;
    import_usage_file(db, team, &day_file, &request(&day_file), &mut |_| {}).await?;
    let first = tokenboard::report::bench::first_view(db, team, view_end).await?;
    let (steady, _) =
        tokenboard::report::bench::time(STEADY_RUNS, || tokenboard::report::bench::first_view(db, team, view_end))
            .await?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "first view after a one-day import: {:.0} ms (steady state {:.1} ms) ({rows} charges, {what}; users, 30 days)",
        ms(first),
        ms(steady)
    );
    Ok(())
}

fn request(file: &Path) -> ImportRequest {
    ImportRequest::command_line(&file.file_name().unwrap_or_default().to_string_lossy())
}

/// An empty, migrated database beside the reference one: a new SQLite file,
/// or a PostgreSQL database named after the reference one with `_import`.
async fn fresh_database(args: &BenchArgs, dir: &Path) -> Result<(Db, String)> {
    match &args.postgres {
        None => {
            let file = dir.join("import.db");
            tokenboard::db::files::remove_sqlite_database(&file)
                .with_context(|| format!("cannot remove {}", file.display()))?;
            let db = Db::open(&format!("sqlite://{}", file.display())).await?;
            Ok((db, file.display().to_string()))
        }
        Some(url) => {
            let (db, name) = tokenboard::ingest::bench::fresh_postgres_database(url, "_import").await?;
            Ok((db, format!("PostgreSQL database {name}")))
        }
    }
}
