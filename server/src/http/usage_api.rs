//! `POST /api/v1/teams/{team}/usage`: a CSV body in the token-usage export
//! format, authorised by a team API key (`Authorization: Bearer tb_…`).
//! 200 `{rows, inserted, duplicates, new_products, new_users}`, or 422
//! `{errors: [{line, message}]}` with nothing written.
//!
//! The key is checked before a byte of the body is read: an unauthenticated
//! upload costs one database lookup, not its size in memory.

use app::session::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokenboard::access::api_keys;
use tokenboard::access::auth::AccessError;
use tokenboard::ingest::import::{ImportError, import_usage_csv};

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

pub async fn import_usage(State(state): State<AppState>, Path(team): Path<String>, request: Request) -> Response {
    let Some(key) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
    else {
        return error(StatusCode::UNAUTHORIZED, "an API key is required: Authorization: Bearer <key>");
    };
    let team = match api_keys::authorize_api_key(&state.db, key, &team).await {
        Ok(team) => team,
        Err(AccessError::Internal(e)) => {
            tracing::error!(error = %e, "API key check failed");
            return error(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
        Err(_) => return error(StatusCode::NOT_FOUND, "no such team for this API key"),
    };
    // Within the route's DefaultBodyLimit (TOKENBOARD_MAX_UPLOAD_BYTES): 413 past it.
    let body = match Bytes::from_request(request, &state).await {
        Ok(body) => body,
        Err(rejection) => return rejection.into_response(),
    };
    match import_usage_csv(&state.db, &team, &body).await {
        Ok(outcome) => {
            tracing::info!(
                team_id = team.id,
                inserted = outcome.inserted,
                duplicates = outcome.duplicates,
                "usage imported via API"
            );
            (StatusCode::OK, Json(outcome)).into_response()
        }
        Err(ImportError::Rejected(errors)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "errors": errors }))).into_response()
        }
        Err(ImportError::Database(e)) => {
            tracing::error!(error = %e, "usage import failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "the import failed on the server; nothing was written")
        }
    }
}
