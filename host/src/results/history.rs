//! Run history: an SQLite database indexing every run, so runs can be
//! listed, found by id or name, and compared.
//!
//! The run directories stay the source of truth; the history holds what
//! is needed to find and list them (id, name, time, fingerprints of the
//! data and the configuration, judges and versions, metrics). Recording a
//! run again (a resumed session) replaces its entry.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};

use crate::results::run_dir::{ReadError, RunDir};

/// `GAVEL_HISTORY`, else `<data dir>/gavel/history.sqlite`
/// (`~/.local/share/gavel/history.sqlite` on Linux).
pub fn default_path() -> Option<PathBuf> {
    match std::env::var_os("GAVEL_HISTORY") {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => dirs::data_dir().map(|d| d.join("gavel").join("history.sqlite")),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("run history {}: {message}", .path.display())]
pub struct HistoryError {
    pub path: PathBuf,
    pub message: String,
}

/// One run, as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEntry {
    pub run_id: String,
    pub name: Option<String>,
    pub started_at: Option<String>,
    pub status: Option<String>,
    /// The run directory, absolute.
    pub dir: PathBuf,
    pub dataset: Option<String>,
    pub dataset_sha256: Option<String>,
    pub config_sha256: Option<String>,
    pub rows: Option<u64>,
    /// `metrics.json`.
    pub metrics: Map<String, Value>,
    /// `[{name, version}]`.
    pub judges: Value,
}

pub struct History {
    path: PathBuf,
    db: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    name TEXT,
    started_at TEXT,
    status TEXT,
    dir TEXT NOT NULL,
    dataset TEXT,
    dataset_sha256 TEXT,
    config_sha256 TEXT,
    rows INTEGER,
    judges TEXT NOT NULL,
    metrics TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_time ON runs (started_at);
CREATE INDEX IF NOT EXISTS runs_by_name ON runs (name);
";

impl History {
    /// Opens the database at `path`, creating it (and its directory).
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let error = |message: String| HistoryError {
            path: path.to_owned(),
            message,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| error(format!("cannot create its directory: {e}")))?;
        }
        let db = Connection::open(path).map_err(|e| error(e.to_string()))?;
        // Two runs finishing at once must not fail on a locked database.
        db.busy_timeout(std::time::Duration::from_secs(10))
            .and_then(|()| db.execute_batch(SCHEMA))
            .map_err(|e| error(e.to_string()))?;
        Ok(History {
            path: path.to_owned(),
            db,
        })
    }

    fn error(&self, error: rusqlite::Error) -> HistoryError {
        HistoryError {
            path: self.path.clone(),
            message: error.to_string(),
        }
    }

    /// Records the run in `dir` from its `run.json` and `metrics.json`.
    pub fn record(&self, dir: &Path) -> Result<RunEntry, HistoryError> {
        let fail = |e: ReadError| HistoryError {
            path: self.path.clone(),
            message: e.message,
        };
        let run_dir = RunDir::open(dir);
        let run = run_dir.run().map_err(fail)?;
        let metrics = run_dir.metrics().map_err(fail)?;
        let text = |key: &str| run.get(key).and_then(Value::as_str).map(str::to_owned);
        let judges: Value = run
            .get("judges")
            .and_then(Value::as_array)
            .map(|judges| {
                judges
                    .iter()
                    .map(|j| {
                        let mut judge =
                            serde_json::json!({"name": j["name"], "version": j["version"]});
                        // Runs written before digests were recorded have none.
                        if let Some(sha256) = j.get("sha256") {
                            judge["sha256"] = sha256.clone();
                        }
                        judge
                    })
                    .collect()
            })
            .unwrap_or_default();
        let entry = RunEntry {
            run_id: text("run_id").ok_or_else(|| HistoryError {
                path: self.path.clone(),
                message: format!("{} has no run_id", dir.join("run.json").display()),
            })?,
            name: text("name"),
            started_at: text("started_at"),
            status: text("status"),
            dir: std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned()),
            dataset: text("dataset"),
            dataset_sha256: text("dataset_sha256"),
            config_sha256: text("config_sha256"),
            rows: run.get("finished_rows").and_then(Value::as_u64),
            metrics,
            judges,
        };
        self.db
            .execute(
                "INSERT OR REPLACE INTO runs
                 (run_id, name, started_at, status, dir, dataset, dataset_sha256, config_sha256, rows, judges, metrics)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    entry.run_id,
                    entry.name,
                    entry.started_at,
                    entry.status,
                    entry.dir.to_string_lossy(),
                    entry.dataset,
                    entry.dataset_sha256,
                    entry.config_sha256,
                    entry.rows.map(|r| r as i64),
                    entry.judges.to_string(),
                    Value::Object(entry.metrics.clone()).to_string(),
                ],
            )
            .map_err(|e| self.error(e))?;
        Ok(entry)
    }

    /// Runs, newest first.
    pub fn list(&self, limit: usize) -> Result<Vec<RunEntry>, HistoryError> {
        let mut query = self
            .db
            .prepare(
                "SELECT run_id, name, started_at, status, dir, dataset, dataset_sha256, config_sha256, rows, judges, metrics
                 FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?1",
            )
            .map_err(|e| self.error(e))?;
        let rows = query
            .query_map(params![limit as i64], entry_of)
            .map_err(|e| self.error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.error(e))
    }

    /// The run with this id, or else the latest run with this name.
    pub fn find(&self, id_or_name: &str) -> Result<Option<RunEntry>, HistoryError> {
        self.db
            .query_row(
                "SELECT run_id, name, started_at, status, dir, dataset, dataset_sha256, config_sha256, rows, judges, metrics
                 FROM runs WHERE run_id = ?1 OR name = ?1
                 ORDER BY run_id = ?1 DESC, started_at DESC, rowid DESC LIMIT 1",
                params![id_or_name],
                entry_of,
            )
            .optional()
            .map_err(|e| self.error(e))
    }
}

