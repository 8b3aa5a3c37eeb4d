//! The structure-aware fuzzer (issue 17): real handovers (the project's complete fixtures) mutated the
//! way broken or hostile senders break them — members removed, values of the wrong type, strings empty,
//! huge or of control characters, entries repeated, elements nested deeper, resource types swapped —
//! and, for FHIR XML, the XML written from them cut, doubled or spliced.
//!
//! Two rounds, each bounded by a number of cases (`HANDOVER_FUZZ_CASES`, 1000 by default; a quarter of that over HTTP; CI runs the
//! default):
//! - in process, parse -> envelope -> base R4 and profile validation, JSON and XML: never a panic, and
//!   a refusal always says why (at least one error issue with a code and a text);
//! - over HTTP against the running broker: never a 5xx, every refusal an OperationOutcome, nothing stored
//!   for a refusal and every refusal ledgered (`received` + `rejected`).
//!
//! A failing case is shrunk by proptest and kept in `proptest-regressions/` beside this file's path, so
//! that every later run tries it first: check that file in with the fix.

use std::sync::OnceLock;

use actix_web::web::Bytes;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use serde_json::{json, Value};

use crate::faults::write_report;
use crate::helpers::*;
use handover_broker::config::Settings;
use handover_broker::fhirxml::{Converter, XmlLimits};
use handover_broker::profiles::Catalog;

/// The complete handovers mutated (each kind, Dutch and Belgian), with the demo token of their sender.
const SEEDS: [(&str, &str); 4] = [
    ("referral-nl.json", "demo-gp-heerlen"),
    ("admission-handover-be.json", "demo-wzc-de-duinen"),
    ("nursing-handover-nl.json", "demo-zzl-hospital"),
    ("discharge-summary-be.json", "demo-az-westkust"),
];

fn cases() -> u32 {
    std::env::var("HANDOVER_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(1000)
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel("proptest-regressions"))),
        // A case that fails is shrunk, but not for longer than CI can wait.
        max_shrink_iters: 256,
        source_file: Some(file!()),
        ..Config::default()
    }
}

/// One change to a JSON tree, at the node `at` (an index into the tree's nodes in pre-order, taken
/// modulo their number).
#[derive(Debug, Clone)]
enum Mutation {
    Remove,
    Replace(Value),
    /// The node twice where it was (in its array), or an array of itself.
    Repeat,
    /// The node wrapped `depth` times in arrays or objects.
    Nest(u8, bool),
    /// `resourceType` of the resource holding the node set to this.
    ResourceType(String),
}

fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(" ".to_owned()),
        Just("\u{0}\u{1}\u{1b}[31m".to_owned()),
        Just("x".repeat(70_000)),
        Just("\u{202e}\u{feff}\u{fffd}".to_owned()),
        Just("999911120".to_owned()),
        Just("2026-02-30T25:61:00+14:00".to_owned()),
        Just("urn:uuid:not-a-uuid".to_owned()),
        Just("Patient/../../etc/passwd".to_owned()),
        Just("<div xmlns=\"http://www.w3.org/1999/xhtml\"><script>x</script></div>".to_owned()),
        "[ -~]{0,40}",
    ]
}

fn hostile_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!(true)),
        Just(json!(-1)),
        Just(json!(1e308)),
        Just(json!(18_446_744_073_709_551_615u64)),
        Just(json!(0.000_000_1)),
        Just(json!([])),
        Just(json!({})),
        Just(json!([null])),
        Just(json!({"resourceType": "Patient"})),
        Just(json!({"reference": "#missing"})),
        hostile_string().prop_map(Value::String),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => Just(Mutation::Remove),
        4 => hostile_value().prop_map(Mutation::Replace),
        1 => Just(Mutation::Repeat),
        1 => (1u8..40, any::<bool>()).prop_map(|(d, a)| Mutation::Nest(d, a)),
        1 => prop_oneof![
            Just("Bundle".to_owned()),
            Just("MessageHeader".to_owned()),
            Just("Binary".to_owned()),
            Just("NoSuchResource".to_owned()),
            Just(String::new()),
        ]
        .prop_map(Mutation::ResourceType),
    ]
}

/// A seed and one to four mutations at chosen nodes.
fn mutated() -> impl Strategy<Value = (usize, Vec<(usize, Mutation)>)> {
    (0..SEEDS.len(), prop::collection::vec((any::<usize>(), mutation()), 1..5))
}

