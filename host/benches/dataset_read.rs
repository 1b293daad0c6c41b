//! Reading an evaluation set: 100,000 RAG rows (request, response,
//! expected response, three retrieved chunks, guidelines) as JSONL and as
//! the same rows in Parquet (nested columns, snappy, written by gavel's own
//! `--parquet` writer), each read as `gavel eval` reads it: every record
//! opened through `dataset::open` and normalised with `Record::row`.
//! `cargo bench -p gavel --bench dataset_read` prints rows per second for
//! each format and the files' sizes.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use gavel::evaluation::dataset;
use serde_json::json;

const ROWS: usize = 100_000;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let jsonl = dir.path().join("set.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&jsonl).expect("create"));
    for i in 0..ROWS {
        let row = json!({
            "request_id": format!("q{i}"),
            "request": format!("Question {i}: how does Spark's reduceByKey differ from groupByKey?"),
            "response": format!("Answer {i}: reduceByKey combines values on each partition before the shuffle."),
            "expected_response": "reduceByKey aggregates before shuffling; groupByKey shuffles every value.",
            "retrieved_context": (0..3).map(|c| json!({
                "content": format!("Chunk {c} of row {i}: reduceByKey merges the values for each key using an associative reduce function."),
                "doc_uri": format!("https://docs.example.com/spark/{c}"),
            })).collect::<Vec<_>>(),
            "guidelines": ["Be concise", "Cite the documentation"],
        });
        writeln!(out, "{row}").expect("write");
    }
    out.flush().expect("flush");
    drop(out);

    // The Parquet writer reads a run directory's eval_results.jsonl.
    std::fs::copy(&jsonl, dir.path().join("eval_results.jsonl")).expect("copy");
    let written = gavel::results::parquet::write(dir.path()).expect("write Parquet");
    let parquet = dir.path().join("set.parquet");
    std::fs::rename(written, &parquet).expect("rename");

    for path in [&jsonl, &parquet] {
        // Once to warm the page cache, then timed.
        read(path);
        let started = Instant::now();
        let rows = read(path);
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(rows, ROWS);
        println!(
            "{:>8}: {ROWS} rows in {seconds:.2} s = {:.0} rows/s ({:.1} MB)",
            path.extension().unwrap().to_string_lossy(),
            ROWS as f64 / seconds,
            std::fs::metadata(path).expect("size").len() as f64 / 1e6
        );
    }
}

fn read(path: &Path) -> usize {
    let mut rows = 0;
    for record in dataset::open(path).expect("open") {
        let row = record.expect("record").row().expect("row");
        assert_eq!(row.retrieved_context.len(), 3);
        rows += 1;
    }
    rows
}
