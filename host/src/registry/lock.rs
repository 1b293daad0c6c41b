//! `gavel.lock`: the exact build of every plugin judge a configuration
//! names, so that CI runs what was reviewed, not what a tag names today.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The format this gavel writes and reads.
const FORMAT: u32 = 1;

const HEADER: &str = "\
# Written by `gavel lock`: the exact build of every plugin judge in the
# configuration. Commit it; `gavel eval --locked` refuses to run when the
# configuration and this file disagree. Do not edit by hand.
";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lockfile {
    version: u32,
    /// One per plugin judge, in the configuration's order.
    #[serde(default, rename = "judge")]
    pub judges: Vec<LockedJudge>,
}

/// One plugin judge's build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedJudge {
    /// The judge's name in the configuration (`[judges.NAME]`).
    pub name: String,
    /// The `plugin` value as written there: a path or an `oci://` reference.
    pub plugin: String,
    /// For a registry judge, the manifest digest the reference resolved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Hex SHA-256 of the component.
    pub sha256: String,
}

/// A lock file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{path}: cannot read it: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message} (run `gavel lock` to write it again)")]
    Invalid { path: String, message: String },
    #[error("{path}: cannot write it: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

impl Lockfile {
    pub fn new(judges: Vec<LockedJudge>) -> Lockfile {
        Lockfile {
            version: FORMAT,
            judges,
        }
    }

    /// The lock file of the configuration at `config`: beside it, with the
    /// extension `.lock` (`gavel.toml` -> `gavel.lock`).
    pub fn path_for(config: &Path) -> PathBuf {
        config.with_extension("lock")
    }

    /// Reads `path`; `None` when there is no such file.
    pub fn read(path: &Path) -> Result<Option<Lockfile>, LockError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(LockError::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        let invalid = |message: String| LockError::Invalid {
            path: path.display().to_string(),
            message,
        };
        let lock: Lockfile =
            toml::from_str(&text).map_err(|e| invalid(e.to_string().trim_end().to_owned()))?;
        if lock.version != FORMAT {
            return Err(invalid(format!(
                "format version {} is not {FORMAT}, the one this gavel reads",
                lock.version
            )));
        }
        Ok(Some(lock))
    }

    pub fn write(&self, path: &Path) -> Result<(), LockError> {
        let text = format!(
            "{HEADER}\n{}",
            toml::to_string(self).expect("a lock file serialises")
        );
        std::fs::write(path, text).map_err(|source| LockError::Write {
            path: path.display().to_string(),
            source,
        })
    }

    pub fn get(&self, name: &str) -> Option<&LockedJudge> {
        self.judges.iter().find(|j| j.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_back_beside_the_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let path = Lockfile::path_for(&dir.path().join("gavel.toml"));
        assert_eq!(path, dir.path().join("gavel.lock"));
        assert!(Lockfile::read(&path).unwrap().is_none());
        let lock = Lockfile::new(vec![
            LockedJudge {
                name: "tone".into(),
                plugin: "oci://127.0.0.1:5000/team/tone:1.2".into(),
                digest: Some(format!("sha256:{}", "a".repeat(64))),
                sha256: "b".repeat(64),
            },
            LockedJudge {
                name: "local".into(),
                plugin: "judges/local.wasm".into(),
                digest: None,
                sha256: "c".repeat(64),
            },
        ]);
        lock.write(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# Written by `gavel lock`"), "{text}");
        assert!(text.contains("[[judge]]"), "{text}");
        assert_eq!(Lockfile::read(&path).unwrap(), Some(lock.clone()));
        assert_eq!(lock.get("local").unwrap().sha256, "c".repeat(64));
    }

    #[test]
    fn a_damaged_lock_file_says_where_and_how_to_fix_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gavel.lock");
        std::fs::write(&path, "version = 1\n[[judge]]\nname = \"tone\"\n").unwrap();
        let error = Lockfile::read(&path).unwrap_err().to_string();
        assert!(error.contains("gavel.lock"), "{error}");
        assert!(error.contains("plugin"), "{error}");
        assert!(error.contains("gavel lock"), "{error}");
        std::fs::write(&path, "version = 7\n").unwrap();
        let error = Lockfile::read(&path).unwrap_err().to_string();
        assert!(error.contains("format version 7"), "{error}");
    }
}
