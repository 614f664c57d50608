//! `tokenboard serve`: the web server's start-up (database, usage-index
//! warm-up, background jobs, listener) and its shutdown on Ctrl-C.

use anyhow::{Context, Result};

use super::open_db;
use crate::config::Config;

pub(super) async fn serve(config: Config) -> Result<()> {
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
