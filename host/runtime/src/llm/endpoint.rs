//! An `[endpoints.NAME]` table of `gavel.toml`: where a judge LLM lives, how
//! to authenticate to it and how to ask it for JSON.

use std::fmt;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// An `[endpoints.NAME]` table of `gavel.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// How requests are addressed and authenticated.
    #[serde(default)]
    pub kind: EndpointKind,
    /// Base of the API: `https://api.openai.com/v1` (requests go to
    /// `{base_url}/chat/completions`), an Azure deployment
    /// (`https://RES.openai.azure.com/openai/deployments/NAME`), or a
    /// Databricks workspace's `https://HOST/serving-endpoints`.
    pub base_url: String,
    /// The model; for Databricks, the serving endpoint's name. Azure
    /// deployments name theirs in the URL and may leave it empty.
    #[serde(default)]
    pub model: String,
    /// Environment variable holding the API key; no key is sent without it.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// The header the key is sent in, as it is (`x-api-key = KEY`), instead
    /// of `Authorization: Bearer KEY` (Azure: `api-key`).
    #[serde(default)]
    pub api_key_header: Option<String>,
    /// Azure's `api-version` query parameter.
    #[serde(default)]
    pub api_version: Option<String>,
    /// Further headers sent with every request (gateways, routing).
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// How to ask for JSON: `auto` tries `json_schema`, then `json_object`
    /// with the schema, then the prompt alone, as the endpoint refuses them.
    #[serde(default)]
    pub structured_output: StructuredOutput,
    #[serde(default = "defaults::max_concurrency")]
    pub max_concurrency: usize,
    /// 0 means unlimited.
    #[serde(default)]
    pub requests_per_minute: u32,
    /// Seconds one request may take, waiting in the server's queue included.
    #[serde(default = "defaults::timeout_secs")]
    pub timeout_secs: f64,
    #[serde(default = "defaults::max_retries")]
    pub max_retries: u32,
    #[serde(default)]
    pub temperature: f32,
    /// Calls in a row that fail after their retries (refused connections,
    /// timeouts, 429 and 5xx, rejected keys) before the endpoint is taken to
    /// be down and the run stops.
    #[serde(default = "defaults::failures_before_stop")]
    pub failures_before_stop: u32,
}

/// The API an endpoint speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    /// OpenAI's chat completions: OpenAI, vLLM, llama.cpp, Ollama, gateways.
    #[default]
    Openai,
    /// Azure OpenAI: the key in an `api-key` header, `?api-version=`.
    Azure,
    /// Databricks model serving: `{base_url}/{model}/invocations`, a bearer
    /// token, the endpoint's name in the URL rather than the body.
    Databricks,
}

/// How an endpoint is asked for JSON answers. In a run, `auto` becomes one
/// of the others: the first the endpoint accepts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StructuredOutput {
    #[default]
    Auto,
    /// `response_format: {"type": "json_schema", "json_schema": {...}}`
    /// (OpenAI, vLLM, Ollama).
    JsonSchema,
    /// `response_format: {"type": "json_object", "schema": {...}}`
    /// (llama.cpp's grammar-constrained JSON; others ignore the schema).
    JsonObject,
    /// No `response_format`: the prompt asks for JSON and the answer is
    /// read leniently.
    Off,
}

impl StructuredOutput {
    pub fn as_str(self) -> &'static str {
        match self {
            StructuredOutput::Auto => "auto",
            StructuredOutput::JsonSchema => "json_schema",
            StructuredOutput::JsonObject => "json_object",
            StructuredOutput::Off => "off",
        }
    }

    /// What to try after the endpoint refused `self`.
    pub fn fallback(self) -> Option<StructuredOutput> {
        match self {
            StructuredOutput::Auto => Some(StructuredOutput::JsonSchema),
            StructuredOutput::JsonSchema => Some(StructuredOutput::JsonObject),
            StructuredOutput::JsonObject => Some(StructuredOutput::Off),
            StructuredOutput::Off => None,
        }
    }
}

