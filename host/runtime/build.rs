//! Builds the built-in judges and metrics (plugins/builtin/*) into
//! WebAssembly components, embeds them in the crate, and turns the table of
//! what the host knows about them (plugins/builtin/judges.toml) into code.

use std::fmt::Write as _;
use std::path::Path;

use gavel_build_support::JudgeCrate;
use serde::Deserialize;

/// plugins/builtin/judges.toml.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    judge: Vec<Facts>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Facts {
    name: String,
    /// "judge" (the default) or "metric".
    kind: Option<String>,
    selected_when: String,
    root_cause: Option<u8>,
    #[serde(default)]
    rates_chunks: bool,
    action: Option<String>,
}

fn main() {
    // Read when the script runs, not when it was compiled: cargo reuses a
    // compiled build script for the same workspace checked out elsewhere.
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let workspace = Path::new(&manifest_dir).join("../..");
    let table_path = workspace.join("plugins/builtin/judges.toml");
    println!("cargo:rerun-if-changed={}", table_path.display());
    // The library the readability metrics share, with its data: not a
    // component of its own, so not in the table.
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("plugins/builtin/readability").display()
    );
    let text =
        std::fs::read_to_string(&table_path).expect("cannot read plugins/builtin/judges.toml");
    let table: Table =
        toml::from_str(&text).unwrap_or_else(|e| panic!("plugins/builtin/judges.toml: {e}"));

    let packages: Vec<(String, String)> = table
        .judge
        .iter()
        .map(|facts| {
            (
                format!("gavel-builtin-{}", facts.name.replace('_', "-")),
                format!("plugins/builtin/{}", facts.name),
            )
        })
        .collect();
    let crates: Vec<JudgeCrate> = packages
        .iter()
        .map(|(package, dir)| JudgeCrate { package, dir })
        .collect();
    let built = gavel_build_support::build(&workspace, &crates);

    let metric: Vec<bool> = table.judge.iter().map(is_metric).collect();
    let mut code = String::from("pub(crate) static EMBEDDED: &[Embedded] = &[\n");
    for (component, metric) in built.iter().zip(&metric) {
        writeln!(
            code,
            "    Embedded {{ bytes: include_bytes!({:?}), sha256: {:?}, metric: {metric} }},",
            component.path, component.sha256
        )
        .expect("writing to a String cannot fail");
    }
    code.push_str("];\n\n/// The built-in judges and metrics, in the order they are listed.\npub static FACTS: &[BuiltinFacts] = &[\n");
    for (facts, metric) in table.judge.iter().zip(metric) {
        let selected_when = match facts.selected_when.as_str() {
            "always" => "Always",
            "ground_truth" => "GroundTruth",
            "no_ground_truth" => "NoGroundTruth",
            "guidelines" => "Guidelines",
            "global_guidelines" => "GlobalGuidelines",
            "named" => "Named",
            "never" => "Never",
            other => panic!(
                "plugins/builtin/judges.toml: judge {}: unknown selected_when {other:?}",
                facts.name
            ),
        };
        assert_eq!(
            facts.root_cause.is_some(),
            selected_when != "Never" && !metric,
            "plugins/builtin/judges.toml: judge {}: a judge has a root_cause rank, and only a judge",
            facts.name
        );
        assert!(
            !metric || (selected_when == "Named" && !facts.rates_chunks && facts.action.is_none()),
            "plugins/builtin/judges.toml: metric {}: a metric is selected only when named, and rates no chunks and is no root cause",
            facts.name
        );
        writeln!(
            code,
            "    BuiltinFacts {{ name: {:?}, metric: {metric}, selected_when: SelectedWhen::{selected_when}, root_cause_rank: {:?}, rates_chunks: {}, suggested_action: {:?} }},",
            facts.name, facts.root_cause, facts.rates_chunks, facts.action
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

/// Whether a table entry is a metric; any kind but the two is refused.
fn is_metric(facts: &Facts) -> bool {
    match facts.kind.as_deref() {
        None | Some("judge") => false,
        Some("metric") => true,
        Some(other) => panic!(
            "plugins/builtin/judges.toml: {}: unknown kind {other:?} (\"judge\" or \"metric\")",
            facts.name
        ),
    }
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
