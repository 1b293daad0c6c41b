//! `gavel judge NAME`: one judge, one case.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use gavel::evaluation::input::{GuidelineGroup, row_from_json};
use gavel::runtime::{describe_missing, input_name};
use gavel::{Judge, JudgeOutcome, Judgment, Rating, Row, Settings};
use serde_json::{Map, Value, json};

use super::{CliError, ConfigArgs, EndpointArgs, Setup};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["name", "plugin"])))]
#[command(group(clap::ArgGroup::new("case").required(true).multiple(true).args(["request", "row"])))]
pub struct JudgeArgs {
    /// The judge (see `gavel judges list`)
    name: Option<String>,

    /// A judge component to try, without a gavel.toml entry
    #[arg(long, value_name = "FILE.wasm", conflicts_with = "name")]
    plugin: Option<PathBuf>,

    /// The --plugin judge's options, a JSON object (as `config` in gavel.toml)
    #[arg(long, value_name = "JSON", requires = "plugin")]
    options: Option<String>,

    /// The case as a JSON object in the evaluation-set format (the flags
    /// below add to or replace its fields)
    #[arg(long, value_name = "FILE.json")]
    row: Option<PathBuf>,

    /// The user's request
    #[arg(long)]
    request: Option<String>,

    /// The application's response
    #[arg(long)]
    response: Option<String>,

    /// The ground-truth response
    #[arg(long)]
    expected_response: Option<String>,

    /// A fact a correct response must state (repeatable)
    #[arg(long = "expected-fact", value_name = "FACT")]
    expected_facts: Vec<String>,

    /// Retrieved context: a JSON file (a list of {content, doc_uri} objects
    /// or of strings) or a text file taken as one chunk (repeatable)
    #[arg(long, value_name = "FILE")]
    retrieved_context: Vec<PathBuf>,

    /// A guideline the response must follow (repeatable)
    #[arg(long = "guideline", value_name = "TEXT")]
    guidelines: Vec<String>,

    /// A global guideline, added to those of gavel.toml (repeatable)
    #[arg(long = "global-guideline", value_name = "TEXT")]
    global_guidelines: Vec<String>,

    /// Print the judgment as JSON
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    config: ConfigArgs,

    #[command(flatten)]
    endpoint: EndpointArgs,
}

pub async fn run(args: JudgeArgs) -> Result<ExitCode, CliError> {
    let run_id = gavel::results::time::new_run_id();
    let setup = Setup::load(&args.config, &args.endpoint, &run_id).await?;
    let tried;
    let judge = match (&args.name, &args.plugin) {
        (_, Some(path)) => {
            tried = plugin_judge(&setup, path, args.options.as_deref()).await?;
            &tried
        }
        (Some(name), None) => setup.judges.get(name).ok_or_else(|| {
            CliError::bad_input(anyhow!(
                "no judge named '{name}'; the judges are: {}",
                setup.judges.names().join(", ")
            ))
        })?,
        (None, None) => unreachable!("clap requires a name or --plugin"),
    };
    let mut row = case_row(&args).map_err(CliError::bad_input)?;
    row.global_guidelines = setup
        .config
        .global_guideline_groups()
        .map_err(CliError::bad_input)?;
    if !args.global_guidelines.is_empty() {
        row.global_guidelines.push(GuidelineGroup {
            name: None,
            rules: args.global_guidelines.clone(),
        });
    }
    let missing = judge.missing_inputs(&row);
    if !missing.is_empty() {
        let needs = describe_missing(&missing, |i| {
            format!("--{}", input_name(i).replace('_', "-"))
        });
        return Err(CliError::bad_input(anyhow!(
            "judge '{}' needs more inputs: pass {}",
            judge.name(),
            needs
        )));
    }
    setup.require_keys([judge])?;

    let mut results = Vec::new();
    for target in judge.targets(&row) {
        let outcome = setup.host.judge(judge, &target.row).await;
        results.push((target.name, outcome));
    }
    print(judge, &results, args.json);
    let failed = results.iter().any(|(_, o)| o.judgment.is_err());
    let all_yes = results
        .iter()
        .all(|(_, o)| matches!(&o.judgment, Ok(j) if j.rating == Rating::Yes));
    Ok(ExitCode::from(if failed {
        3
    } else if all_yes {
        0
    } else {
        1
    }))
}

