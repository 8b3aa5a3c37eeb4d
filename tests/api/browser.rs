//! The pages in a real browser (issue 16): headless Chromium signs in with a token, loads `/quality` of
//! a broker seeded with known traffic (and `/capacity` of one seeded with known capacity reports), and
//! the figures it shows are checked against the API's MeasureReports; screenshots at 1280x800 and at a
//! phone's width are saved (`target/screenshots/`) and checked for content cut off at the right edge.
//!
//! Needs `chromium` (Debian's package; `.ci/run` installs it). Without it the test says so and passes,
//! unless `HANDOVER_REQUIRE_BROWSER` is set, as CI sets it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::capacity::ZORGPUNT;
use crate::capacity_page::seeded;
use crate::helpers::*;
use crate::quality::seed_known_traffic;

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| {
        let found = Command::new("which").arg(name).output().ok()?;
        found.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&found.stdout).trim()))
    })
}

/// A page of the test's own that posts the sign-in form at once (the broker's pages need no script;
/// the harness does, to sign in without typing).
fn sign_in_page(dir: &Path, base: &str, token: &str, next: &str) -> PathBuf {
    let path = dir.join("sign-in.html");
    let html = format!(
        "<!DOCTYPE html><html><body><form method=\"post\" action=\"{base}/login\">\
         <input name=\"token\" value=\"{token}\"><input name=\"next\" value=\"{next}\"></form>\
         <script>document.forms[0].submit()</script></body></html>"
    );
    std::fs::write(&path, html).unwrap();
    path
}

