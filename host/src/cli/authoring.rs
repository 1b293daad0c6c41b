//! `gavel new judge` and `gavel build`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::anyhow;
use gavel::authoring::tools::Tools;
use gavel::authoring::{self, AuthoringError, Language};

use super::CliError;

#[derive(clap::Args)]
pub struct NewJudgeArgs {
    /// The judge's name, as results will show it: lowercase letters,
    /// digits and `_`
    name: String,

    /// The language to write it in
    #[arg(long, value_name = "LANG", value_parser = clap::builder::PossibleValuesParser::new(["rust", "python", "js", "c"]))]
    lang: String,

    /// Where to write the project [default: ./NAME]
    dir: Option<PathBuf>,
}

pub fn new_judge(args: NewJudgeArgs) -> Result<ExitCode, CliError> {
    let language: Language = args
        .lang
        .parse()
        .map_err(|e: String| CliError::bad_input(anyhow!(e)))?;
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(&args.name));
    let tools = tools()?;
    let written = authoring::new_judge(&args.name, language, &dir, &tools).map_err(classify)?;
    println!(
        "Created {language} judge '{}' in {}:",
        args.name,
        dir.display()
    );
    for path in &written {
        println!("  {}", path.strip_prefix(&dir).unwrap_or(path).display());
    }
    println!(
        "Build it with `gavel build {}`, then try it with `gavel judge --plugin {} --row {}`.",
        dir.display(),
        authoring::default_output(&dir).display(),
        dir.join("row.json").display()
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct BuildArgs {
    /// The judge project [default: the current directory]
    dir: Option<PathBuf>,

    /// Where to write the component [default: DIR/<directory name>.wasm]
    #[arg(short, long, value_name = "FILE.wasm")]
    out: Option<PathBuf>,
}

pub fn build(args: BuildArgs) -> Result<ExitCode, CliError> {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let tools = tools()?;
    let started = Instant::now();
    let out = authoring::build(&dir, args.out.as_deref(), &tools).map_err(classify)?;
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!(
        "Built {} ({} KiB) in {:.1} s",
        out.display(),
        size >> 10,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

fn tools() -> Result<Tools, CliError> {
    Tools::default_location().ok_or_else(|| {
        CliError::bad_input(anyhow!(
            "no cache directory to install build tools into; set GAVEL_CACHE_DIR"
        ))
    })
}

/// What the user must fix is bad input (2); a tool that failed is 3.
fn classify(error: AuthoringError) -> CliError {
    match error {
        AuthoringError::Failed { .. } => CliError::incomplete(error),
        _ => CliError::bad_input(error),
    }
}
