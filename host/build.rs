//! Builds the built-in judges (plugins/builtin/*) into WebAssembly
//! components and embeds them in the `gavel` binary.

use std::fmt::Write as _;
use std::path::Path;

use gavel_build_support::Judge;

/// In SPEC §2 order, which is also the order of `gavel judges list`.
const BUILTINS: &[&str] = &[
    "correctness",
    "relevance_to_query",
    "groundedness",
    "safety",
    "guideline_adherence",
    "global_guideline_adherence",
    "chunk_relevance",
    "context_sufficiency",
    "answer_similarity",
    "prompt",
];

fn main() {
    // Read when the script runs, not when it was compiled: cargo reuses a
    // compiled build script for the same workspace checked out elsewhere.
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let workspace = Path::new(&manifest_dir).join("..");
    let packages: Vec<(String, String)> = BUILTINS
        .iter()
        .map(|name| {
            (
                format!("gavel-builtin-{}", name.replace('_', "-")),
                format!("plugins/builtin/{name}"),
            )
        })
        .collect();
    let judges: Vec<Judge> = packages
        .iter()
        .map(|(package, dir)| Judge { package, dir })
        .collect();
    let built = gavel_build_support::build(&workspace, &judges);

    let mut code = String::from("pub(crate) static EMBEDDED: &[Embedded] = &[\n");
    for component in &built {
        writeln!(
            code,
            "    Embedded {{ bytes: include_bytes!({:?}), sha256: {:?} }},",
            component.path, component.sha256
        )
        .expect("writing to a String cannot fail");
    }
    code.push_str("];\n");
    println!(
        "cargo:rustc-env=GAVEL_WASMTIME_VERSION={}",
        locked_version(&workspace, "wasmtime")
    );
    let out = Path::new(&std::env::var_os("OUT_DIR").expect("OUT_DIR is set")).join("builtins.rs");
    std::fs::write(&out, code).expect("cannot write the built-in judge table");
}

/// The version of `package` in Cargo.lock.
fn locked_version(workspace: &Path, package: &str) -> String {
    let lock =
        std::fs::read_to_string(workspace.join("Cargo.lock")).expect("cannot read Cargo.lock");
    let entry = format!("name = \"{package}\"\nversion = \"");
    let start = lock.find(&entry).expect("the package is in Cargo.lock") + entry.len();
    lock[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}
