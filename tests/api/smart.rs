//! SMART Backend Services: discovery, `POST /oauth/token` (client credentials with a JWT client
//! assertion signed RS384 or ES384 by a key of the client's registered JWK Set), access tokens that
//! carry the registered roles end to end, and each way a request is refused.

use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use handover_broker::auth::hash_token;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

use crate::helpers::*;

const SMART_CLIENT_URL: &str = "https://fhir.handover-broker.eu/StructureDefinition/smart-client";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const CLIENT_ID: &str = "zzl-hospital-ehr";
const SEND: &str = "system/Bundle.crs";
const AUDIT: &str = "system/AuditEvent.rs";

/// The operating system's random numbers, for the `rsa` crate's key generation.
struct OsRng;

impl rsa::rand_core::TryRng for OsRng {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut bytes = [0u8; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut bytes = [0u8; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        getrandom::fill(dst).expect("the OS has random numbers");
        Ok(())
    }
}

impl rsa::rand_core::TryCryptoRng for OsRng {}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A client's key pair: the private half signs assertions, the public half goes in the JWK Set.
#[derive(Clone)]
struct Key {
    kid: &'static str,
    alg: Algorithm,
    signing: EncodingKey,
    public: Value,
}

fn rsa_key(kid: &'static str) -> Key {
    let private = rsa::PrivateKey::new(&mut OsRng, 2048).expect("an RSA key");
    let der = private.to_pkcs1_der().expect("PKCS#1");
    let public = private.to_public_key();
    Key {
        kid,
        alg: Algorithm::RS384,
        signing: EncodingKey::from_rsa_der(der.as_bytes()),
        public: json!({
            "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS384",
            "n": b64(&public.n_bytes()), "e": b64(&public.e_bytes())
        }),
    }
}

fn p384_key(kid: &'static str) -> Key {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).expect("a P-384 key");
    let raw = pair.public_key_raw();
    Key {
        kid,
        alg: Algorithm::ES384,
        signing: EncodingKey::from_ec_der(&pair.serialize_der()),
        public: json!({ "kty": "EC", "crv": "P-384", "kid": kid, "x": b64(&raw[1..49]), "y": b64(&raw[49..]) }),
    }
}

/// Keys made once for the whole binary: an RSA key takes a while to generate.
struct Keys {
    rsa: Key,
    ec: Key,
    /// Registered nowhere.
    stranger: Key,
}

static KEYS: LazyLock<Keys> =
    LazyLock::new(|| Keys { rsa: rsa_key("rsa-1"), ec: p384_key("ec-1"), stranger: rsa_key("stranger") });

fn jwks(keys: &[&Key]) -> String {
    json!({ "keys": keys.iter().map(|k| k.public.clone()).collect::<Vec<_>>() }).to_string()
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

/// Registers the hospital's SMART client, with `roles` (none: the default), through the admin API:
/// the exported directory with the extension added to the hospital's Organization, imported back.
async fn register(app: &TestApp, client_id: &str, jwks: &str, roles: &[&str]) -> reqwest::Response {
    let admin = admin_token(app).await;
    let mut bundle: Value = app.get(Some(&admin), "/admin/directory").await.json().await.unwrap();
    let mut subs =
        vec![json!({ "url": "clientId", "valueString": client_id }), json!({ "url": "jwks", "valueString": jwks })];
    subs.extend(roles.iter().map(|role| json!({ "url": "role", "valueCode": role })));
    let hospital = bundle["entry"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["resource"]["id"] == "zzl-hospital")
        .expect("the hospital in the directory");
    let extensions = hospital["resource"]["extension"].as_array_mut().unwrap();
    extensions.retain(|x| x["url"] != SMART_CLIENT_URL);
    extensions.push(json!({ "url": SMART_CLIENT_URL, "extension": subs }));
    app.post_json(Some(&admin), "/admin/directory", &bundle).await
}

/// [`register`] with the RSA and EC keys, expecting success.
async fn registered(app: &TestApp, roles: &[&str]) {
    let response = register(app, CLIENT_ID, &jwks(&[&KEYS.rsa, &KEYS.ec]), roles).await;
    assert_eq!(response.status().as_u16(), 200, "{}", response.text().await.unwrap());
}

fn token_url(app: &TestApp) -> String {
    format!("{}/oauth/token", app.base)
}

/// The claims of a good assertion for `app`.
fn claims(app: &TestApp) -> Value {
    json!({
        "iss": CLIENT_ID, "sub": CLIENT_ID, "aud": token_url(app),
        "exp": now() + 240, "iat": now(), "jti": uuid::Uuid::new_v4().to_string()
    })
}

/// An assertion signed by `key`, with its kid.
fn sign(key: &Key, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.to_owned());
    jsonwebtoken::encode(&header, claims, &key.signing).expect("signed")
}

/// A token request with these form parameters.
async fn post_form(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    app.client
        .post(token_url(app))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("request sent")
}

async fn ask(app: &TestApp, assertion: &str, scope: &str) -> reqwest::Response {
    post_form(
        app,
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
            ("scope", scope),
        ],
    )
    .await
}

