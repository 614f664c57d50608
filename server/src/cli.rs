//! The command line: serve, migrate, demo, team, import, packs, api-key, admin.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use tokenboard::Db;
use tokenboard::demo::{self, DemoOptions};
use tokenboard::import::{ImportError, import_usage_csv};
use tokenboard::model::Role;
use tokenboard::teams::{self, NewTeam};
use tokenboard::{auth, packs};

use crate::config::Config;

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

async fn open_db(config: &Config) -> Result<Db> {
    Db::open(&config.database_url).await.with_context(|| {
        format!("cannot open the database {:?}", config.database_url.split('@').next_back().unwrap_or(""))
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
            let key = auth::create_api_key(&db, team.id, &label).await?;
            println!("{key}");
            eprintln!("API key for {} created; it is shown only this once.", team.slug);
            Ok(())
        }
        Command::Admin(AdminCommand::Add { email, team, role }) => {
            let db = open_db(&config).await?;
            let team = teams::team(&db, &team).await?;
            let role = Role::parse(&role).expect("clap checked the value");
            let password = read_password()?;
            let admin = auth::upsert_admin(&db, &email, &password).await?;
            auth::grant_role(&db, team.id, admin.id, role).await?;
            println!("{} is now {} admin of {}", admin.email, role.as_str(), team.slug);
            Ok(())
        }
    }
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
    let admin = auth::upsert_admin(&db, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD).await?;
    let viewer = auth::upsert_admin(&db, DEMO_VIEWER_EMAIL, DEMO_ADMIN_PASSWORD).await?;
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
    let app = crate::http::router(db, &config);
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    println!("Tokenboard is serving on http://{}", config.addr);
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
