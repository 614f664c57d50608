//! Scheduled reports end to end against a real SMTP conversation (an SMTP
//! sink started by the test), and the one-click export routes, on SQLite and
//! PostgreSQL.

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Days;
use http_body_util::BodyExt;
use mailin_embedded::{Handler, Response, Server, response};
use tower::ServiceExt;

use tokenboard::access::audit::Actor;
use tokenboard::access::{accounts, auth, sessions};
use tokenboard::db::Pool;
use tokenboard::domain::model::Role;
use tokenboard::export::history;
use tokenboard::export::job::ExportFiles;
use tokenboard::export::{ExportReport, ExportStatus};
use tokenboard::ingest::demo::{self, DemoOptions};
use tokenboard::notify::schedules::{self, ScheduleInput, ValidSchedule};
use tokenboard::{Db, db_tests, domain::teams};

use super::Jobs;
use super::mailer::SmtpMailer;
use crate::http::tests::{config, router};

/// One mail as the sink received it.
#[derive(Clone, Debug)]
pub(crate) struct Received {
    pub(crate) to: Vec<String>,
    pub(crate) data: String,
}

/// Collects every mail of every connection.
#[derive(Clone, Default)]
struct Sink {
    to: Vec<String>,
    data: Vec<u8>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Handler for Sink {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let data = String::from_utf8_lossy(&self.data).into_owned();
        self.received.lock().unwrap().push(Received { to: self.to.clone(), data });
        response::OK
    }
}

pub(crate) fn start_smtp_sink() -> (SocketAddr, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let sink = Sink::default();
    let received = sink.received.clone();
    let mut server = Server::new(sink);
    server.with_name("sink.test").with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    (addr, received)
}

async fn send(
    db: &Db,
    data_dir: &std::path::Path,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut config = config(4096);
    config.data_dir = data_dir.to_owned();
    let response = router(db, &config).oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.into_body().collect().await.unwrap().to_bytes().to_vec())
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut builder = Request::get(path);
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    builder.body(Body::empty()).unwrap()
}

pub(crate) async fn demo_team(db: &Db) -> teams::Team {
    let end = chrono::Utc::now().date_naive();
    demo::generate(db, &DemoOptions { teams: 1, users: 60, products: 6, days: 120, seed: 3, end_date: end })
        .await
        .unwrap();
    teams::team(db, "design-team").await.unwrap()
}

/// An admin of `team` with `role`, and their session cookie.
pub(crate) async fn admin_of(db: &Db, team: &teams::Team, email: &str, role: Role) -> (Actor, String) {
    let admin = accounts::upsert_admin(db, email, "long enough").await.unwrap();
    auth::grant_role(db, team.id, admin.id, role).await.unwrap();
    let cookie = format!(
        "{}={}",
        app::session::SESSION_COOKIE,
        sessions::create_session(db, admin.id, &sessions::SessionPolicy::default()).await.unwrap()
    );
    (Actor::Admin { id: admin.id, email: admin.email }, cookie)
}

pub(crate) fn weekly(recipients: &str, start_on: chrono::NaiveDate) -> ValidSchedule {
    let input = ScheduleInput {
        report: "token-usage".into(),
        format: "csv".into(),
        range: "30d".into(),
        cadence: "weekly".into(),
        start_on: start_on.to_string(),
        recipients: recipients.into(),
    };
    input.validate().unwrap()
}

async fn allow_domains(db: &Db, files: &ExportFiles, team: &teams::Team, domains: &[&str]) {
    let mut settings = tokenboard::access::settings::load(db, team.id).await.unwrap();
    settings.schedule_recipient_domains = domains.iter().map(|d| d.to_string()).collect();
    tokenboard::access::settings::update(db, files, team, &Actor::CommandLine, &settings).await.unwrap();
}

