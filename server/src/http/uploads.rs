//! `POST /teams/{team}/imports/upload`: the Imports page's upload, a
//! multipart form (`date_format`, then `file`) from a primary admin of the
//! team. The file is spooled to disk as it arrives (at most
//! `TOKENBOARD_MAX_UPLOAD_BYTES`), then imported in a task of its own, so a
//! closed tab does not cut an import in half.
//!
//! A plain form post (JavaScript off) waits for the import and is sent to
//! `/teams/{team}/imports?import=ID`, which shows the counts or the bad
//! lines. The page's script asks for `application/x-ndjson` instead and
//! reads the import's progress as it goes: `{"rows", "bytes", "total"}`
//! lines, then `{"import_id", "status"}` or `{"error"}`.

use app::session::AppState;
use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use futures_util::StreamExt;
use serde_json::json;
use tokenboard::access::audit::Actor;
use tokenboard::domain::model::Role;
use tokenboard::domain::values::clean_file_name;
use tokenboard::ingest::import::{DateFormat, ImportError, ImportProgress, ImportRequest, ImportSource};
use tokio::sync::mpsc;

use super::error::HttpError;
use super::exports::team_access;
use super::spool::{spool, upload_dir};
use super::usage_api::{date_format, spool_failed};

/// A spooled upload and what the form said about it.
struct Upload {
    file: tempfile::NamedTempFile,
    bytes: u64,
    file_name: String,
    date_format: Option<DateFormat>,
}

pub async fn upload(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(team): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let wants_progress = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/x-ndjson"));
    match start(&state, &jar, &team, &uri, multipart).await {
        Ok((actor, access, upload)) => {
            let slug = access.team.slug.clone();
            let request = ImportRequest {
                source: ImportSource::Upload,
                actor: actor.label(),
                file_name: upload.file_name.clone(),
                date_format: upload.date_format,
                erased_key: Some(state.exports.key.clone()),
            };
            let (lines, mut received) = mpsc::channel::<String>(64);
            let total = upload.bytes;
            let db = state.db.clone();
            let task = tokio::spawn(async move {
                let progress_lines = lines.clone();
                let mut progress = move |p: ImportProgress| {
                    let line = json!({ "rows": p.rows, "bytes": p.bytes, "total": total }).to_string();
                    // A slow reader misses a progress line, never the import.
                    let _ = progress_lines.try_send(line);
                };
                let result = tokenboard::ingest::import::import_usage_file(
                    &db,
                    &access.team,
                    upload.file.path(),
                    &request,
                    &mut progress,
                )
                .await;
                let last = match &result {
                    Ok(outcome) => {
                        tokenboard::report::index::refresh_in_background(&db, access.team.id);
                        json!({ "import_id": outcome.import_id, "status": "done" })
                    }
                    Err(ImportError::Rejected(_, import_id)) => json!({ "import_id": import_id, "status": "rejected" }),
                    Err(ImportError::Database(e)) => {
                        tracing::error!(error = %e, "upload import failed");
                        json!({ "error": "the import failed on the server; nothing was written" })
                    }
                };
                let _ = lines.send(last.to_string()).await;
                drop(upload.file);
                result
            });
            if wants_progress {
                let stream = futures_util::stream::poll_fn(move |cx| received.poll_recv(cx))
                    .map(|line| Ok::<_, std::convert::Infallible>(format!("{line}\n")));
                return ([(header::CONTENT_TYPE, "application/x-ndjson")], Body::from_stream(stream)).into_response();
            }
            match task.await {
                Ok(Ok(outcome)) => see_import(&slug, outcome.import_id),
                Ok(Err(ImportError::Rejected(_, import_id))) => see_import(&slug, import_id),
                Ok(Err(ImportError::Database(e))) => {
                    HttpError::from(e).told_as("the import failed on the server; nothing was written").into_response()
                }
                Err(e) => HttpError::fault(e).into_response(),
            }
        }
        Err(e) if wants_progress => e.into_json_response(),
        Err(e) => e.into_response(),
    }
}

fn see_import(slug: &str, import_id: Option<i64>) -> Response {
    let query = import_id.map(|id| format!("?import={id}")).unwrap_or_default();
    Redirect::to(&format!("/teams/{slug}/imports{query}")).into_response()
}

/// Checks the admin, then spools the form's file.
async fn start(
    state: &AppState,
    jar: &CookieJar,
    team: &str,
    uri: &Uri,
    mut multipart: Multipart,
) -> Result<(Actor, tokenboard::access::auth::TeamAccess, Upload), HttpError> {
    let (actor, access) = team_access(state, jar, team, uri, Role::Secondary).await?;
    if access.role != Role::Primary {
        return Err(HttpError::user(StatusCode::FORBIDDEN, "only primary admins of the team import usage"));
    }
    let bad_form = |e: axum::extract::multipart::MultipartError| {
        HttpError::user(StatusCode::BAD_REQUEST, format!("the upload form could not be read: {}", e.body_text()))
    };
    let mut named_format = None;
    let mut upload = None;
    while let Some(field) = multipart.next_field().await.map_err(bad_form)? {
        match field.name() {
            Some("date_format") => {
                let text = field.text().await.map_err(bad_form)?;
                named_format = date_format(Some(&text))?;
            }
            Some("file") => {
                let file_name = clean_file_name(field.file_name().unwrap_or("upload"));
                let dir = upload_dir(state.exports.files.dir());
                let (file, bytes) = spool(field, &dir, state.max_upload_bytes).await.map_err(spool_failed)?;
                upload = Some((file, bytes, file_name));
            }
            _ => {}
        }
    }
    let Some((file, bytes, file_name)) = upload else {
        return Err(HttpError::user(StatusCode::BAD_REQUEST, "choose a CSV or .xlsx file to import"));
    };
    if bytes == 0 {
        return Err(HttpError::user(StatusCode::BAD_REQUEST, format!("{file_name} is empty")));
    }
    Ok((actor, access, Upload { file, bytes, file_name, date_format: named_format }))
}