/// Runs the browser on `page` with `args`; returns stdout.
fn browse(browser: &Path, profile: &Path, page: &Path, args: &[&str]) -> String {
    let output = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--virtual-time-budget=10000", "--run-all-compositor-stages-before-draw"])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The number in the element with `attribute` (`data-metric="routed"`) of the DOM.
fn shown(dom: &str, attribute: &str) -> i64 {
    let at = dom.find(attribute).unwrap_or_else(|| panic!("{attribute} not on the page"));
    let rest = &dom[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest[start..].find('<').unwrap() + start;
    rest[start..end].trim().parse().unwrap_or_else(|_| panic!("{attribute}: {:?}", &rest[start..end]))
}

fn population(report: &Value, group: &str, code: &str) -> i64 {
    let group = report["group"].as_array().unwrap().iter().find(|g| g["code"]["coding"][0]["code"] == group).unwrap();
    let population = group["population"].as_array().unwrap();
    population.iter().find(|p| p["code"]["coding"][0]["code"] == code).unwrap()["count"].as_i64().unwrap()
}

#[tokio::test]
async fn the_quality_page_shows_the_apis_figures_in_a_real_browser_and_fits_the_screen() {
    let Some(browser) = chromium() else {
        assert!(std::env::var_os("HANDOVER_REQUIRE_BROWSER").is_none(), "chromium is required here");
        eprintln!("skipped: no chromium on this machine (apt install chromium)");
        return;
    };
    let (app, _hospital, _) = seed_known_traffic().await;
    let quality = token_with_role(&app, handover_broker::auth::Role::Quality).await;
    let report: Value =
        app.get(Some(&quality), "/fhir/Measure/handover-quality/$evaluate-measure").await.json().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let page = sign_in_page(dir.path(), &app.base, &quality, "/quality?lang=fr");
    // The browser runs beside the broker's async runtime: off its threads.
    let (b, p, d) = (browser.clone(), page.clone(), dir.path().to_owned());
    let dom =
        tokio::task::spawn_blocking(move || browse(&b, &d.join("profile-dom"), &p, &["--dump-dom"])).await.unwrap();
    assert!(dom.contains("<html lang=\"fr\">"), "the French page: {}", &dom[..dom.len().min(400)]);
    assert!(dom.contains("Qualité des transferts"));
    for (group, code) in [
        ("completeness", "submitted"),
        ("completeness", "accepted"),
        ("completeness", "refused"),
        ("delivery", "routed"),
        ("delivery", "delivered"),
        ("delivery", "answered-accepted"),
        ("delivery", "expired"),
        ("sent-within-24h-of-stay-end", "stay-end-known"),
        ("sent-within-24h-of-stay-end", "sent-within-24h"),
        ("delivered-within-24h-of-stay-end", "delivered-within-24h"),
    ] {
        assert_eq!(shown(&dom, &format!("data-metric=\"{code}\"")), population(&report, group, code), "{code}");
    }
    // The seeded traffic, so that the comparison is not of zeros with zeros.
    assert_eq!(shown(&dom, "data-metric=\"submitted\""), 6);
    assert!(dom.contains("<svg"), "the chart is inline SVG");
    assert_eq!(dom.matches("data-refusal").count(), 2, "two refusal reasons");

    screenshots(&browser, dir.path(), &page, "quality").await;
}

#[tokio::test]
async fn the_capacity_page_shows_the_apis_figures_in_a_real_browser_and_fits_the_screen() {
    let Some(browser) = chromium() else {
        assert!(std::env::var_os("HANDOVER_REQUIRE_BROWSER").is_none(), "chromium is required here");
        eprintln!("skipped: no chromium on this machine (apt install chromium)");
        return;
    };
    let app = seeded().await;
    let summary: Value = app.get(Some(ZORGPUNT), "/fhir/MeasureReport/$region-summary").await.json().await.unwrap();
    let latest: Value = app.get(Some(ZORGPUNT), "/fhir/MeasureReport").await.json().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let page = sign_in_page(dir.path(), &app.base, ZORGPUNT, "/capacity?lang=nl");
    let (b, p, d) = (browser.clone(), page.clone(), dir.path().to_owned());
    let dom =
        tokio::task::spawn_blocking(move || browse(&b, &d.join("profile-dom"), &p, &["--dump-dom"])).await.unwrap();
    assert!(dom.contains("<html lang=\"nl\">"), "the Dutch page: {}", &dom[..dom.len().min(400)]);
    assert!(dom.contains("Beddencapaciteit"));
    let mut compared = 0;
    for group in summary["group"].as_array().unwrap() {
        let care = group["code"]["coding"][0]["code"].as_str().unwrap();
        for code in ["total", "occupied", "available"] {
            assert_eq!(shown(&dom, &format!("data-summary=\"{care}/{code}\"")), population(&summary, care, code));
            compared += 1;
        }
    }
    for report in latest["entry"].as_array().unwrap().iter().map(|e| &e["resource"]) {
        let identifier = &report["reporter"]["identifier"];
        let org = format!("{}|{}", identifier["system"].as_str().unwrap(), identifier["value"].as_str().unwrap());
        for group in report["group"].as_array().unwrap() {
            let care = group["code"]["coding"][0]["code"].as_str().unwrap();
            for code in ["total", "occupied", "available"] {
                let attribute = format!("data-report=\"{org}/{care}/{code}\"");
                assert_eq!(shown(&dom, &attribute), population(report, care, code), "{attribute}");
                compared += 1;
            }
        }
    }
    // The seeded reports (four care types, six groups), so that the comparison is not of nothing.
    assert_eq!(compared, (4 + 6) * 3);
    assert_eq!(shown(&dom, "data-summary=\"elv-low/total\""), 30);
    assert_eq!(dom.matches("data-stale=").count(), 2, "Sint-Jozef's two care types, two hours old");
    assert_eq!(dom.matches("data-bar=").count(), 4, "a bar per care type, inline SVG");

    screenshots(&browser, dir.path(), &page, "capacity").await;
}

/// Screenshots of `page` at a laptop's and a phone's size (`target/screenshots/{name}-1280x800.png`,
/// `{name}-phone-390x844.png`), and the whole page at the phone's width (`{name}-phone-390-whole.png`:
/// what lies below the first screen must fit too), each checked: not blank, and nothing reaching the
/// right edge.
async fn screenshots(browser: &Path, dir: &Path, page: &Path, name: &str) {
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let sizes = [
        (format!("{name}-1280x800"), 1280, 800),
        (format!("{name}-phone-390x844"), 390, 844),
        (format!("{name}-phone-390-whole"), 390, 3200),
        (format!("{name}-1280-whole"), 1280, 2000),
    ];
    for (name, width, height) in sizes {
        let file = shots.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&file);
        let (b, p, d, f) = (browser.to_owned(), page.to_owned(), dir.to_owned(), file.clone());
        tokio::task::spawn_blocking(move || {
            browse(
                &b,
                &d.join(format!("profile-{width}")),
                &p,
                &[&format!("--window-size={width},{height}"), &format!("--screenshot={}", f.display())],
            )
        })
        .await
        .unwrap();
        let image = Png::read(&file);
        assert_eq!((image.width, image.height), (width, height), "{name}");
        assert!(image.distinct_colours() > 8, "{name} is not blank");
        // Nothing cut off: the page keeps a margin of its background on the right; content that does not
        // fit the width would run into it (the page would be wider than the window).
        let background = [0xf6, 0xf7, 0xf9];
        for y in 0..height {
            for x in width - 6..width {
                assert_eq!(image.rgb(x, y), background, "{name}: something reaches the right edge at ({x}, {y})");
            }
        }
        eprintln!("screenshot: {}", file.display());
    }
}

/// Just enough of PNG to look at Chromium's screenshots: 8-bit RGB or RGBA, not interlaced.
struct Png {
    width: usize,
    height: usize,
    channels: usize,
    pixels: Vec<u8>,
}

impl Png {
    fn read(path: &Path) -> Self {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{} is a PNG", path.display());
        let (mut at, mut idat, mut header) = (8, Vec::new(), None);
        while at + 8 <= bytes.len() {
            let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            let kind = &bytes[at + 4..at + 8];
            let data = &bytes[at + 8..at + 8 + len];
            match kind {
                b"IHDR" => header = Some(data.to_vec()),
                b"IDAT" => idat.extend_from_slice(data),
                _ => {}
            }
            at += 12 + len;
        }
        let header = header.unwrap();
        let width = u32::from_be_bytes(header[0..4].try_into().unwrap()) as usize;
        let height = u32::from_be_bytes(header[4..8].try_into().unwrap()) as usize;
        assert_eq!((header[8], header[12]), (8, 0), "8-bit, not interlaced");
        let channels = match header[9] {
            2 => 3,
            6 => 4,
            other => panic!("colour type {other}"),
        };
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(idat.as_slice()).read_to_end(&mut raw).unwrap();
        let stride = width * channels;
        let mut pixels = vec![0u8; stride * height];
        for y in 0..height {
            let filter = raw[y * (stride + 1)];
            let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
            for x in 0..stride {
                let a = if x >= channels { pixels[y * stride + x - channels] } else { 0 };
                let b = if y > 0 { pixels[(y - 1) * stride + x] } else { 0 };
                let c = if x >= channels && y > 0 { pixels[(y - 1) * stride + x - channels] } else { 0 };
                let predicted = match filter {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                    4 => {
                        let p = i16::from(a) + i16::from(b) - i16::from(c);
                        let (pa, pb, pc) =
                            ((p - i16::from(a)).abs(), (p - i16::from(b)).abs(), (p - i16::from(c)).abs());
                        if pa <= pb && pa <= pc {
                            a
                        } else if pb <= pc {
                            b
                        } else {
                            c
                        }
                    }
                    other => panic!("filter {other}"),
                };
                pixels[y * stride + x] = line[x].wrapping_add(predicted);
            }
        }
        Self { width, height, channels, pixels }
    }

    fn rgb(&self, x: usize, y: usize) -> [u8; 3] {
        let at = (y * self.width + x) * self.channels;
        [self.pixels[at], self.pixels[at + 1], self.pixels[at + 2]]
    }

    fn distinct_colours(&self) -> usize {
        let mut seen = std::collections::HashSet::new();
        for y in (0..self.height).step_by(7) {
            for x in (0..self.width).step_by(7) {
                seen.insert(self.rgb(x, y));
            }
        }
        seen.len()
    }
}
