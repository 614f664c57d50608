//! Background work of `serve`: the export worker, the scheduler of
//! scheduled reports, the alert check, the mail and webhook senders, the
//! 14-day sweeper and the purge of ended sessions. Their state is
//! in the database, so several app servers can run them side by side.

pub mod mailer;
pub mod webhooks;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokenboard::export::history;
use tokenboard::export::job::{self, ExportContext};
use tokenboard::notify::schedules;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use mailer::SmtpMailer;
use webhooks::WebhookSender;

/// A running export whose heartbeat is older than this was interrupted.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::seconds(30);

/// What the background loops need.
#[derive(Clone)]
pub struct Jobs {
    pub exports: ExportContext,
    /// How users reach this server: the start of links in mails.
    pub public_url: String,
    pub mailer: Option<SmtpMailer>,
    pub webhooks: WebhookSender,
    /// Which sessions have ended, for the purge.
    pub sessions: tokenboard::access::sessions::SessionPolicy,
    /// Cancelled at shutdown: the loops stop after their current work, and
    /// the export worker claims no further export.
    pub shutdown: CancellationToken,
    /// The export being written (id, attempt), handed back at a shutdown
    /// that cannot wait for it.
    current_export: Arc<Mutex<Option<(i64, i64)>>>,
}

impl Jobs {
    /// The background work of a server with `config`, writing exports with
    /// `exports` and mailing through `mailer` (none: mails wait in the outbox).
    pub fn new(exports: ExportContext, config: &crate::config::Config, mailer: Option<SmtpMailer>) -> Jobs {
        Jobs {
            exports,
            public_url: config.public_url.clone(),
            mailer,
            webhooks: WebhookSender::new(config.webhook_policy.clone()),
            sessions: config.sessions,
            shutdown: CancellationToken::new(),
            current_export: Arc::default(),
        }
    }

    /// Requeues interrupted exports, then runs every queued one; mails each
    /// finished scheduled one once. Returns how many ran.
    pub async fn run_exports(&self) -> tokenboard::error::Result<usize> {
        let db = &self.exports.db;
        let now = Utc::now();
        let recovery = history::recover_interrupted(db, now - STALE_AFTER, now).await?;
        if !recovery.requeued.is_empty() || !recovery.failed.is_empty() {
            tracing::warn!(requeued = ?recovery.requeued, failed = ?recovery.failed, "interrupted exports recovered");
        }
        let mut ran = 0;
        while !self.shutdown.is_cancelled() {
            let Some(record) = history::claim_next(db, Utc::now()).await? else { break };
            self.set_current_export(Some((record.id, record.attempts)));
            // The outcome is recorded on the export either way.
            let _ = job::run(&self.exports, &record, None).await;
            self.set_current_export(None);
            ran += 1;
            schedules::mail_finished_exports(db, &self.public_url).await?;
        }
        // Also those that finished just before the process stopped.
        schedules::mail_finished_exports(db, &self.public_url).await?;
        Ok(ran)
    }

    /// Queues the exports of due schedules.
    pub async fn queue_schedules(&self) -> tokenboard::error::Result<usize> {
        Ok(schedules::queue_due(&self.exports.db, Utc::now()).await?.len())
    }

    /// Sends what waits in the outbox (nothing without SMTP).
    pub async fn send_mail(&self) -> tokenboard::error::Result<usize> {
        match &self.mailer {
            Some(mailer) => mailer.deliver_outbox(&self.exports.db).await,
            None => Ok(0),
        }
    }

    /// Sends the alerts whose condition started to hold.
    pub async fn check_alerts(&self) -> tokenboard::error::Result<usize> {
        tokenboard::notify::alerts::check_all(&self.exports.db, Utc::now()).await
    }

    /// Posts due alert events to their teams' webhooks, signed.
    pub async fn send_webhooks(&self) -> tokenboard::error::Result<usize> {
        self.webhooks.send_due(&self.exports.db).await
    }

    /// Deletes exports older than the retention.
    pub async fn sweep(&self) -> tokenboard::error::Result<usize> {
        Ok(job::sweep(&self.exports, Utc::now()).await?.len())
    }

    /// Deletes the sessions past their idle timeout or lifetime.
    pub async fn purge_sessions(&self) -> tokenboard::error::Result<usize> {
        let purged = tokenboard::access::sessions::purge_sessions(&self.exports.db, &self.sessions, Utc::now()).await?;
        Ok(usize::try_from(purged).unwrap_or(usize::MAX))
    }

    fn set_current_export(&self, export: Option<(i64, i64)>) {
        if let Ok(mut current) = self.current_export.lock() {
            *current = export;
        }
    }

    /// Starts the loops on the runtime; they end after [`Jobs::shutdown`].
    pub fn spawn(&self) -> Vec<JoinHandle<()>> {
        vec![
            every(self, Duration::from_secs(1), "export worker", |jobs| async move { jobs.run_exports().await }),
            every(self, Duration::from_secs(30), "scheduler", |jobs| async move { jobs.queue_schedules().await }),
            every(self, Duration::from_secs(5), "mail sender", |jobs| async move { jobs.send_mail().await }),
            every(self, Duration::from_secs(300), "alert check", |jobs| async move { jobs.check_alerts().await }),
            every(self, Duration::from_secs(10), "webhook sender", |jobs| async move { jobs.send_webhooks().await }),
            every(self, Duration::from_secs(3600), "sweeper", |jobs| async move { jobs.sweep().await }),
            every(self, Duration::from_secs(600), "session purge", |jobs| async move { jobs.purge_sessions().await }),
        ]
    }

    /// Stops the loops: each finishes what it is doing, for up to `grace`.
    /// An export still being written then is handed back to the queue, and
    /// the next start (or another server) writes it from the beginning.
    pub async fn stop(&self, loops: Vec<JoinHandle<()>>, grace: Duration) {
        self.shutdown.cancel();
        if tokio::time::timeout(grace, futures_util::future::join_all(loops)).await.is_ok() {
            return;
        }
        let current = self.current_export.lock().ok().and_then(|c| *c);
        if let Some((id, attempt)) = current {
            let requeue = history::requeue(&self.exports.db, id, attempt);
            match tokio::time::timeout(Duration::from_secs(5), requeue).await {
                Ok(Ok(())) => tracing::warn!(export = id, "shutdown: the export under way was put back in the queue"),
                Ok(Err(e)) => tracing::error!(export = id, error = %e, "shutdown: could not requeue the export"),
                Err(_) => tracing::error!(export = id, "shutdown: requeueing the export timed out"),
            }
        }
    }
}

/// Runs `work` on its own copy of the jobs now and then every `period`,
/// logging failures and carrying on, until the jobs shut down.
fn every<F, Fut>(jobs: &Jobs, period: Duration, name: &'static str, work: F) -> JoinHandle<()>
where
    F: Fn(Jobs) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = tokenboard::error::Result<usize>> + Send,
{
    let jobs = jobs.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = jobs.shutdown.cancelled() => break,
            }
            match work(jobs.clone()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(job = name, done = n, "background job"),
                Err(e) => tracing::error!(job = name, error = %e, "background job failed"),
            }
        }
    })
}

#[cfg(test)]
mod mail_tests;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod webhook_tests;
