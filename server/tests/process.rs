//! The real binary as an operator runs it (issue 14), on SQLite: `serve`
//! answers `/readyz`, exits 0 on SIGTERM after finishing the request under
//! way, and a SIGKILL in the middle of a large API import leaves the import
//! whole or absent — at several points of the import.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tokenboard");

/// A data directory, its database and a free port.
struct Place {
    dir: tempfile::TempDir,
    port: u16,
}

impl Place {
    fn new() -> Place {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Place { dir: tempfile::tempdir().unwrap(), port }
    }

    fn database(&self) -> PathBuf {
        self.dir.path().join("tokenboard.db")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env("TOKENBOARD_DATABASE_URL", format!("sqlite://{}", self.database().display()))
            .env("TOKENBOARD_DATA_DIR", self.dir.path())
            .env("TOKENBOARD_ADDR", format!("127.0.0.1:{}", self.port))
            .env("TOKENBOARD_SECRET", "process test secret")
            .env("TOKENBOARD_SHUTDOWN_GRACE_SECS", "20")
            .env("TOKENBOARD_LOG_FORMAT", "json");
        command
    }

    fn run(&self, args: &[&str]) -> String {
        let output = self.command(args).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    }

    fn serve(&self) -> Child {
        let mut child = self.command(&["serve"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if reqwest::blocking_get(&format!("http://127.0.0.1:{}/readyz", self.port)) == Ok(200) {
                return child;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the server did not get ready");
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// Just enough of an HTTP client for these tests, on a thread of its own.
mod reqwest {
    pub fn blocking_get(url: &str) -> Result<u16, String> {
        let url = url.to_owned();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime
                .block_on(async { ::reqwest::get(&url).await.map(|r| r.status().as_u16()).map_err(|e| e.to_string()) })
        })
        .join()
        .unwrap()
    }
}

fn terminate(child: &Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(started.elapsed() < within, "the server did not exit within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A usage file of `users` × 60 days.
fn usage_file(dir: &Path, users: usize) -> (PathBuf, i64) {
    let mut csv = String::from("Email,Product,Usage date,Tokens used\n");
    let mut total = 0;
    for user in 0..users {
        for day in 0..60u64 {
            let date = chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap() + chrono::Days::new(day);
            let tokens = 1 + (user as i64 + day as i64) % 7;
            csv.push_str(&format!("user{user}@example.com,Product {},{date},{tokens}\n", user % 5));
            total += tokens;
        }
    }
    let path = dir.join(format!("usage-{users}.csv"));
    std::fs::write(&path, csv).unwrap();
    (path, total)
}

fn team_total(place: &Place) -> i64 {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let db = tokenboard::Db::connect(&format!("sqlite://{}", place.database().display())).await.unwrap();
        let total = tokenboard::on_db!(db, |p| sqlx::query_scalar::<_, i64>(
            "SELECT CAST(COALESCE(SUM(tokens), 0) AS BIGINT) FROM usage_charges"
        )
        .fetch_one(p)
        .await
        .unwrap());
        db.close().await;
        total
    })
}

/// Posts `file` to the usage API on a thread; answers the status.
fn post_usage(place: &Place, key: &str, file: &Path) -> std::thread::JoinHandle<Result<u16, String>> {
    let (url, key, body) = (place.url("/api/v1/teams/design/usage"), key.to_owned(), std::fs::read(file).unwrap());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let client = ::reqwest::Client::new();
            let response = client
                .post(&url)
                .bearer_auth(&key)
                .header("content-type", "text/csv")
                .body(body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            Ok(response.status().as_u16())
        })
    })
}

fn prepared() -> (Place, String) {
    let place = Place::new();
    place.run(&["migrate"]);
    place.run(&["team", "add", "--slug", "design", "--name", "Design"]);
    let key = place.run(&["api-key", "create", "--team", "design"]).trim().to_owned();
    (place, key)
}

