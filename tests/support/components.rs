//! Judge components built from source for the tests: Rust crates with
//! cargo, the Python and JavaScript examples with componentize-py and
//! componentize-js (installed by tests/run).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::workspace;

const RUST_FIXTURES: &[&str] = &["gavel-hostile-judge", "gavel-example-rust-judge"];

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

pub fn rust_example() -> PathBuf {
    rust_fixtures().join("gavel_example_rust_judge.wasm")
}

/// The Python example judge, built with componentize-py.
pub fn python_example() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| build_with_script("plugins/examples/python-judge", "conciseness.wasm"))
        .clone()
}

/// The JavaScript example judge, built with componentize-js.
pub fn js_example() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| build_with_script("plugins/examples/js-judge", "conciseness.wasm"))
        .clone()
}

/// Runs the example's `build.sh OUT`, which rebuilds only when a source
/// changed.
fn build_with_script(dir: &str, file: &str) -> PathBuf {
    let out = wasm_dir()
        .join(dir.rsplit('/').next().unwrap_or(dir))
        .join(file);
    let output = Command::new("bash")
        .arg(workspace().join(dir).join("build.sh"))
        .arg(&out)
        .output()
        .expect("run build.sh");
    assert!(
        output.status.success(),
        "{dir}/build.sh failed (tests/run installs its tools):\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    out
}
