//! The error every server function returns; it crosses the wire as JSON so
//! the page can tell "log in" from "not found" from "bad input".

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
    #[error("something went wrong on the server; it has been logged")]
    Internal,
    #[error("request failed: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;
    use tokenboard::auth::AccessError;

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

    impl From<tokenboard::Error> for AppError {
        fn from(e: tokenboard::Error) -> Self {
            match e {
                tokenboard::Error::Invalid(message) => AppError::BadRequest(message),
                tokenboard::Error::NotFound(_) => AppError::NotFound,
                other => {
                    tracing::error!(error = %other, "server function failed");
                    AppError::Internal
                }
            }
        }
    }
}