impl fmt::Display for StructuredOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

mod defaults {
    pub fn failures_before_stop() -> u32 {
        5
    }
    pub fn max_concurrency() -> usize {
        16
    }
    pub fn timeout_secs() -> f64 {
        60.0
    }
    pub fn max_retries() -> u32 {
        5
    }
}

/// OpenAI's API.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

impl Endpoint {
    /// An OpenAI-compatible endpoint at `base_url` with every other setting
    /// at its default (no key).
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Endpoint {
            kind: EndpointKind::Openai,
            base_url: base_url.into(),
            model: model.into(),
            api_key_env: None,
            api_key_header: None,
            api_version: None,
            headers: IndexMap::new(),
            structured_output: StructuredOutput::Auto,
            max_concurrency: defaults::max_concurrency(),
            requests_per_minute: 0,
            timeout_secs: defaults::timeout_secs(),
            max_retries: defaults::max_retries(),
            temperature: 0.0,
            failures_before_stop: defaults::failures_before_stop(),
        }
    }

    /// OpenAI's API with `gpt-4o-mini`, the key in `OPENAI_API_KEY`: the
    /// `judge` endpoint when none is configured.
    pub fn openai_default() -> Self {
        Endpoint {
            api_key_env: Some("OPENAI_API_KEY".to_owned()),
            ..Endpoint::new(OPENAI_BASE_URL, "gpt-4o-mini")
        }
    }

    /// Where chat completions are posted.
    pub fn url(&self) -> String {
        let base = self.base_url.trim_end_matches('/');
        match self.kind {
            EndpointKind::Openai => format!("{base}/chat/completions"),
            EndpointKind::Azure => match &self.api_version {
                Some(version) => format!("{base}/chat/completions?api-version={version}"),
                None => format!("{base}/chat/completions"),
            },
            EndpointKind::Databricks => format!("{base}/{}/invocations", self.model),
        }
    }

    /// Whether the request body names the model: Databricks names it in the
    /// URL, an Azure deployment may leave it out.
    pub(crate) fn model_in_body(&self) -> Option<&str> {
        match self.kind {
            EndpointKind::Databricks => None,
            _ => Some(self.model.as_str()).filter(|m| !m.is_empty()),
        }
    }

    /// The header carrying the key, and whether it is a bearer token.
    pub(crate) fn key_header(&self) -> (&str, bool) {
        match (&self.api_key_header, self.kind) {
            (Some(header), _) => (header.as_str(), false),
            (None, EndpointKind::Azure) => ("api-key", false),
            (None, _) => ("authorization", true),
        }
    }

    /// Settings that cannot work together, named by key.
    pub fn check(&self) -> Result<(), String> {
        let url = self.base_url.as_str();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "`base_url` must be an http:// or https:// URL, not {url:?}"
            ));
        }
        if url.contains('?') || url.contains('#') {
            return Err(format!(
                "`base_url` {url:?} must not carry a query or fragment (Azure's version goes in `api_version`)"
            ));
        }
        match self.kind {
            EndpointKind::Openai | EndpointKind::Databricks if self.model.is_empty() => {
                return Err(format!(
                    "`model` is required for a{} endpoint{}",
                    if self.kind == EndpointKind::Openai {
                        "n OpenAI-compatible"
                    } else {
                        " Databricks"
                    },
                    if self.kind == EndpointKind::Databricks {
                        " (the serving endpoint's name)"
                    } else {
                        ""
                    }
                ));
            }
            EndpointKind::Azure
                if self.api_version.is_none()
                    && !url.trim_end_matches('/').ends_with("/openai/v1") =>
            {
                return Err(
                    "`api_version` is required for kind = \"azure\" (e.g. \"2024-10-21\"), \
                     unless `base_url` is Azure's v1 API (https://RES.openai.azure.com/openai/v1)"
                        .to_owned(),
                );
            }
            EndpointKind::Openai | EndpointKind::Databricks if self.api_version.is_some() => {
                return Err("`api_version` is only for kind = \"azure\"".to_owned());
            }
            _ => {}
        }
        if let Some(version) = &self.api_version
            && !version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(format!("`api_version` {version:?} is not a version"));
        }
        let header_names = self
            .headers
            .keys()
            .map(|name| (name.as_str(), "headers"))
            .chain(
                self.api_key_header
                    .as_deref()
                    .map(|h| (h, "api_key_header")),
            );
        for (name, key) in header_names {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(format!("`{key}`: {name:?} is not a valid header name"));
            }
        }
        for (name, value) in &self.headers {
            if reqwest::header::HeaderValue::from_str(value).is_err() {
                return Err(format!(
                    "`headers`: the value of {name:?} is not a valid header value"
                ));
            }
        }
        if !(self.timeout_secs > 0.0 && self.timeout_secs.is_finite()) {
            return Err("`timeout_secs` must be more than 0".to_owned());
        }
        if self.max_concurrency == 0 {
            return Err("`max_concurrency` must be at least 1".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Endpoint {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn urls_follow_the_kind() {
        let openai = parse("base_url = \"http://127.0.0.1:8080/v1/\"\nmodel = \"m\"");
        assert_eq!(openai.url(), "http://127.0.0.1:8080/v1/chat/completions");
        assert_eq!(openai.key_header(), ("authorization", true));
        let azure = parse(
            "kind = \"azure\"\nbase_url = \"https://r.openai.azure.com/openai/deployments/gpt\"\napi_version = \"2024-10-21\"",
        );
        azure.check().unwrap();
        assert_eq!(
            azure.url(),
            "https://r.openai.azure.com/openai/deployments/gpt/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(azure.key_header(), ("api-key", false));
        assert_eq!(azure.model_in_body(), None);
        let databricks = parse(
            "kind = \"databricks\"\nbase_url = \"https://w.cloud.databricks.com/serving-endpoints\"\nmodel = \"llama\"",
        );
        assert_eq!(
            databricks.url(),
            "https://w.cloud.databricks.com/serving-endpoints/llama/invocations"
        );
        assert_eq!(databricks.model_in_body(), None);
    }

    #[test]
    fn settings_that_cannot_work_are_named() {
        let azure = parse(
            "kind = \"azure\"\nbase_url = \"https://r.openai.azure.com/openai/deployments/gpt\"",
        );
        assert!(
            azure
                .check()
                .unwrap_err()
                .contains("`api_version` is required")
        );
        let v1 = parse("kind = \"azure\"\nbase_url = \"https://r.openai.azure.com/openai/v1\"");
        v1.check().unwrap();
        let no_model = parse("base_url = \"http://x/v1\"");
        assert!(
            no_model
                .check()
                .unwrap_err()
                .contains("`model` is required")
        );
        let header = parse(
            "base_url = \"http://x/v1\"\nmodel = \"m\"\nheaders = { \"bad header\" = \"v\" }",
        );
        assert!(
            header
                .check()
                .unwrap_err()
                .contains("not a valid header name")
        );
        let query = parse("base_url = \"http://x/v1?api-version=1\"\nmodel = \"m\"");
        assert!(query.check().unwrap_err().contains("query"));
    }

    #[test]
    fn structured_output_falls_back_in_order() {
        let mut mode = StructuredOutput::JsonSchema;
        let mut seen = vec![mode];
        while let Some(next) = mode.fallback() {
            mode = next;
            seen.push(mode);
        }
        assert_eq!(
            seen,
            [
                StructuredOutput::JsonSchema,
                StructuredOutput::JsonObject,
                StructuredOutput::Off
            ]
        );
        assert!(StructuredOutput::JsonSchema < StructuredOutput::Off);
    }
}