/// The access token of a successful answer.
async fn granted(response: reqwest::Response) -> (String, Value) {
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    (body["access_token"].as_str().expect("an access token").to_owned(), body)
}

/// Asserts an OAuth 2.0 error answer; returns its description.
async fn oauth_error(response: reqwest::Response, status: u16, error: &str) -> String {
    assert_eq!(response.status().as_u16(), status);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    body["error_description"].as_str().unwrap_or_default().to_owned()
}

/// Asserts the request was refused as a failed client authentication, with a `denied-access` ledger
/// entry of the hospital whose reason contains `reason`, and without the assertion.
async fn refused_client(app: &TestApp, assertion: &str, reason: &str) {
    oauth_error(ask(app, assertion, SEND).await, 401, "invalid_client").await;
    let entry = app.store.ledger_tail(1).await.unwrap().remove(0);
    assert_eq!(entry.event.as_str(), "denied-access");
    assert_eq!(entry.actor_org.as_ref().map(|o| o.as_str()), Some("zzl-hospital"));
    let outcome = entry.outcome.unwrap();
    assert!(outcome.starts_with("401 POST /oauth/token invalid_client: ") && outcome.contains(reason), "{outcome}");
    assert!(!outcome.contains(assertion.split('.').nth(1).unwrap()), "never the assertion");
}

#[tokio::test]
async fn the_smart_configuration_names_the_token_endpoint_and_what_it_takes() {
    let app = spawn_app().await;
    let response = app.get(None, "/.well-known/smart-configuration").await;
    assert_eq!(response.status().as_u16(), 200);
    let configuration: Value = response.json().await.unwrap();
    assert_eq!(configuration["token_endpoint"], token_url(&app));
    assert_eq!(configuration["token_endpoint_auth_methods_supported"], json!(["private_key_jwt"]));
    assert_eq!(configuration["token_endpoint_auth_signing_alg_values_supported"], json!(["RS384", "ES384"]));
    assert_eq!(configuration["grant_types_supported"], json!(["client_credentials"]));
    assert_eq!(configuration["scopes_supported"], json!([SEND, "system/MessageHeader.c", AUDIT]));
    assert!(configuration["capabilities"].as_array().unwrap().contains(&json!("client-confidential-asymmetric")));
    let wrong = app.client.post(format!("{}/.well-known/smart-configuration", app.base)).send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 405);
    assert_eq!(app.get(None, "/oauth/token").await.status().as_u16(), 405);
}

#[tokio::test]
async fn a_client_gets_a_token_with_an_rs384_assertion_and_sends_a_handover_with_it() {
    let app = spawn_app().await;
    registered(&app, &[]).await;
    let (token, body) = granted(ask(&app, &sign(&KEYS.rsa, &claims(&app)), SEND).await).await;
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["scope"], SEND);

    // Stored as its SHA-256 only, with the client, and a token-issued entry of the hospital itself.
    let stored = app.store.token_by_hash(&hash_token(&token)).await.unwrap().expect("stored by hash");
    assert_eq!((stored.org_id.as_str(), stored.role.as_str()), ("zzl-hospital", "sender"));
    assert_eq!(stored.client_id.as_deref(), Some(CLIENT_ID));
    let issued = app.store.ledger_tail(1).await.unwrap().remove(0);
    assert_eq!(issued.event.as_str(), "token-issued");
    assert_eq!(issued.actor_org.as_ref().map(|o| o.as_str()), Some("zzl-hospital"));
    let outcome = issued.outcome.unwrap();
    assert!(outcome.ends_with(&format!("SMART client {CLIENT_ID}")) && !outcome.contains(&token), "{outcome}");

    // The handover, with that token alone: accepted, its receipt readable, in the GP's mailbox.
    let response = app.post_message(&token, &discharge()).await;
    assert_eq!(response.status().as_u16(), 202);
    let ack: Value = response.json().await.unwrap();
    let tracking = tracking_id(&ack);
    assert_eq!(app.receipt(&token, tracking.as_ref()).await.status().as_u16(), 200);
    let mailbox: Value = app.get(Some(GP_HEERLEN), "/fhir/mailbox").await.json().await.unwrap();
    assert_eq!(mailbox["total"], 1);
    // A sender token is no auditor's.
    assert_eq!(app.get(Some(&token), "/fhir/AuditEvent").await.status().as_u16(), 403);
}

