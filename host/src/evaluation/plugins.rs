//! Where plugin judges come from: a file beside the configuration or a
//! registry (`oci://...`), as `gavel.toml` names them and `gavel.lock`
//! pins them.

use std::path::{Path, PathBuf};

use crate::evaluation::config::{Config, ConfigError, JudgeTable};
use crate::registry::{
    self, Fetched, JudgeRef, LockedJudge, Lockfile, Origin, Registry, RegistryError, Resolve, Store,
};
use gavel_runtime::{Host, Loaded, PluginSource};

/// What a `[judges.NAME] plugin` value names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginRef {
    /// A component file (relative paths are relative to the configuration).
    File(PathBuf),
    Registry(JudgeRef),
}

impl PluginRef {
    pub fn parse(config: &Config, text: &str) -> Result<PluginRef, registry::ReferenceError> {
        if JudgeRef::is_registry(text) {
            Ok(PluginRef::Registry(text.parse()?))
        } else {
            Ok(PluginRef::File(config.dir.join(text)))
        }
    }
}

/// What the lock file says for a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockUse {
    /// Use `gavel.lock`'s digests where it agrees with the configuration;
    /// resolve what it does not cover.
    Prefer,
    /// `--locked`: refuse to run unless the lock file covers every plugin
    /// judge exactly as configured.
    Require,
}

/// Loads a configuration's plugin judges.
pub struct PluginLoader {
    registry: Registry,
    store: Store,
    lock: Option<Lockfile>,
    lock_path: PathBuf,
}

/// A lock file written by [`PluginLoader::lock`], with what changed.
#[derive(Debug, Clone)]
pub struct Locked {
    pub lock: Lockfile,
    pub path: PathBuf,
    /// `(name, before, after)` for every judge whose build changed, was
    /// added (`before` None) or removed (`after` None).
    pub changes: Vec<(String, Option<LockedJudge>, Option<LockedJudge>)>,
}

impl PluginLoader {
    /// A loader for `config` on `host`: its registry clients, the store of
    /// pulled judges under the host's cache directory, and the lock file
    /// beside the configuration (checked against it under
    /// [`LockUse::Require`]).
    pub fn new(
        config: &Config,
        host: &Host,
        lock_use: LockUse,
    ) -> Result<PluginLoader, ConfigError> {
        let lock_path = Lockfile::path_for(
            config
                .path
                .as_deref()
                .unwrap_or(Path::new(crate::evaluation::config::DEFAULT_CONFIG_FILE)),
        );
        let lock_path = if config.path.is_some() {
            lock_path
        } else {
            config.dir.join(lock_path)
        };
        let lock = Lockfile::read(&lock_path).map_err(|e| config.error(e.to_string()))?;
        let cache_dir = host
            .cache_dir()
            .map(Path::to_owned)
            .unwrap_or_else(|| std::env::temp_dir().join("gavel-cache"));
        let loader = PluginLoader {
            registry: Registry::new(host.max_component_bytes()),
            store: Store::new(&cache_dir),
            lock,
            lock_path,
        };
        if lock_use == LockUse::Require {
            loader.check_locked(config)?;
        }
        Ok(loader)
    }

