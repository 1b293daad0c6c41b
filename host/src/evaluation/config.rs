//! `gavel.toml`: endpoints, judges, global guidelines.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;

use crate::evaluation::agent::AgentTable;
use crate::evaluation::columns::{ColumnError, ColumnMap};
use crate::evaluation::input::{GuidelineGroup, guideline_groups};
use gavel_runtime::limits::LimitOverrides;
use gavel_runtime::llm::Endpoint;

/// The file the CLI reads when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "gavel.toml";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Endpoint aliases, in file order.
    #[serde(default)]
    pub endpoints: IndexMap<String, Endpoint>,
    /// Judge settings and custom judges, in file order (which orders custom
    /// judges as root causes).
    #[serde(default)]
    pub judges: IndexMap<String, JudgeTable>,
    /// A list of guidelines, or a table of named lists.
    #[serde(default)]
    pub global_guidelines: Option<toml::Value>,
    /// `[eval]`: defaults for `gavel eval`.
    #[serde(default)]
    pub eval: EvalTable,
    /// `[agent]`: the application `gavel eval` calls for rows without a
    /// response.
    #[serde(default)]
    pub agent: Option<AgentTable>,
    /// The directory relative paths in the file are resolved against.
    #[serde(skip)]
    pub dir: PathBuf,
    /// The file this came from, for messages.
    #[serde(skip)]
    pub path: Option<PathBuf>,
    /// What messages call a configuration given as data (no file).
    #[serde(skip)]
    pub name: Option<String>,
}

/// A `[judges.NAME]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeTable {
    /// A custom prompt judge's prompt.
    pub prompt: Option<String>,
    /// A plugin judge's component: a file, or a registry reference
    /// (`oci://HOST[:PORT]/NAMESPACE/NAME:TAG` or `...@sha256:DIGEST`).
    pub plugin: Option<String>,
    /// The SHA-256 (hex) the plugin's component must have: a pinned build.
    pub sha256: Option<String>,
    /// For prompt judges: `answer` (default) or `retrieval`, in any case
    /// (the reference writes `ANSWER`, `RETRIEVAL`); as written, read by
    /// [`JudgeTable::assessment_kind`].
    pub assessment_type: Option<String>,
    /// A 1-5 score above this is a yes (3 unless set).
    pub threshold: Option<u8>,
    /// Endpoint alias for the judge's LLM calls (`judge` unless set).
    pub endpoint: Option<String>,
    /// Further aliases a plugin may call by name.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// A JSONL file of few-shot examples.
    pub examples: Option<PathBuf>,
    /// Handed to the plugin as a JSON object.
    #[serde(default)]
    pub config: toml::Table,
    #[serde(default)]
    pub limits: LimitOverrides,
}

/// The `[eval]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalTable {
    /// The judges and metrics to run on every row instead of the default
    /// selection (`--judges` overrides it).
    pub judges: Option<Vec<String>>,
    /// Few-shot examples for every judge that has a rating in the file
    /// (output columns like `response/llm_judged/correctness/rating`); a
    /// judge's own `examples` take precedence.
    pub examples: Option<PathBuf>,
    /// `[eval.columns]`: the evaluation set's column read as each field
    /// (`response = "answer"`); `--column` adds to it.
    #[serde(default)]
    pub columns: IndexMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssessmentKind {
    Answer,
    Retrieval,
}

impl AssessmentKind {
    /// `answer` or `retrieval`, in any case.
    pub fn parse(text: &str) -> Option<AssessmentKind> {
        if text.eq_ignore_ascii_case("answer") {
            Some(AssessmentKind::Answer)
        } else if text.eq_ignore_ascii_case("retrieval") {
            Some(AssessmentKind::Retrieval)
        } else {
            None
        }
    }
}

impl JudgeTable {
    /// Its `assessment_type`, if given; an error message names the field.
    pub fn assessment_kind(&self) -> Result<Option<AssessmentKind>, String> {
        self.assessment_type
            .as_deref()
            .map(|text| {
                AssessmentKind::parse(text).ok_or_else(|| {
                    format!("`assessment_type` = {text:?}: use \"answer\" or \"retrieval\" (in any case)")
                })
            })
            .transpose()
    }
}

/// A configuration problem, naming the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub message: String,
}

