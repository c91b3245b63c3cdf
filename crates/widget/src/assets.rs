//! The widget's script and stylesheet, compiled into the binary: the widget needs no CDN.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use openiav_aggregation::MxError;

const WIDGET_JS: &str = include_str!("../assets/widget.js");
const WIDGET_CSS: &str = include_str!("../assets/widget.css");

pub async fn serve(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "widget.js" => (WIDGET_JS, "text/javascript; charset=utf-8"),
        "widget.css" => (WIDGET_CSS, "text/css; charset=utf-8"),
        _ => return MxError::NotFound.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}
