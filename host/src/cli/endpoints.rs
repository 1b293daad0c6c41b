//! `gavel endpoints check [ALIAS]`: one small request per endpoint and
//! structured output mode, so a user learns before a 1,000-row run that a
//! server will not work, or which mode it will be asked in.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::anyhow;
use gavel::runtime::llm::{
    ChatRequest, Message, OpenAiClient, Probe, ProbeFailure, Role, StructuredOutput,
};
use serde_json::{Value, json};

use super::{CliError, ConfigArgs, JudgeEndpointArgs, check_endpoints};

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The endpoint alias to check [default: every endpoint]
    alias: Option<String>,

    /// One JSON object per endpoint, one per line
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    config: ConfigArgs,

    #[command(flatten)]
    endpoint: JudgeEndpointArgs,
}

/// The modes tried, in the order `auto` tries them.
const MODES: [StructuredOutput; 3] = [
    StructuredOutput::JsonSchema,
    StructuredOutput::JsonObject,
    StructuredOutput::Off,
];

/// The shape built-in judges ask for.
const VERDICT_SCHEMA: &str = r#"{"type":"object","properties":{"rationale":{"type":"string"},"result":{"type":"string","enum":["yes","no"]}},"required":["rationale","result"],"additionalProperties":false}"#;

/// Longest server text quoted in the report.
const QUOTE_CHARS: usize = 400;

/// What one endpoint showed.
struct Report {
    alias: String,
    url: String,
    model: String,
    configured: StructuredOutput,
    /// Each mode tried, in order.
    modes: Vec<(StructuredOutput, Result<Probe, ProbeFailure>)>,
}

impl Report {
    fn answers(&self) -> impl Iterator<Item = (StructuredOutput, &Probe)> {
        self.modes
            .iter()
            .filter_map(|(mode, outcome)| outcome.as_ref().ok().map(|probe| (*mode, probe)))
    }

    /// The mode a run will ask in: the configured one, or the first
    /// accepted. `None`: a run's judgments would fail.
    fn run_mode(&self) -> Option<StructuredOutput> {
        match self.configured {
            StructuredOutput::Auto => self.answers().next().map(|(mode, _)| mode),
            forced => self.answers().any(|(m, _)| m == forced).then_some(forced),
        }
    }

    /// Why the endpoint cannot be used at all, if so.
    fn failure(&self) -> Option<&str> {
        if self.answers().next().is_some() {
            return None;
        }
        self.modes.iter().find_map(|(_, outcome)| match outcome {
            Err(ProbeFailure::Failed(why)) => Some(why.as_str()),
            _ => None,
        })
    }

    fn answered_model(&self) -> Option<&str> {
        self.answers().find_map(|(_, probe)| probe.model.as_deref())
    }

    fn usage(&self) -> Option<(u32, u32)> {
        self.answers().find_map(|(_, probe)| probe.usage)
    }
}

