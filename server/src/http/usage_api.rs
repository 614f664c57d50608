//! `POST /api/v1/teams/{team}/usage`: a usage file (CSV or `.xlsx`) as the
//! body, authorised by a team API key (`Authorization: Bearer tb_…`).
//! Query: `date_format` (`M/D/YYYY` or `D/M/YYYY`, for files whose slash
//! dates do not show their order) and `file_name` (for the history).
//! 200 `{import_id, rows, inserted, updated, unchanged, new_products,
//! new_users, new_user_emails}`, or 422 `{errors: [{line, message}],
//! import_id}` with nothing written.
//!
//! The key is checked before a byte of the body is read: an unauthenticated
//! upload costs one database lookup, not its size. The body is spooled to a
//! file as it arrives, up to `TOKENBOARD_MAX_UPLOAD_BYTES` (413 past it).

use app::session::AppState;
use axum::Json;
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tokenboard::access::api_keys;
use tokenboard::access::auth::AccessError;
use tokenboard::ingest::import::{DateFormat, ImportError, ImportRequest, ImportSource, import_usage_file};

use super::error::HttpError;
use super::spool::{SpoolError, spool, upload_dir};

/// The largest upload accepted (`TOKENBOARD_MAX_UPLOAD_BYTES`), for the routes that take files.
#[derive(Clone, Copy, Debug)]
pub struct UploadLimit(pub usize);

#[derive(Debug, Default, Deserialize)]
pub struct UsageQuery {
    date_format: Option<String>,
    file_name: Option<String>,
}

pub async fn import_usage(
    State(state): State<AppState>,
    Extension(limit): Extension<UploadLimit>,
    Path(team): Path<String>,
    Query(query): Query<UsageQuery>,
    request: Request,
) -> Response {
    import(state, limit, team, query, request).await.unwrap_or_else(HttpError::into_json_response)
}

/// The `date_format` a form or query names, or a 400 that lists the choices.
pub fn date_format(text: Option<&str>) -> Result<Option<DateFormat>, HttpError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => DateFormat::parse(text).map(Some).ok_or_else(|| {
            HttpError::user(
                StatusCode::BAD_REQUEST,
                "unknown date format: use YYYY-MM-DD, M/D/YYYY or D/M/YYYY (D.M.YYYY reads as D/M/YYYY)",
            )
        }),
    }
}

/// A spooling failure as the answer it deserves.
pub fn spool_failed(e: SpoolError) -> HttpError {
    match e {
        SpoolError::TooLarge(_) => HttpError::user(StatusCode::PAYLOAD_TOO_LARGE, e.message()),
        SpoolError::Body(_) => HttpError::user(StatusCode::BAD_REQUEST, e.message()),
        SpoolError::Disk(ref io) => HttpError::fault(io).told_as("the upload could not be stored on the server"),
    }
}

async fn import(
    state: AppState,
    limit: UploadLimit,
    team: String,
    query: UsageQuery,
    request: Request,
) -> Result<Response, HttpError> {
    let Some(key) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
    else {
        let message = "an API key is required: Authorization: Bearer <key>";
        return Err(HttpError::user(StatusCode::UNAUTHORIZED, message));
    };
    let (team, key_label) = match api_keys::authorize_api_key_labelled(&state.db, key, &team).await {
        Ok(found) => found,
        Err(AccessError::Internal(e)) => return Err(HttpError::fault(e)),
        Err(_) => return Err(HttpError::user(StatusCode::NOT_FOUND, "no such team for this API key")),
    };
    let date_format = date_format(query.date_format.as_deref())?;
    let dir = upload_dir(state.exports.files.dir());
    let (file, _bytes) = spool(request.into_body().into_data_stream(), &dir, limit.0).await.map_err(spool_failed)?;
    let file_name = tokenboard::domain::values::clean_file_name(query.file_name.as_deref().unwrap_or("API upload"));
    let import_request = ImportRequest {
        source: ImportSource::Api,
        actor: format!("API key {key_label}"),
        file_name,
        date_format,
        erased_key: Some(state.exports.key.clone()),
    };
    match import_usage_file(&state.db, &team, file.path(), &import_request, &mut |_| {}).await {
        Ok(outcome) => {
            tokenboard::report::index::refresh_in_background(&state.db, team.id);
            tracing::info!(
                team_id = team.id,
                inserted = outcome.inserted,
                updated = outcome.updated,
                unchanged = outcome.unchanged,
                "usage imported via API"
            );
            Ok((StatusCode::OK, Json(outcome)).into_response())
        }
        Err(ImportError::Rejected(errors, import_id)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "errors": errors, "import_id": import_id })))
                .into_response())
        }
        Err(ImportError::Database(e)) => {
            Err(HttpError::from(e).told_as("the import failed on the server; nothing was written"))
        }
    }
}