/// `--plugin FILE.wasm` with `--options`, as a judge through the `judge`
/// endpoint with default settings.
async fn plugin_judge(
    setup: &Setup,
    path: &Path,
    options: Option<&str>,
) -> Result<Judge, CliError> {
    let options = match options {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(options)) => options,
            Ok(_) => {
                return Err(CliError::bad_input(anyhow!(
                    "--options must be a JSON object, such as '{{\"max_words\": 50}}'"
                )));
            }
            Err(e) => return Err(CliError::bad_input(anyhow!("--options is not JSON: {e}"))),
        },
    };
    let plugin = setup
        .host
        .load_file(path)
        .await
        .map_err(CliError::bad_input)?;
    Ok(Judge::new(
        plugin,
        Settings {
            options,
            ..Settings::default()
        },
    ))
}

/// The case given on the command line, as a row.
fn case_row(args: &JudgeArgs) -> anyhow::Result<Row> {
    let mut object = match &args.row {
        None => Map::new(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --row file {}", path.display()))?;
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(object)) => object,
                Ok(_) => anyhow::bail!("{}: a row is a JSON object", path.display()),
                Err(e) => anyhow::bail!("{}: not JSON: {e}", path.display()),
            }
        }
    };
    if let Some(request) = &args.request {
        object.insert("request".into(), json!(request));
    }
    if let Some(response) = &args.response {
        object.insert("response".into(), json!(response));
    }
    if let Some(expected) = &args.expected_response {
        object.insert("expected_response".into(), json!(expected));
    }
    if !args.expected_facts.is_empty() {
        object.insert("expected_facts".into(), json!(args.expected_facts));
    }
    if !args.guidelines.is_empty() {
        object.insert("guidelines".into(), json!(args.guidelines));
    }
    let mut chunks = Vec::new();
    for path in &args.retrieved_context {
        chunks.extend(read_chunks(path)?);
    }
    if !chunks.is_empty() {
        object.insert("retrieved_context".into(), Value::Array(chunks));
    }
    row_from_json(object, 0).map_err(|e| anyhow!("{e}"))
}

/// A JSON file of chunks, or a text file as one chunk.
fn read_chunks(path: &Path) -> anyhow::Result<Vec<Value>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --retrieved-context file {}", path.display()))?;
    let uri = path.display().to_string();
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(object @ Value::Object(_)) => Ok(vec![object]),
        _ => Ok(vec![json!({"content": text, "doc_uri": uri})]),
    }
}

fn print(judge: &Judge, results: &[(String, JudgeOutcome)], as_json: bool) {
    for (name, outcome) in results {
        if as_json {
            println!(
                "{}",
                gavel::evaluation::judge_row::outcome_json(judge, name, outcome)
            );
            continue;
        }
        match &outcome.judgment {
            Ok(judgment) => print_judgment(judge, name, judgment),
            Err(failure) => println!("{name}: error\n  {failure}"),
        }
        let usage = outcome.usage;
        println!(
            "  ({} LLM call{}, {} tokens, {:.2} s)",
            usage.llm_calls,
            if usage.llm_calls == 1 { "" } else { "s" },
            usage.input_tokens + usage.output_tokens,
            outcome.elapsed.as_secs_f64()
        );
    }
}

fn print_judgment(judge: &Judge, name: &str, judgment: &Judgment) {
    let mut verdict = judgment.rating.as_str().to_owned();
    if let Some(score) = judgment.score {
        verdict.push_str(&format!(
            " (score {score}, yes above {})",
            judge.threshold()
        ));
    }
    if let Some(precision) = judgment.precision() {
        verdict.push_str(&format!(" (precision {precision:.2})"));
    }
    println!("{name}: {verdict}");
    if !judgment.rationale.is_empty() {
        println!("  {}", judgment.rationale.replace('\n', "\n  "));
    }
    for (i, chunk) in judgment.chunks.iter().enumerate() {
        match chunk {
            Ok(chunk) => println!(
                "  chunk {}: {}  {}",
                i + 1,
                chunk.rating.as_str(),
                chunk.rationale.replace('\n', " ")
            ),
            Err(error) => println!("  chunk {}: error  {error}", i + 1),
        }
    }
}