    /// The lock file's path (beside the configuration).
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    /// The plugin `name` configured by `table` (which has a `plugin`): a
    /// judge or, when its component exports `metric`, a metric.
    pub async fn load(
        &self,
        host: &Host,
        config: &Config,
        name: &str,
        table: &JudgeTable,
    ) -> Result<Loaded, ConfigError> {
        let at = |message: String| config.error(format!("[judges.{name}]: {message}"));
        let text = table.plugin.as_deref().unwrap_or_default();
        let pinned = pinned_sha256(config, name, table)?;
        let locked = self
            .lock
            .as_ref()
            .and_then(|lock| lock.get(name))
            .filter(|entry| entry.plugin == text);
        match PluginRef::parse(config, text).map_err(|e| at(e.to_string()))? {
            PluginRef::File(path) => host
                .load_any_file_pinned(&path, pinned.as_deref())
                .await
                .map_err(|e| at(e.to_string())),
            PluginRef::Registry(reference) => {
                if locked.is_none() && self.lock.is_some() {
                    tracing::warn!(
                        judge = name,
                        "{} does not cover this judge as configured; resolving {reference} (run `gavel lock` to pin it)",
                        self.lock_path.display()
                    );
                }
                let target = match locked.and_then(|entry| entry.digest.as_deref()) {
                    Some(digest) => reference.with_digest(digest),
                    None => reference.clone(),
                };
                let fetched = self
                    .fetch(&target, Resolve::StoreIfUnreachable)
                    .await
                    .map_err(|e| at(e.to_string()))?;
                for (expected, what) in [
                    (
                        pinned.as_deref(),
                        "the `sha256` pinned in the configuration",
                    ),
                    (
                        locked.map(|entry| entry.sha256.as_str()),
                        "the build in the lock file",
                    ),
                ] {
                    if let Some(expected) = expected
                        && !expected.eq_ignore_ascii_case(&fetched.sha256)
                    {
                        return Err(at(format!(
                            "{} is the component with SHA-256 {}, not {what} ({expected}); it was not loaded",
                            fetched.reference, fetched.sha256
                        )));
                    }
                }
                host.load_any_bytes(
                    &fetched.wasm,
                    PluginSource::Registry(fetched.reference.to_string()),
                )
                .await
                .map_err(|e| at(e.to_string()))
            }
        }
    }

    /// Fetches `reference`, saying when a tag was answered from the store
    /// because its registry could not be reached.
    pub async fn fetch(
        &self,
        reference: &JudgeRef,
        resolve: Resolve,
    ) -> Result<Fetched, RegistryError> {
        let fetched = registry::fetch(&self.registry, &self.store, reference, resolve).await?;
        if let Origin::StoreWhileUnreachable { reason } = &fetched.origin {
            tracing::warn!(
                "registry {} cannot be reached ({reason}); using {}, what the tag named when last pulled",
                reference.registry(),
                fetched.reference
            );
        }
        Ok(fetched)
    }

    /// The registry clients (for `gavel judges push`).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Resolves every plugin judge of `config` to its exact build (tags to
    /// digests, pulling what is not stored yet; files to their SHA-256),
    /// checks that each loads on `host`, and writes the lock file.
    pub async fn lock(&self, host: &Host, config: &Config) -> Result<Locked, ConfigError> {
        let mut judges = Vec::new();
        for (name, table) in &config.judges {
            let Some(text) = table.plugin.as_deref() else {
                continue;
            };
            let at = |message: String| config.error(format!("[judges.{name}]: {message}"));
            let pinned = pinned_sha256(config, name, table)?;
            let (digest, sha256, wasm, source) =
                match PluginRef::parse(config, text).map_err(|e| at(e.to_string()))? {
                    PluginRef::File(path) => {
                        let wasm = std::fs::read(&path)
                            .map_err(|e| at(format!("{}: {e}", path.display())))?;
                        (
                            None,
                            registry::sha256_hex(&wasm),
                            wasm,
                            PluginSource::File(path),
                        )
                    }
                    PluginRef::Registry(reference) => {
                        let fetched = self
                            .fetch(&reference, Resolve::RegistryOnly)
                            .await
                            .map_err(|e| at(e.to_string()))?;
                        let source = PluginSource::Registry(fetched.reference.to_string());
                        (Some(fetched.digest), fetched.sha256, fetched.wasm, source)
                    }
                };
            if let Some(pinned) = pinned
                && !pinned.eq_ignore_ascii_case(&sha256)
            {
                return Err(at(format!(
                    "{text} is the component with SHA-256 {sha256}, not the pinned {pinned}"
                )));
            }
            // A lock never pins something that would not load.
            host.load_any_bytes(&wasm, source)
                .await
                .map_err(|e| at(e.to_string()))?;
            judges.push(LockedJudge {
                name: name.clone(),
                plugin: text.to_owned(),
                digest,
                sha256,
            });
        }
        let lock = Lockfile::new(judges);
        let before = self.lock.clone().unwrap_or_default();
        let mut changes = Vec::new();
        for after in &lock.judges {
            match before.get(&after.name) {
                Some(old) if old == after => {}
                old => changes.push((after.name.clone(), old.cloned(), Some(after.clone()))),
            }
        }
        for old in &before.judges {
            if lock.get(&old.name).is_none() {
                changes.push((old.name.clone(), Some(old.clone()), None));
            }
        }
        lock.write(&self.lock_path)
            .map_err(|e| config.error(e.to_string()))?;
        Ok(Locked {
            lock,
            path: self.lock_path.clone(),
            changes,
        })
    }