#[tokio::test]
async fn over_https_a_client_gets_a_token_with_an_es384_assertion_and_sends_with_that_token_alone() {
    let app = spawn_https_app().await;
    registered(&app, &[]).await;
    let (token, _) = granted(ask(&app, &sign(&KEYS.ec, &claims(&app)), SEND).await).await;
    let response = app.post_message(&token, &discharge()).await;
    assert_eq!(response.status().as_u16(), 202);
    let tracking = tracking_id(&response.json().await.unwrap());
    assert_eq!(app.receipt(&token, tracking.as_ref()).await.status().as_u16(), 200);
}

#[tokio::test]
async fn an_es384_assertion_without_kid_is_tried_against_each_key_and_auditor_scopes_give_an_auditor() {
    let app = spawn_app().await;
    registered(&app, &["sender", "auditor"]).await;
    let header = Header::new(Algorithm::ES384);
    let assertion = jsonwebtoken::encode(&header, &claims(&app), &KEYS.ec.signing).unwrap();
    let (token, body) = granted(ask(&app, &assertion, AUDIT).await).await;
    assert_eq!(body["scope"], AUDIT);
    assert_eq!(app.get(Some(&token), "/fhir/AuditEvent").await.status().as_u16(), 200);
    assert_eq!(app.post_message(&token, &discharge()).await.status().as_u16(), 403);
    // The same client may still ask for a sender token, with either name of the scope.
    let scopes = "system/MessageHeader.c system/Bundle.crs";
    let (_, body) = granted(ask(&app, &sign(&KEYS.rsa, &claims(&app)), scopes).await).await;
    assert_eq!(body["scope"], scopes);
}

#[tokio::test]
async fn an_assertion_for_another_audience_is_refused() {
    let app = spawn_app().await;
    registered(&app, &[]).await;
    for aud in
        [json!(format!("{}/oauth/token/", app.base)), json!("https://other.example/oauth/token"), json!(app.base)]
    {
        let mut claims = claims(&app);
        claims["aud"] = aud;
        refused_client(&app, &sign(&KEYS.rsa, &claims), "aud is not the token endpoint's URL").await;
    }
}

#[tokio::test]
async fn an_assertion_that_expired_or_expires_too_late_is_refused() {
    let app = spawn_app().await;
    registered(&app, &[]).await;
    let mut late = claims(&app);
    late["exp"] = json!(now() + 3600);
    refused_client(&app, &sign(&KEYS.rsa, &late), "exp is more than 5 minutes ahead").await;
    let mut passed = claims(&app);
    passed["exp"] = json!(now() - 120);
    refused_client(&app, &sign(&KEYS.ec, &passed), "exp has passed").await;
    let mut without = claims(&app);
    without.as_object_mut().unwrap().remove("exp");
    refused_client(&app, &sign(&KEYS.rsa, &without), "required").await;
}

#[tokio::test]
async fn a_replayed_assertion_is_refused() {
    let app = spawn_app().await;
    registered(&app, &[]).await;
    let assertion = sign(&KEYS.rsa, &claims(&app));
    granted(ask(&app, &assertion, SEND).await).await;
    refused_client(&app, &assertion, "jti was used before").await;
    // Another assertion with the same jti is a replay too; one without jti is refused.
    let mut same_jti = claims(&app);
    same_jti["jti"] = json!(jsonwebtoken::dangerous::insecure_decode::<Value>(&assertion).unwrap().claims["jti"]);
    refused_client(&app, &sign(&KEYS.ec, &same_jti), "replay").await;
    let mut without = claims(&app);
    without.as_object_mut().unwrap().remove("jti");
    refused_client(&app, &sign(&KEYS.rsa, &without), "jti must be").await;
    assert_eq!(app.store.tokens().await.unwrap().len(), 2, "one token, and the admin token of `register`");
}

