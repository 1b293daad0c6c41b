//! The tools builds need, installed on first use at pinned versions under
//! gavel's cache directory, and the one way builds run them.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

use super::AuthoringError;

/// Where builds keep what they install and write: `tools/` for toolchains,
/// `sdk/` for the SDK files, `build/` for per-project scratch space.
#[derive(Debug, Clone)]
pub struct Tools {
    root: PathBuf,
}

impl Tools {
    /// Under `cache_dir` (gavel's cache directory).
    pub fn new(cache_dir: impl Into<PathBuf>) -> Tools {
        Tools {
            root: cache_dir.into(),
        }
    }

    /// Under `$GAVEL_CACHE_DIR`, or `gavel` in the user's cache directory.
    pub fn default_location() -> Option<Tools> {
        gavel_runtime::default_cache_dir().map(Tools::new)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory for the SDK files `files`, named by their content so
    /// that two gavel versions never share one.
    pub(super) fn sdk_dir(&self, files: &[(&str, &str)]) -> PathBuf {
        let parts: Vec<&[u8]> = files
            .iter()
            .flat_map(|(path, contents)| [path.as_bytes(), contents.as_bytes()])
            .collect();
        self.root.join("sdk").join(short_digest(&parts))
    }

    /// Scratch space for building `project` (a project directory).
    pub fn build_dir(&self, project: &Path) -> PathBuf {
        let path = project.to_string_lossy();
        self.root
            .join("build")
            .join(short_digest(&[path.as_bytes()]))
    }

    /// The install directory of `tool` at `version`, made by `install` the
    /// first time (under a lock, so parallel builds install it once). A
    /// failed install leaves nothing behind, so the next build retries.
    pub fn installed(
        &self,
        tool: &str,
        version: &str,
        install: impl FnOnce(&Path) -> Result<(), AuthoringError>,
    ) -> Result<PathBuf, AuthoringError> {
        let tools = self.root.join("tools");
        fs::create_dir_all(&tools).map_err(AuthoringError::io(&tools))?;
        let dir = tools.join(format!("{tool}-{version}"));
        let done = dir.join(".installed");
        if done.is_file() {
            return Ok(dir);
        }
        let lock_path = tools.join(format!("{tool}-{version}.lock"));
        let lock = File::create(&lock_path).map_err(AuthoringError::io(&lock_path))?;
        lock.lock().map_err(AuthoringError::io(&lock_path))?;
        if done.is_file() {
            return Ok(dir);
        }
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(AuthoringError::io(&dir))?;
        }
        fs::create_dir_all(&dir).map_err(AuthoringError::io(&dir))?;
        if let Err(error) = install(&dir) {
            let _ = fs::remove_dir_all(&dir);
            return Err(error);
        }
        fs::write(&done, version).map_err(AuthoringError::io(&done))?;
        Ok(dir)
    }
}

/// The first 8 bytes of the SHA-256 of `parts` (each ended by a NUL, so
/// that moving bytes between parts changes it), in hex: a name for a
/// directory that holds what was made from them.
pub(super) fn short_digest(parts: &[&[u8]]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part);
        hash.update([0]);
    }
    gavel_runtime::digest::hex(&hash.finalize()[..8])
}

/// Runs `command`; on failure the error names `step` and carries what the
/// command printed (the end of it, when it is long).
pub fn run(step: &str, command: &mut Command) -> Result<Output, AuthoringError> {
    let output = command.output().map_err(|error| AuthoringError::Failed {
        step: step.to_owned(),
        output: format!("cannot start {:?}: {error}", command.get_program()),
    })?;
    if output.status.success() {
        return Ok(output);
    }
    let mut printed = String::from_utf8_lossy(&output.stdout).into_owned();
    printed.push_str(&String::from_utf8_lossy(&output.stderr));
    const TAIL: usize = 8000;
    let start = printed.char_indices().rev().nth(TAIL).map_or(0, |(i, _)| i);
    Err(AuthoringError::Failed {
        step: format!("{step} ({})", output.status),
        output: printed[start..].trim_end().to_owned(),
    })
}

/// Whether `program` can be started (it is on PATH or a path that exists).
pub fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}