#[test]
fn sigterm_lets_the_import_under_way_finish_and_exits_0() {
    let (place, key) = prepared();
    let (file, total) = usage_file(place.dir.path(), 2000);
    let mut server = place.serve();
    let upload = post_usage(&place, &key, &file);
    // The request is under way (sent, importing: several seconds) when the signal comes.
    std::thread::sleep(Duration::from_millis(700));
    terminate(&server);
    assert_eq!(upload.join().unwrap(), Ok(200), "the request under way got its answer");
    let status = wait_exit(&mut server, Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    let mut log = String::new();
    std::io::Read::read_to_string(server.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(log.lines().any(|l| l.starts_with('{') && l.contains("\"stopped\"")), "JSON log lines:\n{log}");
    assert_eq!(team_total(&place), total);
    // Nothing answers any more.
    assert!(reqwest::blocking_get(&place.url("/healthz")).is_err());
}

#[test]
fn a_sigkill_during_an_import_leaves_it_whole_or_absent() {
    let (place, key) = prepared();
    let (file, total) = usage_file(place.dir.path(), 1500);
    // Killed early (reading), midway and late (merging, committing).
    let mut seen = Vec::new();
    for delay in [150, 600, 1200, 2500] {
        let before = team_total(&place);
        let mut server = place.serve();
        let upload = post_usage(&place, &key, &file);
        std::thread::sleep(Duration::from_millis(delay));
        server.kill().unwrap();
        server.wait().unwrap();
        let _ = upload.join();
        let after = team_total(&place);
        assert!(after == before || after == total, "killed after {delay} ms: {before} → {after}, not 0 or {total}");
        seen.push((delay, after == total));
        // The server starts again on what was left, and reads it.
        let mut again = place.serve();
        assert_eq!(reqwest::blocking_get(&place.url("/healthz")), Ok(200));
        again.kill().unwrap();
        again.wait().unwrap();
    }
    eprintln!("(kill after ms, import present): {seen:?}");
    // Whatever the kills left, the import runs whole afterwards.
    let mut server = place.serve();
    assert_eq!(post_usage(&place, &key, &file).join().unwrap(), Ok(200));
    terminate(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(30)).success());
    assert_eq!(team_total(&place), total);
}

/// Runs `work` against the place's database from this process.
fn with_db<T>(place: &Place, work: impl AsyncFnOnce(&tokenboard::Db) -> T) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let db = tokenboard::Db::open(&format!("sqlite://{}", place.database().display())).await.unwrap();
        let out = work(&db).await;
        db.close().await;
        out
    })
}

/// The mails an SMTP sink received, whole.
#[derive(Clone, Default)]
struct Sink {
    current: Vec<u8>,
    mails: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl mailin_embedded::Handler for Sink {
    fn data_start(&mut self, _: &str, _: &str, _: bool, _: &[String]) -> mailin_embedded::Response {
        self.current.clear();
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        self.mails.lock().unwrap().push(String::from_utf8_lossy(&self.current).into_owned());
        mailin_embedded::response::OK
    }
}

impl Sink {
    fn start() -> (Sink, String) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let sink = Sink::default();
        let mut server = mailin_embedded::Server::new(sink.clone());
        server.with_name("sink.test").with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        (sink, url)
    }

    /// Distinct `Message-ID`s of the mails whose subject contains `subject`.
    fn message_ids(&self, subject: &str) -> BTreeSet<String> {
        let header = |mail: &str, name: &str| {
            mail.lines().take_while(|l| !l.is_empty()).find_map(|l| l.strip_prefix(name).map(str::to_owned))
        };
        let mails = self.mails.lock().unwrap().clone();
        mails
            .iter()
            .filter(|mail| header(mail, "Subject: ").is_some_and(|s| s.contains(subject)))
            .filter_map(|mail| header(mail, "Message-ID: "))
            .collect()
    }
}

use std::collections::BTreeSet;

