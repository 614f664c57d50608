//! `tokenboard`: the command line and the web server of Tokenboard.

mod cli;
mod config;
mod http;
mod jobs;

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Everything this process creates (database, -wal/-shm, secret, exports)
    // is for its own user only.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TOKENBOARD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = cli::Cli::parse();
    match cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
