//! Static tokens with a life and a scope (issue 12): expiry, `token list`, revocation by organisation,
//! regional auditors, ledger entries of issue and revocation, and the negative cache of unknown tokens.
//! The CLI is the real binary, pointed at the test's database.

use std::time::Duration;

use handover_broker::auth::{self, AuthError, Authenticator, Role, Scope, TokenRequest};
use handover_broker::model::OrgIdentifier;
use handover_broker::store::Store;
use serde_json::Value;

use crate::helpers::*;

const HOSPITAL_ID: &str = "http://fhir.nl/fhir/NamingSystem/ura|90000011";
const GP_ID: &str = "http://fhir.nl/fhir/NamingSystem/ura|90000012";

fn hospital() -> OrgIdentifier {
    OrgIdentifier::new(URA, "90000011").unwrap()
}

/// What one run of the CLI printed.
struct Run {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `handover-broker ARGS` against the test's database, with `env` on top.
async fn cli_with(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_handover-broker"));
    command
        .args(args)
        .env("HANDOVER_DATABASE_URL", &app.database_url)
        .env("HANDOVER_PROFILES_DIR", project_dir().join("profiles"))
        .env("HANDOVER_FIXTURES_DIR", project_dir().join("fixtures"))
        .env("RUST_LOG", "warn");
    for (name, value) in env {
        command.env(name, value);
    }
    // The broker under test runs on this runtime: wait for the CLI on a thread of the blocking pool.
    let output = tokio::task::spawn_blocking(move || command.output().expect("the binary runs")).await.unwrap();
    Run {
        ok: output.status.success(),
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

async fn cli(app: &TestApp, args: &[&str]) -> Run {
    cli_with(app, args, &[]).await
}

/// `token issue ARGS`: the token, alone on stdout.
async fn issue(app: &TestApp, args: &[&str]) -> String {
    let run = cli(app, &[&["token", "issue"], args].concat()).await;
    assert!(run.ok, "token issue {args:?} failed: {}", run.stderr);
    let token = run.stdout.trim_end_matches('\n');
    assert!(token.starts_with("hbt_") && !token.contains('\n'), "stdout is the token alone: {:?}", run.stdout);
    token.to_owned()
}

/// `token list --json`, one object a line.
async fn listed(app: &TestApp) -> Vec<Value> {
    let run = cli(app, &["token", "list", "--json"]).await;
    assert!(run.ok, "{}", run.stderr);
    run.stdout.lines().map(|line| serde_json::from_str(line).expect("one JSON object a line")).collect()
}

fn seconds_from_now(rfc3339: &str) -> i64 {
    let at = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).unwrap();
    (at - time::OffsetDateTime::now_utc()).whole_seconds()
}

#[tokio::test]
async fn a_token_past_its_expiry_gets_401_with_an_operation_outcome() {
    let app = spawn_app().await;
    let request = TokenRequest::new(Role::Sender).lifetime(Duration::from_secs(1));
    let issued = auth::issue(&app.store, &hospital(), &request).await.unwrap();
    assert_eq!(app.post_message(&issued.token, &discharge()).await.status().as_u16(), 202);

    tokio::time::sleep(Duration::from_millis(1_300)).await;
    // Twice: the second answer comes from the negative cache and must say the same.
    for _ in 0..2 {
        let response = app.post_message(&issued.token, &discharge()).await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body = outcome(response, 401).await;
        assert!(issues_text(&body).contains("the token has expired"), "{}", issues_text(&body));
    }
    assert_eq!(app.store.message_count().await.unwrap(), 1);
}

#[tokio::test]
async fn tokens_live_for_the_configured_default_or_for_expires_in() {
    let app = spawn_app().await;
    // The library's default is 90 days.
    let issued = auth::issue_token(&app.store, &hospital(), Role::Sender).await.unwrap();
    let days = (issued.expires_at.as_i64() - handover_broker::time::Millis::now().as_i64()) / 86_400_000;
    assert!((89..=90).contains(&days), "{days} days");

    let token = issue(&app, &["--org", HOSPITAL_ID, "--expires-in", "12h"]).await;
    let configured = cli_with(
        &app,
        &["token", "issue", "--org", HOSPITAL_ID],
        &[("HANDOVER_TOKENS__DEFAULT_LIFETIME_SECS", "3600")],
    )
    .await;
    assert!(configured.ok, "{}", configured.stderr);
    let listed = listed(&app).await;
    assert_eq!(listed.len(), 3);
    let lives: Vec<i64> = listed.iter().map(|t| seconds_from_now(t["expires"].as_str().unwrap())).collect();
    assert!((90 * 86_400 - 120..=90 * 86_400).contains(&lives[0]), "{lives:?}");
    assert!((12 * 3600 - 120..=12 * 3600).contains(&lives[1]), "{lives:?}");
    assert!((3600 - 120..=3600).contains(&lives[2]), "{lives:?}");
    assert_eq!(app.post_message(&token, &discharge()).await.status().as_u16(), 202);

    for bad in ["soon", "0s", "3600"] {
        let run = cli(&app, &["token", "issue", "--org", HOSPITAL_ID, "--expires-in", bad]).await;
        assert!(!run.ok && run.stdout.is_empty(), "--expires-in {bad} must be refused");
        assert!(run.stderr.contains("--expires-in"), "{}", run.stderr);
    }
    assert_eq!(app.store.tokens().await.unwrap().len(), 3, "a refused issue stores nothing");
}

#[tokio::test]
async fn a_cli_token_with_a_short_life_expires() {
    let app = spawn_app().await;
    let token = issue(&app, &["--org", HOSPITAL_ID, "--expires-in", "1s"]).await;
    assert_eq!(app.post_message(&token, &discharge()).await.status().as_u16(), 202);
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let body = outcome(app.post_message(&token, &discharge()).await, 401).await;
    assert!(issues_text(&body).contains("the token has expired"), "{}", issues_text(&body));
    let listed = listed(&app).await;
    assert_eq!((listed[0]["expired"].as_bool(), listed[0]["revoked"].as_bool()), (Some(true), Some(false)));
    let table = cli(&app, &["token", "list"]).await;
    assert!(table.stdout.lines().nth(1).unwrap().ends_with("expired"), "{}", table.stdout);
}

#[tokio::test]
async fn the_list_shows_every_token_but_never_a_token_or_its_hash() {
    let app = spawn_app().await;
    let sender = issue(&app, &["--org", HOSPITAL_ID]).await;
    let auditor = issue(&app, &["--org", GP_ID, "--role", "auditor", "--regional", "--expires-in", "30d"]).await;
    let revoked = issue(&app, &["--org", HOSPITAL_ID, "--role", "admin"]).await;
    assert!(cli(&app, &["token", "revoke", &revoked]).await.ok);

    let json = cli(&app, &["token", "list", "--json"]).await;
    let table = cli(&app, &["token", "list"]).await;
    assert!(json.ok && table.ok, "{}{}", json.stderr, table.stderr);
    for secret in [&sender, &auditor, &revoked] {
        for (what, text) in [("--json", &json.stdout), ("table", &table.stdout)] {
            assert!(!text.contains(secret.as_str()), "{what} shows a token");
            assert!(!text.contains(&auth::hash_token(secret)), "{what} shows a token's hash");
        }
    }

    let listed = listed(&app).await;
    assert_eq!(listed.len(), 3);
    let by_role = |role: &str| listed.iter().find(|t| t["role"] == role).unwrap().clone();
    let stored = app.store.tokens().await.unwrap();
    for token in &listed {
        let keys: Vec<&str> = token.as_object().unwrap().keys().map(String::as_str).collect();
        let expected = [
            "expired",
            "expires",
            "issued",
            "org",
            "revoked",
            "revoked_at",
            "role",
            "scope",
            "smart_client",
            "token_id",
        ];
        assert_eq!(keys, expected);
        assert_eq!(token["smart_client"], Value::Null, "issued by the operator, not to a SMART client");
        assert!(stored.iter().any(|s| s.token_id == token["token_id"]), "the id is the stored one");
        assert!(seconds_from_now(token["issued"].as_str().unwrap()).abs() < 120);
    }
    let sender = by_role("sender");
    assert_eq!((sender["org"].as_str(), sender["scope"].as_str()), (Some("zzl-hospital"), Some("organization")));
    assert_eq!((sender["revoked"].as_bool(), sender["expired"].as_bool()), (Some(false), Some(false)));
    let auditor = by_role("auditor");
    assert_eq!((auditor["org"].as_str(), auditor["scope"].as_str()), (Some("gp-heerlen"), Some("regional")));
    assert!((30 * 86_400 - 120..=30 * 86_400).contains(&seconds_from_now(auditor["expires"].as_str().unwrap())));
    let admin = by_role("admin");
    assert_eq!(admin["revoked"], true);
    assert!(admin["revoked_at"].is_string());

    // The table: a header and one row per token, with its state.
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", table.stdout);
    assert!(lines[0].starts_with("TOKEN ID"));
    for token in &listed {
        let row = lines.iter().find(|l| l.starts_with(token["token_id"].as_str().unwrap())).expect("a row per token");
        let state = if token["revoked"] == true { "revoked" } else { "live" };
        for field in [&token["org"], &token["role"], &token["scope"], &token["issued"], &token["expires"]] {
            assert!(row.contains(field.as_str().unwrap()), "{row} lacks {field}");
        }
        assert!(row.ends_with(state), "{row}");
    }
}

#[tokio::test]
async fn revoking_an_organisation_ends_each_of_its_live_tokens_and_no_others() {
    let app = spawn_app().await;
    let first = issue(&app, &["--org", HOSPITAL_ID]).await;
    let second = issue(&app, &["--org", HOSPITAL_ID, "--role", "auditor"]).await;
    let already = issue(&app, &["--org", HOSPITAL_ID]).await;
    assert!(cli(&app, &["token", "revoke", &already]).await.ok);
    let gp = issue(&app, &["--org", GP_ID]).await;

    let run = cli(&app, &["token", "revoke", "--org", HOSPITAL_ID]).await;
    assert!(run.ok, "{}", run.stderr);
    assert!(run.stderr.contains("revoked 2 token(s) of organisation zzl-hospital"), "{}", run.stderr);
    for token in [&first, &second, &already] {
        outcome(app.post_message(token, &discharge()).await, 401).await;
    }
    assert_eq!(app.get(Some(&gp), "/fhir/mailbox").await.status().as_u16(), 200, "the GP's token still works");

    // Again: nothing left to revoke, which is no error.
    let again = cli(&app, &["token", "revoke", "--org", HOSPITAL_ID]).await;
    assert!(again.ok && again.stderr.contains("revoked 0 token(s)"), "{}", again.stderr);
    // An unknown organisation, or both a token and --org, or neither: refused.
    let unknown = cli(&app, &["token", "revoke", "--org", "http://fhir.nl/fhir/NamingSystem/ura|00000000"]).await;
    assert!(!unknown.ok && unknown.stderr.contains("no organisation"), "{}", unknown.stderr);
    assert_eq!(cli(&app, &["token", "revoke", &gp, "--org", GP_ID]).await.code, Some(2));
    assert_eq!(cli(&app, &["token", "revoke"]).await.code, Some(2));
    // By id, as before; an id that is not (or no longer) live is an error.
    let id = listed(&app).await.into_iter().find(|t| t["org"] == "gp-heerlen").unwrap()["token_id"].clone();
    assert!(cli(&app, &["token", "revoke", id.as_str().unwrap()]).await.ok);
    assert!(!cli(&app, &["token", "revoke", id.as_str().unwrap()]).await.ok);
    outcome(app.get(Some(&gp), "/fhir/mailbox").await, 401).await;
}

#[tokio::test]
async fn auditor_tokens_are_scoped_to_their_organisation_unless_regional() {
    let app = spawn_app().await;
    let own = issue(&app, &["--org", GP_ID, "--role", "auditor"]).await;
    let regional = issue(&app, &["--org", GP_ID, "--role", "auditor", "--regional"]).await;
    let auth = Authenticator::new(app.store.clone());
    let principal = auth.authenticate(Some(&format!("Bearer {own}"))).await.unwrap();
    assert_eq!((principal.role, principal.scope, principal.is_regional()), (Role::Auditor, Scope::Organization, false));
    assert_eq!(principal.org.as_str(), "gp-heerlen");
    let principal = auth.authenticate(Some(&format!("Bearer {regional}"))).await.unwrap();
    assert_eq!((principal.role, principal.scope, principal.is_regional()), (Role::Auditor, Scope::Regional, true));
    assert_eq!(app.get(Some(&regional), "/ledger/verify").await.status().as_u16(), 200);

    // Demo tokens stay organisation senders.
    let organizations = app.store.organizations().await.unwrap();
    let demo = Authenticator::new(app.store.clone()).with_demo_tokens(&organizations);
    let principal = demo.authenticate(Some(&format!("Bearer {HOSPITAL}"))).await.unwrap();
    assert_eq!((principal.role, principal.scope), (Role::Sender, Scope::Organization));
}

#[tokio::test]
async fn a_regional_scope_is_refused_for_every_role_but_auditor() {
    let app = spawn_app().await;
    for role in ["sender", "admin"] {
        let run = cli(&app, &["token", "issue", "--org", HOSPITAL_ID, "--role", role, "--regional"]).await;
        assert!(!run.ok && run.stdout.is_empty(), "--regional --role {role} must be refused");
        assert!(run.stderr.contains("--regional is only for auditor tokens"), "{}", run.stderr);
    }
    for role in [Role::Sender, Role::Admin] {
        let request = TokenRequest::new(role).scope(Scope::Regional);
        let refused = auth::issue(&app.store, &hospital(), &request).await;
        assert!(matches!(refused, Err(AuthError::RegionalNotAuditor(r)) if r == role), "{refused:?}");
    }
    assert!(app.store.tokens().await.unwrap().is_empty(), "nothing was issued");
    assert!(app.store.ledger_tail(100).await.unwrap().iter().all(|e| e.event.as_str() != "token-issued"));
}

#[tokio::test]
async fn issuing_and_revoking_are_ledger_entries_without_the_token() {
    let app = spawn_app().await;
    let regional = issue(&app, &["--org", GP_ID, "--role", "auditor", "--regional", "--expires-in", "30d"]).await;
    let sender = auth::issue_token(&app.store, &hospital(), Role::Sender).await.unwrap();
    let tokens = app.store.tokens().await.unwrap();
    let regional_id = tokens.iter().find(|t| t.role == "auditor").unwrap().token_id.clone();
    assert!(cli(&app, &["token", "revoke", &regional]).await.ok);
    auth::revoke_organization(&app.store, &hospital()).await.unwrap();

    let entries = app.store.ledger_tail(4).await.unwrap();
    let events: Vec<&str> = entries.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events, ["token-issued", "token-issued", "token-revoked", "token-revoked"]);
    let orgs: Vec<Option<&str>> = entries.iter().map(|e| e.receiver_org.as_ref().map(|o| o.as_str())).collect();
    assert_eq!(orgs, [Some("gp-heerlen"), Some("zzl-hospital"), Some("gp-heerlen"), Some("zzl-hospital")]);
    for entry in &entries {
        // The operator at the CLI is no organisation: no actor.
        assert_eq!((entry.actor_org.as_ref(), entry.sender_org.as_ref()), (None, None));
        let outcome = entry.outcome.as_deref().unwrap();
        for secret in [&regional, &sender.token] {
            assert!(!outcome.contains(secret.as_str()) && !outcome.contains(&auth::hash_token(secret)), "{outcome}");
        }
    }
    let issued = entries[0].outcome.as_deref().unwrap();
    let expires = tokens.iter().find(|t| t.role == "auditor").unwrap().expires_at.unwrap().to_rfc3339_secs();
    assert_eq!(issued, format!("token {regional_id}: role auditor regional, expires {expires}"));
    assert!(issued.ends_with('Z') && seconds_from_now(&expires) > 29 * 86_400);
    assert_eq!(
        entries[1].outcome.as_deref().unwrap(),
        format!("token {}: role sender, expires {}", sender.token_id, sender.expires_at.to_rfc3339_secs())
    );
    assert_eq!(entries[2].outcome.as_deref().unwrap(), format!("token {regional_id}: role auditor regional"));
    assert_eq!(entries[3].outcome.as_deref().unwrap(), format!("token {}: role sender", sender.token_id));
    assert!(app.store.verify_ledger().await.unwrap().ok);

    // An auditor sees them as AuditEvents.
    let auditor = issue(&app, &["--org", GP_ID, "--role", "auditor", "--regional"]).await;
    let response = app.get(Some(&auditor), "/fhir/AuditEvent?event=token-revoked").await;
    assert_eq!(response.status().as_u16(), 200);
    let bundle: Value = response.json().await.unwrap();
    let codes: Vec<&str> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["resource"]["subtype"][0]["code"].as_str())
        .collect();
    assert_eq!(codes, ["token-revoked", "token-revoked"], "{bundle}");
}

