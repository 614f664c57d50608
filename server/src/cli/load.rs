//! `tokenboard bench --load`: drives a real server (this binary's `serve`,
//! started as a child on the bench database, its log in a file) with N
//! concurrent logged-in clients for a fixed time — every report view,
//! one-click CSV exports — while an API import of corrections runs every
//! few seconds, and prints throughput, p50/p95/p99 latency per kind of
//! request, errors, refusals by the export caps (429), and the server's CPU
//! and peak memory (DESIGN §7, issue 14).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokenboard::Db;
use tokenboard::domain::model::Role;
use tokenboard::domain::teams::Team;

const EMAIL: &str = "load@bench.tokenboard";
const PASSWORD: &str = "load-bench-password";
/// Sessions the clients share (one address logging in 200 times at once
/// would meet the login limit, which is right).
const SESSIONS: usize = 8;

/// One kind of request and its latencies.
#[derive(Default)]
struct Kind {
    latencies: Vec<Duration>,
    errors: u64,
    /// Answered 429: an export cap (two per admin, four per team) refused it.
    refused: u64,
}

impl Kind {
    fn percentile(&mut self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        self.latencies.sort_unstable();
        let i = ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len()) - 1;
        self.latencies[i]
    }
}

/// What the server process used: CPU seconds so far and peak resident memory.
fn process_usage(pid: u32) -> (f64, u64) {
    let ticks = 100.0; // USER_HZ on Linux
    let cpu = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = after.split_whitespace().collect();
            Some((fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?) / ticks)
        })
        .unwrap_or(0.0);
    let peak_kb = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    (cpu, peak_kb)
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

async fn start_server(database_url: &str, data_dir: &std::path::Path) -> Result<Server> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let log_path = data_dir.join("serve.log");
    let log = std::fs::File::create(&log_path)?;
    eprintln!("server log: {}", log_path.display());
    let child = Command::new(std::env::current_exe()?)
        .arg("serve")
        .env("TOKENBOARD_DATABASE_URL", database_url)
        .env("TOKENBOARD_DATA_DIR", data_dir)
        .env("TOKENBOARD_ADDR", format!("127.0.0.1:{port}"))
        .env("TOKENBOARD_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("cannot start the server")?;
    let server = Server { child, base: format!("http://127.0.0.1:{port}") };
    let client = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(300) {
        if let Ok(r) = client.get(format!("{}/readyz", server.base)).send().await
            && r.status().is_success()
        {
            return Ok(server);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("the server did not get ready within 5 minutes")
}

async fn login(base: &str) -> Result<String> {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let response = client
        .post(format!("{base}/login"))
        .header("origin", base)
        .form(&[("email", EMAIL), ("password", PASSWORD), ("next", "/")])
        .send()
        .await?;
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(app::session::SESSION_COOKIE))
        .context("the login set no session cookie")?;
    Ok(cookie.split(';').next().unwrap_or_default().to_owned())
}

/// The report views and exports a client cycles through.
fn paths(team: &str, user_id: i64, product: &str) -> Vec<(&'static str, String)> {
    let t = format!("/teams/{team}");
    vec![
        ("summary", format!("{t}/summary?range=30d")),
        ("summary", format!("{t}/summary?range=12m&granularity=month")),
        ("by product", format!("{t}/products?range=3m")),
        ("by user", format!("{t}/users?range=30d")),
        ("by user", format!("{t}/users?range=12m&sort=tokens&dir=asc&page=3")),
        ("user detail", format!("{t}/users/{user_id}?range=3m")),
        ("product detail", format!("{t}/products/{product}?range=12m")),
        ("forecast", format!("{t}/forecast")),
        ("balances", "/balances".to_owned()),
        ("export csv", format!("{t}/export/summary.csv?range=30d")),
    ]
}

/// Corrections of one existing user's charges, alternating their tokens so
/// every import changes data (and the usage index is rebuilt after it).
fn import_file(email: &str, round: u64) -> String {
    let mut csv = String::from("Email,Product,Usage date,Tokens used\n");
    for day in 1..=28 {
        csv.push_str(&format!("{email},Bench Import Product,2026-10-{day:02},{}\n", 5 + round % 2));
    }
    csv
}

/// What `bench --load` runs: the numbers of clients in turn, seconds each,
/// and an import every `import_every` seconds (0: none).
pub(super) struct LoadPlan<'a> {
    pub clients: &'a [usize],
    pub seconds: u64,
    pub import_every: u64,
}

