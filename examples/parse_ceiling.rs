//! The ingest ceiling that `scripts/ingest-ceiling.sh` compares the broker with: an HTTP server that
//! does nothing with a posted message but read it and parse it into a `serde_json::Value`, then answer
//! 202 as the broker does. It runs on the same actix-web, allocator, worker count and machine as the
//! broker, under the same load generator, so that the ratio of the two throughputs is what the broker
//! keeps of "receive and parse" once it validates, hashes, stores durably, ledgers and acknowledges.
//!
//!     cargo run --release --example parse_ceiling -- 127.0.0.1:0

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use actix_web::{web, App, HttpResponse, HttpServer};

/// As the broker's default `limits.max_body_bytes`: the fixtures are far below it.
const MAX_BODY: usize = 20 * 1024 * 1024;

async fn process_message(body: web::Bytes) -> HttpResponse {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        // Something of the tree is used, so the parse is not optimised away.
        Ok(tree) => HttpResponse::Accepted()
            .content_type("application/fhir+json")
            .body(format!(r#"{{"resourceType":"Bundle","entries":{}}}"#, tree["entry"].as_array().map_or(0, Vec::len))),
        Err(_) => HttpResponse::BadRequest().finish(),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = std::net::TcpListener::bind(address)?;
    // The script reads the address from this line, as it does the broker's.
    println!("listening on http://{}", listener.local_addr()?);
    HttpServer::new(|| {
        App::new()
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route("/fhir/$process-message", web::post().to(process_message))
    })
    .listen(listener)?
    .run()
    .await
}
