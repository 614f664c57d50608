//! `tokenboard serve`: the web server's start-up (database, usage-index
//! warm-up, background jobs, listener) and its graceful shutdown on SIGTERM
//! or Ctrl-C: no new connections, requests and jobs under way finish within
//! `TOKENBOARD_SHUTDOWN_GRACE_SECS`, an export that cannot is queued again,
//! and the process exits 0.

use anyhow::{Context, Result};

use super::open_db;
use crate::config::Config;

pub(super) async fn serve(config: Config) -> Result<()> {
    tracing::info!(?config, "starting");
    let db = open_db(&config).await?;
    // Build the teams' usage indexes in the background: the first report
    // view of a large team then does not wait for it. `/readyz` says ready
    // once they are built.
    let warmth = crate::http::ops::Warmth::default();
    let (warming, warmed) = (db.clone(), warmth.clone());
    tokio::spawn(async move {
        for team in tokenboard::domain::teams::all_teams(&warming).await.unwrap_or_default() {
            if let Err(e) = tokenboard::report::index::warm(&warming, team.id).await {
                tracing::warn!(team_id = team.id, error = %e, "could not prebuild the usage index");
            }
        }
        warmed.set_warm();
    });
    let state = crate::http::app_state(db.clone(), &config)?;
    let mailer = match &config.smtp_url {
        Some(url) => Some(crate::jobs::mailer::SmtpMailer::new(url, &config.mail_from)?),
        None => {
            tracing::info!("no TOKENBOARD_SMTP_URL: mails stay in the outbox (/outbox)");
            None
        }
    };
    let jobs = crate::jobs::Jobs::new(state.exports.clone(), &config, mailer);
    let loops = jobs.spawn();
    let app = crate::http::router_with(state, &config, warmth);
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    println!("Tokenboard is serving on http://{}", config.addr);
    let stopping = jobs.shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing the requests and jobs under way");
        stopping.cancel();
    });
    let grace = config.shutdown_grace;
    let http = crate::http::connections::serve(listener, app, config.header_timeout, grace, {
        let stopping = jobs.shutdown.clone();
        async move { stopping.cancelled().await }
    });
    let (served, ()) = tokio::join!(http, async {
        jobs.shutdown.cancelled().await;
        jobs.stop(loops, grace).await;
    });
    served?;
    // Connections held by work cut at the deadline are not waited for.
    if tokio::time::timeout(std::time::Duration::from_secs(5), db.close()).await.is_err() {
        tracing::warn!("shutdown: database connections still busy were dropped");
    }
    tracing::info!("stopped");
    // Exit now: a blocking task cut at the deadline (an export being written)
    // would otherwise keep the runtime, and the process, alive.
    std::process::exit(0)
}

/// SIGTERM (systemd, Docker, Kubernetes) or Ctrl-C.
async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match terminate.as_mut() {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminated => {}
    }
}