impl Config {
    /// Reads `path`. Relative paths inside it are relative to its directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let error = |message: String| ConfigError {
            file: path.display().to_string(),
            message,
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| error(format!("cannot read it: {e}")))?;
        let mut config: Config =
            toml::from_str(&text).map_err(|e| error(e.to_string().trim_end().to_owned()))?;
        config.check().map_err(error)?;
        config.dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_owned);
        config.path = Some(path.to_owned());
        Ok(config)
    }

    /// A configuration given as data (the keys of `gavel.toml`, e.g. a
    /// Python dict) rather than a file; relative paths in it are relative
    /// to `dir`. `name` stands for the file in messages.
    pub fn from_json(
        value: serde_json::Value,
        dir: &Path,
        name: &str,
    ) -> Result<Config, ConfigError> {
        let error = |message: String| ConfigError {
            file: name.to_owned(),
            message,
        };
        let mut config: Config = serde_json::from_value(value).map_err(|e| error(e.to_string()))?;
        config.check().map_err(error)?;
        config.dir = dir.to_owned();
        config.path = None;
        config.name = Some(name.to_owned());
        Ok(config)
    }

    /// What the file's structure does not say: endpoints that cannot work,
    /// assessment types, the column mapping.
    fn check(&self) -> Result<(), String> {
        for (alias, endpoint) in &self.endpoints {
            endpoint
                .check()
                .map_err(|message| format!("[endpoints.{alias}]: {message}"))?;
        }
        for (name, table) in &self.judges {
            table
                .assessment_kind()
                .map_err(|message| format!("[judges.{name}]: {message}"))?;
        }
        self.column_map()
            .map(drop)
            .map_err(|e| format!("[eval.columns]: {e}"))
    }

    /// The column mapping of `[eval.columns]` (with `--column`'s).
    pub fn column_map(&self) -> Result<ColumnMap, ColumnError> {
        ColumnMap::new(
            self.eval
                .columns
                .iter()
                .map(|(field, column)| (field.clone(), column.clone())),
        )
    }

    /// `gavel.toml` in the current directory if there is one, else nothing.
    pub fn load_default() -> Result<Config, ConfigError> {
        let path = Path::new(DEFAULT_CONFIG_FILE);
        if path.exists() {
            Config::load(path)
        } else {
            Ok(Config {
                dir: PathBuf::from("."),
                ..Config::default()
            })
        }
    }

    /// The name of the file, for messages.
    pub fn file_name(&self) -> String {
        match (&self.path, &self.name) {
            (Some(path), _) => path.display().to_string(),
            (None, Some(name)) => name.clone(),
            (None, None) => DEFAULT_CONFIG_FILE.to_owned(),
        }
    }

    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file_name(),
            message: message.into(),
        }
    }

    /// The global guidelines, as groups.
    pub fn global_guideline_groups(&self) -> Result<Vec<GuidelineGroup>, ConfigError> {
        let Some(value) = &self.global_guidelines else {
            return Ok(Vec::new());
        };
        let json = serde_json::to_value(value).map_err(|e| self.error(e.to_string()))?;
        guideline_groups(json, "global_guidelines")
            .map_err(|e| self.error(format!("`{}` {}", e.field, e.message)))
    }

    /// The endpoints to call, with the command line's overrides applied to
    /// `judge`. Without an `[endpoints.judge]` table, `judge` is OpenAI's API
    /// with `gpt-4o-mini`.
    ///
    /// `--judge-base-url` moves `judge` elsewhere, and the API key goes with
    /// it only when the configuration's `[endpoints.judge]` table names
    /// `api_key_env` itself, or when the URL is OpenAI's API: the default
    /// `OPENAI_API_KEY` is never sent to another server. A key whose variable
    /// is unset is dropped too (local servers need none).
    pub fn resolved_endpoints(&self, overrides: &EndpointOverrides) -> IndexMap<String, Endpoint> {
        self.resolve_endpoints(overrides, |var| {
            std::env::var_os(var).is_some_and(|k| !k.is_empty())
        })
    }

    fn resolve_endpoints(
        &self,
        overrides: &EndpointOverrides,
        is_set: impl Fn(&str) -> bool,
    ) -> IndexMap<String, Endpoint> {
        let mut endpoints = self.endpoints.clone();
        let named_key = self
            .endpoints
            .get(gavel_runtime::judge::DEFAULT_ENDPOINT)
            .is_some_and(|e| e.api_key_env.is_some());
        let judge = endpoints
            .entry(gavel_runtime::judge::DEFAULT_ENDPOINT.to_owned())
            .or_insert_with(Endpoint::openai_default);
        if let Some(base_url) = &overrides.base_url {
            judge.base_url.clone_from(base_url);
            let may_have_key = named_key || is_openai_api(base_url);
            let key_set = judge.api_key_env.as_deref().is_some_and(&is_set);
            if !(may_have_key && key_set) {
                judge.api_key_env = None;
            }
        }
        if let Some(model) = &overrides.model {
            judge.model.clone_from(model);
        }
        endpoints
    }
}