fn entry_of(row: &rusqlite::Row) -> rusqlite::Result<RunEntry> {
    let json = |text: String| serde_json::from_str::<Value>(&text).unwrap_or_default();
    Ok(RunEntry {
        run_id: row.get(0)?,
        name: row.get(1)?,
        started_at: row.get(2)?,
        status: row.get(3)?,
        dir: PathBuf::from(row.get::<_, String>(4)?),
        dataset: row.get(5)?,
        dataset_sha256: row.get(6)?,
        config_sha256: row.get(7)?,
        rows: row.get::<_, Option<i64>>(8)?.map(|r| r.max(0) as u64),
        judges: json(row.get(9)?),
        metrics: match json(row.get(10)?) {
            Value::Object(metrics) => metrics,
            _ => Map::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run_dir(root: &Path, id: &str, name: Option<&str>, started: &str, overall: f64) -> PathBuf {
        let dir = root.join(id);
        std::fs::create_dir_all(&dir).unwrap();
        let run = json!({"run_id": id, "name": name, "started_at": started, "status": "finished",
            "dataset": "set.jsonl", "dataset_sha256": "abc", "finished_rows": 4,
            "judges": [{"name": "safety", "plugin": "safety", "version": "0.1.0"}]});
        std::fs::write(dir.join("run.json"), run.to_string()).unwrap();
        let metrics = json!({"response/overall_assessment/rating/percentage": overall});
        std::fs::write(dir.join("metrics.json"), metrics.to_string()).unwrap();
        dir
    }

    #[test]
    fn runs_are_recorded_listed_newest_first_and_found_by_id_or_name() {
        let root = tempfile::tempdir().unwrap();
        let history = History::open(&root.path().join("deep/history.sqlite")).unwrap();
        history
            .record(&run_dir(
                root.path(),
                "a",
                Some("baseline"),
                "2026-11-01T10:00:00Z",
                0.5,
            ))
            .unwrap();
        history
            .record(&run_dir(
                root.path(),
                "b",
                Some("baseline"),
                "2026-11-02T10:00:00Z",
                0.75,
            ))
            .unwrap();
        // Recorded again: replaced, not duplicated.
        history
            .record(&run_dir(
                root.path(),
                "b",
                Some("baseline"),
                "2026-11-02T10:00:00Z",
                0.8,
            ))
            .unwrap();
        let runs = history.list(10).unwrap();
        let ids: Vec<_> = runs.iter().map(|r| r.run_id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
        assert_eq!(
            runs[0].metrics["response/overall_assessment/rating/percentage"],
            0.8
        );
        assert_eq!(
            runs[0].judges,
            json!([{"name": "safety", "version": "0.1.0"}])
        );
        assert_eq!(history.find("a").unwrap().unwrap().run_id, "a");
        assert_eq!(
            history.find("baseline").unwrap().unwrap().run_id,
            "b",
            "the latest of that name"
        );
        assert!(history.find("nope").unwrap().is_none());
    }
}