#[tokio::test]
async fn repeated_unknown_tokens_are_answered_without_a_store_query() {
    let app = spawn_app().await;
    let auth = Authenticator::new(app.store.clone());
    let unknown = "Bearer hbt_this-token-was-never-issued";
    for _ in 0..50 {
        assert!(matches!(auth.authenticate(Some(unknown)).await, Err(AuthError::Unknown)));
    }
    assert_eq!(auth.store_lookups(), 1, "one query for fifty tries");
    // Clones (each HTTP worker's) share the cache; another unknown token costs its own query.
    let clone = auth.clone();
    assert!(matches!(clone.authenticate(Some(unknown)).await, Err(AuthError::Unknown)));
    assert!(matches!(clone.authenticate(Some("Bearer hbt_another")).await, Err(AuthError::Unknown)));
    assert_eq!(auth.store_lookups(), 2);
    // A valid token is looked up every time: revoking it takes effect at once.
    let issued = auth.issue(&hospital(), &TokenRequest::new(Role::Sender)).await.unwrap();
    let bearer = format!("Bearer {}", issued.token);
    for _ in 0..3 {
        assert!(auth.authenticate(Some(&bearer)).await.is_ok());
    }
    assert_eq!(auth.store_lookups(), 5);
    auth::revoke(&app.store, &issued.token_id).await.unwrap();
    assert!(matches!(auth.authenticate(Some(&bearer)).await, Err(AuthError::Unknown)));
    assert!(matches!(auth.authenticate(Some(&bearer)).await, Err(AuthError::Unknown)));
    assert_eq!(auth.store_lookups(), 6);

    // With a short-lived cache, the store is asked again once the entry is older than it.
    let short = Authenticator::new(app.store.clone()).with_rejected_cache(100, Duration::from_millis(200));
    assert!(short.authenticate(Some(unknown)).await.is_err());
    assert!(short.authenticate(Some(unknown)).await.is_err());
    assert_eq!(short.store_lookups(), 1);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(short.authenticate(Some(unknown)).await.is_err());
    assert_eq!(short.store_lookups(), 2);
}

#[tokio::test]
async fn a_cached_unknown_token_is_refused_even_with_the_database_gone() {
    let app = spawn_app().await;
    // An authenticator over a pool of its own, which the test closes.
    let store = Store::open(&app.database_url, 2, 8).await.unwrap();
    let auth = Authenticator::new(store.clone());
    let unknown = "Bearer hbt_unknown-to-the-store";
    assert!(matches!(auth.authenticate(Some(unknown)).await, Err(AuthError::Unknown)));
    store.close().await;
    for _ in 0..10 {
        assert!(matches!(auth.authenticate(Some(unknown)).await, Err(AuthError::Unknown)));
    }
    // A token not seen before needs the store, which is gone.
    assert!(matches!(auth.authenticate(Some("Bearer hbt_never-seen")).await, Err(AuthError::Store(_))));
}
