//! Export downloads.
//!
//! `GET /teams/{team}/export/{report}.{csv|xlsx}?range=…` — the one-click
//! export of a view: CSV streams from the database while it is written to
//! its history file; Excel is written first (large token-usage workbooks go
//! to the background job and the admin lands on the export history with its
//! progress bar). Every export is recorded. The link stays a GET (bookmarks,
//! curl), but one that a browser marks as coming from another site answers
//! with a confirmation page instead: a link elsewhere cannot start exports.
//!
//! `GET /teams/{team}/exports/{id}/download` — a finished export, for an
//! admin of the team only. A scheduled report's mail links here with
//! `?via=mail`: the reader logs in first, and the download is audited.

use app::html::escape;
use app::session::{AppState, admin_from_jar};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use chrono::Utc;
use futures_util::StreamExt;
use serde::Deserialize;
use tokenboard::access::audit::{self, Actor, AuditAction};
use tokenboard::access::auth::{self, AccessError, TeamAccess};
use tokenboard::domain::model::Role;
use tokenboard::export::history::{self, NewExport};
use tokenboard::export::job::{self, Tap};
use tokenboard::export::sources::{ExportInput, expected_rows};
use tokenboard::export::{ExportFormat, ExportParams, ExportRecord, ExportReport, ExportStatus};
use tokenboard::report::privacy::Privacy;

use super::error::HttpError;

/// Token-usage workbooks larger than this are written by the background job.
pub const INLINE_XLSX_ROWS: u64 = 200_000;

/// What a server fault of an export route says (with the request id).
const EXPORT_FAILED: &str = "the export failed on the server";

/// A core error: the caller's mistake as it is, a fault in this route's words.
fn failed(e: tokenboard::Error) -> HttpError {
    HttpError::from(e).told_as(EXPORT_FAILED)
}

fn fault(detail: impl std::fmt::Display) -> HttpError {
    HttpError::fault(detail).told_as(EXPORT_FAILED)
}

/// The admin (id) and their access to `team` with at least `role`, or the
/// error that refuses it (a team they may not act on does not exist for them).
pub(super) async fn team_access(
    state: &AppState,
    jar: &CookieJar,
    team: &str,
    uri: &Uri,
    role: Role,
) -> Result<(Actor, TeamAccess), HttpError> {
    let admin = admin_from_jar(state, jar).await.map_err(fault)?;
    let log_in = || HttpError::LogIn { next: uri.path_and_query().map_or(uri.path(), |pq| pq.as_str()).to_owned() };
    match auth::authorize(&state.db, admin.as_ref(), team, role).await {
        Ok(access) => match admin {
            Some(admin) => Ok((Actor::Admin { id: admin.id, email: admin.email }, access)),
            None => Err(log_in()),
        },
        Err(AccessError::Unauthenticated) => Err(log_in()),
        Err(AccessError::Internal(e)) => Err(failed(e)),
        Err(AccessError::NotFound | AccessError::Forbidden(_)) => {
            Err(HttpError::user(StatusCode::NOT_FOUND, "no such team"))
        }
    }
}