#[tokio::test]
async fn an_unknown_kid_or_a_key_outside_the_set_is_refused() {
    let app = spawn_app().await;
    registered(&app, &[]).await;
    let mut unknown_kid = KEYS.rsa.clone();
    unknown_kid.kid = "rsa-2";
    refused_client(&app, &sign(&unknown_kid, &claims(&app)), "with the assertion's kid").await;
    // A key that is not in the set, named by the kid of one that is, or by none.
    let mut impostor = KEYS.stranger.clone();
    impostor.kid = "rsa-1";
    refused_client(&app, &sign(&impostor, &claims(&app)), "verifies its signature").await;
    let anonymous =
        jsonwebtoken::encode(&Header::new(Algorithm::RS384), &claims(&app), &KEYS.stranger.signing).unwrap();
    refused_client(&app, &anonymous, "verifies the assertion's signature").await;
    // A key of the set used with the other key's kid (a mismatched algorithm) verifies nothing either.
    let mut swapped = KEYS.ec.clone();
    swapped.kid = "rsa-1";
    refused_client(&app, &sign(&swapped, &claims(&app)), "kid").await;
}

#[tokio::test]
async fn alg_none_and_hmac_assertions_are_refused() {
    let app = spawn_app().await;
    registered(&app, &[]).await;
    let before = app.store.ledger_tail(1000).await.unwrap().len();
    let payload = b64(claims(&app).to_string().as_bytes());
    let none = format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"JWT"}"#));
    // HS256 keyed with the public key's text: the classic confusion of a verifier that lets the header
    // choose the algorithm.
    let secret = EncodingKey::from_secret(KEYS.rsa.public.to_string().as_bytes()).unwrap();
    let mut hs256 = Header::new(Algorithm::HS256);
    hs256.kid = Some("rsa-1".to_owned());
    let hmac = jsonwebtoken::encode(&hs256, &claims(&app), &secret).unwrap();
    let rs256 = {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("rsa-1".to_owned());
        jsonwebtoken::encode(&header, &claims(&app), &KEYS.rsa.signing).unwrap()
    };
    for assertion in [none, hmac, rs256] {
        let description = oauth_error(ask(&app, &assertion, SEND).await, 401, "invalid_client").await;
        assert!(description.contains("RS384 or ES384"), "{description}");
    }
    // Refused before any client is looked at: nobody to name in the ledger, so only the log has them.
    assert_eq!(app.store.ledger_tail(1000).await.unwrap().len(), before);
}

#[tokio::test]
async fn a_wrong_issuer_or_subject_is_refused() {
    let app = spawn_app().await;
    registered(&app, &[]).await;
    let before = app.store.ledger_tail(1000).await.unwrap().len();
    // An unknown client: told no more than that the assertion could not be verified, and not ledgered
    // (it names no organisation of the directory).
    let mut stranger = claims(&app);
    stranger["iss"] = json!("someone-else");
    stranger["sub"] = json!("someone-else");
    let unknown = oauth_error(ask(&app, &sign(&KEYS.rsa, &stranger), SEND).await, 401, "invalid_client").await;
    let mut bad_signature = KEYS.stranger.clone();
    bad_signature.kid = "rsa-1";
    let forged = oauth_error(ask(&app, &sign(&bad_signature, &claims(&app)), SEND).await, 401, "invalid_client").await;
    assert_eq!(unknown, forged, "an unknown client and a forged signature get the same answer");
    assert_eq!(app.store.ledger_tail(1000).await.unwrap().len(), before + 1, "only the forgery names the hospital");

    let mut other_subject = claims(&app);
    other_subject["sub"] = json!("gp-heerlen");
    refused_client(&app, &sign(&KEYS.rsa, &other_subject), "sub is not the client id").await;
    // client_id, when given, must be the assertion's iss.
    let assertion = sign(&KEYS.rsa, &claims(&app));
    let response = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &assertion),
            ("scope", SEND),
            ("client_id", "gp-heerlen-ehr"),
        ],
    )
    .await;
    oauth_error(response, 401, "invalid_client").await;
}

