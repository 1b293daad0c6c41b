//! Judge components built from source for the tests: Rust crates with
//! cargo, judges in the other SDK languages with `gavel build` (which
//! installs componentize-py and componentize-js on first use).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use super::workspace;

const RUST_FIXTURES: &[&str] = &[
    "gavel-hostile-judge",
    "gavel-hostile-metric",
    "gavel-llm-metric",
    "gavel-example-rust-judge",
];

fn wasm_dir() -> PathBuf {
    workspace().join("target").join("wasm-judges")
}

/// Builds the Rust fixtures once per test run, the way the host's build
/// script builds the built-ins.
fn rust_fixtures() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let mut command = Command::new(env!("CARGO"));
        command
            .current_dir(workspace())
            .args([
                "build",
                "--target",
                "wasm32-wasip2",
                "--profile",
                "plugin",
                "--target-dir",
            ])
            .arg(wasm_dir());
        for package in RUST_FIXTURES {
            command.args(["-p", package]);
        }
        let output = command.output().expect("run cargo");
        assert!(
            output.status.success(),
            "building the Rust fixture judges failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        wasm_dir().join("wasm32-wasip2").join("plugin")
    })
}

pub fn hostile() -> PathBuf {
    rust_fixtures().join("gavel_hostile_judge.wasm")
}

/// A metric component that attacks its sandbox (tests/hostile-metric).
pub fn hostile_metric() -> PathBuf {
    rust_fixtures().join("gavel_hostile_metric.wasm")
}

/// A metric component that imports the LLM (tests/llm-metric).
pub fn llm_metric() -> PathBuf {
    rust_fixtures().join("gavel_llm_metric.wasm")
}

pub fn rust_example() -> PathBuf {
    rust_fixtures().join("gavel_example_rust_judge.wasm")
}

/// The SDK languages, Rust first (the others' requests are compared with
/// its requests).
pub const LANGUAGES: &[&str] = &["rust", "python", "js", "c"];

/// The example judge (plugins/examples/<language>-judge), built: the Rust
/// one as a workspace crate, the others by `gavel build`.
pub fn example(language: &str) -> PathBuf {
    if language == "rust" {
        return rust_example();
    }
    once(&format!("example-{language}"), || {
        let out = wasm_dir()
            .join("examples")
            .join(language)
            .join("conciseness.wasm");
        let project = workspace().join(format!("plugins/examples/{language}-judge"));
        gavel_build(&project, &out);
        out
    })
}

/// The probe judge in `language`: a project made by `gavel new`, its judge
/// file replaced by tests/languages/<language>/probe, built by `gavel build`.
pub fn probe(language: &str) -> PathBuf {
    once(&format!("probe-{language}"), || {
        let root = workspace().join("target/lang-tests").join(language);
        let project = root.join("probe");
        let _ = std::fs::remove_dir_all(&project);
        std::fs::create_dir_all(&root).unwrap();
        run_gavel(&[
            "new",
            "judge",
            "probe",
            "--lang",
            language,
            project.to_str().unwrap(),
        ]);
        copy_tree(
            &workspace()
                .join("tests/languages")
                .join(language)
                .join("probe"),
            &project,
        );
        let out = root.join("probe.wasm");
        gavel_build(&project, &out);
        out
    })
}

/// Builds each key once per test run, whichever test asks first.
fn once(key: &str, build: impl FnOnce() -> PathBuf) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, Arc<OnceLock<PathBuf>>>>> = OnceLock::new();
    let cell = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(key.to_owned())
        .or_default()
        .clone();
    cell.get_or_init(build).clone()
}

fn gavel_build(project: &Path, out: &Path) {
    run_gavel(&[
        "build",
        project.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
}

/// Runs the gavel binary with the tests' cache directory, where the
/// languages' tools are installed once per machine.
fn run_gavel(args: &[&str]) {
    let output = Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args(args)
        .env("GAVEL_CACHE_DIR", super::cache_dir())
        .output()
        .expect("run gavel");
    assert!(
        output.status.success(),
        "gavel {} failed (tests/run installs what the languages need):\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
