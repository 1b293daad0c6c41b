//! Plugins keep working as the host evolves: components built against
//! `gavel:judge@0.1.0` and `@0.1.1` (which added `ask`) load in today's host
//! (`@0.1.2`, which added the `metric` world), and judges and metrics load
//! in a host that adds further compatible imports (`@0.1.3`).

use gavel::{Judge, Rating, Settings};
use serde_json::json;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::support::{self, TestLlm};

/// The Rust example judge as built against each earlier WIT version.
const FIXTURES: [&str; 2] = ["0.1.0", "0.1.1"];

fn fixture(version: &str) -> std::path::PathBuf {
    support::workspace().join(format!("tests/compat/v{version}/conciseness.wasm"))
}

#[tokio::test(flavor = "multi_thread")]
async fn plugins_built_against_0_1_0_and_0_1_1_run_in_this_host() {
    let llm = TestLlm::start().await;
    llm.always(&support::verdict("yes", "Brief."));
    let host = support::host(&llm);
    for version in FIXTURES {
        let plugin = host.load_file(&fixture(version)).await.unwrap();
        assert_eq!((plugin.name(), plugin.version()), ("conciseness", "1.0.0"));
        assert_eq!(plugin.wit_version(), version);
        let judge = Judge::new(plugin, Settings::default());
        let row = support::row(json!({"request": "2+2?", "response": "4"}));
        assert_eq!(
            host.judge(&judge, &row).await.judgment.unwrap().rating,
            Rating::Yes,
            "{version}"
        );
    }
}

/// A host generated from a future WIT with one more import function.
mod future {
    wasmtime::component::bindgen!({
        world: "plugin",
        path: "../tests/compat/wit-0.1.3",
        imports: { default: async },
        exports: { default: async },
    });
}

use future::gavel::judge as future_api;

struct FutureHost {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for FutureHost {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl future_api::types::Host for FutureHost {}

impl future_api::llm::Host for FutureHost {
    async fn complete(
        &mut self,
        _request: future_api::llm::CompletionRequest,
    ) -> Result<future_api::llm::Completion, future_api::llm::LlmError> {
        Err(future_api::llm::LlmError::Upstream(
            "no LLM in this test".into(),
        ))
    }

    async fn models(&mut self) -> Vec<String> {
        vec!["future-model".into()]
    }
}

impl future_api::ask::Host for FutureHost {
    async fn ask(
        &mut self,
        _question: future_api::ask::Question,
    ) -> Result<future_api::ask::Answer, future_api::ask::AskError> {
        Err(future_api::ask::AskError::Llm(
            future_api::llm::LlmError::Upstream("no LLM in this test".into()),
        ))
    }

    async fn rate_chunks(
        &mut self,
        _question: future_api::ask::Question,
        _overall: future_api::ask::Overall,
    ) -> Result<future_api::ask::RatedChunks, future_api::ask::AskError> {
        Err(future_api::ask::AskError::Llm(
            future_api::llm::LlmError::Upstream("no LLM in this test".into()),
        ))
    }
}

impl future_api::prompt::Host for FutureHost {
    async fn render(
        &mut self,
        template: String,
        _overrides: Vec<future_api::prompt::Variable>,
    ) -> Result<String, String> {
        Ok(template)
    }

