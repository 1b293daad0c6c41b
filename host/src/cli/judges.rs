//! `gavel judges list` and `gavel judges inspect`.

use std::process::ExitCode;

use gavel::evaluation::judge_set::{metric_source_of, source_of};
use gavel::evaluation::selection::HOST_CHECKS;
use gavel::metadata::JudgeMetadata;
use gavel::runtime::bindings::AssessmentType;
use gavel::runtime::requirement_names;
use serde_json::json;

use super::{CliError, ConfigArgs, EndpointArgs, Setup};

#[derive(clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    config: ConfigArgs,

    /// One JSON object per judge, one per line
    #[arg(long)]
    json: bool,
}

pub async fn list(args: ListArgs) -> Result<ExitCode, CliError> {
    let no_overrides = EndpointArgs {
        judge: Default::default(),
        no_cache: true,
    };
    let setup = Setup::load(
        &args.config,
        &no_overrides,
        &gavel::results::time::new_run_id(),
    )
    .await?;
    let rows: Vec<[String; 5]> = setup
        .judges
        .judges()
        .iter()
        .map(|judge| {
            [
                judge.name().to_owned(),
                judge.plugin().version().to_owned(),
                match judge.assessment_type() {
                    AssessmentType::Answer => "answer".to_owned(),
                    AssessmentType::Retrieval => "retrieval".to_owned(),
                },
                requirement_names(judge.required_inputs()).join(", "),
                source_of(judge),
            ]
        })
        .collect();
    // Metrics measure a number per row without an LLM: the components
    // (which decide themselves what a row must have) and the host's checks.
    let metrics: Vec<[String; 5]> = setup
        .judges
        .metrics()
        .iter()
        .map(|metric| {
            [
                metric.name().to_owned(),
                metric.plugin().version().to_owned(),
                METRIC.to_owned(),
                String::new(),
                metric_source_of(metric),
            ]
        })
        .chain(HOST_CHECKS.iter().map(|(name, needs)| {
            [
                (*name).to_owned(),
                String::new(),
                METRIC.to_owned(),
                (*needs).to_owned(),
                "built-in".to_owned(),
            ]
        }))
        .collect();
    if args.json {
        for (judge, [name, version, kind, _, source]) in setup.judges.judges().iter().zip(&rows) {
            let inputs = requirement_names(judge.required_inputs());
            println!(
                "{}",
                json!({"name": name, "version": version, "assessment_type": kind, "required_inputs": inputs, "source": source})
            );
        }
        for [name, version, _, needs, source] in &metrics {
            let version = (!version.is_empty()).then_some(version);
            // A component decides for itself what it measures: unknown here.
            let needs = (!needs.is_empty()).then(|| needs.split(", ").collect::<Vec<_>>());
            println!(
                "{}",
                json!({"name": name, "version": version, "assessment_type": "metric", "deterministic": true, "required_inputs": needs, "source": source})
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 5]> = rows.into_iter().chain(metrics).collect();
    let header = ["NAME", "VERSION", "TYPE", "REQUIRED INPUTS", "SOURCE"].map(str::to_owned);
    print_table(&header, &rows);
    Ok(ExitCode::SUCCESS)
}

/// How `judges list` marks a metric: deterministic, no LLM.
const METRIC: &str = "metric (no LLM)";

fn print_table(header: &[String; 5], rows: &[[String; 5]]) {
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(header).chain(rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}

#[derive(clap::Args)]
pub struct InspectArgs {
    /// The component
    file: std::path::PathBuf,

    /// One JSON object
    #[arg(long)]
    json: bool,
}

pub async fn inspect(args: InspectArgs) -> Result<ExitCode, CliError> {
    let host = gavel::Host::new(gavel::HostOptions::default()).map_err(CliError::incomplete)?;
    let plugin = host
        .load_file(&args.file)
        .await
        .map_err(CliError::bad_input)?;
    let size = std::fs::metadata(&args.file)
        .map(|m| m.len())
        .map_err(|e| CliError::bad_input(anyhow::anyhow!("{}: {e}", args.file.display())))?;
    let description = plugin.description();
    let kind = match description.assessment_type {
        AssessmentType::Answer => "answer",
        AssessmentType::Retrieval => "retrieval",
    };
    let inputs = requirement_names(&description.required_inputs);
    // The description is the plugin's text: cleaned before a terminal.
    let text = gavel::runtime::text::clean_plugin_text(
        &description.description,
        gavel::runtime::text::MAX_MESSAGE_BYTES,
    );
    let wit = format!("gavel:judge@{}", plugin.wit_version());
    // Loaded, so within the host's size limit: reading it again is bounded.
    let bytes = std::fs::read(&args.file)
        .map_err(|e| CliError::bad_input(anyhow::anyhow!("{}: {e}", args.file.display())))?;
    // Metadata that breaks the conventions does not make the judge
    // unusable: it is reported, and the rest is shown.
    let metadata = JudgeMetadata::read(&bytes);
    if args.json {
        let (metadata, metadata_error) = match &metadata {
            Ok(metadata) => (json!(metadata), None),
            Err(error) => (serde_json::Value::Null, Some(error.to_string())),
        };
        println!(
            "{}",
            json!({
                "name": plugin.name(),
                "version": plugin.version(),
                "description": text,
                "assessment_type": kind,
                "required_inputs": inputs,
                "endpoints": description.endpoints,
                "wit": wit,
                "size": size,
                "sha256": plugin.sha256(),
                "metadata": metadata,
                "metadata_error": metadata_error,
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    let endpoints = if description.endpoints.is_empty() {
        "(the judge endpoint only)".to_owned()
    } else {
        description.endpoints.join(", ")
    };
    let inputs = if inputs.is_empty() {
        "(none: runs on every row)".to_owned()
    } else {
        inputs.join(", ")
    };
    let mut lines = vec![
        ("name", plugin.name().to_owned()),
        ("version", plugin.version().to_owned()),
        ("description", text.clone()),
        ("type", kind.to_owned()),
        ("requires", inputs),
        ("endpoints", endpoints),
        ("targets", wit),
    ];
    match &metadata {
        Ok(metadata) => lines.extend(metadata_lines(metadata, &plugin, &text)),
        Err(error) => lines.push(("metadata", error.to_string())),
    }
    lines.extend([
        ("size", format!("{size} bytes ({} KiB)", size >> 10)),
        ("sha256", plugin.sha256().to_owned()),
    ]);
    for (label, value) in lines {
        println!("{label:<12} {value}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The package metadata's lines of `gavel judges inspect`: the package's
/// name and version (saying so when they are not the judge's own, which
/// the lines above show), its description when it is another, and the
/// fields the judge's description has no place for.
fn metadata_lines(
    metadata: &JudgeMetadata,
    plugin: &gavel::Plugin,
    description: &str,
) -> Vec<(&'static str, String)> {
    if metadata.is_empty() {
        return vec![("metadata", "(none)".to_owned())];
    }
    // One line each: a newline in the metadata must not read as a line of
    // this output.
    let line = |value: &str| value.replace(['\n', '\r', '\t'], " ");
    let mut lines = Vec::new();
    if metadata.name.is_some() || metadata.version.is_some() {
        let name = line(metadata.name.as_deref().unwrap_or("(no name)"));
        let version = line(metadata.version.as_deref().unwrap_or("(no version)"));
        let own = metadata.name.as_deref() == Some(plugin.name())
            && metadata.version.as_deref() == Some(plugin.version());
        lines.push((
            "package",
            if own {
                format!("{name} {version}")
            } else {
                format!(
                    "{name} {version} (the package's; the judge calls itself {} {})",
                    plugin.name(),
                    plugin.version()
                )
            },
        ));
    }
    if let Some(about) = metadata
        .description
        .as_deref()
        .filter(|about| *about != description)
    {
        lines.push(("about", about.to_owned()));
    }
    for (label, value) in [
        ("authors", &metadata.authors),
        ("license", &metadata.license),
        ("source", &metadata.source),
        ("homepage", &metadata.homepage),
        ("revision", &metadata.revision),
    ] {
        if let Some(value) = value {
            lines.push((label, line(value)));
        }
    }
    lines
}
