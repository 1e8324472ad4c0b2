//! The stylesheet and the script, vendored in the crate and served by the shop itself. Their
//! paths carry a hash of their content, so a page always gets the version it was built with
//! and browsers may cache them for a year.

use std::sync::LazyLock;

use axum::{
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

const CSS: &str = include_str!("../assets/shop.css");
const JS: &str = include_str!("../assets/shop.js");

struct Asset {
    path: String,
    body: &'static str,
    content_type: &'static str,
}

fn versioned(stem: &str, extension: &str, body: &'static str, content_type: &'static str) -> Asset {
    let hash = body.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    Asset {
        path: format!("/assets/{stem}.{:08x}.{extension}", hash >> 32),
        body,
        content_type,
    }
}

static ASSETS: LazyLock<[Asset; 2]> = LazyLock::new(|| {
    [
        versioned("shop", "css", CSS, "text/css; charset=utf-8"),
        versioned("shop", "js", JS, "text/javascript; charset=utf-8"),
    ]
});

pub fn css_path() -> &'static str {
    &ASSETS[0].path
}

pub fn js_path() -> &'static str {
    &ASSETS[1].path
}

/// `GET /assets/{file}`
pub async fn serve(Path(file): Path<String>) -> Response {
    let wanted = format!("/assets/{file}");
    match ASSETS.iter().find(|asset| asset.path == wanted) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            asset.body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