pub async fn check(args: CheckArgs) -> Result<ExitCode, CliError> {
    let config = args.config.load()?;
    let overrides = args.endpoint.overrides();
    let mut endpoints = config.resolved_endpoints(&overrides);
    check_endpoints(&endpoints, &overrides)?;
    if let Some(alias) = &args.alias {
        if !endpoints.contains_key(alias) {
            let known: Vec<&str> = endpoints.keys().map(String::as_str).collect();
            return Err(CliError::bad_input(anyhow!(
                "no endpoint named '{alias}' in {} (endpoints: {})",
                config.file_name(),
                known.join(", ")
            )));
        }
        endpoints.retain(|name, _| name == alias);
    }
    let client = OpenAiClient::new(endpoints.clone(), &gavel::results::time::new_run_id())
        .map_err(|e| CliError::incomplete(anyhow!("cannot set up the HTTP client: {e}")))?;
    let probes = endpoints.iter().map(|(alias, endpoint)| {
        let client = &client;
        async move {
            let mut modes = Vec::new();
            for mode in MODES {
                let outcome = client.probe(alias, &probe_request(), mode).await;
                // An endpoint that fails outright fails in every mode.
                let failed = matches!(outcome, Err(ProbeFailure::Failed(_)));
                modes.push((mode, outcome));
                if failed {
                    break;
                }
            }
            Report {
                alias: alias.clone(),
                url: endpoint.url(),
                model: endpoint.model.clone(),
                configured: endpoint.structured_output,
                modes,
            }
        }
    });
    let reports = futures::future::join_all(probes).await;
    for report in &reports {
        if args.json {
            println!("{}", to_json(report));
        } else {
            print_report(report);
        }
    }
    let unusable: Vec<&str> = reports
        .iter()
        .filter(|r| r.run_mode().is_none())
        .map(|r| r.alias.as_str())
        .collect();
    if unusable.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(CliError::incomplete(anyhow!(
            "judgments through {} would fail",
            unusable
                .iter()
                .map(|a| format!("'{a}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

/// A judgment in miniature: a yes/no verdict as JSON.
fn probe_request() -> ChatRequest {
    ChatRequest {
        judge: "endpoints-check".to_owned(),
        judge_version: env!("CARGO_PKG_VERSION").to_owned(),
        messages: vec![
            Message {
                role: Role::System,
                content: "You check statements. Answer with one JSON object and nothing else, \
                          in exactly this form: {\"rationale\": \"<one sentence>\", \"result\": \
                          \"yes\" or \"no\"}"
                    .to_owned(),
            },
            Message {
                role: Role::User,
                content: "Is this statement true? <statement>Paris is the capital of France.\
                          </statement>"
                    .to_owned(),
            },
        ],
        json_schema: Some(VERDICT_SCHEMA.to_owned()),
        max_output_tokens: Some(200),
    }
}

/// Whether an answer holds a readable yes/no verdict.
fn readable_verdict(content: &str) -> bool {
    let (Some(start), Some(end)) = (content.find('{'), content.rfind('}')) else {
        return false;
    };
    let Some(json) = content.get(start..=end) else {
        return false;
    };
    serde_json::from_str::<Value>(json).is_ok_and(|v| {
        v["result"]
            .as_str()
            .is_some_and(|r| matches!(r.trim().to_ascii_lowercase().as_str(), "yes" | "no"))
    })
}

fn print_report(report: &Report) {
    println!("{}  {}", report.alias, printable(&report.url));
    let answered = match report.answered_model() {
        Some(model) if model != report.model => format!(" (answered as {:?})", printable(model)),
        _ => String::new(),
    };
    println!("  {:<13} {}{answered}", "model", printable(&report.model));
    for (mode, outcome) in &report.modes {
        let line = match outcome {
            Ok(probe) => format!(
                "accepted, {}, {}",
                seconds(probe.latency),
                if readable_verdict(&probe.content) {
                    "a readable verdict".to_owned()
                } else {
                    format!("no readable verdict: {:?}", printable(&probe.content))
                }
            ),
            Err(ProbeFailure::Refused(why)) => format!("refused: {}", printable(why)),
            Err(ProbeFailure::Failed(why)) => format!("failed: {}", printable(why)),
        };
        println!("  {:<13} {line}", mode.as_str());
    }
    if report.failure().is_none() {
        let usage = match report.usage() {
            Some((input, output)) => format!("reported ({input} in, {output} out)"),
            None => "not reported (token counts and costs will be 0)".to_owned(),
        };
        println!("  {:<13} {usage}", "token usage");
    }
    let run = match (report.run_mode(), report.configured) {
        (Some(mode), StructuredOutput::Auto) => format!("{mode} (structured_output = \"auto\")"),
        (Some(mode), _) => format!("{mode} (configured)"),
        (None, StructuredOutput::Auto) => "nothing: every judgment would fail".to_owned(),
        (None, forced) => format!(
            "nothing: structured_output = \"{forced}\" is refused; \"auto\" would fall back"
        ),
    };
    println!("  {:<13} {run}", "a run uses");
}

fn to_json(report: &Report) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("endpoint".into(), json!(report.alias));
    object.insert("url".into(), json!(report.url));
    object.insert("model".into(), json!(report.model));
    object.insert("answered_model".into(), json!(report.answered_model()));
    for (mode, outcome) in &report.modes {
        let value = match outcome {
            Ok(probe) => json!({
                "accepted": true,
                "seconds": probe.latency.as_secs_f64(),
                "readable_verdict": readable_verdict(&probe.content),
            }),
            Err(ProbeFailure::Refused(why)) => {
                json!({"accepted": false, "refused": printable(why)})
            }
            Err(ProbeFailure::Failed(why)) => json!({"accepted": false, "error": printable(why)}),
        };
        object.insert(mode.as_str().into(), value);
    }
    object.insert(
        "usage".into(),
        match report.usage() {
            Some((input, output)) => json!({"input_tokens": input, "output_tokens": output}),
            None => Value::Null,
        },
    );
    object.insert(
        "structured_output".into(),
        json!(report.run_mode().map(StructuredOutput::as_str)),
    );
    object.insert("ok".into(), json!(report.run_mode().is_some()));
    Value::Object(object)
}

/// Server text, one line, bounded, without control characters.
fn printable(text: &str) -> String {
    let mut line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(QUOTE_CHARS)
        .collect();
    if text.chars().count() > QUOTE_CHARS {
        line.push_str("...");
    }
    line
}

fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_read_from_answers_with_prose() {
        assert!(readable_verdict(r#"{"rationale": "r", "result": "yes"}"#));
        assert!(readable_verdict(
            "Sure!\n```json\n{\"result\": \"No\"}\n```"
        ));
        assert!(!readable_verdict("yes"));
        assert!(!readable_verdict(r#"{"result": "maybe"}"#));
    }

    #[test]
    fn server_text_is_bounded_and_printable() {
        assert_eq!(printable("a\u{1b}[31mb\nc"), "a [31mb c");
        assert_eq!(printable(&"x".repeat(500)).len(), QUOTE_CHARS + 3);
    }
}