/// A due schedule runs once and mails a link; the link holds no secret and
/// opens only after logging in as an admin of the team (issue 10, item 7):
/// without a session it asks for a login, another team's admin gets 404,
/// the team's admin gets the file, and that download is audited.
async fn a_due_schedule_mails_a_link_that_needs_a_login(db: &Db) {
    let team = demo_team(db).await;
    let other =
        teams::create_team(db, &teams::NewTeam { slug: "other".into(), name: "Other".into(), time_zone: "UTC".into() })
            .await
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(4096);
    cfg.data_dir = dir.path().to_owned();
    let state = crate::http::app_state(db.clone(), &cfg).unwrap();
    let (smtp, received) = start_smtp_sink();
    let mailer = SmtpMailer::new(&format!("smtp://{smtp}"), &cfg.mail_from).unwrap();
    let jobs = Jobs::new(state.exports.clone(), &cfg, Some(mailer));
    let (lead, _) = admin_of(db, &team, "lead@example.com", Role::Primary).await;
    let (_, viewer_cookie) = admin_of(db, &team, "viewer@example.com", Role::Secondary).await;
    let (_, outsider_cookie) = admin_of(db, &other, "outsider@example.com", Role::Primary).await;
    allow_domains(db, &state.exports.files, &team, &["example.com"]).await;

    let today = team.today();
    let valid = weekly("finance@example.com, cfo@example.com", today);
    let schedule = schedules::create(db, &team, &lead, &valid).await.unwrap();
    assert_eq!(schedule.next_run_on, today);

    assert_eq!(jobs.queue_schedules().await.unwrap(), 1);
    assert_eq!(jobs.queue_schedules().await.unwrap(), 0, "a run is queued once");
    let schedule = schedules::get(db, team.id, schedule.id).await.unwrap();
    assert_eq!(schedule.next_run_on, today + Days::new(7));
    assert_eq!(jobs.run_exports().await.unwrap(), 1);
    let outbox = tokenboard::notify::mail::for_teams(db, &[team.id], &[]).await.unwrap();
    assert_eq!(outbox.len(), 1);
    // The outbox holds no usable token: the link is the plain download URL.
    let link_line = outbox[0].body.lines().find(|l| l.starts_with("Download: ")).unwrap();
    assert!(link_line.ends_with("/download?via=mail") && !outbox[0].body.contains("token="), "{}", outbox[0].body);
    assert_eq!(jobs.send_mail().await.unwrap(), 1);
    assert_eq!(jobs.send_mail().await.unwrap(), 0, "a mail is sent once");

    let mails = received.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    let mut to = mails[0].to.clone();
    to.sort();
    assert_eq!(to, ["cfo@example.com", "finance@example.com"]);
    let record = history::find(db, schedule.last_export_id.unwrap()).await.unwrap().unwrap();
    assert_eq!((record.status, record.report), (ExportStatus::Done, ExportReport::TokenUsage));
    let link = format!("{}/teams/design-team/exports/{}/download?via=mail", cfg.public_url, record.id);
    // Read the body as a mail client does: after the headers, quoted-printable decoded.
    let (head, encoded) = mails[0].data.split_once("\r\n\r\n").unwrap();
    assert!(head.contains("Content-Transfer-Encoding: quoted-printable"), "{head}");
    let text = quoted_printable::decode(encoded, quoted_printable::ParseMode::Robust).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.lines().any(|line| line.split_whitespace().any(|w| w == link)), "no {link} in\n{text}");
    let path = link.trim_start_matches(&cfg.public_url);
    // What the file holds, to be sure an answer does not: its header row.
    let file_header = "Team,First name,Last name";

    // Without a session: the login page, coming back here afterwards.
    let (status, headers, body) = send(db, dir.path(), get(path, None)).await;
    assert!(status.is_redirection(), "{status}");
    assert!(headers[header::LOCATION].to_str().unwrap().starts_with("/login?next="));
    assert!(!String::from_utf8_lossy(&body).contains(file_header));
    // An old-style link with a secret is worth nothing either.
    let (status, ..) = send(db, dir.path(), get(&format!("{path}&token=beef"), None)).await;
    assert!(status.is_redirection());
    // Another team's admin: no such export.
    let (status, _, body) = send(db, dir.path(), get(path, Some(&outsider_cookie))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!String::from_utf8_lossy(&body).contains(file_header));
    // The team's admin: the file, and an audit row that says how.
    let (status, headers, body) = send(db, dir.path(), get(path, Some(&viewer_cookie))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains(&record.file_name));
    let on_disk = std::fs::read(state.exports.files.path(record.id, record.format)).unwrap();
    assert_eq!(body, on_disk);
    assert!(String::from_utf8_lossy(&body).contains(file_header), "the marker is in the file");
    let rows = csv::ReaderBuilder::new().comment(Some(b'#')).from_reader(body.as_slice()).records().count();
    assert_eq!(rows as i64, record.rows_written);
    let log = tokenboard::access::audit::for_team(db, team.id, 100).await.unwrap();
    let downloads: Vec<_> = log.iter().filter(|e| e.action == "mail-link-download").collect();
    assert_eq!(downloads.len(), 1, "{log:?}");
    assert_eq!(downloads[0].actor, "viewer@example.com");
    assert!(downloads[0].detail.contains(&format!("export #{}", record.id)));

    // Deleting the schedule leaves no way around the login.
    schedules::delete(db, &team, &lead, schedule.id).await.unwrap();
    let (status, ..) = send(db, dir.path(), get(path, None)).await;
    assert!(status.is_redirection());
}