    /// `--locked`: the lock file exists and pins every plugin judge exactly
    /// as configured, and every file judge is still the locked build.
    fn check_locked(&self, config: &Config) -> Result<(), ConfigError> {
        let lock_name = self.lock_path.display();
        let how =
            format!("run `gavel lock` to update {lock_name}, review the change, and commit it");
        let Some(lock) = &self.lock else {
            return Err(config.error(format!("--locked: {lock_name} does not exist; {how}")));
        };
        let mut problems = Vec::new();
        for (name, table) in &config.judges {
            let Some(text) = table.plugin.as_deref() else {
                continue;
            };
            let Some(entry) = lock.get(name) else {
                problems.push(format!("judge `{name}` is not in {lock_name}"));
                continue;
            };
            if entry.plugin != text {
                problems.push(format!(
                    "judge `{name}` is `{text}` in {} and `{}` in {lock_name}",
                    config.file_name(),
                    entry.plugin
                ));
                continue;
            }
            if let Some(pinned) = table.sha256.as_deref().map(str::trim)
                && !pinned.eq_ignore_ascii_case(&entry.sha256)
            {
                problems.push(format!(
                    "judge `{name}` pins sha256 {pinned} in {} and {lock_name} has {}",
                    config.file_name(),
                    entry.sha256
                ));
            }
            if let Ok(PluginRef::File(path)) = PluginRef::parse(config, text) {
                match std::fs::read(&path).map(|bytes| registry::sha256_hex(&bytes)) {
                    Ok(sha256) if sha256 != entry.sha256 => {
                        problems.push(format!(
                            "judge `{name}`: {} changed since {lock_name} was written (SHA-256 {sha256}, locked {})",
                            path.display(),
                            entry.sha256
                        ));
                    }
                    Ok(_) => {}
                    Err(e) => problems.push(format!("judge `{name}`: {}: {e}", path.display())),
                }
            }
        }
        for entry in &lock.judges {
            if config
                .judges
                .get(&entry.name)
                .is_none_or(|table| table.plugin.is_none())
            {
                problems.push(format!(
                    "{lock_name} pins judge `{}`, which {} no longer has",
                    entry.name,
                    config.file_name()
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(config.error(format!(
                "--locked: {} and {lock_name} disagree:\n  {}\n{how}",
                config.file_name(),
                problems.join("\n  ")
            )))
        }
    }
}

/// A `[judges.NAME] sha256`, checked: 64 hex digits.
fn pinned_sha256(
    config: &Config,
    name: &str,
    table: &JudgeTable,
) -> Result<Option<String>, ConfigError> {
    let Some(digest) = table.sha256.as_deref().map(str::trim) else {
        return Ok(None);
    };
    if digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(Some(digest.to_ascii_lowercase()))
    } else {
        Err(config.error(format!(
            "[judges.{name}]: `sha256` must be 64 hex digits (`sha256sum FILE` or `gavel judges inspect FILE` prints it)"
        )))
    }
}