/// The paths of every node in pre-order: a path is the keys and indices from the root.
fn paths(value: &Value, at: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    out.push(at.clone());
    match value {
        Value::Object(members) => {
            for (key, child) in members {
                at.push(PathStep::Key(key.clone()));
                paths(child, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                at.push(PathStep::Index(i));
                paths(child, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

#[derive(Debug, Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn node_mut<'v>(root: &'v mut Value, path: &[PathStep]) -> &'v mut Value {
    path.iter().fold(root, |node, step| match step {
        PathStep::Key(key) => &mut node[key.as_str()],
        PathStep::Index(i) => &mut node[*i],
    })
}

fn apply(root: &mut Value, at: usize, mutation: &Mutation) {
    let mut all = Vec::new();
    paths(root, &mut Vec::new(), &mut all);
    let path = all[at % all.len()].clone();
    match mutation {
        Mutation::Replace(value) => *node_mut(root, &path) = value.clone(),
        Mutation::Remove | Mutation::Repeat => {
            let Some((last, parent)) = path.split_last() else {
                *root = if matches!(mutation, Mutation::Remove) { Value::Null } else { json!([root.clone()]) };
                return;
            };
            let parent = node_mut(root, parent);
            match (last, parent, mutation) {
                (PathStep::Key(key), Value::Object(members), Mutation::Remove) => {
                    members.remove(key);
                }
                (PathStep::Key(key), Value::Object(members), _) => {
                    let again = members[key].clone();
                    members.insert(key.clone(), json!([again.clone(), again]));
                }
                (PathStep::Index(i), Value::Array(items), Mutation::Remove) => {
                    items.remove(*i);
                }
                (PathStep::Index(i), Value::Array(items), _) => {
                    let again = items[*i].clone();
                    items.insert(*i, again);
                }
                _ => {}
            }
        }
        Mutation::Nest(depth, as_array) => {
            let node = node_mut(root, &path);
            for _ in 0..*depth {
                let inner = node.take();
                *node = if *as_array { json!([inner]) } else { json!({ "value": inner }) };
            }
        }
        Mutation::ResourceType(name) => {
            // The nearest object up the path that has a resourceType.
            for cut in (0..=path.len()).rev() {
                let node = node_mut(root, &path[..cut]);
                if let Some(members) = node.as_object_mut().filter(|m| m.contains_key("resourceType")) {
                    members.insert("resourceType".to_owned(), json!(name));
                    return;
                }
            }
        }
    }
}

/// A seed with new ids (so that an accepted case is a new message) and the mutations applied.
fn build(seed: usize, mutations: &[(usize, Mutation)]) -> Vec<u8> {
    let mut bundle = fresh(fixture(SEEDS[seed].0));
    for (at, mutation) in mutations {
        apply(&mut bundle, *at, mutation);
    }
    serde_json::to_vec(&bundle).unwrap()
}

/// What the in-process round checks with: the settings' limits, the profiles, the XML converter.
struct Checker {
    settings: Settings,
    catalog: Catalog,
    xml: Converter,
}

fn checker() -> &'static Checker {
    static CHECKER: OnceLock<Checker> = OnceLock::new();
    CHECKER.get_or_init(|| {
        let mut settings = Settings::load(None).unwrap();
        settings.profiles_dir = project_dir().join("profiles");
        let catalog = Catalog::load_all(&[settings.profiles_dir.as_path()])
            .unwrap()
            .with_attachment_limit(settings.limits.max_attachment_bytes);
        let xml = Converter::new(catalog.shared_base(), XmlLimits::of(&settings.limits)).unwrap();
        Checker { settings, catalog, xml }
    })
}

/// Reads and checks `bytes` as ingest does; the issues of a refusal, or those of validation.
fn check(bytes: Bytes, as_xml: bool) -> Vec<handover_broker::outcome::Issue> {
    let c = checker();
    let read = if as_xml {
        c.xml.read_message(bytes, &c.settings.limits)
    } else {
        handover_broker::message::parse(bytes, &c.settings.limits)
    };
    match read {
        Ok(submission) => c.catalog.validate(&submission),
        Err(refused) => {
            assert!(refused.issues.iter().any(|i| i.is_error()), "a refusal without an error issue");
            refused.issues
        }
    }
}

fn every_issue_says_why(issues: &[handover_broker::outcome::Issue]) {
    for issue in issues {
        assert!(!issue.message.trim().is_empty(), "an issue without a text: {issue:?}");
    }
}

/// Byte-level damage to an XML text: cut, a span doubled, or a span replaced by markup.
#[derive(Debug, Clone)]
enum Damage {
    Cut(usize),
    Double(usize, usize),
    Splice(usize, &'static str),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        any::<usize>().prop_map(Damage::Cut),
        (any::<usize>(), 1usize..400).prop_map(|(at, len)| Damage::Double(at, len)),
        (
            any::<usize>(),
            prop_oneof![
                Just("<"),
                Just("</Bundle>"),
                Just("<!DOCTYPE x [<!ENTITY a \"aaaaaaaa\">]>"),
                Just("&a;&lt;&#0;&#xD800;"),
                Just("<value value=\"\u{0}\"/>"),
                Just("<![CDATA[x]]>"),
                Just("<?xml version=\"1.0\"?>"),
                Just(" xmlns=\"urn:other\""),
            ]
        )
            .prop_map(|(at, text)| Damage::Splice(at, text)),
    ]
}

fn damaged(xml: &str, damage: &Damage) -> Vec<u8> {
    let bytes = xml.as_bytes();
    let at = |n: usize| n % bytes.len().max(1);
    match damage {
        Damage::Cut(n) => bytes[..at(*n)].to_vec(),
        Damage::Double(n, len) => {
            let (from, to) = (at(*n), (at(*n) + len).min(bytes.len()));
            [&bytes[..to], &bytes[from..]].concat()
        }
        Damage::Splice(n, text) => [&bytes[..at(*n)], text.as_bytes(), &bytes[at(*n)..]].concat(),
    }
}

#[test]
fn mutated_handovers_never_panic_the_reader_or_the_validator_and_every_refusal_says_why() {
    let mut runner = TestRunner::new(config(cases()));
    let refused = std::cell::Cell::new(0usize);
    runner
        .run(&(mutated(), any::<bool>()), |((seed, mutations), as_xml)| {
            let json = build(seed, &mutations);
            let issues = if as_xml {
                // The mutated tree as FHIR XML, when it can still be written as such.
                match checker().xml.write(&json) {
                    Ok(xml) => check(Bytes::from(xml), true),
                    Err(_) => check(Bytes::from(json), false),
                }
            } else {
                check(Bytes::from(json), false)
            };
            every_issue_says_why(&issues);
            refused.set(refused.get() + usize::from(issues.iter().any(|i| i.is_error())));
            Ok(())
        })
        .unwrap();
    // The mutations must reach the checks, not only pass through them.
    let refused = refused.get();
    assert!(refused > 0, "no mutated handover was refused: the mutations do nothing");
    let report =
        format!("fuzz in process: {} mutated handovers (JSON and XML), {refused} refused, no panic\n", cases());
    write_report("fuzz-in-process", &report);
}

#[test]
fn damaged_xml_never_panics_the_reader() {
    let seeds: Vec<String> = SEEDS
        .iter()
        .map(|(name, _)| checker().xml.write(&serde_json::to_vec(&fixture(name)).unwrap()).unwrap())
        .collect();
    let mut runner = TestRunner::new(config(cases()));
    runner
        .run(&(0..seeds.len(), prop::collection::vec(damage(), 1..4)), |(seed, damages)| {
            let mut xml = seeds[seed].clone().into_bytes();
            for d in &damages {
                xml = damaged(&String::from_utf8_lossy(&xml), d);
            }
            every_issue_says_why(&check(Bytes::from(xml), true));
            Ok(())
        })
        .unwrap();
}

#[test]
fn mutated_handovers_over_http_get_no_5xx_and_a_refusal_stores_nothing_and_is_ledgered() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let app = runtime.block_on(spawn_app_with(|s| {
        s.limits.requests_per_second = 100_000;
        s.limits.request_burst = 100_000;
    }));
    // A quarter of the in-process cases: each is a round trip with a commit.
    let rounds = (cases() / 4).max(1);
    let mut runner = TestRunner::new(config(rounds));
    let (accepted, refused) = (std::cell::Cell::new(0usize), std::cell::Cell::new(0usize));
    runner
        .run(&mutated(), |(seed, mutations)| {
            let body = build(seed, &mutations);
            runtime.block_on(async {
                let before = app.store.message_count().await.unwrap();
                let response = app.post_raw(Some(SEEDS[seed].1), Some(FHIR_JSON), body).await;
                let status = response.status().as_u16();
                let answer: Value = response.json().await.unwrap_or(Value::Null);
                prop_assert!(status < 500, "{status}: {answer}");
                let after = app.store.message_count().await.unwrap();
                if status == 200 || status == 202 {
                    accepted.set(accepted.get() + 1);
                    prop_assert!(after <= before + 1);
                } else {
                    refused.set(refused.get() + 1);
                    prop_assert_eq!(&answer["resourceType"], "OperationOutcome", "{}: {}", status, answer);
                    prop_assert_eq!(after, before, "a refused handover ({}) was stored", status);
                    let tail = app.store.ledger_tail(1).await.unwrap();
                    prop_assert!(
                        tail.first().is_some_and(|e| e.event.as_str() == "rejected"
                            && e.outcome.as_deref().is_some_and(|o| o.starts_with(&status.to_string()))),
                        "the {} refusal was not ledgered: {:?}",
                        status,
                        tail
                    );
                }
                Ok(())
            })
        })
        .unwrap();
    let (accepted, refused) = (accepted.get(), refused.get());
    // Both ways must be taken: a fuzzer whose cases are all refused tests only the first check.
    assert!(refused > 0 && accepted > 0, "{accepted} accepted, {refused} refused over HTTP");
    let report = format!(
        "fuzz over HTTP: {rounds} mutated handovers, {accepted} accepted, {refused} refused (each an OperationOutcome, \
         ledgered, nothing stored), no 5xx\n"
    );
    write_report("fuzz-http", &report);
    runtime.block_on(async { drop(app.stop().await) });
}
