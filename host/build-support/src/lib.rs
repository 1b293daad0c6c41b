//! Builds judge crates of this workspace into WebAssembly components from a
//! build script, so that the ordinary `cargo build` produces them.
//!
//! The crates are built by a nested `cargo build --target wasm32-wasip2
//! --profile plugin` into their own target directory: the outer build holds
//! the lock on its own directory, and dev and release host builds share the
//! same components.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "plugin";

/// A judge crate to build.
pub struct JudgeCrate<'a> {
    /// Cargo package name.
    pub package: &'a str,
    /// Its directory, relative to the workspace root.
    pub dir: &'a str,
}

/// A built component, copied into `OUT_DIR`.
pub struct Built {
    pub package: String,
    pub path: PathBuf,
    /// Hex SHA-256 of the component: the compiled-code cache key, computed
    /// here so the host does not hash embedded components at start-up.
    pub sha256: String,
}

/// Builds `judges` and copies each component into `OUT_DIR`. Panics with the
/// compiler's output when the build fails: this runs in a build script.
pub fn build(workspace: &Path, judges: &[JudgeCrate]) -> Vec<Built> {
    for dir in ["wit", "sdk/rust", "Cargo.lock"] {
        rerun_if_changed(&workspace.join(dir));
    }
    for judge in judges {
        rerun_if_changed(&workspace.join(judge.dir));
    }
    ensure_target_installed();

    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"))
        .join("wasm-judges");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args([
            "build",
            "--target",
            TARGET,
            "--profile",
            PROFILE,
            "--target-dir",
        ])
        .arg(&target_dir);
    for judge in judges {
        command.args(["-p", judge.package]);
    }
    // What the outer cargo set for this build script must not leak into the
    // guest build: host rustflags, clippy's wrapper, a target override.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CLIPPY_ARGS",
        "CLIPPY_CONF_DIR",
    ] {
        command.env_remove(var);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("could not run cargo to build the judge components: {e}"));
    if !output.status.success() {
        panic!(
            "building the judge components for {TARGET} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set for build scripts"));
    judges
        .iter()
        .map(|judge| {
            let file = format!("{}.wasm", judge.package.replace('-', "_"));
            let built = target_dir.join(TARGET).join(PROFILE).join(&file);
            let bytes =
                fs::read(&built).unwrap_or_else(|e| panic!("cannot read {}: {e}", built.display()));
            let path = out_dir.join(&file);
            fs::write(&path, &bytes)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            Built {
                package: judge.package.to_owned(),
                path,
                sha256: hex(&Sha256::digest(&bytes)),
            }
        })
        .collect()
}

/// Installs the wasm32-wasip2 standard library with rustup when it is
/// missing, so that a fresh machine needs no set-up step before `cargo build`.
fn ensure_target_installed() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = sysroot
        .as_ref()
        .is_some_and(|root| root.join("lib/rustlib").join(TARGET).exists());
    if installed {
        return;
    }
    println!("cargo:warning=installing the {TARGET} target with rustup (judges are built for it)");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        panic!(
            "the {TARGET} target is missing and `rustup target add {TARGET}` failed; install it and build again"
        );
    }
}

fn rerun_if_changed(path: &Path) {
    println!("cargo:rerun-if-changed={}", path.display());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
