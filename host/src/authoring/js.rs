//! JavaScript judges: a `judge.js` module on the `gavel-judge` SDK module
//! (sdk/js), made into a component by componentize-js (SpiderMonkey).
//!
//! componentize-js resolves no package names, so the build bundles the
//! judge, its own modules and the SDK into one module with rolldown first
//! (`sdk/js/tools/build.mjs`). Both tools are installed on first use with
//! `npm ci`, pinned by `sdk/js/tools/package-lock.json`, which also pins
//! `@bytecodealliance/preview2-shim` 0.17.9: componentize-js 0.23 imports it
//! without depending on it, and needs a version that still preopens `/`.

use std::path::Path;
use std::process::Command;

use super::tools::run;
use super::{AuthoringError, BuildContext, Language, ProjectFile};

/// The SDK module, its types, and what builds with it.
pub(super) const SDK_FILES: &[(&str, &str)] = &[
    (
        "sdk/js/package.json",
        include_str!("../../../sdk/js/package.json"),
    ),
    ("sdk/js/index.js", include_str!("../../../sdk/js/index.js")),
    (
        "sdk/js/index.d.ts",
        include_str!("../../../sdk/js/index.d.ts"),
    ),
    ("sdk/js/tools/build.mjs", BUILD_SCRIPT),
    ("sdk/js/tools/package.json", TOOLS_MANIFEST),
    ("sdk/js/tools/package-lock.json", TOOLS_LOCK),
];

const BUILD_SCRIPT: &str = include_str!("../../../sdk/js/tools/build.mjs");
const TOOLS_MANIFEST: &str = include_str!("../../../sdk/js/tools/package.json");
const TOOLS_LOCK: &str = include_str!("../../../sdk/js/tools/package-lock.json");

/// The componentize-js version the lock file pins.
const COMPONENTIZE_JS: &str = "0.23.0";

/// The Node.js versions rolldown supports: 20.19 on, 22.12 on.
const NODE_VERSIONS: &str = "20.19 or later (22.12 or later on the 22 line)";

pub(super) fn scaffold(name: &str) -> Vec<ProjectFile> {
    let fill = |template: &str| template.replace("__NAME__", name);
    vec![
        ProjectFile {
            path: "judge.js",
            contents: fill(include_str!("../../../sdk/js/template/judge.js")),
        },
        ProjectFile {
            path: "package.json",
            contents: fill(include_str!("../../../sdk/js/template/package.json")),
        },
        ProjectFile {
            path: ".gitignore",
            contents: "/node_modules\n*.wasm\n".to_owned(),
        },
    ]
}

pub(super) fn build(context: &BuildContext) -> Result<Vec<u8>, AuthoringError> {
    check_node()?;
    let tools = context
        .tools
        .installed("componentize-js", &tools_version(), install)?;
    let scratch = context.tools.build_dir(context.dir);
    std::fs::create_dir_all(&scratch).map_err(AuthoringError::io(&scratch))?;
    let sdk = context.sdk.join("sdk/js");
    // The component stays in the scratch directory, where build.mjs can
    // tell it is up to date and skip componentize-js; `gavel build` writes
    // the metadata into a copy of it.
    let component = scratch.join("judge.wasm");
    run(
        "bundling and componentizing judge.js (rolldown, componentize-js)",
        Command::new("node")
            // componentize-js makes the directory it runs in the component's
            // view of the file system while it loads the module.
            .current_dir(&scratch)
            .arg(sdk.join("tools/build.mjs"))
            .arg(&tools)
            .arg(context.dir.join("judge.js"))
            .arg(sdk.join("index.js"))
            .arg(context.sdk.join("wit"))
            .arg(&scratch)
            .arg(&component),
    )?;
    std::fs::read(&component).map_err(AuthoringError::io(&component))
}

/// componentize-js's version and the lock file's hash: any change of the
/// lock file installs anew, into a directory of its own.
fn tools_version() -> String {
    let short = super::tools::short_digest(&[TOOLS_LOCK.as_bytes()]);
    format!("{COMPONENTIZE_JS}-{short}")
}

fn install(dir: &Path) -> Result<(), AuthoringError> {
    for (name, contents) in [
        ("package.json", TOOLS_MANIFEST),
        ("package-lock.json", TOOLS_LOCK),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, contents).map_err(AuthoringError::io(&path))?;
    }
    run(
        "npm ci (componentize-js, rolldown)",
        Command::new(npm())
            .arg("ci")
            .arg("--prefix")
            .arg(dir)
            // None of the pinned packages needs an install script.
            .args([
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ]),
    )?;
    Ok(())
}

fn npm() -> &'static str {
    if cfg!(windows) { "npm.cmd" } else { "npm" }
}

fn check_node() -> Result<(), AuthoringError> {
    let missing = |found: &str| AuthoringError::MissingTool {
        language: Language::JavaScript,
        what: format!("Node.js {NODE_VERSIONS}, with npm{found}"),
        how: "install it from https://nodejs.org or with your package manager \
            (Debian/Ubuntu: the nodejs and npm packages, if recent enough), \
            so that `node` and `npm` are on PATH"
            .to_owned(),
    };
    let version = Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .ok_or_else(|| missing(""))?;
    if !node_is_recent(&version) {
        return Err(missing(&format!(" (found {version})")));
    }
    if !super::tools::available(npm()) {
        return Err(missing(" (npm is missing)"));
    }
    Ok(())
}

/// Whether `node --version` (such as `v20.19.2`) is one of [`NODE_VERSIONS`].
fn node_is_recent(version: &str) -> bool {
    let mut parts = version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .map(|part| part.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(20), Some(minor)) => minor >= 19,
        (Some(22), Some(minor)) => minor >= 12,
        (Some(major), Some(_)) => major >= 23,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_versions_are_compared_by_major_and_minor() {
        assert!(node_is_recent("v20.19.0"));
        assert!(node_is_recent("v22.12.0"));
        assert!(!node_is_recent("v22.11.0"));
        assert!(!node_is_recent("v21.7.3"));
        assert!(node_is_recent("v24.0.0\n"));
        assert!(!node_is_recent("v20.18.3"));
        assert!(!node_is_recent("v18.20.0"));
        assert!(!node_is_recent("nonsense"));
    }

    #[test]
    fn the_scaffold_names_the_judge_and_uses_no_placeholder() {
        let files = scaffold("tone");
        let judge = files.iter().find(|f| f.path == "judge.js").unwrap();
        assert!(judge.contents.contains(r#"name: "tone""#));
        assert!(files.iter().all(|f| !f.contents.contains("__NAME__")));
    }

    #[test]
    fn the_lock_file_pins_componentize_js() {
        assert!(TOOLS_LOCK.contains(&format!(
            "\"node_modules/@bytecodealliance/componentize-js\": {{\n      \"version\": \"{COMPONENTIZE_JS}\""
        )));
    }
}