/// SIGKILLs while the jobs run — an Excel export being written, a due
/// scheduled report, a low-balance alert — then a restart: the export is
/// complete (its file's size and SHA-256 are the history's) or not served
/// at all, and the report and the alert each arrive once (a resend after a
/// kill between the SMTP server's answer and the mark would carry the same
/// `Message-ID`).
#[test]
fn sigkills_while_jobs_run_lose_and_repeat_nothing() {
    use tokenboard::access::audit::Actor;
    let place = Place::new();
    place.run(&["migrate"]);
    place.run(&["demo", "--teams", "1", "--users", "600", "--products", "8", "--days", "200", "--seed", "9"]);
    let (sink, smtp) = Sink::start();
    let export_id = with_db(&place, async |db| {
        let team = tokenboard::domain::teams::team(db, "design-team").await.unwrap();
        let admin =
            tokenboard::access::accounts::admin_id_by_email(db, "admin@demo.tokenboard").await.unwrap().unwrap();
        let lead = Actor::Admin { id: admin, email: "admin@demo.tokenboard".into() };
        // A low-balance threshold the team is under: one alert is due.
        let files = tokenboard::export::job::ExportFiles::new(place.dir.path().join("exports")).unwrap();
        let mut settings = tokenboard::access::settings::load(db, team.id).await.unwrap();
        settings.low_balance_percents = vec![99];
        settings.alert_recipients = vec!["alerts@demo.tokenboard".into()];
        settings.schedule_recipient_domains = vec!["demo.tokenboard".into()];
        tokenboard::access::settings::update(db, &files, &team, &lead, &settings).await.unwrap();
        // A weekly report due today.
        let input = tokenboard::notify::schedules::ScheduleInput {
            report: "summary".into(),
            format: "csv".into(),
            range: "30d".into(),
            cadence: "weekly".into(),
            start_on: team.today().to_string(),
            recipients: "finance@demo.tokenboard".into(),
        };
        tokenboard::notify::schedules::create(db, &team, &lead, &input.validate().unwrap()).await.unwrap();
        // A large Excel export, queued.
        let range = tokenboard::domain::range::RangeQuery::preset(tokenboard::domain::range::RangePreset::Months6)
            .resolve(team.today())
            .unwrap();
        let params = tokenboard::export::ExportParams::default();
        let new = tokenboard::export::history::NewExport {
            team: &team,
            actor: &lead,
            schedule_id: None,
            report: tokenboard::export::ExportReport::TokenUsage,
            format: tokenboard::export::ExportFormat::Xlsx,
            params: &params,
            range: &range,
        };
        tokenboard::export::history::create(db, new, tokenboard::export::ExportStatus::Queued, chrono::Utc::now())
            .await
            .unwrap()
            .id
    });
    let file = place.dir.path().join("exports").join(format!("{export_id}.xlsx"));
    let serve = |place: &Place| {
        let mut command = place.command(&["serve"]);
        command.env("TOKENBOARD_SMTP_URL", &smtp).env("TOKENBOARD_MAIL_FROM", "Tokenboard <tb@demo.tokenboard>");
        command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
    };
    for delay in [300, 1500, 4000] {
        let mut server = serve(&place);
        std::thread::sleep(Duration::from_millis(delay));
        server.kill().unwrap();
        server.wait().unwrap();
        // Whatever the kill interrupted, no partial file takes the export's name.
        if file.exists() {
            let status =
                with_db(&place, async |db| tokenboard::export::history::find(db, export_id).await.unwrap().unwrap());
            let workbook = calamine::open_workbook::<calamine::Xlsx<_>, _>(&file);
            assert!(workbook.is_ok(), "killed after {delay} ms: {} is not a whole workbook", file.display());
            assert_ne!(status.status, tokenboard::export::ExportStatus::Failed);
        }
    }
    // Restarted for good: the export is requeued once its heartbeat is stale (30 s), then written.
    let mut server = serve(&place);
    let started = Instant::now();
    let record = loop {
        let record =
            with_db(&place, async |db| tokenboard::export::history::find(db, export_id).await.unwrap().unwrap());
        let mailed = !sink.message_ids("Summary").is_empty() && !sink.message_ids("at or below").is_empty();
        if record.status == tokenboard::export::ExportStatus::Done && mailed {
            break record;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "not done in time: {:?}", record.status);
        std::thread::sleep(Duration::from_millis(250));
    };
    std::thread::sleep(Duration::from_secs(6)); // a repeated mail would come within a sender round
    terminate(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(30)).success());

    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(Some(bytes.len() as i64), record.bytes);
    assert_eq!(Some(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))), record.sha256);
    assert_eq!(sink.message_ids("Summary").len(), 1, "the scheduled report, once");
    assert_eq!(sink.message_ids("at or below").len(), 1, "the alert, once");
}