    async fn render_row(
        &mut self,
        template: String,
        _row: future_api::types::Row,
        _overrides: Vec<future_api::prompt::Variable>,
    ) -> Result<String, String> {
        Ok(template)
    }
}

impl future_api::log::Host for FutureHost {
    async fn log(&mut self, _level: future_api::log::Level, _message: String) {}
}

#[tokio::test(flavor = "multi_thread")]
async fn plugins_built_against_earlier_versions_run_in_a_host_that_adds_imports() {
    for version in FIXTURES {
        runs_in_the_future_host(version).await;
    }
}

async fn runs_in_the_future_host(version: &str) {
    let engine = Engine::new(Config::new().wasm_component_model(true)).unwrap();
    let mut linker = Linker::<FutureHost>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    future::Plugin::add_to_linker::<_, HasSelf<FutureHost>>(&mut linker, |h| h).unwrap();
    let component = Component::from_file(&engine, fixture(version)).unwrap();
    let pre = future::PluginPre::new(
        linker
            .instantiate_pre(&component)
            .unwrap_or_else(|e| panic!("{version} imports match 0.1.3: {e:#}")),
    )
    .unwrap_or_else(|e| panic!("the {version} export is found as 0.1.3: {e:#}"));
    let mut store = Store::new(
        &engine,
        FutureHost {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        },
    );
    let plugin = pre.instantiate_async(&mut store).await.unwrap();
    let description = plugin
        .gavel_judge_judge()
        .call_describe(&mut store)
        .await
        .unwrap();
    assert_eq!(description.name, "conciseness");

    let row = future_api::types::Row {
        request_id: "0".into(),
        request: "2+2?".into(),
        conversation: vec![],
        response: Some("the answer is four".into()),
        expected_response: None,
        expected_facts: vec![],
        retrieved_context: vec![],
        expected_retrieved_context: vec![],
        guidelines: vec![],
        global_guidelines: vec![],
        trace: None,
        extra: "{}".into(),
    };
    let config = future_api::types::JudgeConfig {
        options: r#"{"max_words": 2}"#.into(),
        endpoint: "judge".into(),
        threshold: 3,
        examples: vec![],
    };
    let assessment = plugin
        .gavel_judge_judge()
        .call_evaluate(&mut store, &row, &config)
        .await
        .unwrap()
        .expect("an assessment");
    assert!(matches!(assessment.verdict, future_api::types::Verdict::No));
    assert_eq!(assessment.rationale, "4 words, over the limit of 2.");
}

/// The metric world of the future WIT, sharing its types and `log`.
mod future_metric {
    wasmtime::component::bindgen!({
        world: "metric-plugin",
        path: "../tests/compat/wit-0.1.3",
        imports: { default: async },
        exports: { default: async },
        with: {
            "gavel:judge/types": super::future::gavel::judge::types,
            "gavel:judge/log": super::future::gavel::judge::log,
        },
    });
}

/// A metric built against today's 0.1.2 (the built-in ARI, as the build
/// script built it) loads and measures in a host generated from 0.1.3.
#[tokio::test(flavor = "multi_thread")]
async fn a_metric_built_against_0_1_2_runs_in_a_host_that_adds_imports() {
    let engine = Engine::new(Config::new().wasm_component_model(true)).unwrap();
    let mut linker = Linker::<FutureHost>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    future_metric::MetricPlugin::add_to_linker::<_, HasSelf<FutureHost>>(&mut linker, |h| h)
        .unwrap();
    let path = support::workspace()
        .join("target/wasm-judges/wasm32-wasip2/plugin/gavel_builtin_ari_grade_level.wasm");
    let component = Component::from_file(&engine, &path).unwrap();
    let pre = future_metric::MetricPluginPre::new(
        linker
            .instantiate_pre(&component)
            .expect("0.1.2 imports match 0.1.3"),
    )
    .expect("the 0.1.2 metric export is found as 0.1.3");
    let mut store = Store::new(
        &engine,
        FutureHost {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        },
    );
    let metric = pre.instantiate_async(&mut store).await.unwrap();
    let description = metric
        .gavel_judge_metric()
        .call_describe(&mut store)
        .await
        .unwrap();
    assert_eq!(description.name, "ari_grade_level");
    let row = future_api::types::Row {
        request_id: "0".into(),
        request: "q".into(),
        conversation: vec![],
        response: Some("Cool dogs wear da sunglasses.".into()),
        expected_response: None,
        expected_facts: vec![],
        retrieved_context: vec![],
        expected_retrieved_context: vec![],
        guidelines: vec![],
        global_guidelines: vec![],
        trace: None,
        extra: "{}".into(),
    };
    let value = metric
        .gavel_judge_metric()
        .call_measure(&mut store, &row)
        .await
        .unwrap();
    // textstat.automated_readability_index of the same text.
    assert_eq!(value, Ok(Some(4.620000000000001)));
}
