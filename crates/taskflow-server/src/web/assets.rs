//! The stylesheet and scripts, built into the binary and served under URLs that change with
//! their content (`/assets/<sha256 prefix>/<name>`), so browsers keep them for a year and a new
//! release is fetched at once. The vendored files are listed, with their SHA-256, in
//! `assets/vendor/MANIFEST.tsv`; a test holds the list and the files to each other.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One file the pages load.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

/// Everything under `/assets/`.
pub const ASSETS: [Asset; 5] = [
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/app.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/app.js"),
    },
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/vendor/htmx.min.js"),
    },
    Asset {
        name: "Sortable.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/vendor/Sortable.min.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../assets/favicon.svg"),
    },
];

/// The icons (a vendored set: `assets/vendor/MANIFEST.tsv`), as `<symbol>`s that every page
/// carries inline.
pub const ICONS: &str = include_str!("../../assets/vendor/icons.svg");

/// The URLs the pages link to, one per asset.
pub struct Urls {
    pub css: String,
    pub app: String,
    pub htmx: String,
    pub sortable: String,
    pub favicon: String,
}

fn url(asset: &Asset) -> String {
    let digest = hex::encode(Sha256::digest(asset.body));
    format!("/assets/{}/{}", &digest[..12], asset.name)
}

pub fn urls() -> &'static Urls {
    static URLS: OnceLock<Urls> = OnceLock::new();
    URLS.get_or_init(|| {
        let [css, app, htmx, sortable, favicon] = ASSETS.each_ref().map(url);
        Urls {
            css,
            app,
            htmx,
            sortable,
            favicon,
        }
    })
}

/// `/assets/{version}/{name}`: only the current version of each file; any other URL is 404, so
/// a stale page never gets a file it was not written for under a long cache lifetime.
pub async fn asset(Path((version, name)): Path<(String, String)>) -> Response {
    let wanted = format!("/assets/{version}/{name}");
    let urls = urls();
    let current = [
        &urls.css,
        &urls.app,
        &urls.htmx,
        &urls.sortable,
        &urls.favicon,
    ];
    match ASSETS.iter().zip(current).find(|(_, url)| **url == wanted) {
        Some((found, _)) => (
            [
                (CONTENT_TYPE, found.content_type),
                (CACHE_CONTROL, "public, max-age=31536000, immutable"),
                (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            found.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
