//! Agents behind HTTP: an OpenAI-compatible chat endpoint, or any endpoint
//! that takes the request object as JSON.

use serde_json::{Value, json};

use super::{AgentFormat, AgentRequest, AttemptError, messages_json};
use gavel_runtime::llm::{ApiKey, error_chain, read_capped};
use gavel_runtime::retry::{is_retryable_status, retry_after};

pub(super) struct HttpAgent {
    client: reqwest::Client,
    url: String,
    format: AgentFormat,
    model: Option<String>,
    key: Option<ApiKey>,
    run_id: String,
}

impl HttpAgent {
    pub(super) fn new(
        url: &str,
        format: AgentFormat,
        model: Option<String>,
        api_key_env: Option<&str>,
        run_id: &str,
    ) -> Result<HttpAgent, String> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "the agent URL must start with http:// or https://, not {url:?}"
            ));
        }
        let key = match api_key_env {
            None => None,
            Some(var) => Some(ApiKey::from_env(var).ok_or_else(|| {
                format!("environment variable {var} is not set (the agent's api_key_env)")
            })?),
        };
        // A chat endpoint may be given by its base URL, as judge endpoints are.
        let url = match format {
            AgentFormat::Openai if !url.trim_end_matches('/').ends_with("/chat/completions") => {
                format!("{}/chat/completions", url.trim_end_matches('/'))
            }
            _ => url.to_owned(),
        };
        let client = reqwest::Client::builder()
            .tcp_nodelay(true)
            .user_agent(concat!("gavel/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up HTTP: {e}"))?;
        Ok(HttpAgent {
            client,
            url,
            format,
            model,
            key,
            run_id: run_id.to_owned(),
        })
    }

    pub(super) async fn call(&self, request: &AgentRequest) -> Result<Value, AttemptError> {
        let body = match self.format {
            AgentFormat::Openai => {
                let mut body = json!({ "messages": messages_json(&request.messages) });
                if let Some(model) = &self.model {
                    body["model"] = json!(model);
                }
                body
            }
            AgentFormat::Json => request.to_json(),
        };
        let mut http = self
            .client
            .post(&self.url)
            .header("X-Gavel-Run", &self.run_id)
            .header("X-Gavel-Request-Id", header_value(&request.request_id))
            .json(&body);
        if let Some(key) = &self.key {
            http = http.bearer_auth(key.expose());
        }
        let unreachable = |e: reqwest::Error| AttemptError::Retry {
            message: format!(
                "cannot reach the agent at {}: {}",
                self.url,
                error_chain(&e)
            ),
            retry_after: None,
        };
        let response = http.send().await.map_err(unreachable)?;
        let status = response.status();
        let wait = retry_after(response.headers());
        let body = read_capped(response).await.map_err(unreachable)?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            let snippet: String = text.chars().take(300).collect();
            let message = format!(
                "the agent at {} answered HTTP {status}: {snippet}",
                self.url
            );
            return Err(if is_retryable_status(status.as_u16()) {
                AttemptError::Retry {
                    message,
                    retry_after: wait,
                }
            } else {
                AttemptError::Fatal(message)
            });
        }
        serde_json::from_slice(&body).map_err(|e| {
            let text = String::from_utf8_lossy(&body);
            let snippet: String = text.chars().take(200).collect();
            AttemptError::Fatal(format!(
                "the agent at {} answered something that is not JSON ({e}): {snippet:?}",
                self.url
            ))
        })
    }
}

/// Longest request id sent in `X-Gavel-Request-Id`.
const MAX_HEADER_ID_BYTES: usize = 256;

/// A request id from the data as a header value: visible ASCII only
/// (anything else, line breaks included, becomes `_`, so no header can be
/// injected and no request fails to be built) and at most 256 bytes.
fn header_value(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .take(MAX_HEADER_ID_BYTES)
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_become_safe_header_values() {
        assert_eq!(header_value("q1"), "q1");
        assert_eq!(
            header_value("a\r\nX-Injected: 1\u{1b}é"),
            "a__X-Injected: 1__"
        );
        assert_eq!(header_value(&"x".repeat(1000)).len(), MAX_HEADER_ID_BYTES);
        assert!(reqwest::header::HeaderValue::from_str(&header_value("\u{0}\u{7f}ü")).is_ok());
    }
}
