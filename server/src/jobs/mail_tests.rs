//! Mail neither lost nor repeated (issue 14), against a real SMTP sink and
//! an address where nothing listens, on SQLite and PostgreSQL: a day of SMTP
//! trouble loses nothing, a mail sent again after a crash carries the same
//! `Message-ID`, a day's scheduled report is sent once, and an export's
//! failure is mailed only when it really failed.

use chrono::{Days, Utc};

use tokenboard::domain::model::Role;
use tokenboard::export::history;
use tokenboard::notify::mail::{self, OutboxMail, RETRY_FOR};
use tokenboard::notify::schedules;
use tokenboard::{Db, db_tests, on_db};

use super::Jobs;
use super::mailer::SmtpMailer;
use super::tests::{admin_of, demo_team, start_smtp_sink, weekly};
use crate::http::tests::config;

async fn outbox_mail(db: &Db, team_id: i64, id: i64) -> OutboxMail {
    mail::for_teams(db, &[team_id], &[]).await.unwrap().into_iter().find(|m| m.id == id).unwrap()
}

/// An SMTP address where nothing listens: every delivery fails at once.
fn refusing_smtp() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("smtp://{address}")
}

async fn next_attempt_at(db: &Db, id: i64) -> Option<chrono::DateTime<Utc>> {
    let sql = "SELECT next_attempt_at FROM mail_outbox WHERE id = $1";
    on_db!(db, |p| sqlx::query_scalar(sql).bind(id).fetch_one(p).await.unwrap())
}

async fn a_day_of_smtp_trouble_loses_no_mail(db: &Db) {
    let team = demo_team(db).await;
    let created = Utc::now();
    let id =
        mail::enqueue(db, team.id, &["ann@example.com".into()], "Low balance", "Buy tokens.", created).await.unwrap();
    let cfg = config(4096);
    let mailer = SmtpMailer::new(&refusing_smtp(), &cfg.mail_from).unwrap();
    assert_eq!(mailer.deliver_outbox(db).await.unwrap(), 0);
    let first = outbox_mail(db, team.id, id).await;
    assert_eq!((first.attempts, first.given_up_at), (1, None));
    assert!(first.last_error.is_some());
    assert!(mail::unsent(db, Utc::now(), 50).await.unwrap().is_empty(), "the next attempt waits");

    // The attempts as the sender makes them, each at its due time, until the
    // mail is given up: it is still tried after 23 hours, and not given up
    // before a day has passed.
    let mut current = first;
    let mut last_try = created;
    while let Some(due) = next_attempt_at(db, id).await {
        let waiting = mail::unsent(db, due, 50).await.unwrap();
        assert!(waiting.iter().any(|m| m.id == id), "due at {due}");
        mail::mark_failed_attempt(db, &current, "421 try again later", due).await.unwrap();
        last_try = due;
        current = outbox_mail(db, team.id, id).await;
        assert!(current.attempts < 60, "runaway retries");
    }
    assert!(last_try - created >= RETRY_FOR, "given up after {} only", last_try - created);
    assert!(current.attempts >= 25, "{} attempts in a day", current.attempts);
    assert!(current.given_up_at.is_some() && current.sent_at.is_none());
    let far = created + chrono::Duration::days(30);
    assert!(mail::unsent(db, far, 50).await.unwrap().is_empty(), "a given-up mail is left alone");
}

async fn a_mail_sent_again_after_a_crash_has_the_same_message_id(db: &Db) {
    let team = demo_team(db).await;
    let id = mail::enqueue(db, team.id, &["ann@example.com".into()], "Report", "Here.", Utc::now()).await.unwrap();
    let (smtp, received) = start_smtp_sink();
    let cfg = config(4096);
    let mailer = SmtpMailer::new(&format!("smtp://{smtp}"), &cfg.mail_from).unwrap();
    assert_eq!(mailer.deliver_outbox(db).await.unwrap(), 1);
    // The process died after the SMTP server took the mail, before it was marked.
    on_db!(db, |p| sqlx::query("UPDATE mail_outbox SET sent_at = NULL WHERE id = $1")
        .bind(id)
        .execute(p)
        .await
        .unwrap()
        .rows_affected());
    assert_eq!(mailer.deliver_outbox(db).await.unwrap(), 1);
    let mails = received.lock().unwrap().clone();
    assert_eq!(mails.len(), 2);
    let message_id = |data: &str| {
        data.lines()
            .find_map(|l| l.strip_prefix("Message-ID: ").map(str::to_owned))
            .unwrap_or_else(|| panic!("no Message-ID in\n{data}"))
    };
    let stored = outbox_mail(db, team.id, id).await;
    let domain = cfg.mail_from.rsplit('@').next().unwrap().trim_end_matches('>');
    assert_eq!(message_id(&mails[0].data), mail::message_id(id, stored.created_at, domain));
    assert_eq!(message_id(&mails[0].data), message_id(&mails[1].data), "the resend is recognisably the same mail");
}

