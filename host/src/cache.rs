//! Compiled components on disk, so start-up does not recompile judges.
//!
//! Compiling takes from a tenth of a second (a Rust judge) to over ten
//! seconds (a componentize-py judge); loading a compiled file is a memory map.
//! A file is keyed by the component's SHA-256, the wasmtime version and the
//! engine's compatibility hash: code compiled under another engine
//! configuration is rejected by wasmtime, so it must never be looked up.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled components live, for one engine configuration.
#[derive(Debug, Clone)]
pub(crate) struct ComponentCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

impl ComponentCache {
    /// `dir: None` disables the cache (every load compiles).
    pub(crate) fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        let mut hasher = StableHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = hex(&hasher.0.finalize()[..12]);
        ComponentCache {
            dir: dir.map(|d| d.join("components")),
            engine_key,
        }
    }

    /// The component for `bytes` (whose SHA-256 is `sha256`), from the cache
    /// (`true`) or compiled and then cached. A cache that cannot be read or
    /// written only costs a compile.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        bytes: &[u8],
        sha256: &str,
    ) -> wasmtime::Result<(Component, bool)> {
        let Some(path) = self.path_for(sha256) else {
            return Ok((Component::new(engine, bytes)?, false));
        };
        if path.exists() {
            // SAFETY: the file was written by `store` below from
            // `Component::serialize` under this engine configuration (the
            // key says so), and is replaced atomically, never modified.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, true)),
                Err(error) => tracing::warn!(
                    path = %path.display(),
                    "ignoring unreadable compiled component: {error:#}"
                ),
            }
        }
        let component = Component::new(engine, bytes)?;
        if let Err(error) = store(&path, &component) {
            tracing::warn!(path = %path.display(), "cannot cache compiled component: {error:#}");
        }
        Ok((component, false))
    }

    fn path_for(&self, sha256: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        // The compatibility hash covers wasmtime's version too; naming it
        // keeps the directory readable.
        let version = env!("GAVEL_WASMTIME_VERSION");
        Some(dir.join(format!(
            "{sha256}-wasmtime{version}-{}.cwasm",
            self.engine_key
        )))
    }
}

/// Writes to a temporary file and renames it into place, so a reader never
/// sees a partial file, even when two processes compile the same judge.
fn store(path: &Path, component: &Component) -> anyhow::Result<()> {
    let bytes = component
        .serialize()
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let dir = path.parent().expect("cache paths have a parent");
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(&bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)?;
    Ok(())
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `std::hash::Hasher` over SHA-256, so the engine's compatibility hash gives
/// the same key in every process (`DefaultHasher` is not stable).
struct StableHasher(Sha256);

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        unreachable!("only the SHA-256 digest is read")
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_key_is_stable_across_engines_with_one_config() {
        let a = ComponentCache::new(&Engine::default(), None);
        let b = ComponentCache::new(&Engine::default(), None);
        assert_eq!(a.engine_key, b.engine_key);
    }
}
