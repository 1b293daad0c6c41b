//! A judge component, compiled, linked and described, ready to instantiate.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::bindings::Description;
use crate::sandbox::PluginPre;

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// Shipped inside the `gavel` binary.
    Builtin,
    /// A `.wasm` file.
    File(PathBuf),
    /// Pulled from an OCI registry: the reference, pinned to its digest
    /// (`oci://host/ns/name@sha256:...`).
    Registry(String),
}

impl fmt::Display for PluginSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginSource::Builtin => f.write_str("built-in"),
            PluginSource::File(path) => write!(f, "{}", path.display()),
            PluginSource::Registry(reference) => f.write_str(reference),
        }
    }
}

/// A loaded judge plugin. Cheap to clone.
#[derive(Clone)]
pub struct Plugin(Arc<PluginInner>);

struct PluginInner {
    pre: PluginPre,
    description: Description,
    source: PluginSource,
    from_cache: bool,
    /// Hex SHA-256 of the component's bytes.
    sha256: String,
    /// The `gavel:judge` version the component was built against.
    wit_version: String,
    /// The component's import and export names, for registries' metadata.
    world: World,
}

/// The names a component imports and exports (`gavel:judge/ask@0.1.1`,
/// `wasi:cli/environment@0.2.0`, ...), as registries list them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct World {
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

impl Plugin {
    pub(crate) fn new(
        pre: PluginPre,
        description: Description,
        source: PluginSource,
        from_cache: bool,
        sha256: &str,
        wit_version: String,
        world: World,
    ) -> Self {
        Plugin(Arc::new(PluginInner {
            pre,
            description,
            source,
            from_cache,
            sha256: sha256.to_owned(),
            wit_version,
            world,
        }))
    }

    /// Hex SHA-256 of the component's bytes: which build this is.
    pub fn sha256(&self) -> &str {
        &self.0.sha256
    }

    /// The version of the `gavel:judge` WIT package the component was built
    /// against (`0.1.0`, `0.1.1`, ...).
    pub fn wit_version(&self) -> &str {
        &self.0.wit_version
    }

    /// What the component imports and exports.
    pub fn world(&self) -> &World {
        &self.0.world
    }

    /// Whether its compiled code came from the on-disk cache.
    pub fn from_cache(&self) -> bool {
        self.0.from_cache
    }

    pub fn name(&self) -> &str {
        &self.0.description.name
    }

    pub fn version(&self) -> &str {
        &self.0.description.version
    }

    /// What the plugin's `describe` returned.
    pub fn description(&self) -> &Description {
        &self.0.description
    }

    pub fn source(&self) -> &PluginSource {
        &self.0.source
    }

    pub(crate) fn pre(&self) -> &PluginPre {
        &self.0.pre
    }
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{} ({})", self.name(), self.version(), self.0.source)
    }
}

/// A plugin that could not be loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot load judge plugin {origin}: {reason}")]
pub struct LoadError {
    pub origin: PluginSource,
    pub reason: String,
}

/// Checks what `describe` returned; the name becomes part of output keys.
pub(crate) fn validate(description: &Description) -> Result<(), String> {
    let name = &description.name;
    let valid_name = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.starts_with(|c: char| c.is_ascii_lowercase());
    if !valid_name {
        // Quoted with escapes, and cut: the name is the plugin's text.
        let shown = format!("{:?}", crate::text::clean_line(name, 64));
        return Err(format!(
            "its name {shown} is not a judge name: 1-64 lowercase letters, digits and `_`, starting with a letter"
        ));
    }
    // The version goes into run.json, MLflow params, headers and terminals.
    let version = &description.version;
    if version.trim().is_empty()
        || version.len() > 64
        || !crate::text::is_clean(version)
        || version.contains(['\n', '\t'])
    {
        return Err(format!(
            "judge '{name}' has no usable version: 1-64 bytes on one line, without control characters"
        ));
    }
    if description.required_inputs.iter().any(Vec::is_empty) {
        return Err(format!(
            "judge '{name}' lists an empty set of alternative inputs"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::AssessmentType;

    fn description(name: &str, version: &str) -> Description {
        Description {
            name: name.to_owned(),
            version: version.to_owned(),
            description: String::new(),
            assessment_type: AssessmentType::Answer,
            required_inputs: Vec::new(),
            endpoints: Vec::new(),
        }
    }

    #[test]
    fn names_and_versions_are_short_clean_lines() {
        assert!(validate(&description("tone", "1.2.0-beta+x")).is_ok());
        for version in ["", " ", "1.0\u{1b}[2J", "1.0\n2.0", &"9".repeat(65)] {
            let error = validate(&description("tone", version)).unwrap_err();
            assert!(error.contains("no usable version"), "{version:?}: {error}");
        }
        let error = validate(&description(&"\u{1b}[31mX".repeat(1 << 16), "1")).unwrap_err();
        assert!(error.len() < 400, "{}", error.len());
        assert!(!error.contains('\u{1b}'), "{error}");
    }
}