/// A demo team with its primary admin, and the server's jobs without SMTP.
struct Scene {
    team: tokenboard::domain::teams::Team,
    lead: tokenboard::access::audit::Actor,
    cfg: crate::config::Config,
    state: app::session::AppState,
    jobs: Jobs,
    _dir: tempfile::TempDir,
}

async fn scene(db: &Db) -> Scene {
    let team = demo_team(db).await;
    let (lead, _) = admin_of(db, &team, "lead@example.com", Role::Primary).await;
    let mut cfg = config(4096);
    let dir = tempfile::tempdir().unwrap();
    cfg.data_dir = dir.path().to_owned();
    let state = crate::http::app_state(db.clone(), &cfg).unwrap();
    let jobs = Jobs::new(state.exports.clone(), &cfg, None);
    Scene { team, lead, cfg, state, jobs, _dir: dir }
}

async fn a_days_scheduled_report_is_sent_once(db: &Db) {
    let Scene { team, lead, jobs, _dir, .. } = scene(db).await;
    let today = team.today();
    let schedule = schedules::create(db, &team, &lead, &weekly("lead@example.com", today)).await.unwrap();
    assert_eq!(jobs.queue_schedules().await.unwrap(), 1);
    assert_eq!(jobs.run_exports().await.unwrap(), 1);

    // Paused and resumed on the day it ran: its next run is next week's.
    schedules::set_paused(db, &team, &lead, schedule.id, true).await.unwrap();
    let resumed = schedules::set_paused(db, &team, &lead, schedule.id, false).await.unwrap();
    assert_eq!(resumed.next_run_on, today + Days::new(7));
    assert_eq!(jobs.queue_schedules().await.unwrap(), 0, "today's report is not queued again");
    assert_eq!(jobs.run_exports().await.unwrap(), 0);
    let mails = mail::for_teams(db, &[team.id], &[]).await.unwrap();
    assert_eq!(mails.len(), 1, "{mails:?}");
}

async fn an_export_mails_its_final_outcome_once(db: &Db) {
    let Scene { team, lead, cfg, state, jobs, _dir } = scene(db).await;
    schedules::create(db, &team, &lead, &weekly("lead@example.com", team.today())).await.unwrap();
    let queued = schedules::queue_due(db, Utc::now()).await.unwrap();
    let id = queued[0].id;

    // An attempt that stopped midway (the worker lost the database, the
    // process died) is no failure: nothing is mailed while it may still work.
    let running = history::claim_next(db, Utc::now()).await.unwrap().unwrap();
    assert_eq!(schedules::mail_finished_exports(db, &cfg.public_url).await.unwrap(), 0);
    assert_eq!(schedules::mail_export(db, &running, &cfg.public_url).await.unwrap(), None);
    // Its next attempt finishes; the report is mailed once, however often asked.
    history::recover_interrupted(db, Utc::now() + chrono::Duration::minutes(5), Utc::now()).await.unwrap();
    assert_eq!(jobs.run_exports().await.unwrap(), 1);
    assert_eq!(schedules::mail_finished_exports(db, &cfg.public_url).await.unwrap(), 0);
    let done = history::find(db, id).await.unwrap().unwrap();
    assert_eq!(schedules::mail_export(db, &done, &cfg.public_url).await.unwrap(), None);
    let subjects: Vec<String> =
        mail::for_teams(db, &[team.id], &[]).await.unwrap().into_iter().map(|m| m.subject).collect();
    assert_eq!(subjects.len(), 1, "{subjects:?}");
    assert!(!subjects[0].ends_with("failed"), "{subjects:?}");

    // An export that finished just before a crash, unmailed, is mailed on
    // the next tick after the restart.
    let (more, _) = admin_of(db, &team, "more@example.com", Role::Primary).await;
    schedules::create(db, &team, &more, &weekly("more@example.com", team.today() + Days::new(1))).await.unwrap();
    let tomorrow_noon = Utc::now() + chrono::Duration::days(1);
    let second = schedules::queue_due(db, tomorrow_noon).await.unwrap();
    assert_eq!(second.len(), 1);
    let claimed = history::claim_next(db, Utc::now()).await.unwrap().unwrap();
    tokenboard::export::job::run(&state.exports, &claimed, None).await.unwrap();
    assert_eq!(jobs.run_exports().await.unwrap(), 0);
    assert_eq!(mail::for_teams(db, &[team.id], &[]).await.unwrap().len(), 2);
}

db_tests!(
    a_day_of_smtp_trouble_loses_no_mail,
    a_mail_sent_again_after_a_crash_has_the_same_message_id,
    a_days_scheduled_report_is_sent_once,
    an_export_mails_its_final_outcome_once,
);
