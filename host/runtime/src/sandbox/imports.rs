//! The host side of the imports a judge may call: `llm`, `ask`, `prompt`,
//! `log`.

use std::sync::Arc;

use crate::ask::{self as policy, answer};
use crate::bindings::gavel::judge::{ask, llm, log, prompt, types};
use crate::bindings::{
    AskError, Assessment, ChunkAssessment, Completion, CompletionRequest, Level, LlmError, Message,
    Overall, Question, RatedChunks, Role, Row, Usage, Variable, Verdict,
};
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

/// `ask`: the verdict-asking policy of `crate::ask`, carried out with the
/// same rendering and the same `complete` (grants, budget, limits) the
/// lower-level imports give a judge.
impl ask::Host for EvalState {
    async fn ask(&mut self, question: Question) -> Result<ask::Answer, AskError> {
        let mut usage = Usage {
            input_tokens: 0,
            output_tokens: 0,
        };
        let (verdict, rationale) = self.ask_one(&question, None, &mut usage).await?;
        Ok(ask::Answer {
            verdict,
            rationale,
            usage,
        })
    }

    async fn rate_chunks(
        &mut self,
        question: Question,
        overall: Overall,
    ) -> Result<RatedChunks, AskError> {
        if self.retrieved.is_empty() {
            return Err(AskError::MissingInput("retrieved_context".to_owned()));
        }
        let contexts = self.retrieved.clone();
        let mut usage = Usage {
            input_tokens: 0,
            output_tokens: 0,
        };
        let mut first_error = None;
        let mut chunks = Vec::with_capacity(contexts.len());
        for content in contexts.iter() {
            match self.ask_one(&question, Some(content), &mut usage).await {
                Ok((verdict, rationale)) => chunks.push(Ok(ChunkAssessment { verdict, rationale })),
                Err(error) => {
                    chunks.push(Err(policy::describe_error(&error)));
                    first_error.get_or_insert(error);
                }
            }
        }
        if let Some(error) = first_error
            && chunks.iter().all(Result::is_err)
        {
            return Err(error);
        }
        let (verdict, rationale) = policy::combine_chunks(&chunks, self.threshold, overall);
        Ok(RatedChunks {
            assessment: Assessment {
                verdict,
                rationale,
                chunks,
            },
            usage,
        })
    }
}

impl EvalState {
    /// One question: the examples, the row, one repair. With `chunk`, the
    /// row is asked about that one retrieved chunk (as `retrieved_context`);
    /// an example shows its own chunk, the one its verdict is about.
    async fn ask_one(
        &mut self,
        question: &Question,
        chunk: Option<&str>,
        usage: &mut Usage,
    ) -> Result<(Verdict, String), AskError> {
        let form = policy::form(question.scale);
        let mut messages = vec![message(Role::System, form.system)];
        let examples = self.examples.clone();
        for example in examples.iter() {
            let vars = Variables::of_row(&example.row);
            let shown = render(
                &self.renderer,
                &self.judge,
                &question.criterion,
                &vars,
                &question.overrides,
            )
            .await
            .map_err(policy::invalid_template)?;
            messages.push(message(Role::User, shown));
            messages.push(message(
                Role::Assistant,
                policy::example_answer(&example.verdict, &example.rationale),
            ));
        }
        let mut overrides = std::borrow::Cow::Borrowed(question.overrides.as_slice());
        if let Some(content) = chunk {
            overrides.to_mut().push(Variable {
                name: "retrieved_context".to_owned(),
                value: content.to_owned(),
            });
        }
        let asked = render(
            &self.renderer,
            &self.judge,
            &question.criterion,
            &self.vars,
            &overrides,
        )
        .await
        .map_err(policy::invalid_template)?;
        messages.push(message(Role::User, asked));
        let endpoint = question
            .endpoint
            .clone()
            .unwrap_or_else(|| self.endpoint.to_string());
        let first = self
            .complete_counted(&endpoint, &messages, form.schema, usage)
            .await?;
        if let Some(answer) = answer::parse(&first) {
            return Ok((answer.verdict(question.scale), answer.rationale));
        }
        messages.push(message(Role::Assistant, first.clone()));
        messages.push(message(Role::User, form.repair.to_owned()));
        let second = self
            .complete_counted(&endpoint, &messages, form.schema, usage)
            .await?;
        match answer::parse(&second) {
            Some(answer) => Ok((answer.verdict(question.scale), answer.rationale)),
            None => Err(policy::unparsable(&first, &second)),
        }
    }

    async fn complete_counted(
        &mut self,
        endpoint: &str,
        messages: &[Message],
        schema: &str,
        usage: &mut Usage,
    ) -> Result<String, AskError> {
        let completion = llm::Host::complete(
            self,
            CompletionRequest {
                endpoint: endpoint.to_owned(),
                messages: messages.to_vec(),
                json_schema: Some(schema.to_owned()),
                max_output_tokens: None,
            },
        )
        .await
        .map_err(AskError::Llm)?;
        usage.input_tokens = usage
            .input_tokens
            .saturating_add(completion.usage.input_tokens);
        usage.output_tokens = usage
            .output_tokens
            .saturating_add(completion.usage.output_tokens);
        Ok(completion.content)
    }
}

fn message(role: Role, content: String) -> Message {
    Message { role, content }
}

impl prompt::Host for EvalState {
    async fn render(
        &mut self,
        template: String,
        overrides: Vec<Variable>,
    ) -> Result<String, String> {
        render(
            &self.renderer,
            &self.judge,
            &template,
            &self.vars,
            &overrides,
        )
        .await
    }

    async fn render_row(
        &mut self,
        template: String,
        row: Row,
        overrides: Vec<Variable>,
    ) -> Result<String, String> {
        let vars = Variables::of_row(&row);
        render(&self.renderer, &self.judge, &template, &vars, &overrides).await
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
    overrides: &[Variable],
) -> Result<String, String> {
    // The row's variables are copied only when something replaces one.
    let overridden;
    let vars = if overrides.is_empty() {
        vars
    } else {
        let mut copy = vars.clone();
        for Variable { name, value } in overrides {
            copy.set(name, value);
        }
        overridden = copy;
        &overridden
    };
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
