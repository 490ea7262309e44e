//! The static files every page uses (style sheet, form and console scripts), served under
//! names that carry a hash of their content (`/static/site.3f2a1b9c.css`) so that browsers
//! keep them for a year and a new build is fetched at once. The plain names still answer,
//! briefly cached, for links made before a change.

use std::sync::OnceLock;

use actix_web::{get, web, HttpResponse};
use sha2::{Digest, Sha256};

/// One static file: its plain name, its hashed name, type and content.
pub struct Asset {
    pub name: &'static str,
    pub hashed: String,
    pub content_type: &'static str,
    pub body: &'static str,
}

/// Every static file, built once.
pub fn all() -> &'static [Asset] {
    static ASSETS: OnceLock<Vec<Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        [
            ("site.css", "text/css; charset=utf-8", super::templates::SITE_CSS),
            (
                "form.js",
                "text/javascript; charset=utf-8",
                super::templates::FORM_JS,
            ),
            (
                "console.js",
                "text/javascript; charset=utf-8",
                super::templates::CONSOLE_JS,
            ),
        ]
        .into_iter()
        .map(|(name, content_type, body)| {
            let digest = Sha256::digest(body.as_bytes());
            let short: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
            Asset {
                name,
                hashed: format!("{stem}.{short}.{ext}"),
                content_type,
                body,
            }
        })
        .collect()
    })
}

/// The address to link a static file by (`site.css` → `/static/site.3f2a1b9c.css`); the
/// plain address for a name that is not a static file.
pub fn url(name: &str) -> String {
    all()
        .iter()
        .find(|a| a.name == name)
        .map_or_else(|| format!("/static/{name}"), |a| format!("/static/{}", a.hashed))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(static_file);
}

#[get("/static/{name}")]
async fn static_file(name: web::Path<String>) -> HttpResponse {
    let name = name.into_inner();
    let (asset, immutable) = match all().iter().find(|a| a.hashed == name) {
        Some(a) => (Some(a), true),
        None => (all().iter().find(|a| a.name == name), false),
    };
    match asset {
        Some(a) => HttpResponse::Ok()
            .content_type(a.content_type)
            .insert_header((
                "Cache-Control",
                if immutable {
                    "public, max-age=31536000, immutable"
                } else {
                    "public, max-age=300"
                },
            ))
            .body(a.body),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("没有这个文件"),
    }
}
