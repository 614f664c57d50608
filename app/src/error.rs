//! The error every server function returns; an error answer crosses the
//! wire as JSON (a screen's hydration data carries it in postcard, as
//! `api::wire::PageData`) so the page can tell "log in" from "not found" from "bad input".
//!
//! Your fault or ours: a caller's mistake is a 4xx with its message; a server
//! fault is a 500 whose message names only the request id, the detail being
//! in the log line with that id. [`AppError::status`] is the one mapping to
//! HTTP: server functions get it in [`FromServerFnError::ser`] (every error
//! answer is encoded there), pages in `components::error_view`.

use leptos::server_fn::Bytes;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("please log in")]
    Unauthenticated,
    /// Unknown, or not this admin's: the two are never told apart.
    #[error("page not found")]
    NotFound,
    #[error("you need the {0} role for this")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    /// A server fault; the value is the request id (`x-request-id`) that the
    /// log line with the detail carries. Made by [`AppError::internal`].
    #[error("something went wrong on the server (request id {0})")]
    Internal(String),
    /// A call that did not get through (client side), or that the server
    /// could not decode (a malformed request).
    #[error("request failed: {0}")]
    Transport(String),
}

impl AppError {
    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound => 404,
            AppError::BadRequest(_) | AppError::Transport(_) => 400,
            AppError::Internal(_) => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let message = value.to_string();
        #[cfg(feature = "hydrate")]
        if message.contains(crate::api::wire::OTHER_BUILD) {
            crate::reload_into_new_build();
        }
        AppError::Transport(message)
    }

    fn ser(&self) -> Bytes {
        #[cfg(feature = "ssr")]
        ssr::set_server_fn_status(self);
        <JsonEncoding as leptos::server_fn::Encodes<Self>>::encode(self)
            .unwrap_or_else(|_| Bytes::from_static(br#"{"Internal":"-"}"#))
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;
    use tokenboard::access::auth::AccessError;

    impl AppError {
        /// A server fault of the current request: the detail goes to the log
        /// (inside the request's span, with its id), the caller sees the id.
        pub fn internal(detail: impl std::fmt::Display) -> Self {
            tracing::error!(error = %detail, "request failed on the server");
            AppError::Internal(request_id())
        }
    }

    /// The id `tower_http`'s request-id layer gave the current request.
    fn request_id() -> String {
        leptos::prelude::use_context::<http::request::Parts>()
            .and_then(|parts| parts.headers.get("x-request-id")?.to_str().ok().map(str::to_owned))
            .unwrap_or_else(|| "-".to_owned())
    }

    /// Sets the status of a server function's error answer. A plain form post
    /// (it accepts HTML) is redirected back to its page by server_fn, with the
    /// error in the URL; its 302 stays.
    pub(super) fn set_server_fn_status(error: &AppError) {
        use leptos::prelude::use_context;
        let form_post = crate::api::shown_once::is_form_post();
        if let (false, Some(response)) = (form_post, use_context::<leptos_axum::ResponseOptions>()) {
            response.set_status(
                http::StatusCode::from_u16(error.status()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
            );
        }
    }

    impl From<AccessError> for AppError {
        fn from(e: AccessError) -> Self {
            match e {
                AccessError::Unauthenticated => AppError::Unauthenticated,
                AccessError::NotFound => AppError::NotFound,
                AccessError::Forbidden(role) => AppError::Forbidden(role.into()),
                AccessError::Internal(e) => e.into(),
            }
        }
    }

    /// Whose fault: [`tokenboard::Error::status`] decides. A caller's
    /// mistake other than "not found" (a bad value, a limit) is a bad
    /// request with its message.
    impl From<tokenboard::Error> for AppError {
        fn from(e: tokenboard::Error) -> Self {
            match e {
                tokenboard::Error::NotFound(_) => AppError::NotFound,
                e if e.is_user_error() => AppError::BadRequest(e.to_string()),
                fault => AppError::internal(fault),
            }
        }
    }
}
