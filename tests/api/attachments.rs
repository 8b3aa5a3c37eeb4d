//! Attachments (issue 13, item 2): a discharge letter carried as a DocumentReference, inline or in a
//! Binary of the Bundle, is accepted when its bytes are what it says they are, and refused with 422 and
//! the element's expression when they are not.

use base64::Engine;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};

use crate::helpers::*;

/// A tiny real PDF: header, one object, trailer, end marker.
const PDF: &[u8] = b"%PDF-1.4\n\
    1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n\
    2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n\
    trailer\n<< /Root 1 0 R >>\n%%EOF\n";

const XHTML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<div xmlns=\"http://www.w3.org/1999/xhtml\">\
                     <p>Ontslagbrief cardiologie</p></div>";

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn sha1(bytes: &[u8]) -> String {
    base64(&Sha1::digest(bytes))
}

fn urn() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}

/// The discharge message with a DocumentReference (the letter) about its patient holding `attachment`,
/// and the entries in `more` after it. Returns the message and the DocumentReference's position.
fn with_letter(attachment: Value, more: &[Value]) -> (Value, usize) {
    let mut bundle = discharge();
    let patient = entry_of(&bundle, "Patient");
    let subject = bundle["entry"][patient]["fullUrl"].clone();
    let entries = bundle["entry"].as_array_mut().unwrap();
    let letter = entries.len();
    entries.push(json!({
        "fullUrl": urn(),
        "resource": {
            "resourceType": "DocumentReference",
            "status": "current",
            "type": { "coding": [{ "system": "http://loinc.org", "code": "18842-5", "display": "Discharge summary" }] },
            "subject": { "reference": subject },
            "content": [{ "attachment": attachment }]
        }
    }));
    entries.extend(more.iter().cloned());
    (bundle, letter)
}

/// A Binary entry, with its fullUrl.
fn binary(content_type: &str, bytes: &[u8]) -> (String, Value) {
    let url = urn();
    let entry = json!({
        "fullUrl": url,
        "resource": { "resourceType": "Binary", "contentType": content_type, "data": base64(bytes) }
    });
    (url, entry)
}

fn attachment_at(letter: usize) -> String {
    format!("Bundle.entry[{letter}].resource.content[0].attachment")
}

/// Posts `bundle`; asserts a 422 with an error of `code` at `expression`, and returns its diagnostics.
async fn refused_at(app: &TestApp, bundle: &Value, code: &str, expression: &str) -> String {
    let refused = outcome(app.post_message(HOSPITAL, bundle).await, 422).await;
    let issue = refused["issue"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["severity"] == "error" && i["expression"][0] == expression)
        .unwrap_or_else(|| panic!("an error at {expression}:\n{}", issues_text(&refused)));
    assert_eq!(issue["code"], code, "{}", issues_text(&refused));
    issue["diagnostics"].as_str().unwrap().to_owned()
}

/// Posts `bundle`; asserts it is accepted and returns the acknowledgement's OperationOutcome.
async fn accepted(app: &TestApp, bundle: &Value) -> Value {
    let response = app.post_message(HOSPITAL, bundle).await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 202, "{}", issues_text(&body));
    body["entry"][1]["resource"].clone()
}

#[tokio::test]
async fn a_pdf_letter_is_accepted_inline_or_in_a_binary_of_the_bundle() {
    let app = spawn_app().await;
    let inline = json!({ "contentType": "application/pdf", "data": base64(PDF), "title": "Ontslagbrief" });
    accepted(&app, &with_letter(inline, &[]).0).await;

    let (url, entry) = binary("application/pdf", PDF);
    let pointing = json!({ "contentType": "application/pdf; name=letter.pdf", "url": url, "size": PDF.len() });
    accepted(&app, &with_letter(pointing, &[entry]).0).await;
    assert_eq!(app.store.message_count().await.unwrap(), 2);
}

#[tokio::test]
async fn a_pdf_declared_as_plain_text_is_refused_with_the_expression_of_its_data() {
    let app = spawn_app().await;
    let (bundle, letter) = with_letter(json!({ "contentType": "text/plain; charset=utf-8", "data": base64(PDF) }), &[]);
    let diagnostics = refused_at(&app, &bundle, "value", &format!("{}.data", attachment_at(letter))).await;
    assert_eq!(diagnostics, "contentType is text/plain, but the bytes are a PDF");

    // In a Binary, the Binary's contentType is the one checked, at the Binary.
    let (url, entry) = binary("text/plain", PDF);
    let (bundle, letter) = with_letter(json!({ "url": url }), &[entry]);
    let diagnostics = refused_at(&app, &bundle, "value", &format!("Bundle.entry[{}].resource.data", letter + 1)).await;
    assert_eq!(diagnostics, "contentType is text/plain, but the bytes are a PDF");
    assert_eq!(app.store.message_count().await.unwrap(), 0);
}

