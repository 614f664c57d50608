//! The command line: serve, migrate, demo, team, import, packs, api-key, admin.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use tokenboard::Db;
use tokenboard::access::audit::Actor;
use tokenboard::access::{accounts, api_keys, auth};
use tokenboard::domain::model::Role;
use tokenboard::domain::packs;
use tokenboard::domain::teams::{self, NewTeam};
use tokenboard::ingest::demo::{self, DemoOptions};
use tokenboard::ingest::import::{ImportError, import_usage_csv};

use crate::config::{Config, redact_secrets_of, redact_url};

/// The demo admin that `tokenboard demo` creates (demo data only).
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.tokenboard";
pub const DEMO_ADMIN_PASSWORD: &str = "tokenboard-demo";
/// A second demo admin who sees only the first demo team, as a secondary.
pub const DEMO_VIEWER_EMAIL: &str = "viewer@demo.tokenboard";

#[derive(Parser)]
#[command(name = "tokenboard", version, about = "Prepaid token usage reporting for your teams")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web app (TOKENBOARD_ADDR, default 127.0.0.1:3000).
    Serve,
    /// Create or upgrade the database schema.
    Migrate,
    /// Generate the deterministic demo organisation.
    Demo(DemoArgs),
    /// Manage teams.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Import data.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Manage token packs.
    #[command(subcommand)]
    Packs(PacksCommand),
    /// Manage team API keys.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Manage admins (the password is read from stdin).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Recompute rollup tables from the charges.
    #[command(subcommand)]
    Rollups(RollupsCommand),
    /// Time every report view on the reference team against naive SQL (DESIGN §7).
    Bench(BenchArgs),
}

#[derive(Subcommand)]
enum RollupsCommand {
    /// Rebuild every team's rollups.
    Rebuild,
}

#[derive(Args)]
struct BenchArgs {
    /// Scratch SQLite database (created, and reused when it already holds the team).
    #[arg(long, default_value = "target/bench/bench.db")]
    database: String,
    /// Run against this PostgreSQL database instead (e.g. postgres://postgres@127.0.0.1/bench).
    #[arg(long)]
    postgres: Option<String>,
    #[arg(long, default_value_t = 20_000)]
    users: usize,
    #[arg(long, default_value_t = 30)]
    products: usize,
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// Last day of the generated usage and of the measured ranges.
    #[arg(long, default_value = "2026-11-27")]
    end_date: NaiveDate,
    /// Timed runs per view through the pipeline.
    #[arg(long, default_value_t = 15)]
    runs: usize,
    /// Timed runs per view of the naive query (slow: keep it small).
    #[arg(long, default_value_t = 3)]
    naive_runs: usize,
    /// Time only the exports (skip the views).
    #[arg(long)]
    exports_only: bool,
}

#[derive(Args)]
struct DemoArgs {
    #[arg(long, default_value_t = 3)]
    teams: usize,
    #[arg(long, default_value_t = 2000)]
    users: usize,
    #[arg(long, default_value_t = 30)]
    products: usize,
    #[arg(long, default_value_t = 395)]
    days: u32,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Last day of usage (default: today, UTC).
    #[arg(long)]
    end_date: Option<NaiveDate>,
    /// Do nothing when the database already has teams.
    #[arg(long)]
    if_empty: bool,
}

