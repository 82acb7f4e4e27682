//! The web UI in `static/`, compiled into the binary.

use actix_web::{web, HttpResponse};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Assets;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/{path:.*}", web::get().to(asset));
}

/// A sample file the customer simulator sends (`samples/photo.png`, ...), from the binary.
pub fn sample(name: &str) -> Option<Vec<u8>> {
    Assets::get(&format!("samples/{name}")).map(|f| f.data.into_owned())
}

async fn index() -> HttpResponse {
    serve("index.html")
}

async fn asset(path: web::Path<String>) -> HttpResponse {
    serve(&path.into_inner())
}

fn serve(path: &str) -> HttpResponse {
    match Assets::get(path) {
        Some(file) => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            HttpResponse::Ok()
                .content_type(mime.as_ref())
                .body(file.data.into_owned())
        }
        None => {
            HttpResponse::NotFound().json(crate::error::error_body("not_found", "no such page"))
        }
    }
}