/// Recipients are the team's admins or addresses of allowed domains; a team
/// has at most 10 schedules; every change is audited (issue 10, item 7).
async fn schedule_rules_hold_and_every_change_is_audited(db: &Db) {
    let team =
        teams::create_team(db, &teams::NewTeam { slug: "ops".into(), name: "Ops".into(), time_zone: "UTC".into() })
            .await
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = ExportFiles::new(dir.path()).unwrap();
    let (lead, _) = admin_of(db, &team, "lead@example.com", Role::Primary).await;
    admin_of(db, &team, "helper@partner.org", Role::Secondary).await;
    let start = team.today() + Days::new(3);

    let refused = schedules::create(db, &team, &lead, &weekly("lead@example.com, leak@evil.test", start)).await;
    let message = refused.unwrap_err().to_string();
    assert!(message.contains("\"leak@evil.test\" may not receive scheduled reports"), "{message}");
    let refused = schedules::create(db, &team, &lead, &weekly("someone@example.com", start)).await;
    assert!(refused.is_err(), "an address of an admin's domain is not an admin");
    assert!(schedules::list(db, team.id).await.unwrap().is_empty(), "a refused schedule changes nothing");

    let schedule =
        schedules::create(db, &team, &lead, &weekly("lead@example.com, helper@partner.org", start)).await.unwrap();
    allow_domains(db, &files, &team, &["example.com"]).await;
    let edited = weekly("someone@example.com", start);
    schedules::update(db, &team, &lead, schedule.id, &edited).await.unwrap();
    schedules::set_paused(db, &team, &lead, schedule.id, true).await.unwrap();
    schedules::set_paused(db, &team, &lead, schedule.id, false).await.unwrap();
    let refused = schedules::update(db, &team, &lead, schedule.id, &weekly("x@evil.test", start)).await;
    assert!(refused.is_err());
    assert_eq!(schedules::get(db, team.id, schedule.id).await.unwrap().recipients, ["someone@example.com"]);
    schedules::delete(db, &team, &lead, schedule.id).await.unwrap();

    for _ in 0..tokenboard::notify::schedules::MAX_SCHEDULES {
        schedules::create(db, &team, &lead, &weekly("lead@example.com", start)).await.unwrap();
    }
    let message = schedules::create(db, &team, &lead, &weekly("lead@example.com", start)).await.unwrap_err();
    assert!(message.to_string().contains("at most 10 scheduled reports"), "{message}");

    let actions: Vec<String> = tokenboard::access::audit::for_team(db, team.id, 500)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.actor == "lead@example.com")
        .map(|e| e.action)
        .collect();
    for action in ["schedule-created", "schedule-changed", "schedule-paused", "schedule-resumed", "schedule-deleted"] {
        assert!(actions.iter().any(|a| a == action), "no {action} in {actions:?}");
    }
    assert_eq!(actions.iter().filter(|a| *a == "schedule-created").count(), 11);
}

