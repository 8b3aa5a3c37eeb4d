//! Pages for people (issue 16): `/quality`, the handover quality of the region or of one's own
//! organisation, and `/capacity`, the live bed capacity (`capacity/`), server-rendered in Dutch, French
//! or English; and `/login`, where a person without a
//! client certificate signs in with their organisation's token, kept in an HttpOnly session cookie
//! that only the pages accept (the FHIR API takes credentials in headers only, so a cookie can never
//! make a browser post a handover).

mod capacity;
mod render;
mod texts;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{ApiError, AppState};
use crate::quality::QualityError;
use texts::Lang;

pub use render::escape;

/// The session cookie of the pages.
pub const SESSION_COOKIE: &str = "hb_session";

/// The routes that take the session cookie as credentials.
pub const PAGE_ROUTES: &[&str] = &["/quality", "/capacity"];

/// The sign-in form's body: a token and where to go next.
const MAX_LOGIN_BODY: usize = 4 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/quality")
            .route(web::get().to(quality))
            .default_service(web::to(super::handlers::method_not_allowed)),
    )
    .service(
        web::resource("/capacity")
            .route(web::get().to(capacity::capacity))
            .default_service(web::to(super::handlers::method_not_allowed)),
    )
    .service(
        web::resource("/login")
            .route(web::get().to(login_form))
            .route(web::post().to(login))
            .default_service(web::to(super::handlers::method_not_allowed)),
    );
}

fn html(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        // The pages show figures of a region: never cached by a shared cache, never framed elsewhere.
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ))
        .body(body)
}

fn params(req: &HttpRequest) -> Vec<(String, String)> {
    url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect()
}

fn lang_of(req: &HttpRequest, params: &[(String, String)]) -> Lang {
    let asked = params.iter().find(|(k, _)| k == "lang").map(|(_, v)| v.as_str());
    let accept = req.headers().get(header::ACCEPT_LANGUAGE).and_then(|h| h.to_str().ok());
    Lang::negotiate(asked, accept)
}

/// Where the sign-in form sends a person next: only back to a page of the broker.
fn next_page(next: Option<&str>) -> String {
    match next {
        Some(next)
            if PAGE_ROUTES.iter().any(|p| next == *p || next.starts_with(&format!("{p}?"))) && next.len() <= 2048 =>
        {
            next.to_owned()
        }
        _ => "/quality".to_owned(),
    }
}

/// `GET /quality`: the quality page.
pub async fn quality(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    use actix_web::http::StatusCode;
    let params = params(&req);
    let lang = lang_of(&req, &params);
    let caller = match state.authorize(&req).await {
        Ok(caller) => caller,
        Err(ApiError::Unauthorized(_)) => {
            let next = format!("/quality?{}", req.query_string());
            return Ok(html(StatusCode::UNAUTHORIZED, render::login(lang, &next_page(Some(&next)), false)));
        }
        Err(ApiError::Forbidden(issues)) => {
            let problems: Vec<String> = issues.iter().map(|i| i.message.clone()).collect();
            return Ok(html(StatusCode::FORBIDDEN, render::refused(lang, &problems)));
        }
        Err(e) => return Err(e),
    };
    let asked: Vec<(String, String)> = params.iter().filter(|(k, v)| k != "lang" && !v.is_empty()).cloned().collect();
    let report = match state.quality.evaluate(&caller, &asked).await {
        Ok(report) => report,
        Err(QualityError::BadRequest(issues)) => {
            let problems: Vec<String> = issues.iter().map(|i| i.message.clone()).collect();
            return Ok(html(StatusCode::BAD_REQUEST, render::refused(lang, &problems)));
        }
        Err(QualityError::Forbidden(issues)) => {
            let problems: Vec<String> = issues.iter().map(|i| i.message.clone()).collect();
            return Ok(html(StatusCode::FORBIDDEN, render::refused(lang, &problems)));
        }
        Err(e) => return Err(e.into()),
    };
    let report: serde_json::Value = serde_json::from_slice(&report).map_err(|e| ApiError::Internal(e.into()))?;
    let snapshot = state.directory.snapshot();
    let mut organizations: Vec<(String, String)> = snapshot
        .organizations()
        .iter()
        .filter_map(|o| o.identifiers.first().map(|id| (format!("{}|{}", id.system(), id.value()), o.name.clone())))
        .collect();
    organizations.sort_by(|a, b| a.1.cmp(&b.1));
    let mut kinds: Vec<String> =
        snapshot.organizations().iter().flat_map(|o| o.events.iter().map(|e| e.to_string())).collect();
    kinds.sort();
    kinds.dedup();
    let choices = render::Choices { organizations, kinds, asked: &params };
    Ok(html(StatusCode::OK, render::quality(lang, &report, &choices)))
}

/// `GET /login`: the sign-in form.
pub async fn login_form(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.public(&req)?;
    let params = params(&req);
    let lang = lang_of(&req, &params);
    let next = next_page(params.iter().find(|(k, _)| k == "next").map(|(_, v)| v.as_str()));
    Ok(html(actix_web::http::StatusCode::OK, render::login(lang, &next, false)))
}

/// `POST /login`: a token sent with the form becomes the session cookie when it is valid.
pub async fn login(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    use actix_web::http::StatusCode;
    state.public(&req)?;
    if body.len() > MAX_LOGIN_BODY {
        return Err(ApiError::PayloadTooLarge(MAX_LOGIN_BODY));
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let lang = lang_of(&req, &params(&req));
    let next = next_page(field("next"));
    let token = field("token").unwrap_or_default().trim();
    // The same check as a bearer token on the API: unknown, expired and revoked tokens fail here too.
    let valid = !token.is_empty()
        && token.bytes().all(|b| b.is_ascii_graphic())
        && state.auth.authenticate(Some(&format!("Bearer {token}"))).await.is_ok();
    if !valid {
        return Ok(html(StatusCode::UNAUTHORIZED, render::login(lang, &next, true)));
    }
    let secure = if state.base_url.starts_with("https://") { "; Secure" } else { "" };
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, next))
        .insert_header((
            header::SET_COOKIE,
            format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/{secure}"),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// The session cookie's token, for a page route only.
pub fn session_token(req: &HttpRequest) -> Option<String> {
    let route = super::route(req);
    if !PAGE_ROUTES.contains(&route.as_str()) {
        return None;
    }
    // `Cookie: a=1; hb_session=...`; read by hand (actix-web's cookie feature is not built in).
    let cookies = req.headers().get(header::COOKIE)?.to_str().ok()?;
    cookies
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|t| !t.is_empty() && t.len() <= 256)
}