#[derive(Subcommand)]
enum TeamCommand {
    /// Add a team.
    Add {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// IANA time zone, e.g. Europe/Berlin.
        #[arg(long, default_value = "UTC")]
        time_zone: String,
    },
    /// List teams.
    List,
    /// Change a team's settings (the rest are in the UI's Settings tab).
    Set {
        #[arg(long)]
        team: String,
        /// Show team users' names and e-mails (on), or hashed ids (off).
        #[arg(long, value_parser = ["on", "off"])]
        personal_data: Option<String>,
        /// IANA time zone, e.g. Europe/Berlin.
        #[arg(long)]
        time_zone: Option<String>,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import a token-usage CSV (one file = one transaction).
    Usage {
        #[arg(long)]
        team: String,
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum PacksCommand {
    /// Add a token pack (expires one year after purchase unless --expires-on).
    Add {
        #[arg(long)]
        team: String,
        #[arg(long)]
        tokens: i64,
        #[arg(long)]
        purchased_on: NaiveDate,
        #[arg(long)]
        expires_on: Option<NaiveDate>,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create an API key for one team; it is printed once.
    Create {
        #[arg(long)]
        team: String,
        #[arg(long, default_value = "command line")]
        label: String,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Add an admin (or set a new password) and grant a role on a team.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        team: String,
        #[arg(long, value_parser = ["primary", "secondary"])]
        role: String,
    },
}

/// Opens the database; the error names the URL without its passwords, and
/// hides them in sqlx's own message too (main prints the whole chain).
async fn open_db(config: &Config) -> Result<Db> {
    let url = &config.database_url;
    Db::open(url).await.map_err(|e| {
        anyhow::anyhow!("cannot open the database {:?}: {}", redact_url(url), redact_secrets_of(url, &e.to_string()))
    })
}

fn read_password() -> Result<String> {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ")?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    Ok(password)
}

pub async fn run(cli: Cli) -> Result<()> {
    let config = Config::from_env()?;
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            open_db(&config).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Demo(args) => run_demo(&config, args).await,
        Command::Bench(args) => run_bench(args).await,
        Command::Rollups(RollupsCommand::Rebuild) => {
            let db = open_db(&config).await?;
            let started = std::time::Instant::now();
            let teams = tokenboard::report::rollups::rebuild_all(&db).await?;
            println!("rebuilt the rollups of {teams} teams in {:.1}s", started.elapsed().as_secs_f64());
            Ok(())
        }
        Command::Team(TeamCommand::Set { team, personal_data, time_zone }) => {
            let db = open_db(&config).await?;
            let team = teams::team(&db, &team).await?;
            let mut settings = tokenboard::access::settings::load(&db, team.id).await?;
            if let Some(on_off) = personal_data {
                settings.personal_data = on_off == "on";
            }
            if let Some(zone) = time_zone {
                settings.time_zone = zone;
            }
            let files = tokenboard::export::job::ExportFiles::new(config.exports_dir())?;
            let changes =
                tokenboard::access::settings::update(&db, &files, &team, &Actor::CommandLine, &settings).await?;
            if changes.is_empty() {
                println!("{}: nothing to change", team.slug);
            }
            for change in changes {
                println!("{}: {change}", team.slug);
            }
            Ok(())
        }
        Command::Team(TeamCommand::Add { slug, name, time_zone }) => {
            let db = open_db(&config).await?;
            let team = teams::create_team(&db, &NewTeam { slug, name, time_zone }).await?;
            println!("added team {} ({}, {})", team.slug, team.name, team.time_zone);
            Ok(())
        }
        Command::Team(TeamCommand::List) => {
            let db = open_db(&config).await?;
            for team in teams::all_teams(&db).await? {
                println!("{}\t{}\t{}", team.slug, team.name, team.time_zone);
            }
            Ok(())
        }
        Command::Import(ImportCommand::Usage { team, file }) => {
            let db = open_db(&config).await?;
            let team = teams::team(&db, &team).await?;
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            match import_usage_csv(&db, &team, &bytes).await {
                Ok(outcome) => {
                    println!(
                        "{}: {} rows, {} inserted, {} duplicates skipped, {} new users",
                        file.display(),
                        outcome.rows,
                        outcome.inserted,
                        outcome.duplicates,
                        outcome.new_users
                    );
                    if !outcome.new_products.is_empty() {
                        println!("new products: {}", outcome.new_products.join(", "));
                    }
                    Ok(())
                }
                Err(ImportError::Rejected(errors)) => {
                    for e in &errors {
                        eprintln!("{}:{}: {}", file.display(), e.line, e.message);
                    }
                    bail!("{} was rejected; nothing was imported", file.display())
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Packs(PacksCommand::Add { team, tokens, purchased_on, expires_on }) => {
            let db = open_db(&config).await?;
            let team = teams::team(&db, &team).await?;
            let pack = packs::add_pack(&db, team.id, tokens, purchased_on, expires_on).await?;
            println!(
                "added pack {} to {}: {} tokens, {} – {}",
                pack.id, team.slug, pack.tokens, pack.purchased_on, pack.expires_on
            );
            Ok(())
        }
        Command::ApiKey(ApiKeyCommand::Create { team, label }) => {
            let db = open_db(&config).await?;
            let team = teams::team(&db, &team).await?;
            let key = api_keys::create_api_key(&db, team.id, &label).await?;
            println!("{key}");
            eprintln!("API key for {} created; it is shown only this once.", team.slug);
            Ok(())
        }
        Command::Admin(AdminCommand::Add { email, team, role }) => {
            let db = open_db(&config).await?;
            let team = teams::team(&db, &team).await?;
            let role = Role::parse(&role).expect("clap checked the value");
            let password = read_password()?;
            let admin = accounts::upsert_admin(&db, &email, &password).await?;
            auth::grant_role(&db, team.id, admin.id, role).await?;
            println!("{} is now {} admin of {}", admin.email, role.as_str(), team.slug);
            Ok(())
        }
    }
}

async fn run_bench(args: BenchArgs) -> Result<()> {
    let url = match &args.postgres {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", args.database),
    };
    let db = Db::open(&url).await.with_context(|| format!("cannot open the bench database {}", args.database))?;
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
    let first = tokenboard::report::bench::first_view(db, team, args.end_date).await?;
    println!("first view after start or import (builds the usage index): {:.0} ms", first.as_secs_f64() * 1000.0);
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
    Ok(())
}

async fn run_demo(config: &Config, args: DemoArgs) -> Result<()> {
    let db = open_db(config).await?;
    if args.if_empty && !teams::all_teams(&db).await?.is_empty() {
        println!("the database already has teams; no demo data added");
        return Ok(());
    }
    let end_date = args.end_date.unwrap_or_else(|| chrono::Utc::now().date_naive());
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

async fn serve(config: Config) -> Result<()> {
    tracing::info!(?config, "starting");
    let db = open_db(&config).await?;
    // Build the teams' usage indexes in the background: the first report
    // view of a large team then does not wait for it.
    let warming = db.clone();
    tokio::spawn(async move {
        for team in tokenboard::domain::teams::all_teams(&warming).await.unwrap_or_default() {
            if let Err(e) = tokenboard::report::index::warm(&warming, team.id).await {
                tracing::warn!(team_id = team.id, error = %e, "could not prebuild the usage index");
            }
        }
    });
    let state = crate::http::app_state(db, &config)?;
    let mailer = match &config.smtp_url {
        Some(url) => Some(crate::jobs::mailer::SmtpMailer::new(url, &config.mail_from)?),
        None => {
            tracing::info!("no TOKENBOARD_SMTP_URL: mails stay in the outbox (/outbox)");
            None
        }
    };
    crate::jobs::Jobs::new(state.exports.clone(), &config, mailer).spawn();
    let app = crate::http::router(state, &config);
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    println!("Tokenboard is serving on http://{}", config.addr);
    crate::http::connections::serve(listener, app, config.header_timeout, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
