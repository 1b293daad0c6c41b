//! `gavel judge NAME`: one judge, one case.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use gavel::evaluation::columns::ColumnMap;
use gavel::evaluation::input::{GUIDELINES_CONTEXT, GuidelineGroup, row_from_json};
use gavel::runtime::input_name;
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

    /// A guideline the response must follow (repeatable). NAME=TEXT puts
    /// it in the named group NAME, judged on its own as
    /// guideline_adherence/NAME; a leading `=` keeps a rule that starts
    /// with `word=` unnamed (--guideline "=x=1 holds")
    #[arg(long = "guideline", value_name = "[NAME=]TEXT")]
    guidelines: Vec<String>,

    /// A global guideline, added to those of gavel.toml (repeatable;
    /// NAME=TEXT as for --guideline)
    #[arg(long = "global-guideline", value_name = "[NAME=]TEXT")]
    global_guidelines: Vec<String>,

    /// A value the guidelines refer to, by name (repeatable), e.g.
    /// --guidelines-context retrieved_context="..."; guideline judges
    /// judge it with, or in place of, the response
    #[arg(long = "guidelines-context", value_name = "NAME=VALUE", value_parser = context_pair)]
    guidelines_context: Vec<(String, String)>,

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
    let columns = setup.config.column_map().map_err(CliError::bad_input)?;
    let mut row = case_row(&args, &columns).map_err(CliError::bad_input)?;
    row.global_guidelines = setup
        .config
        .global_guideline_groups()
        .map_err(CliError::bad_input)?;
    row.global_guidelines.extend(
        guideline_flags(&args.global_guidelines, "--global-guideline")
            .map_err(CliError::bad_input)?,
    );
    let missing = judge.missing_inputs(&row);
    if !missing.is_empty() {
        let needs = judge.describe_missing_in(
            &row,
            &missing,
            |i| format!("--{}", input_name(i).replace('_', "-")),
            "--guidelines-context",
        );
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

/// The case given on the command line, as a row: the `--row` file (its
/// `columns` mapped to fields), then the flags.
fn case_row(args: &JudgeArgs, columns: &ColumnMap) -> anyhow::Result<Row> {
    let mut object = match &args.row {
        None => Map::new(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --row file {}", path.display()))?;
            let mut object = match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(object)) => object,
                Ok(_) => anyhow::bail!("{}: a row is a JSON object", path.display()),
                Err(e) => anyhow::bail!("{}: not JSON: {e}", path.display()),
            };
            columns
                .rename(&mut object)
                .map_err(|e| anyhow!("{}: {e}", path.display()))?;
            object
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
    if !args.guidelines_context.is_empty() {
        let context: Map<String, Value> = args
            .guidelines_context
            .iter()
            .map(|(name, value)| (name.clone(), json!(value)))
            .collect();
        object.insert(GUIDELINES_CONTEXT.into(), Value::Object(context));
    }
    let mut chunks = Vec::new();
    for path in &args.retrieved_context {
        chunks.extend(read_chunks(path)?);
    }
    if !chunks.is_empty() {
        object.insert("retrieved_context".into(), Value::Array(chunks));
    }
    let mut row = row_from_json(object, 0).map_err(|e| {
        let e = columns.name_column(e);
        match &args.row {
            Some(path) => anyhow!("{}: {e}", path.display()),
            None => anyhow!("{e}"),
        }
    })?;
    if !args.guidelines.is_empty() {
        row.guidelines = guideline_flags(&args.guidelines, "--guideline")?;
    }
    Ok(row)
}

/// `--guideline` rules as groups: `NAME=TEXT` in the group NAME (in the
/// order names first appear), plain rules in one unnamed group. A name is
/// letters, digits, `_` and `-`; a leading `=` (an empty name) keeps a
/// rule unnamed whatever follows. As in the data, rules are all named or
/// all unnamed.
pub(super) fn guideline_flags(rules: &[String], flag: &str) -> anyhow::Result<Vec<GuidelineGroup>> {
    let mut groups: Vec<GuidelineGroup> = Vec::new();
    let mut unnamed = Vec::new();
    for rule in rules {
        let named = rule.split_once('=').filter(|(name, text)| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && !text.trim().is_empty()
        });
        match named {
            Some((name, text)) => match groups.iter_mut().find(|g| g.name.as_deref() == Some(name))
            {
                Some(group) => group.rules.push(text.to_owned()),
                None => groups.push(GuidelineGroup {
                    name: Some(name.to_owned()),
                    rules: vec![text.to_owned()],
                }),
            },
            None => unnamed.push(rule.strip_prefix('=').unwrap_or(rule).to_owned()),
        }
    }
    if let Some(empty) = unnamed
        .iter()
        .chain(groups.iter().flat_map(|g| &g.rules))
        .find(|r| r.trim().is_empty())
    {
        anyhow::bail!("{flag} {empty:?}: a guideline needs text");
    }
    match (groups.is_empty(), unnamed.is_empty()) {
        (_, true) => Ok(groups),
        (true, false) => Ok(vec![GuidelineGroup {
            name: None,
            rules: unnamed,
        }]),
        (false, false) => anyhow::bail!(
            "{flag}: give every rule a NAME= or none (named groups are judged one by one, as in the data); \
             unnamed: {:?}",
            unnamed[0]
        ),
    }
}

fn context_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!(
            "{text:?} is not NAME=VALUE (such as retrieved_context=\"...\")"
        )),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(rules: &[&str]) -> anyhow::Result<Vec<GuidelineGroup>> {
        let rules: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
        guideline_flags(&rules, "--guideline")
    }

    #[test]
    fn named_guidelines_group_by_name_in_order() {
        let groups = flags(&[
            "english=The response must be in English",
            "clarity=The response must be clear, coherent, and concise",
            "english=The retrieved context must be in English",
        ])
        .unwrap();
        assert_eq!(
            groups,
            [
                GuidelineGroup {
                    name: Some("english".into()),
                    rules: vec![
                        "The response must be in English".into(),
                        "The retrieved context must be in English".into()
                    ],
                },
                GuidelineGroup {
                    name: Some("clarity".into()),
                    rules: vec!["The response must be clear, coherent, and concise".into()],
                },
            ]
        );
    }

    #[test]
    fn rules_with_an_equals_sign_stay_unnamed() {
        let groups = flags(&[
            "Write x = 1 as a formula",
            "=tone=formal is required",
            "The response must be in English",
        ])
        .unwrap();
        assert_eq!(
            groups,
            [GuidelineGroup {
                name: None,
                rules: vec![
                    "Write x = 1 as a formula".into(),
                    "tone=formal is required".into(),
                    "The response must be in English".into()
                ],
            }]
        );
    }

    #[test]
    fn named_and_unnamed_rules_do_not_mix() {
        let error = flags(&["english=Use English", "Be brief"]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("give every rule a NAME= or none"),
            "{error}"
        );
        assert!(flags(&["="]).is_err());
        assert!(flags(&[]).unwrap().is_empty());
    }

    #[test]
    fn guidelines_context_flags_are_name_value_pairs() {
        assert_eq!(
            context_pair("retrieved_context=a = b"),
            Ok(("retrieved_context".into(), "a = b".into()))
        );
        assert!(context_pair("no pair").is_err());
        assert!(context_pair("=value").is_err());
    }
}