#[tokio::test]
async fn size_and_hash_must_match_the_bytes() {
    let app = spawn_app().await;
    let letter_with = |size: usize, hash: String| {
        with_letter(json!({ "contentType": "application/pdf", "data": base64(PDF), "size": size, "hash": hash }), &[])
    };
    accepted(&app, &letter_with(PDF.len(), sha1(PDF)).0).await;

    let (bundle, letter) = letter_with(PDF.len() - 1, sha1(PDF));
    let diagnostics = refused_at(&app, &bundle, "value", &format!("{}.size", attachment_at(letter))).await;
    assert_eq!(diagnostics, format!("is {}, but the data is {} bytes", PDF.len() - 1, PDF.len()));

    let (bundle, letter) = letter_with(PDF.len(), sha1(b"another letter"));
    let diagnostics = refused_at(&app, &bundle, "value", &format!("{}.hash", attachment_at(letter))).await;
    assert_eq!(diagnostics, "is not the SHA-1 of the data");

    // Through a Binary, size and hash are those of the Binary's bytes.
    let (url, entry) = binary("application/pdf", PDF);
    let (bundle, letter) = with_letter(json!({ "url": url, "hash": sha1(b"another letter") }), &[entry]);
    refused_at(&app, &bundle, "value", &format!("{}.hash", attachment_at(letter))).await;
    assert_eq!(app.store.message_count().await.unwrap(), 1);
}

#[tokio::test]
async fn an_attachment_over_the_configured_maximum_is_too_costly() {
    let app = spawn_app_with(|s| s.limits.max_attachment_bytes = 100).await;
    assert!(PDF.len() > 100);
    let (bundle, letter) = with_letter(json!({ "contentType": "application/pdf", "data": base64(PDF) }), &[]);
    let diagnostics = refused_at(&app, &bundle, "too-costly", &format!("{}.data", attachment_at(letter))).await;
    assert_eq!(
        diagnostics,
        format!("decodes to {} bytes; the broker carries at most 100 bytes per attachment", PDF.len())
    );

    let (url, entry) = binary("application/pdf", PDF);
    let (bundle, letter) = with_letter(json!({ "url": url }), &[entry]);
    refused_at(&app, &bundle, "too-costly", &format!("Bundle.entry[{}].resource.data", letter + 1)).await;

    // Within the limit: the fixture's own PDF letter is over it too, so it becomes the short note as well.
    let small = json!({ "contentType": "text/plain", "data": base64(b"Ontslag: zie brief.") });
    let mut bundle = with_letter(small.clone(), &[]).0;
    let own = entry_of(&bundle, "DocumentReference");
    bundle["entry"][own]["resource"]["content"][0]["attachment"] = small;
    accepted(&app, &bundle).await;
}

#[tokio::test]
async fn xhtml_must_be_an_xhtml_div_or_html_element() {
    let app = spawn_app().await;
    let xhtml = json!({ "contentType": "application/xhtml+xml", "data": base64(XHTML.as_bytes()) });
    accepted(&app, &with_letter(xhtml, &[]).0).await;

    let text = b"Geachte collega, uw patient is op 19-11 ontslagen.";
    let (bundle, letter) = with_letter(json!({ "contentType": "application/xhtml+xml", "data": base64(text) }), &[]);
    let diagnostics = refused_at(&app, &bundle, "value", &format!("{}.data", attachment_at(letter))).await;
    assert!(diagnostics.contains("the bytes are not markup"), "{diagnostics}");
    assert!(!diagnostics.contains("collega"), "{diagnostics}");
}

#[tokio::test]
async fn a_url_naming_a_binary_must_resolve_inside_the_bundle() {
    let app = spawn_app().await;
    for url in [urn(), "Binary/ontslagbrief".to_owned(), "https://ehr.zzl.example/fhir/Binary/ontslagbrief".to_owned()]
    {
        let (bundle, letter) = with_letter(json!({ "contentType": "application/pdf", "url": url }), &[]);
        let diagnostics = refused_at(&app, &bundle, "not-found", &format!("{}.url", attachment_at(letter))).await;
        assert!(diagnostics.starts_with("names no Binary in the Bundle"), "{diagnostics}");
        assert!(!diagnostics.contains(&url), "{diagnostics}");
    }
    // The Binary's type is the one its bytes are checked against; the Attachment's must agree with it.
    let (url, entry) = binary("application/pdf", PDF);
    let (bundle, letter) = with_letter(json!({ "contentType": "text/html", "url": url }), &[entry]);
    let diagnostics = refused_at(&app, &bundle, "value", &format!("{}.contentType", attachment_at(letter))).await;
    assert_eq!(diagnostics, "is text/html, but the Binary its url points at is application/pdf");
}

#[tokio::test]
async fn other_content_types_are_carried_with_a_warning() {
    let app = spawn_app().await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    let (bundle, letter) = with_letter(json!({ "contentType": "image/png", "data": base64(png) }), &[]);
    let outcome = accepted(&app, &bundle).await;
    let warning = outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["severity"] == "warning" && i["expression"][0] == format!("{}.contentType", attachment_at(letter)))
        .unwrap_or_else(|| panic!("a warning on the content type: {outcome}"));
    assert!(warning["diagnostics"].as_str().unwrap().starts_with("content type image/png is not checked"), "{warning}");
}
