//! A judge component, compiled, linked and described, ready to instantiate.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::bindings::Description;
use crate::metric::MetricPlugin;
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
    provenance: Provenance,
}

/// Where a loaded component came from and which build it is: what judge
/// and metric plugins alike carry.
#[derive(Debug, Clone)]
pub(crate) struct Provenance {
    pub(crate) source: PluginSource,
    pub(crate) from_cache: bool,
    /// Hex SHA-256 of the component's bytes.
    pub(crate) sha256: String,
    /// The `gavel:judge` version the component was built against.
    pub(crate) wit_version: String,
    /// The component's import and export names, for registries' metadata.
    pub(crate) world: World,
}

/// The names a component imports and exports (`gavel:judge/ask@0.1.1`,
/// `wasi:cli/environment@0.2.0`, ...), as registries list them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct World {
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

impl World {
    /// Whether the component exports the `metric` interface (any 0.1
    /// version) rather than `judge`: the exports decide what a loaded
    /// component is.
    pub fn is_metric(&self) -> bool {
        self.exports
            .iter()
            .any(|name| name.starts_with("gavel:judge/metric@"))
    }
}

impl Plugin {
    pub(crate) fn new(pre: PluginPre, description: Description, provenance: Provenance) -> Self {
        Plugin(Arc::new(PluginInner {
            pre,
            description,
            provenance,
        }))
    }

    /// Hex SHA-256 of the component's bytes: which build this is.
    pub fn sha256(&self) -> &str {
        &self.0.provenance.sha256
    }

    /// The version of the `gavel:judge` WIT package the component was built
    /// against (`0.1.0`, `0.1.1`, ...).
    pub fn wit_version(&self) -> &str {
        &self.0.provenance.wit_version
    }

    /// What the component imports and exports.
    pub fn world(&self) -> &World {
        &self.0.provenance.world
    }

    /// Whether its compiled code came from the on-disk cache.
    pub fn from_cache(&self) -> bool {
        self.0.provenance.from_cache
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
        &self.0.provenance.source
    }

    pub(crate) fn pre(&self) -> &PluginPre {
        &self.0.pre
    }
}

/// A loaded component: its exports decide whether it is a judge or a
/// metric.
#[derive(Debug, Clone)]
pub enum Loaded {
    Judge(Plugin),
    Metric(MetricPlugin),
}

impl Loaded {
    /// The judge, or an error saying that the component is a metric (where
    /// only a judge will do: `gavel judge --plugin`, `gavel judges inspect`).
    pub fn into_judge(self) -> Result<Plugin, LoadError> {
        match self {
            Loaded::Judge(plugin) => Ok(plugin),
            Loaded::Metric(metric) => Err(LoadError {
                origin: metric.source().clone(),
                reason: format!(
                    "it is a metric ('{}' exports gavel:judge/metric), not a judge; name it in a [judges.NAME] table's `plugin` and in --judges",
                    metric.name()
                ),
            }),
        }
    }
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{} ({})", self.name(), self.version(), self.source())
    }
}

/// A plugin that could not be loaded (a metric too: it is configured as a
/// `[judges.NAME]` plugin, and the message says so).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot load judge plugin {origin}: {reason}")]
pub struct LoadError {
    pub origin: PluginSource,
    pub reason: String,
}

/// Checks what `describe` returned; the name becomes part of output keys.
pub(crate) fn validate(description: &Description) -> Result<(), String> {
    validate_name_and_version("judge", &description.name, &description.version)?;
    if description.required_inputs.iter().any(Vec::is_empty) {
        return Err(format!(
            "judge '{}' lists an empty set of alternative inputs",
            description.name
        ));
    }
    Ok(())
}

/// The name and version of a judge or metric (`kind`): the name goes into
/// output keys; the version into run.json, MLflow params, headers and
/// terminals.
pub(crate) fn validate_name_and_version(
    kind: &str,
    name: &str,
    version: &str,
) -> Result<(), String> {
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
            "its name {shown} is not a {kind} name: 1-64 lowercase letters, digits and `_`, starting with a letter"
        ));
    }
    if version.trim().is_empty()
        || version.len() > 64
        || !crate::text::is_clean(version)
        || version.contains(['\n', '\t'])
    {
        return Err(format!(
            "{kind} '{name}' has no usable version: 1-64 bytes on one line, without control characters"
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
