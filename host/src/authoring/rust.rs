//! Rust judges: a `cdylib` crate on the `gavel-sdk` crate, built by cargo
//! for `wasm32-wasip2` (which produces a component directly).

use std::path::Path;
use std::process::Command;

use super::tools::run;
use super::{AuthoringError, BuildContext, Language, ProjectFile};

/// The SDK crate as gavel carries it: its sources, and a manifest of its
/// own (the repository's inherits from the workspace).
pub(super) const SDK_FILES: &[(&str, &str)] = &[
    ("sdk/rust/Cargo.toml", SDK_MANIFEST),
    (
        "sdk/rust/src/lib.rs",
        include_str!("../../../sdk/rust/src/lib.rs"),
    ),
    (
        "sdk/rust/src/ask.rs",
        include_str!("../../../sdk/rust/src/ask.rs"),
    ),
    (
        "sdk/rust/src/bindings.rs",
        include_str!("../../../sdk/rust/src/bindings.rs"),
    ),
    (
        "sdk/rust/src/describe.rs",
        include_str!("../../../sdk/rust/src/describe.rs"),
    ),
    (
        "sdk/rust/src/llm.rs",
        include_str!("../../../sdk/rust/src/llm.rs"),
    ),
    (
        "sdk/rust/src/log.rs",
        include_str!("../../../sdk/rust/src/log.rs"),
    ),
    (
        "sdk/rust/src/metric.rs",
        include_str!("../../../sdk/rust/src/metric.rs"),
    ),
    (
        "sdk/rust/src/options.rs",
        include_str!("../../../sdk/rust/src/options.rs"),
    ),
    (
        "sdk/rust/src/prompt.rs",
        include_str!("../../../sdk/rust/src/prompt.rs"),
    ),
    (
        "sdk/rust/src/verdict.rs",
        include_str!("../../../sdk/rust/src/verdict.rs"),
    ),
];

const SDK_MANIFEST: &str = r#"[package]
name = "gavel-sdk"
description = "Write gavel judge plugins in Rust: one trait, one macro"
version = "0.1.0"
edition = "2024"
license = "Apache-2.0"

[dependencies]
serde = { version = "1", features = ["derive"] }
serde_json = "1"
wit-bindgen = { version = "0.61", default-features = false, features = ["macros", "realloc", "std"] }
"#;

const TARGET: &str = "wasm32-wasip2";

pub(super) fn scaffold(name: &str, sdk: &Path) -> Vec<ProjectFile> {
    let sdk = sdk
        .join("sdk/rust")
        .display()
        .to_string()
        .replace('\\', "/");
    let fill = |template: &str| template.replace("__NAME__", name).replace("__SDK__", &sdk);
    vec![
        ProjectFile {
            path: "Cargo.toml",
            contents: fill(include_str!("../../../sdk/rust/template/Cargo.toml")),
        },
        ProjectFile {
            path: "src/lib.rs",
            contents: fill(include_str!("../../../sdk/rust/template/src/lib.rs")),
        },
        ProjectFile {
            path: ".gitignore",
            contents: "*.wasm\n".to_owned(),
        },
    ]
}

pub(super) fn build(context: &BuildContext) -> Result<Vec<u8>, AuthoringError> {
    check_target()?;
    let manifest = context.dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(AuthoringError::io(&manifest))?;
    let package = toml::from_str::<toml::Table>(&text)
        .ok()
        .and_then(|t| t.get("package")?.get("name")?.as_str().map(str::to_owned))
        .ok_or_else(|| AuthoringError::Failed {
            step: format!("reading {}", manifest.display()),
            output: "no [package] name".into(),
        })?;
    // Cargo's output lives in gavel's cache, keyed by the project's path:
    // the project stays clean, and a rebuild is incremental.
    let target_dir = context.tools.build_dir(context.dir).join("target");
    run(
        "cargo build",
        Command::new(cargo())
            .current_dir(context.dir)
            .args(["build", "--release", "--target", TARGET, "--target-dir"])
            .arg(&target_dir)
            // A build started from a build script or `cargo run` must not
            // pass its own settings on to the judge's build.
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS"),
    )?;
    let built = target_dir
        .join(TARGET)
        .join("release")
        .join(format!("{}.wasm", package.replace('-', "_")));
    std::fs::read(&built).map_err(AuthoringError::io(&built))
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The standard library for the target must be installed; rustup adds it.
fn check_target() -> Result<(), AuthoringError> {
    let missing = || AuthoringError::MissingTool {
        language: Language::Rust,
        what: format!("Rust's {TARGET} target"),
        how: format!(
            "install it with `rustup target add {TARGET}` (and Rust itself from https://rustup.rs)"
        ),
    };
    let output = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .map_err(|_| missing())?;
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .is_dir()
    {
        Ok(())
    } else {
        Err(missing())
    }
}
