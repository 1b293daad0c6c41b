//! The HTML pages gavel writes, `report.html` and `compare.html`, built
//! from the same static assets, compiled in: a Handlebars template of
//! markup per page (the engine that renders judges' prompts), a shared
//! stylesheet (`page.css`), each page's own stylesheet and the report's
//! script (`report.js`). A written page holds them all and fetches nothing.
//!
//! Every value is escaped with [`markup::escape`](crate::results::markup),
//! so data never becomes markup; assets go in as they are (`{{{...}}}`),
//! being part of gavel, never data.

use std::sync::LazyLock;

use handlebars::Handlebars;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::results::markup::escape;

/// `report.html`'s template.
pub const REPORT: &str = include_str!("report.html");
/// `compare.html`'s template.
pub const COMPARE: &str = include_str!("compare.html");
/// The report's script; the page's Content-Security-Policy names it by hash.
pub const REPORT_JS: &str = include_str!("report.js");
/// Styles both pages use, before the page's own.
pub const PAGE_CSS: &str = include_str!("page.css");
pub const REPORT_CSS: &str = include_str!("report.css");
pub const COMPARE_CSS: &str = include_str!("compare.css");

/// Where the report's data goes: the report is rendered with this in its
/// place and split there, so the caller can stream the data in.
const REPORT_DATA: &str = "\u{0}gavel-report-data\u{0}";

/// Both templates, parsed once. Strict: a name the data lacks is an error
/// (a bug, which the tests render each template to catch).
static PAGES: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut pages = Handlebars::new();
    pages.set_strict_mode(true);
    pages.register_escape_fn(escape);
    for (name, template) in [("report", REPORT), ("compare", COMPARE)] {
        pages
            .register_template_string(name, template)
            .unwrap_or_else(|e| panic!("the {name} page template does not parse: {e}"));
    }
    pages
});

/// The assets, by the names the templates use.
fn assets() -> Value {
    json!({
        "page_css": PAGE_CSS,
        "report_css": REPORT_CSS,
        "compare_css": COMPARE_CSS,
        "report_js": REPORT_JS,
    })
}

/// `report.html` before and after its data.
pub fn report() -> (String, String) {
    let data = json!({
        "assets": assets(),
        "script_hash": csp_hash(REPORT_JS),
        "report_data": REPORT_DATA,
    });
    let page = render("report", &data);
    let (head, tail) = page
        .split_once(REPORT_DATA)
        .expect("the report template has a place for its data");
    (head.to_owned(), tail.to_owned())
}

/// `compare.html` with `data` (see `compare::to_html`).
pub fn compare(data: &Value) -> String {
    let mut data = data.clone();
    data["assets"] = assets();
    render("compare", &data)
}

fn render(page: &str, data: &Value) -> String {
    PAGES
        .render(page, data)
        .unwrap_or_else(|e| panic!("the {page} page does not render: {e}"))
}

/// A script's source as a Content-Security-Policy names it:
/// `sha256-` and the base64 of its SHA-256.
pub fn csp_hash(script: &str) -> String {
    format!("sha256-{}", base64(&Sha256::digest(script.as_bytes())))
}

/// Standard base64 with padding (RFC 4648), for the one hash above.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_go_in_as_they_are_and_values_are_escaped() {
        let (head, tail) = report();
        assert!(head.contains(&format!("<style>\n{PAGE_CSS}{REPORT_CSS}</style>")));
        assert!(tail.contains(&format!("<script>{REPORT_JS}</script>")));
        let page = compare(&json!({
            "a": {"label": "{{> x}} \"<b>", "dir": "d"}, "b": {"label": "b", "dir": "d"},
            "counts": {"matched": 0, "regressions": 0, "improvements": 0, "other": 0, "only_a": 0, "only_b": 0},
            "metrics": [], "has_changes": false, "changes": [],
        }));
        assert!(page.contains("{{&gt; x}} &quot;&lt;b&gt;"), "{page}");
    }

    #[test]
    fn the_compare_page_shows_its_data_as_text() {
        let hostile = "</td><script>alert(1)</script><img src=x onerror=alert(2)>";
        let run = json!({"label": hostile, "dir": hostile});
        let change = json!({
            "kind": "regression", "request_id": hostile, "request": hostile,
            "flips": [hostile, "safety yes -> no"], "root_cause_a": hostile,
            "root_cause_b": "-", "rationale_b": hostile,
        });
        let data = |changes: Vec<Value>| {
            json!({
                "a": run, "b": run,
                "counts": {"matched": 1, "regressions": 1, "improvements": 0, "other": 0, "only_a": 0, "only_b": 2},
                "metrics": [{"metric": hostile, "a": "1.000", "b": "0.500", "delta": "-0.500", "trend": "worse"}],
                "has_changes": !changes.is_empty(),
                "changes": changes,
            })
        };
        let page = compare(&data(vec![change]));
        assert!(
            !page.contains("<script") && !page.contains("<img"),
            "{page}"
        );
        // The title and header (2 + 4), the metric and the change (5).
        assert_eq!(page.matches("&lt;script&gt;alert(1)").count(), 12);
        assert!(page.contains("<tr class=\"regression\" data-testid=\"change\">"));
        assert!(page.contains("safety yes -&gt; no"));
        assert!(page.contains(
            "<p class=\"card\" data-testid=\"counts\">1 requests matched by request_id; \
             1 regressions, 0 improvements, 0 other changes; 0 only in A, 2 only in B.</p>"
        ));
        assert!(page.contains(&format!("<style>\n{PAGE_CSS}{COMPARE_CSS}</style>")));
        assert!(!page.contains("{{") && !page.contains("None."));
        let page = compare(&data(vec![]));
        assert!(page.contains("<p>None.</p>") && !page.contains("data-testid=\"change\""));
    }

    #[test]
    fn assets_cannot_end_their_element() {
        assert!(!REPORT_JS.to_ascii_lowercase().contains("</script"));
        for css in [PAGE_CSS, REPORT_CSS, COMPARE_CSS] {
            assert!(!css.to_ascii_lowercase().contains("</style"));
        }
    }

    #[test]
    fn the_report_names_its_script_by_hash() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        let (head, tail) = report();
        let hash = csp_hash(REPORT_JS);
        assert!(
            head.contains(&format!("script-src '{hash}';")),
            "{head:.1000}"
        );
        assert!(tail.contains(&format!("<script>{REPORT_JS}</script>")));
        assert!(!head.contains("{{") && !tail.replace(REPORT_JS, "").contains("{{"));
    }
}
