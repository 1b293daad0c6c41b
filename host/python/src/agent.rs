//! A Python callable as the agent under evaluation, as the reference's
//! `mlflow.evaluate(model=...)` function: called from worker threads
//! (holding the GIL only while it runs) with the row's request in chat
//! form, `{"messages": [{"role": ..., "content": ...}, ...]}` (a string
//! request is one user message); what it returns is read as any answer
//! format gavel reads, and what it raises marks that row.

use std::future::Future;
use std::pin::Pin;

use gavel::evaluation::agent::AgentFunction;
use pyo3::prelude::*;
use serde_json::Value;

pub struct PythonAgent {
    callable: Py<PyAny>,
}

impl PythonAgent {
    pub fn new(callable: Py<PyAny>) -> PythonAgent {
        PythonAgent { callable }
    }
}

impl AgentFunction for PythonAgent {
    fn call(&self, request: Value) -> Pin<Box<dyn Future<Output = Result<Value, String>> + Send>> {
        let callable = Python::attach(|py| self.callable.clone_ref(py));
        Box::pin(async move {
            tokio::task::spawn_blocking(move || Python::attach(|py| call(py, &callable, &request)))
                .await
                .map_err(|e| format!("the agent function's thread failed: {e}"))?
        })
    }
}

fn call(py: Python<'_>, callable: &Py<PyAny>, request: &Value) -> Result<Value, String> {
    let json = py.import("json").map_err(|e| e.to_string())?;
    let chat = serde_json::json!({"messages": request["messages"]});
    let argument = json
        .call_method1("loads", (chat.to_string(),))
        .map_err(|e| e.to_string())?;
    let answer = callable
        .call1(py, (argument,))
        .map_err(|e| describe(py, &e))?;
    let answer = answer.bind(py);
    if let Ok(text) = answer.extract::<String>() {
        return Ok(Value::String(text));
    }
    // Dicts, lists and what json.dumps can be taught (numpy scalars, via
    // their `item()`, through the package's encoder).
    let encoder = py
        .import("gavel._convert")
        .and_then(|m| m.getattr("dumps"))
        .map_err(|e| e.to_string())?;
    let text: String = encoder
        .call1((answer,))
        .and_then(|t| t.extract())
        .map_err(|e| {
            format!(
                "the agent function returned something that is not JSON: {}",
                describe(py, &e)
            )
        })?;
    serde_json::from_str(&text).map_err(|e| format!("the agent function's answer is not JSON: {e}"))
}

/// `ValueError: boom`, as the row's agent/error_message.
fn describe(py: Python<'_>, error: &PyErr) -> String {
    let kind = error
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".to_owned());
    match error.value(py).str() {
        Ok(message) if !message.to_string().is_empty() => format!("{kind}: {message}"),
        _ => kind,
    }
}
