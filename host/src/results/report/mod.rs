//! `report.html`: the run in one self-contained page (no network, no
//! CDN): metrics with a bar per judge, cost and latency, every request with
//! each judge's rating, the overall result and root cause, filters, search
//! and a detail view with rationales and per-chunk ratings.
//!
//! The page is built from the static assets in this directory (see `page`):
//! the template `report.html` (markup) with the stylesheets `page.css` and
//! `report.css` and the script `report.js` put in, and the run's data as
//! JSON, `{"run", "metrics", "alignment", "alignment_stale", "rows",
//! "truncated"}`, in a script element of its own. Rows are streamed from
//! `eval_results.jsonl` into the file, so a report of any size is written
//! in constant memory. `alignment` is `alignment.json` (null until `gavel
//! align` compares the run with human labels); `alignment_stale` says the
//! results have changed since (a `--resume`), so the page can say the
//! agreement is out of date rather than show it as current.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::results::run_dir::{RESULTS, RunDir};

pub(crate) mod page;

/// The file in every run directory.
pub const REPORT: &str = "report.html";

/// Row data beyond this is left out of the page (it says so): Chromium
/// reads one 150 MB script element in 14 s and a 510 MB one in 160 s,
/// while 50 MB (10,000 rows with 14 judges) loads in 2 s.
pub const MAX_ROW_BYTES: usize = 64 << 20;

/// Writes `report.html` into the run directory `dir`.
pub fn write(dir: &Path) -> std::io::Result<PathBuf> {
    let (head, tail) = page::report();
    // A page without them still shows the rows.
    let run_dir = RunDir::open(dir);
    let or_null = |object: Result<_, _>| object.map_or(Value::Null, Value::Object);
    let path = dir.join(REPORT);
    // Written beside and renamed: a report is never seen half-written.
    let partial = dir.join(format!("{REPORT}.partial"));
    let mut out = BufWriter::new(std::fs::File::create(&partial)?);
    out.write_all(head.as_bytes())?;
    let alignment = run_dir.alignment().ok().flatten();
    let alignment_stale = alignment.as_ref().is_some_and(|alignment| {
        let now = std::fs::metadata(dir.join(RESULTS)).map_or(0, |m| m.len());
        alignment.get("results_bytes").and_then(Value::as_u64) != Some(now)
    });
    write!(
        out,
        "{{\"run\":{},\"metrics\":{},\"alignment\":{},\"alignment_stale\":{alignment_stale},\"rows\":[",
        script_safe(&or_null(run_dir.run()).to_string()),
        script_safe(&or_null(run_dir.metrics()).to_string()),
        script_safe(&alignment.map_or(Value::Null, Value::Object).to_string()),
    )?;
    let mut truncated = false;
    if let Ok(rows) = run_dir.rows() {
        let (mut written, mut bytes) = (0usize, 0usize);
        // A torn last line (a killed run) is left out.
        for row in rows.filter_map(Result::ok) {
            let text = Value::Object(row).to_string();
            let row = script_safe(&text);
            if bytes + row.len() > MAX_ROW_BYTES {
                truncated = true;
                break;
            }
            if written > 0 {
                out.write_all(b",")?;
            }
            out.write_all(row.as_bytes())?;
            written += 1;
            bytes += row.len() + 1;
        }
    }
    write!(out, "],\"truncated\":{truncated}}}")?;
    out.write_all(tail.as_bytes())?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&partial, &path)?;
    Ok(path)
}

/// JSON that cannot end the `<script>` element holding it: `<` appears in
/// JSON only inside strings, where `\u003c` means the same.
fn script_safe(json: &str) -> std::borrow::Cow<'_, str> {
    if json.contains('<') {
        json.replace('<', "\\u003c").into()
    } else {
        json.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::run_dir::{ALIGNMENT, METRICS, RUN};
    use serde_json::json;

    #[test]
    fn the_data_cannot_close_its_script_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(RUN), json!({"run_id": "r1"}).to_string()).unwrap();
        std::fs::write(dir.path().join(METRICS), "{}").unwrap();
        let row = json!({"request_id": "1", "response": "</script><script>alert(1)</script>"});
        std::fs::write(dir.path().join(RESULTS), format!("{row}\n{{\"torn")).unwrap();
        let page = std::fs::read_to_string(write(dir.path()).unwrap()).unwrap();
        assert_eq!(
            page.matches("</script>").count(),
            2,
            "only the data's script element and report.js's end"
        );
        let start = page.find("{\"run\"").unwrap();
        let end = page[start..].find("</script>").unwrap();
        let data: Value = serde_json::from_str(&page[start..start + end]).unwrap();
        assert_eq!(data["rows"][0], row);
        assert_eq!(
            data["rows"].as_array().unwrap().len(),
            1,
            "the torn line is left out"
        );
        assert_eq!(data["truncated"], false);
        assert_eq!(data["alignment"], Value::Null);
    }

    #[test]
    fn an_alignment_is_embedded_and_flagged_once_the_results_change() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(RUN), "{}").unwrap();
        std::fs::write(dir.path().join(RESULTS), "{\"request_id\": \"1\"}\n").unwrap();
        let bytes = std::fs::metadata(dir.path().join(RESULTS)).unwrap().len();
        let alignment = json!({"results_bytes": bytes, "judges": [{"judge": "</script>"}]});
        std::fs::write(dir.path().join(ALIGNMENT), alignment.to_string()).unwrap();
        let data = |dir: &Path| {
            let page = std::fs::read_to_string(write(dir).unwrap()).unwrap();
            let start = page.find("{\"run\"").unwrap();
            let end = page[start..].find("</script>").unwrap();
            serde_json::from_str::<Value>(&page[start..start + end]).unwrap()
        };
        let first = data(dir.path());
        assert_eq!(first["alignment"], alignment);
        assert_eq!(first["alignment_stale"], false);
        // A resumed run appended rows: the alignment describes an earlier
        // state.
        std::fs::write(
            dir.path().join(RESULTS),
            "{\"request_id\": \"1\"}\n{\"request_id\": \"2\"}\n",
        )
        .unwrap();
        assert_eq!(data(dir.path())["alignment_stale"], true);
    }
}