fn attachment(format: ExportFormat, file_name: &str) -> [(header::HeaderName, HeaderValue); 3] {
    let disposition = format!("attachment; filename=\"{file_name}\"");
    [
        (header::CONTENT_TYPE, HeaderValue::from_static(format.content_type())),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

pub async fn one_click(
    State(state): State<AppState>,
    Path((team, file)): Path<(String, String)>,
    Query(params): Query<ExportParams>,
    jar: CookieJar,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, HttpError> {
    let Some((report, format)) =
        file.rsplit_once('.').and_then(|(report, ext)| Some((ExportReport::parse(report)?, ExportFormat::parse(ext)?)))
    else {
        return Err(HttpError::user(StatusCode::NOT_FOUND, format!("no export called {file:?}")));
    };
    if super::cross_origin::from_another_site(&headers) {
        return Ok(confirmation(&uri, &file));
    }
    let (actor, access) = team_access(&state, &jar, &team, &uri, Role::Secondary).await?;
    let range = params
        .range_query()
        .resolve(access.team.today())
        .map_err(|e| HttpError::user(StatusCode::BAD_REQUEST, e.to_string()))?;
    let input = ExportInput {
        team: access.team.clone(),
        report,
        params: params.clone(),
        range,
        privacy: Privacy::new(&state.exports.key, &access.team),
    };
    input.check(&state.db).await.map_err(failed)?;
    let in_background = format == ExportFormat::Xlsx
        && report == ExportReport::TokenUsage
        && expected_rows(&state.db, &input).await.map_err(failed)? > INLINE_XLSX_ROWS;
    let status = if in_background { ExportStatus::Queued } else { ExportStatus::Running };
    let new = NewExport {
        team: &access.team,
        actor: &actor,
        schedule_id: None,
        report,
        format,
        params: &params,
        range: &range,
    };
    // Over a cap: 429 with the cap's message (`Error::LimitReached`).
    let record = history::create(&state.db, new, status, Utc::now()).await.map_err(failed)?;
    tracing::info!(export = record.id, team_id = access.team.id, report = report.as_str(), "export requested");
    if in_background {
        return Ok(Redirect::to(&format!("/teams/{}/exports?started={}", access.team.slug, record.id)).into_response());
    }
    match format {
        ExportFormat::Csv => Ok(stream_csv(state, record)),
        ExportFormat::Xlsx => {
            // Its own task: if the answer times out (router's TimeoutLayer), the
            // export still finishes and is in the history, not left "running".
            let (exports, job_record) = (state.exports.clone(), record.clone());
            tokio::spawn(async move { job::run(&exports, &job_record, None).await })
                .await
                .map_err(fault)?
                .map_err(failed)?;
            serve_record(&state, &record).await
        }
    }
}

/// The page a link from another site gets: a button that asks for the same
/// URL again from our own page (`Sec-Fetch-Site: same-origin`), its query as
/// hidden fields of a GET form. No script; every text escaped.
fn confirmation(uri: &Uri, file: &str) -> Response {
    let fields: String = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|Query(pairs)| pairs)
        .unwrap_or_default()
        .iter()
        .map(|(name, value)| format!(r#"<input type="hidden" name="{}" value="{}">"#, escape(name), escape(value)))
        .collect();
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Start this export? · Tokenboard</title><link rel="stylesheet" href="{css}"></head>
<body><main class="page"><div class="error-box" data-confirm-export>
<h1>Start this export?</h1>
<p>A link from another site asks Tokenboard to export <strong>{file}</strong>. Start it only if you meant to.</p>
<form method="get" action="{action}">{fields}<button type="submit">Start the export</button></form>
<p><a href="/">Back to your teams</a></p>
</div></main></body></html>"#,
        file = escape(file),
        action = escape(uri.path()),
        css = super::assets::stylesheet_href(),
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// Streams a CSV export while the job writes it: the job's writer thread
/// hands chunks to the response through a bounded channel (a slow client
/// holds the writer back; a client that leaves stops it). If the job fails,
/// the response ends in an error, so the browser never keeps a silently
/// truncated file.
fn stream_csv(state: AppState, record: ExportRecord) -> Response {
    let (tap, chunks): (Tap, _) = tokio::sync::mpsc::channel(4);
    let (outcome_tx, outcome) = tokio::sync::oneshot::channel();
    let job_record = record.clone();
    tokio::spawn(async move {
        let _ = outcome_tx.send(job::run(&state.exports, &job_record, Some(tap)).await);
    });
    // The chunks end when the job drops its tap; then its outcome decides
    // whether the body ends cleanly.
    let failure = futures_util::stream::once(outcome).filter_map(|outcome| {
        std::future::ready(match outcome {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(Err(std::io::Error::other(e.to_string()))),
            Err(_) => Some(Err(std::io::Error::other("the export stopped"))),
        })
    });
    let body = Body::from_stream(stream_from(chunks).map(|chunk| Ok(Bytes::from(chunk))).chain(failure));
    (attachment(record.format, &record.file_name), body).into_response()
}

fn stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Sends a finished export's file.
async fn serve_record(state: &AppState, record: &ExportRecord) -> Result<Response, HttpError> {
    let Some(record) = history::find(&state.db, record.id).await.map_err(failed)? else {
        return Err(HttpError::user(StatusCode::NOT_FOUND, "this export no longer exists"));
    };
    let Some(path) = job::servable(&state.exports, &record) else {
        // The stored reason shows a server fault only as such (`job::run`).
        let why = match record.status {
            ExportStatus::Failed => format!("this export failed: {}", record.error.unwrap_or_default()),
            _ => "this export is not finished yet".to_owned(),
        };
        return Err(HttpError::user(StatusCode::CONFLICT, why));
    };
    let file = tokio::fs::File::open(&path).await.map_err(fault)?;
    let length = file.metadata().await.map(|m| m.len()).unwrap_or_default();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let mut response = (attachment(record.format, &record.file_name), body).into_response();
    response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    Ok(response)
}

/// How a download was reached.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The link of a scheduled report's mail.
    Mail,
}

#[derive(Deserialize)]
pub struct DownloadQuery {
    via: Option<Via>,
}

pub async fn download(
    State(state): State<AppState>,
    Path((team, id)): Path<(String, i64)>,
    Query(query): Query<DownloadQuery>,
    jar: CookieJar,
    uri: Uri,
) -> Result<Response, HttpError> {
    // A mailed link holds no secret: it opens for a logged-in admin of the
    // team like any download (others log in first, or get 404).
    let (actor, access) = team_access(&state, &jar, &team, &uri, Role::Secondary).await?;
    let Some(record) = history::get(&state.db, access.team.id, id).await.map_err(failed)? else {
        return Err(HttpError::user(StatusCode::NOT_FOUND, "no such export"));
    };
    if query.via == Some(Via::Mail) {
        let detail = format!("export #{}: {} through a mailed link", record.id, record.file_name);
        audit::record(&state.db, Some(access.team.id), &actor, AuditAction::MailLinkDownload, &detail)
            .await
            .map_err(failed)?;
    }
    serve_record(&state, &record).await
}