#[tokio::test]
async fn a_scope_the_client_may_not_have_is_refused() {
    let app = spawn_app().await;
    registered(&app, &[]).await;
    for scope in [AUDIT, "system/*.cruds", "user/Patient.rs", "system/Bundle.crs system/AuditEvent.rs"] {
        let description =
            oauth_error(ask(&app, &sign(&KEYS.rsa, &claims(&app)), scope).await, 400, "invalid_scope").await;
        assert!(description.contains("scopes supported"), "{description}");
    }
    let entry = app.store.ledger_tail(1).await.unwrap().remove(0);
    assert_eq!(entry.event.as_str(), "denied-access");
    assert_eq!(entry.actor_org.as_ref().map(|o| o.as_str()), Some("zzl-hospital"));
    assert!(entry.outcome.unwrap().starts_with("400 POST /oauth/token invalid_scope"));
    let without_scope = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &sign(&KEYS.rsa, &claims(&app))),
        ],
    )
    .await;
    oauth_error(without_scope, 400, "invalid_request").await;
    // The auditor role only once the directory allows it.
    registered(&app, &["auditor"]).await;
    granted(ask(&app, &sign(&KEYS.rsa, &claims(&app)), AUDIT).await).await;
    oauth_error(ask(&app, &sign(&KEYS.rsa, &claims(&app)), SEND).await, 400, "invalid_scope").await;
}

#[tokio::test]
async fn an_access_token_past_its_lifetime_is_refused() {
    let app = spawn_app_with(|s| {
        s.smart.access_token_lifetime_secs = 1;
    })
    .await;
    registered(&app, &[]).await;
    let (token, body) = granted(ask(&app, &sign(&KEYS.rsa, &claims(&app)), SEND).await).await;
    assert_eq!(body["expires_in"], 1);
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let refused = outcome(app.post_message(&token, &discharge()).await, 401).await;
    assert!(issues_text(&refused).contains("expired"), "{refused}");
}

#[tokio::test]
async fn malformed_token_requests_get_oauth_errors() {
    let app = spawn_app().await;
    registered(&app, &[]).await;
    let assertion = sign(&KEYS.rsa, &claims(&app));
    let with =
        |grant: &'static str| [("grant_type", grant), ("client_assertion_type", ASSERTION_TYPE), ("scope", SEND)];
    let form = with("authorization_code");
    oauth_error(post_form(&app, &form).await, 400, "unsupported_grant_type").await;
    oauth_error(post_form(&app, &form[1..]).await, 400, "invalid_request").await;
    oauth_error(post_form(&app, &with("client_credentials")).await, 401, "invalid_client").await;
    let twice = [("grant_type", "client_credentials"), ("grant_type", "client_credentials")];
    oauth_error(post_form(&app, &twice).await, 400, "invalid_request").await;
    let wrong_type = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"),
        ("client_assertion", assertion.as_str()),
        ("scope", SEND),
    ];
    oauth_error(post_form(&app, &wrong_type).await, 401, "invalid_client").await;
    for garbage in ["not-a-jwt", "a.b.c", ""] {
        oauth_error(ask(&app, garbage, SEND).await, 401, "invalid_client").await;
    }
    let json_body = app.client.post(token_url(&app)).json(&json!({ "grant_type": "client_credentials" })).send();
    oauth_error(json_body.await.unwrap(), 400, "invalid_request").await;
    let huge = format!("grant_type=client_credentials&scope={}", "a".repeat(9000));
    let response = app
        .client
        .post(token_url(&app))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .await
        .unwrap();
    oauth_error(response, 413, "invalid_request").await;
}

#[tokio::test]
async fn token_requests_count_against_the_organisations_rate() {
    let app = spawn_app_with(|s| {
        s.limits.requests_per_second = 1;
        s.limits.request_burst = 2;
    })
    .await;
    registered(&app, &[]).await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(ask(&app, &sign(&KEYS.ec, &claims(&app)), SEND).await);
    }
    let last = statuses.pop().unwrap();
    assert!(last.headers().contains_key("retry-after"));
    oauth_error(last, 429, "temporarily_unavailable").await;
}

