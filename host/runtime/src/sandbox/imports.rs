//! The host side of the imports a judge may call: `llm`, `prompt`, `log`.

use std::sync::Arc;

use crate::bindings::gavel::judge::{llm, log, prompt, types};
use crate::bindings::{Completion, CompletionRequest, Level, LlmError, Row, Usage, Variable};
use crate::llm::{ChatRequest, LlmCallError};
use crate::prompt::{Renderer, Variables};

use super::{EvalState, LOG_CAP};

impl types::Host for EvalState {}

impl llm::Host for EvalState {
    async fn complete(&mut self, request: CompletionRequest) -> Result<Completion, LlmError> {
        let alias = request.endpoint.as_str();
        if alias != &*self.endpoint && !self.grants.iter().any(|g| g == alias) {
            return Err(LlmError::NotAllowed(format!(
                "endpoint alias '{alias}' is not granted to judge '{judge}'; grant it with \
                 `endpoints = [\"{alias}\"]` under [judges.{judge}] in gavel.toml",
                judge = self.judge
            )));
        }
        if self.usage.llm_calls >= self.limits.llm_calls {
            self.llm_budget_exceeded = true;
            return Err(LlmError::BudgetExceeded(self.limits.llm_calls));
        }
        self.usage.llm_calls += 1;
        let chat = ChatRequest {
            judge: self.judge.to_string(),
            judge_version: self.judge_version.to_string(),
            messages: request.messages,
            json_schema: request.json_schema,
            max_output_tokens: request.max_output_tokens,
        };
        let answer = self
            .clock
            .wait_for_llm(self.llm.complete(alias, &chat))
            .await;
        let answer = answer.map_err(|error| match error {
            LlmCallError::Timeout(why) => {
                self.llm_timeout = Some(why);
                LlmError::Timeout
            }
            LlmCallError::Upstream(message) => LlmError::Upstream(message),
        })?;
        self.usage.input_tokens += u64::from(answer.input_tokens);
        self.usage.output_tokens += u64::from(answer.output_tokens);
        let size = answer.content.len() as u64;
        if size > self.limits.llm_response_bytes {
            return Err(LlmError::Upstream(format!(
                "the answer is {size} bytes, over the judge's limit of {} KiB (limit `llm_response_kib`)",
                self.limits.llm_response_bytes >> 10
            )));
        }
        Ok(Completion {
            content: answer.content,
            usage: Usage {
                input_tokens: answer.input_tokens,
                output_tokens: answer.output_tokens,
            },
        })
    }
}

impl prompt::Host for EvalState {
    async fn render(
        &mut self,
        template: String,
        overrides: Vec<Variable>,
    ) -> Result<String, String> {
        if overrides.is_empty() {
            return render(&self.renderer, &self.judge, &template, &self.vars).await;
        }
        let mut vars = self.vars.clone();
        for Variable { name, value } in &overrides {
            vars.set(name, value);
        }
        render(&self.renderer, &self.judge, &template, &vars).await
    }

    async fn render_row(
        &mut self,
        template: String,
        row: Row,
        overrides: Vec<Variable>,
    ) -> Result<String, String> {
        let mut vars = Variables::of_row(&row);
        for Variable { name, value } in &overrides {
            vars.set(name, value);
        }
        render(&self.renderer, &self.judge, &template, &vars).await
    }
}

/// Renders on the guest's fiber, but compiles a template it has not seen
/// on a blocking thread: the template parser checks how much native stack
/// is left, which it cannot tell on a fiber. The work is bounded by the
/// renderer (linear templates, capped output), and compiled templates are
/// cached under the judge's name, so a plugin can only evict its own.
async fn render(
    renderer: &Arc<Renderer>,
    judge: &Arc<str>,
    template: &str,
    vars: &Variables,
) -> Result<String, String> {
    let source = renderer.source(template, vars).map_err(|e| e.to_string())?;
    let compiled = match renderer.cached(judge, &source) {
        Some(compiled) => compiled,
        None => {
            let renderer = renderer.clone();
            let judge = judge.clone();
            tokio::task::spawn_blocking(move || renderer.compile(&judge, &source))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?
        }
    };
    renderer
        .render_compiled(&compiled, vars)
        .map_err(|e| e.to_string())
}

impl log::Host for EvalState {
    async fn log(&mut self, level: Level, message: String) {
        if self.log_bytes >= LOG_CAP {
            return;
        }
        self.log_bytes += message.len();
        let judge = &*self.judge;
        if self.log_bytes >= LOG_CAP {
            tracing::warn!(
                judge,
                "judge log output reached {LOG_CAP} bytes; dropping the rest of this evaluation's messages"
            );
            return;
        }
        let message = crate::text::clean_line(&message, crate::text::MAX_LINE_BYTES);
        match level {
            Level::Trace => tracing::trace!(judge, "{message}"),
            Level::Debug => tracing::debug!(judge, "{message}"),
            Level::Info => tracing::info!(judge, "{message}"),
            Level::Warn => tracing::warn!(judge, "{message}"),
            Level::Error => tracing::error!(judge, "{message}"),
        }
    }
}
