//! (scaffold) The `faults` control operation; its owner replaces this file.

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