#[tokio::test]
async fn the_directory_refuses_private_keys_and_a_client_id_used_twice() {
    let app = spawn_app().await;
    let admin = admin_token(&app).await;
    let private = json!({ "keys": [{ "kty": "RSA", "n": KEYS.rsa.public["n"], "e": "AQAB", "d": "AQAB" }] });
    let refused = outcome(register(&app, CLIENT_ID, &private.to_string(), &[]).await, 422).await;
    assert!(issues_text(&refused).contains("private"), "{refused}");
    let too_big = format!("{}{}", jwks(&[&KEYS.rsa]), " ".repeat(16 * 1024));
    outcome(register(&app, CLIENT_ID, &too_big, &[]).await, 422).await;
    let weak = json!({ "keys": [{ "kty": "RSA", "n": b64(&[0xc5; 128]), "e": "AQAB" }] });
    outcome(register(&app, CLIENT_ID, &weak.to_string(), &[]).await, 422).await;

    // The GP registers a client id first; the hospital may not take the same one.
    let mut bundle: Value = app.get(Some(&admin), "/admin/directory").await.json().await.unwrap();
    let gp = bundle["entry"].as_array_mut().unwrap().iter_mut().find(|e| e["resource"]["id"] == "gp-heerlen").unwrap();
    gp["resource"]["extension"].as_array_mut().unwrap().push(json!({ "url": SMART_CLIENT_URL, "extension": [
        { "url": "clientId", "valueString": CLIENT_ID }, { "url": "jwks", "valueString": jwks(&[&KEYS.ec]) }
    ] }));
    assert_eq!(app.post_json(Some(&admin), "/admin/directory", &bundle).await.status().as_u16(), 200);
    let taken = outcome(register(&app, CLIENT_ID, &jwks(&[&KEYS.rsa]), &[]).await, 422).await;
    assert!(issues_text(&taken).contains("SMART client id"), "{taken}");

    // Exported as registered; the admin view shows the client, not its keys.
    let exported: Value = app.get(Some(&admin), "/admin/directory").await.json().await.unwrap();
    let gp = exported["entry"].as_array().unwrap().iter().find(|e| e["resource"]["id"] == "gp-heerlen").unwrap();
    let extension =
        gp["resource"]["extension"].as_array().unwrap().iter().find(|x| x["url"] == SMART_CLIENT_URL).unwrap();
    assert_eq!(extension["extension"][1]["valueString"], jwks(&[&KEYS.ec]));
    assert_eq!(extension["extension"][2], json!({ "url": "role", "valueCode": "sender" }));
    let view: Value = app.get(Some(&admin), "/admin/organizations/gp-heerlen").await.json().await.unwrap();
    assert_eq!(view["smart_client"], json!({ "client_id": CLIENT_ID, "roles": ["sender"], "keys": 1 }));
    let change =
        app.store.ledger_tail(1000).await.unwrap().into_iter().rev().find(|e| e.event.as_str() == "directory-changed");
    assert!(change.unwrap().outcome.unwrap().contains(&format!("SMART client none -> {CLIENT_ID} (sender; 1 keys)")));
}

async fn count(app: &TestApp, table: &str) -> i64 {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
    let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}")).fetch_one(&mut db).await.unwrap();
    row.try_get("n").unwrap()
}

#[tokio::test]
async fn used_assertions_and_long_expired_access_tokens_are_purged() {
    use handover_broker::store::TokenChange;
    use handover_broker::time::Millis;
    let app = spawn_app().await;
    registered(&app, &[]).await;
    granted(ask(&app, &sign(&KEYS.rsa, &claims(&app)), SEND).await).await;
    assert_eq!(count(&app, "smart_assertions").await, 1);
    // Not yet: the assertion could still pass its exp check, the token is live.
    let soon = Millis::now().plus_secs(60);
    app.store.writer().change_tokens(TokenChange::Purge { now: soon, tokens_before: soon }).await.unwrap();
    assert_eq!((count(&app, "smart_assertions").await, app.store.tokens().await.unwrap().len()), (1, 2));
    // Past both: the assertion's row and the SMART token go; the operator's admin token stays.
    let later = Millis::now().plus_secs(600);
    app.store.writer().change_tokens(TokenChange::Purge { now: later, tokens_before: later }).await.unwrap();
    assert_eq!(count(&app, "smart_assertions").await, 0);
    let tokens = app.store.tokens().await.unwrap();
    assert_eq!(tokens.iter().map(|t| (t.role.as_str(), t.client_id.is_some())).collect::<Vec<_>>(), [("admin", false)]);
}