/// A schedule whose owner stopped being a primary admin pauses at its next
/// run instead of sending, and the team's primary admins are told.
async fn a_removed_admins_schedule_pauses_and_tells_the_primaries(db: &Db) {
    let team = demo_team(db).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(4096);
    cfg.data_dir = dir.path().to_owned();
    let state = crate::http::app_state(db.clone(), &cfg).unwrap();
    let jobs = Jobs::new(state.exports.clone(), &cfg, None);
    let (lead, _) = admin_of(db, &team, "lead@example.com", Role::Primary).await;
    let (leaver, _) = admin_of(db, &team, "leaver@example.com", Role::Primary).await;
    let (demoted, _) = admin_of(db, &team, "demoted@example.com", Role::Primary).await;
    let today = team.today();
    let by_leaver = schedules::create(db, &team, &leaver, &weekly("lead@example.com", today)).await.unwrap();
    let by_demoted = schedules::create(db, &team, &demoted, &weekly("lead@example.com", today)).await.unwrap();
    let by_lead = schedules::create(db, &team, &lead, &weekly("lead@example.com", today)).await.unwrap();
    tokenboard::access::team_admins::remove(db, &team, &lead, leaver.admin_id().unwrap()).await.unwrap();
    tokenboard::access::team_admins::set_role(db, &team, &lead, demoted.admin_id().unwrap(), Role::Secondary)
        .await
        .unwrap();

    assert_eq!(jobs.queue_schedules().await.unwrap(), 1, "only the lead's schedule runs");
    for id in [by_leaver.id, by_demoted.id] {
        let schedule = schedules::get(db, team.id, id).await.unwrap();
        assert!(schedule.paused && schedule.last_export_id.is_none(), "{schedule:?}");
    }
    assert!(!schedules::get(db, team.id, by_lead.id).await.unwrap().paused);
    let exports = history::list(db, team.id).await.unwrap();
    assert_eq!(exports.len(), 1);
    assert_eq!(exports[0].schedule_id, Some(by_lead.id));

    let notices: Vec<_> = tokenboard::notify::mail::for_teams(db, &[team.id], &[])
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.subject.contains("was paused"))
        .collect();
    assert_eq!(notices.len(), 2, "one notice per paused schedule");
    assert!(notices.iter().all(|m| m.recipients == "lead@example.com"), "{notices:?}");
    let log = tokenboard::access::audit::for_team(db, team.id, 100).await.unwrap();
    assert_eq!(log.iter().filter(|e| e.action == "schedule-paused" && e.actor == "scheduler").count(), 2);
    assert_eq!(jobs.queue_schedules().await.unwrap(), 0, "paused schedules stay paused");

    // A primary who resumes it answers for it from then on.
    schedules::set_paused(db, &team, &lead, by_leaver.id, false).await.unwrap();
    assert_eq!(schedules::get(db, team.id, by_leaver.id).await.unwrap().owner, lead.admin_id());
}

/// A scheduled export that failed mails a generic notice: the internal
/// reason stays in the export history, for the admins.
async fn a_failed_scheduled_export_mails_no_internal_text(db: &Db) {
    let team = demo_team(db).await;
    let (lead, _) = admin_of(db, &team, "lead@example.com", Role::Primary).await;
    let schedule = schedules::create(db, &team, &lead, &weekly("lead@example.com", team.today())).await.unwrap();
    let queued = schedules::queue_due(db, chrono::Utc::now()).await.unwrap();
    assert_eq!(queued.len(), 1);
    let internal = "writing the export file failed: No space left on device (/var/lib/tokenboard/exports/7.csv)";
    history::mark_failed(db, queued[0].id, internal, chrono::Utc::now()).await.unwrap();
    let failed = history::find(db, queued[0].id).await.unwrap().unwrap();
    assert_eq!(failed.schedule_id, Some(schedule.id));
    schedules::mail_export(db, &failed, "http://tokenboard.test").await.unwrap().unwrap();
    let mail = &tokenboard::notify::mail::for_teams(db, &[team.id], &[]).await.unwrap()[0];
    assert!(mail.body.contains("could not be made; the administrators can see details in the export history"));
    for leak in ["No space", "/var/lib", "writing the export"] {
        assert!(!mail.body.contains(leak) && !mail.subject.contains(leak), "{leak:?} in {mail:?}");
    }
}

