//! The command line: serve, migrate, demo, team, import, packs, api-key,
//! admin, rollups, bench. Here: the clap definitions and the dispatch; each
//! command group runs in its own module, which may import the core and `http`.

mod backup;
mod bench;
mod bench_import;
mod demo;
mod imports;
mod load;
mod manage;
mod packs;
mod serve;

use std::path::PathBuf;

use anyhow::Result;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use tokenboard::Db;

use crate::config::{Config, redact_secrets_of, redact_url};

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
    /// Create or upgrade the database schema (each migration in a transaction).
    Migrate(MigrateArgs),
    /// Write a consistent copy of a SQLite database, its secret and
    /// (optionally) the export files into one archive, while the server runs.
    Backup(BackupArgs),
    /// Restore a backup archive into an empty database and data directory.
    Restore(RestoreArgs),
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
    /// Team users (the people whose usage is imported).
    #[command(subcommand)]
    User(UserCommand),
    /// Move tokens between teams, or adjust a team's tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
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

#[derive(Args)]
struct MigrateArgs {
    /// Only say which migrations would run (exit status 1 when some would).
    #[arg(long)]
    check: bool,
}

#[derive(Args)]
struct BackupArgs {
    /// The archive to write (`.tar.gz`); refused when it exists.
    file: PathBuf,
    /// Also the export files of the last 14 days.
    #[arg(long)]
    with_exports: bool,
}

#[derive(Args)]
struct RestoreArgs {
    /// An archive written by `tokenboard backup`.
    file: PathBuf,
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
    /// Time an import instead: the reference team's usage as a CSV file into
    /// a fresh database (`import.db` beside --database, or `<name>_import`
    /// on PostgreSQL), next to the database's own fastest load of the same
    /// file, then the first view after a one-day import.
    #[arg(long)]
    import: bool,
    /// Drive a real server over HTTP instead: concurrent logged-in clients
    /// mixing every report view and CSV exports while an API import runs.
    #[arg(long)]
    load: bool,
    /// With --load: the numbers of concurrent clients to measure, in turn.
    #[arg(long, value_delimiter = ',', default_value = "10,50,200")]
    clients: Vec<usize>,
    /// With --load: seconds per number of clients.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// With --load: an API import of corrections every this many seconds (0: none).
    #[arg(long, default_value_t = 15)]
    import_every: u64,
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
    /// Import a usage file, CSV or .xlsx (one file = one transaction).
    Usage {
        #[arg(long)]
        team: String,
        /// How slash dates read when the file does not show it: M/D/YYYY or D/M/YYYY.
        #[arg(long)]
        date_format: Option<String>,
        file: PathBuf,
    },
    /// List the team's imports, newest first.
    List {
        #[arg(long)]
        team: String,
    },
    /// Take an import back: what it added is removed, what it corrected restored.
    Undo {
        #[arg(long)]
        team: String,
        /// The import's id (from `import list`).
        #[arg(long = "import")]
        import_id: i64,
    },
}

#[derive(Subcommand)]
enum PacksCommand {
    /// List the team's packs with their use today.
    List {
        #[arg(long)]
        team: String,
    },
    /// Add a token pack (expires one year after purchase unless --expires-on).
    Add {
        #[arg(long)]
        team: String,
        #[command(flatten)]
        pack: PackArgs,
    },
    /// Correct a pack entered by mistake.
    Edit {
        #[arg(long)]
        team: String,
        #[arg(long = "pack")]
        pack_id: i64,
        #[command(flatten)]
        pack: PackArgs,
    },
    /// Void a pack entered by mistake (it leaves the ledger).
    Void {
        #[arg(long)]
        team: String,
        #[arg(long)]
        pack: i64,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Replace a person's names and e-mail by their pseudonym, for good.
    Erase {
        #[arg(long)]
        team: String,
        #[arg(long)]
        email: String,
    },
}

/// A pack as `packs add` and `packs edit` take it.
#[derive(clap::Args)]
struct PackArgs {
    #[arg(long)]
    tokens: i64,
    #[arg(long)]
    purchased_on: NaiveDate,
    #[arg(long)]
    expires_on: Option<NaiveDate>,
    /// The vendor's order number, for reference.
    #[arg(long, default_value = "")]
    order_ref: String,
}

impl From<PackArgs> for tokenboard::domain::packs::PackInput {
    fn from(args: PackArgs) -> Self {
        let PackArgs { tokens, purchased_on, expires_on, order_ref } = args;
        Self { tokens, purchased_on, expires_on, order_ref }
    }
}

#[derive(Subcommand)]
enum TokensCommand {
    /// Move tokens of an active pack to another team (they keep the pack's expiry).
    Move {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        pack: i64,
        #[arg(long)]
        tokens: i64,
    },
    /// Record a manual adjustment today: + adds to a pack, - removes in the consumption order.
    Adjust {
        #[arg(long)]
        team: String,
        #[arg(long, allow_hyphen_values = true)]
        tokens: i64,
        /// The pack a + adjustment goes to (default: the active pack that expires last).
        #[arg(long)]
        pack: Option<i64>,
        #[arg(long)]
        reason: String,
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

pub async fn run(cli: Cli) -> Result<()> {
    let config = Config::from_env()?;
    match cli.command {
        Command::Serve => serve::serve(config).await,
        Command::Migrate(MigrateArgs { check: false }) => {
            open_db(&config).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Migrate(MigrateArgs { check: true }) => backup::check_migrations(&config).await,
        Command::Backup(args) => backup::backup(&config, &args.file, args.with_exports).await,
        Command::Restore(args) => backup::restore(&config, &args.file).await,
        Command::Demo(args) => demo::run(&config, args).await,
        Command::Bench(args) => bench::run(args).await,
        Command::Rollups(command) => manage::rollups(&config, command).await,
        Command::Team(command) => manage::team(&config, command).await,
        Command::Import(command) => imports::run(&config, command).await,
        Command::Packs(command) => packs::packs(&config, command).await,
        Command::Tokens(command) => packs::tokens(&config, command).await,
        Command::User(command) => manage::user(&config, command).await,
        Command::ApiKey(command) => manage::api_key(&config, command).await,
        Command::Admin(command) => manage::admin(&config, command).await,
    }
}