/// Whether `url` is OpenAI's own API (`https://api.openai.com`, default
/// port), where the default key belongs.
fn is_openai_api(url: &str) -> bool {
    reqwest::Url::parse(url.trim()).is_ok_and(|url| {
        url.scheme() == "https"
            && url.host_str() == Some("api.openai.com")
            && url.port().is_none()
            && url.username().is_empty()
    })
}

/// `--judge-base-url` and `--judge-model`.
#[derive(Debug, Clone, Default)]
pub struct EndpointOverrides {
    pub base_url: Option<String>,
    pub model: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        toml::from_str::<Config>(text).map_err(|e| e.to_string())
    }

    #[test]
    fn judges_keep_file_order() {
        let config = parse(
            r#"
            [judges.zeta]
            prompt = "z {{response}}"
            [judges.alpha]
            plugin = "a.wasm"
            config = { style = "friendly" }
            "#,
        )
        .unwrap();
        let names: Vec<_> = config.judges.keys().collect();
        assert_eq!(names, ["zeta", "alpha"]);
        assert_eq!(
            config.judges["alpha"].config["style"].as_str(),
            Some("friendly")
        );
    }

    #[test]
    fn typos_are_errors_with_a_line_number() {
        let error = parse("[judges.x]\nprompt = \"p\"\nthresold = 4\n").unwrap_err();
        assert!(error.contains("line 3"), "{error}");
        assert!(error.contains("unknown field `thresold`"), "{error}");
    }

    #[test]
    fn the_default_judge_endpoint_is_openai_and_overridable() {
        let config = Config::default();
        let endpoints = config.resolved_endpoints(&EndpointOverrides::default());
        assert_eq!(endpoints["judge"].base_url, "https://api.openai.com/v1");
        let endpoints = config.resolved_endpoints(&EndpointOverrides {
            base_url: Some("http://127.0.0.1:9/v1".into()),
            model: Some("local".into()),
        });
        assert_eq!(endpoints["judge"].base_url, "http://127.0.0.1:9/v1");
        assert_eq!(endpoints["judge"].model, "local");
    }

    #[test]
    fn the_default_openai_key_goes_to_openai_only() {
        let set = |_: &str| true;
        let judge_key = |config: &Config, url: &str| {
            let overrides = EndpointOverrides {
                base_url: Some(url.to_owned()),
                model: None,
            };
            config.resolve_endpoints(&overrides, set)["judge"]
                .api_key_env
                .clone()
        };
        let default = Config::default();
        assert_eq!(
            default.resolve_endpoints(&EndpointOverrides::default(), set)["judge"]
                .api_key_env
                .as_deref(),
            Some("OPENAI_API_KEY")
        );
        assert_eq!(judge_key(&default, "http://127.0.0.1:8080/v1"), None);
        assert_eq!(
            judge_key(&default, "https://api.openai.com.evil.example/v1"),
            None
        );
        assert_eq!(judge_key(&default, "http://api.openai.com/v1"), None);
        assert_eq!(
            judge_key(&default, "https://api.openai.com/v1").as_deref(),
            Some("OPENAI_API_KEY")
        );
        // A table that names the variable sends it wherever the flag says.
        let named = parse(
            "[endpoints.judge]\nbase_url = \"https://gw.example/v1\"\napi_key_env = \"GW_KEY\"\n",
        )
        .unwrap();
        assert_eq!(
            judge_key(&named, "http://127.0.0.1:8080/v1").as_deref(),
            Some("GW_KEY")
        );
        // ... when it is set: a local server needs none.
        let overrides = EndpointOverrides {
            base_url: Some("http://127.0.0.1:8080/v1".to_owned()),
            model: None,
        };
        assert_eq!(
            named.resolve_endpoints(&overrides, |_| false)["judge"].api_key_env,
            None
        );
        // A table without api_key_env has no key to send.
        let unnamed = parse("[endpoints.judge]\nbase_url = \"https://gw.example/v1\"\n").unwrap();
        assert_eq!(judge_key(&unnamed, "https://api.openai.com/v1"), None);
    }

    fn load(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gavel.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(&path).map_err(|e| ConfigError {
            file: "gavel.toml".into(),
            ..e
        })
    }

    /// Reference 002 writes `metric_metadata={"assessment_type": "ANSWER"}`.
    #[test]
    fn assessment_types_are_read_in_any_case() {
        let config = load(
            "[judges.no_pii]\nprompt = \"{response}\"\nassessment_type = \"ANSWER\"\n\
             [judges.chunk_ok]\nprompt = \"{retrieved_context}\"\nassessment_type = \"Retrieval\"\n",
        )
        .unwrap();
        assert_eq!(
            config.judges["no_pii"].assessment_kind(),
            Ok(Some(AssessmentKind::Answer))
        );
        assert_eq!(
            config.judges["chunk_ok"].assessment_kind(),
            Ok(Some(AssessmentKind::Retrieval))
        );
        let json = serde_json::json!({"judges": {"no_pii": {"prompt": "{response}", "assessment_type": "RETRIEVAL"}}});
        let config = Config::from_json(json, Path::new("."), "config").unwrap();
        assert_eq!(
            config.judges["no_pii"].assessment_kind(),
            Ok(Some(AssessmentKind::Retrieval))
        );
    }

    #[test]
    fn an_unknown_assessment_type_names_the_judge_and_field() {
        let error =
            load("[judges.no_pii]\nprompt = \"{response}\"\nassessment_type = \"ANSWERS\"\n")
                .unwrap_err();
        assert_eq!(
            error.to_string(),
            "gavel.toml: [judges.no_pii]: `assessment_type` = \"ANSWERS\": use \"answer\" or \"retrieval\" (in any case)"
        );
        let json = serde_json::json!({"judges": {"tone": {"prompt": "{response}", "assessment_type": "chunk"}}});
        let error = Config::from_json(json, Path::new("."), "config").unwrap_err();
        assert_eq!(
            error.to_string(),
            "config: [judges.tone]: `assessment_type` = \"chunk\": use \"answer\" or \"retrieval\" (in any case)"
        );
    }

    #[test]
    fn eval_columns_map_fields_to_columns() {
        let config =
            load("[eval.columns]\nresponse = \"answer\"\nexpected_response = \"truth\"\n").unwrap();
        let map = config.column_map().unwrap();
        let pairs: Vec<_> = map.pairs().collect();
        assert_eq!(
            pairs,
            [("response", "answer"), ("expected_response", "truth")]
        );
        let json = serde_json::json!({"eval": {"columns": {"request": "question"}}});
        let config = Config::from_json(json, Path::new("."), "config").unwrap();
        assert_eq!(
            config.column_map().unwrap().pairs().collect::<Vec<_>>(),
            [("request", "question")]
        );
        let error = load("[eval.columns]\nanswer = \"response\"\n").unwrap_err();
        assert!(
            error.to_string().starts_with("gavel.toml: [eval.columns]: `answer` is not a field of an evaluation set; map columns to request_id, request, response"),
            "{error}"
        );
    }

    #[test]
    fn global_guidelines_as_list_or_named_groups() {
        let config = parse("global_guidelines = [\"Be polite\"]").unwrap();
        let groups = config.global_guideline_groups().unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].name, None);
        let config =
            parse("[global_guidelines]\ntone = [\"Be polite\"]\nlength = [\"Be brief\"]").unwrap();
        let names: Vec<_> = config
            .global_guideline_groups()
            .unwrap()
            .into_iter()
            .map(|g| g.name.unwrap())
            .collect();
        assert_eq!(names, ["tone", "length"]);
    }
}