async fn one_click_exports_download_the_view_for_its_admins_only(db: &Db) {
    let team = demo_team(db).await;
    let other =
        teams::create_team(db, &teams::NewTeam { slug: "other".into(), name: "Other".into(), time_zone: "UTC".into() })
            .await
            .unwrap();
    let admin = accounts::upsert_admin(db, "viewer@example.com", "long enough").await.unwrap();
    auth::grant_role(db, team.id, admin.id, Role::Secondary).await.unwrap();
    let cookie = format!(
        "{}={}",
        app::session::SESSION_COOKIE,
        sessions::create_session(db, admin.id, &Default::default()).await.unwrap()
    );
    let dir = tempfile::tempdir().unwrap();

    let (status, headers, body) =
        send(db, dir.path(), get("/teams/design-team/export/by-user.csv?range=30d", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    let disposition = headers[header::CONTENT_DISPOSITION].to_str().unwrap().to_owned();
    let today = team.today();
    let from = today - Days::new(29);
    assert!(disposition.contains(&format!("tokenboard_design-team_usage-by-user_{from}_{today}.csv")), "{disposition}");
    let mut reader = csv::ReaderBuilder::new().comment(Some(b'#')).from_reader(body.as_slice());
    let tokens_i = reader.headers().unwrap().iter().position(|h| h == "Tokens used").unwrap();
    let tokens: i64 = reader.records().map(|r| r.unwrap()[tokens_i].parse::<i64>().unwrap()).sum();
    let sql = "SELECT CAST(COALESCE(SUM(tokens), 0) AS BIGINT) FROM usage_charges
               WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3";
    let expected: i64 = match db.pool() {
        Pool::Sqlite(p) => sqlx::query_scalar(sql).bind(team.id).bind(from).bind(today).fetch_one(p).await.unwrap(),
        Pool::Postgres(p) => sqlx::query_scalar(sql).bind(team.id).bind(from).bind(today).fetch_one(p).await.unwrap(),
    };
    assert_eq!(tokens, expected);

    let (status, _, body) =
        send(db, dir.path(), get("/teams/design-team/export/token-usage.xlsx?range=7d", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..2], b"PK", "an xlsx is a zip");

    // Recorded in the history, with who asked.
    let exports = history::list(db, team.id).await.unwrap();
    assert_eq!(exports.len(), 2);
    assert!(
        exports
            .iter()
            .all(|e| e.status == ExportStatus::Done && e.admin_email.as_deref() == Some("viewer@example.com"))
    );
    let (status, _, body) =
        send(db, dir.path(), get(&format!("/teams/design-team/exports/{}/download", exports[0].id), Some(&cookie)))
            .await;
    assert_eq!((status, &body[..2]), (StatusCode::OK, &b"PK"[..]));

    // Bad input: a clear error, and nothing recorded.
    let (status, _, body) = send(
        db,
        dir.path(),
        get("/teams/design-team/export/token-usage.csv?range=custom&from=2026-05-01&to=2026-01-01", Some(&cookie)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("is after"));
    let (status, _, _) =
        send(db, dir.path(), get("/teams/design-team/export/product.csv?range=7d&product=nope", Some(&cookie))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(history::list(db, team.id).await.unwrap().len(), 2);

    // Another team's export, or no session: no data.
    let (status, _, body) = send(db, dir.path(), get("/teams/other/export/token-usage.csv", Some(&cookie))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!String::from_utf8_lossy(&body).contains("Other"));
    let (status, headers, _) = send(db, dir.path(), get("/teams/design-team/export/token-usage.csv", None)).await;
    assert!(status.is_redirection());
    assert!(headers[header::LOCATION].to_str().unwrap().starts_with("/login?next="));
    let (status, _, _) =
        send(db, dir.path(), get(&format!("/teams/other/exports/{}/download", exports[0].id), Some(&cookie))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(history::list(db, other.id).await.unwrap().is_empty());
}

/// A webhook receiver on a local port: every JSON body it was sent.
async fn start_webhook_sink() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let store = store.clone();
            async move {
                store.lock().unwrap().push(serde_json::from_str(&body).unwrap());
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

async fn outbox_subjects(db: &Db, team_id: i64) -> Vec<String> {
    let sql = "SELECT subject FROM mail_outbox WHERE team_id = $1 ORDER BY id";
    match db.pool() {
        Pool::Sqlite(p) => sqlx::query_scalar(sql).bind(team_id).fetch_all(p).await.unwrap(),
        Pool::Postgres(p) => sqlx::query_scalar(sql).bind(team_id).fetch_all(p).await.unwrap(),
    }
}

/// Falling to a threshold alerts once (mail and webhook JSON), however often
/// the check runs; a purchase re-arms it and the next fall alerts again. A
/// pack expiring within the horizon with unused tokens alerts once.
async fn alerts_are_sent_once_per_crossing(db: &Db) {
    let team =
        teams::create_team(db, &teams::NewTeam { slug: "ops".into(), name: "Ops".into(), time_zone: "UTC".into() })
            .await
            .unwrap();
    let today = team.today();
    let (hook, hooked) = start_webhook_sink().await;
    let mut settings = tokenboard::access::settings::load(db, team.id).await.unwrap();
    settings.low_balance_percents = vec![20];
    settings.expiry_horizon_days = 30;
    settings.alert_recipients = vec!["finance@example.com".into()];
    settings.alert_webhook_url = Some(hook);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(4096);
    cfg.data_dir = dir.path().to_owned();
    // The sink listens on loopback: the operator allows it (issue 10 item 5).
    cfg.webhook_policy = tokenboard::notify::webhooks::WebhookPolicy::from_list("127.0.0.1");
    let state = crate::http::app_state(db.clone(), &cfg).unwrap();
    tokenboard::access::settings::update(db, &state.exports.files, &team, &Actor::CommandLine, &settings)
        .await
        .unwrap();
    let jobs = Jobs::new(state.exports.clone(), &cfg, None);
    let use_tokens = |day: chrono::NaiveDate, email: &str, tokens: i64| {
        format!("email,product,usage date,tokens used\n{email},Revit,{day},{tokens}\n")
    };

    tokenboard::domain::packs::add_pack(db, team.id, 1000, today - Days::new(100), None).await.unwrap();
    assert_eq!(jobs.check_alerts().await.unwrap(), 0, "a full balance alerts nothing");
    let csv = use_tokens(today - Days::new(1), "a@x.com", 850);
    tokenboard::ingest::import::import_usage_csv(db, &team, csv.as_bytes()).await.unwrap();
    assert_eq!(jobs.check_alerts().await.unwrap(), 1);
    assert_eq!(jobs.check_alerts().await.unwrap(), 0, "the same crossing alerts once");
    assert_eq!(outbox_subjects(db, team.id).await, ["Tokenboard: Ops is at or below 20% of its tokens"]);
    assert_eq!(jobs.send_webhooks().await.unwrap(), 1);
    assert_eq!(jobs.send_webhooks().await.unwrap(), 0, "a delivered event is not sent again");
    let event = hooked.lock().unwrap()[0].clone();
    assert_eq!(event["kind"], "low-balance");
    assert_eq!((event["available"].as_i64(), event["total"].as_i64()), (Some(150), Some(1000)));

    // A purchase lifts the balance back over 20%: re-armed, nothing sent.
    tokenboard::domain::packs::add_pack(db, team.id, 1000, today, None).await.unwrap();
    assert_eq!(jobs.check_alerts().await.unwrap(), 0);
    let csv = use_tokens(today, "b@x.com", 1000);
    tokenboard::ingest::import::import_usage_csv(db, &team, csv.as_bytes()).await.unwrap();
    assert_eq!(jobs.check_alerts().await.unwrap(), 1, "a new crossing alerts again");
    assert_eq!(outbox_subjects(db, team.id).await.len(), 2);

    // A pack with unused tokens expiring within 30 days alerts once (the
    // balance is full: only the expiry alerts).
    let quiet = teams::NewTeam { slug: "quiet".into(), name: "Quiet".into(), time_zone: "UTC".into() };
    let quiet = teams::create_team(db, &quiet).await.unwrap();
    settings.time_zone = "UTC".into();
    tokenboard::access::settings::update(db, &state.exports.files, &quiet, &Actor::CommandLine, &settings)
        .await
        .unwrap();
    tokenboard::domain::packs::add_pack(db, quiet.id, 500, today - Days::new(340), Some(today + Days::new(20)))
        .await
        .unwrap();
    assert_eq!(jobs.check_alerts().await.unwrap(), 1);
    assert_eq!(jobs.check_alerts().await.unwrap(), 0);
    let subjects = outbox_subjects(db, quiet.id).await;
    assert_eq!(subjects, [format!("Tokenboard: Quiet has tokens expiring on {}", today + Days::new(20))]);
    jobs.send_webhooks().await.unwrap();
    let events = hooked.lock().unwrap().clone();
    assert_eq!(
        events.iter().map(|e| e["kind"].as_str().unwrap()).collect::<Vec<_>>(),
        ["low-balance", "low-balance", "expiring"]
    );
}

/// With SMTP, an invitation's set-password link reaches the invitee by mail
/// and only there: the outbox shows nobody the link, before or after
/// delivery, and delivery removes it from the stored mail.
async fn an_invitation_link_is_mailed_and_leaves_the_outbox(db: &Db) {
    let team = teams::create_team(
        db,
        &teams::NewTeam { slug: "design".into(), name: "Design".into(), time_zone: "UTC".into() },
    )
    .await
    .unwrap();
    let lead = accounts::upsert_admin(db, "lead@example.com", "long enough").await.unwrap();
    auth::grant_role(db, team.id, lead.id, Role::Primary).await.unwrap();
    let actor = tokenboard::access::audit::Actor::Admin { id: lead.id, email: lead.email.clone() };
    let cfg = config(4096);
    let state = crate::http::app_state(db.clone(), &cfg).unwrap();
    let (smtp, received) = start_smtp_sink();
    let jobs = Jobs::new(
        state.exports.clone(),
        &cfg,
        Some(SmtpMailer::new(&format!("smtp://{smtp}"), &cfg.mail_from).unwrap()),
    );
    tokenboard::access::team_admins::invite(
        db,
        &team,
        &actor,
        "new@example.com",
        Role::Secondary,
        &cfg.public_url,
        true,
    )
    .await
    .unwrap();
    // With SMTP no team's admins are shown the link (api::load_outbox passes none).
    let waiting = tokenboard::notify::mail::for_teams(db, &[team.id], &[]).await.unwrap();
    assert!(waiting[0].body.contains("token=[hidden]"), "{}", waiting[0].body);
    assert_eq!(jobs.send_mail().await.unwrap(), 1);

    let mails = received.lock().unwrap().clone();
    assert_eq!(mails[0].to, ["new@example.com"]);
    let (_, encoded) = mails[0].data.split_once("\r\n\r\n").unwrap();
    let text =
        String::from_utf8(quoted_printable::decode(encoded, quoted_printable::ParseMode::Robust).unwrap()).unwrap();
    let prefix = format!("{}/set-password?token=", cfg.public_url);
    let token = text.split(&prefix).nth(1).expect("the link is in the mail").split_whitespace().next().unwrap();
    let sent = tokenboard::notify::mail::for_teams(db, &[team.id], &[team.id]).await.unwrap();
    assert!(!sent[0].body.contains(token) && sent[0].body.contains("[sent by e-mail]"), "{}", sent[0].body);
    let admin =
        tokenboard::access::password_links::redeem(db, token, "my own choice", chrono::Utc::now()).await.unwrap();
    assert_eq!(admin.email, "new@example.com");
}

db_tests!(
    a_due_schedule_mails_a_link_that_needs_a_login,
    schedule_rules_hold_and_every_change_is_audited,
    a_removed_admins_schedule_pauses_and_tells_the_primaries,
    a_failed_scheduled_export_mails_no_internal_text,
    an_invitation_link_is_mailed_and_leaves_the_outbox,
    one_click_exports_download_the_view_for_its_admins_only,
    alerts_are_sent_once_per_crossing,
);