pub(super) async fn run(db: &Db, team: &Team, database_url: &str, plan: LoadPlan<'_>) -> Result<()> {
    let LoadPlan { clients, seconds, import_every } = plan;
    let admin = tokenboard::access::accounts::upsert_admin(db, EMAIL, PASSWORD).await?;
    tokenboard::access::auth::grant_role(db, team.id, admin.id, Role::Primary).await?;
    let key = tokenboard::access::api_keys::create_api_key(db, team.id, "load bench").await?;
    // Every run starts from the same exports: those of a crashed run too.
    tokenboard::report::bench::forget_exports_of(db, admin.id).await?;
    let (user_id, email, product) = tokenboard::report::bench::load_targets(db, team.id).await?;
    let data_dir = tempfile::tempdir()?;
    eprintln!("starting the server on the bench database (it builds the usage index first)…");
    let server = start_server(database_url, data_dir.path()).await?;
    let mut sessions = Vec::new();
    for _ in 0..SESSIONS {
        sessions.push(login(&server.base).await?);
    }
    let paths = Arc::new(paths(&team.slug, user_id, &product));

    println!(
        "\n{:>7} {:>9} {:>8} {:<15} {:>9} {:>9} {:>9} {:>7} {:>5} {:>8} {:>9} {:>8}",
        "clients",
        "requests",
        "req/s",
        "kind",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors",
        "429",
        "imports",
        "cpu cores",
        "peak MB"
    );
    for &n in clients {
        let stop = Arc::new(AtomicBool::new(false));
        let (cpu_before, _) = process_usage(server.child.id());
        let started = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..n {
            let (base, cookie, paths, stop) =
                (server.base.clone(), sessions[i % SESSIONS].clone(), paths.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
                let mut kinds: Vec<(&'static str, Kind)> = Vec::new();
                let mut next = i;
                while !stop.load(Ordering::Relaxed) {
                    let (kind, path) = &paths[next % paths.len()];
                    next += 1;
                    let sent = Instant::now();
                    let response = client.get(format!("{base}{path}")).header("cookie", &cookie).send().await;
                    let (ok, refused) = match response {
                        Ok(r) if r.status().is_success() => (r.bytes().await.is_ok(), false),
                        Ok(r) => (false, r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS),
                        Err(_) => (false, false),
                    };
                    let entry = match kinds.iter().position(|(k, _)| k == kind) {
                        Some(i) => &mut kinds[i].1,
                        None => {
                            kinds.push((kind, Kind::default()));
                            &mut kinds.last_mut().unwrap().1
                        }
                    };
                    if ok {
                        entry.latencies.push(sent.elapsed());
                    } else if refused {
                        entry.refused += 1;
                    } else {
                        entry.errors += 1;
                    }
                }
                kinds
            }));
        }
        let importer = {
            let (base, key, email, stop) = (server.base.clone(), key.clone(), email.clone(), stop.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let (mut done, mut failed, mut round) = (0u64, 0u64, 0u64);
                while !stop.load(Ordering::Relaxed) && import_every > 0 {
                    let next = Instant::now() + Duration::from_secs(import_every);
                    round += 1;
                    let response = client
                        .post(format!("{base}/api/v1/teams/design-team/usage"))
                        .bearer_auth(&key)
                        .header("content-type", "text/csv")
                        .body(import_file(&email, round))
                        .send()
                        .await;
                    match response {
                        Ok(r) if r.status().is_success() => done += 1,
                        _ => failed += 1,
                    }
                    while !stop.load(Ordering::Relaxed) && Instant::now() < next {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                (done, failed)
            })
        };
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        let mut kinds: Vec<(&'static str, Kind)> = Vec::new();
        for task in tasks {
            for (kind, k) in task.await? {
                match kinds.iter_mut().find(|(name, _)| *name == kind) {
                    Some((_, total)) => {
                        total.latencies.extend(k.latencies);
                        total.errors += k.errors;
                        total.refused += k.refused;
                    }
                    None => kinds.push((kind, k)),
                }
            }
        }
        let (imports, import_errors) = importer.await?;
        let elapsed = started.elapsed().as_secs_f64();
        let (cpu_after, peak_kb) = process_usage(server.child.id());
        let cores = (cpu_after - cpu_before) / elapsed;
        let requests: usize = kinds.iter().map(|(_, k)| k.latencies.len() + (k.errors + k.refused) as usize).sum();
        let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
        let mut pages = Kind::default();
        for (name, k) in &kinds {
            if *name != "export csv" {
                pages.latencies.extend(&k.latencies);
                pages.errors += k.errors;
                pages.refused += k.refused;
            }
        }
        kinds.sort_by_key(|(name, _)| *name);
        kinds.insert(0, ("all pages", pages));
        for (row, (name, k)) in kinds.iter_mut().enumerate() {
            let lead = if row == 0 {
                format!("{n:>7} {requests:>9} {:>8.0}", requests as f64 / elapsed)
            } else {
                format!("{:>7} {:>9} {:>8}", "", "", "")
            };
            let tail = if row == 0 {
                format!(
                    " {:>8} {:>9.2} {:>8.0}",
                    format!("{imports}/{}", imports + import_errors),
                    cores,
                    peak_kb as f64 / 1024.0
                )
            } else {
                String::new()
            };
            println!(
                "{lead} {name:<15} {:>9} {:>9} {:>9} {:>7} {:>5}{tail}",
                ms(k.percentile(0.5)),
                ms(k.percentile(0.95)),
                ms(k.percentile(0.99)),
                k.errors,
                k.refused
            );
        }
    }
    drop(server);
    tokenboard::report::bench::forget_exports_of(db, admin.id).await?;
    Ok(())
}
