//! `gavel judges list` and `gavel judges inspect`.

use std::process::ExitCode;

use gavel::evaluation::judge_set::source_of;
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
    if args.json {
        for (judge, [name, version, kind, _, source]) in setup.judges.judges().iter().zip(&rows) {
            let inputs = requirement_names(judge.required_inputs());
            println!(
                "{}",
                json!({"name": name, "version": version, "assessment_type": kind, "required_inputs": inputs, "source": source})
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let header = ["NAME", "VERSION", "TYPE", "REQUIRED INPUTS", "SOURCE"].map(str::to_owned);
    print_table(&header, &rows);
    Ok(ExitCode::SUCCESS)
}

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
    if args.json {
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
    for (label, value) in [
        ("name", plugin.name().to_owned()),
        ("version", plugin.version().to_owned()),
        ("description", text),
        ("type", kind.to_owned()),
        ("requires", inputs),
        ("endpoints", endpoints),
        ("targets", wit),
        ("size", format!("{size} bytes ({} KiB)", size >> 10)),
        ("sha256", plugin.sha256().to_owned()),
    ] {
        println!("{label:<12} {value}");
    }
    Ok(ExitCode::SUCCESS)
}
