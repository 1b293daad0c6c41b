//! Judge answers on disk, so a second identical run makes no LLM calls.
//!
//! The key covers what determines an answer: the endpoint's URL and model,
//! the sampling parameters, the messages, the requested JSON schema, and
//! the judge's name and version (a new judge version asks afresh). Entries
//! are written atomically; an unreadable entry is a miss, never an error.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::endpoint::Endpoint;
use super::{ChatAnswer, ChatRequest, role_name};

/// Bumped when the key or entry format changes.
const FORMAT: u32 = 2;

#[derive(Debug, Clone)]
pub struct ResponseCache {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    content: String,
    input_tokens: u32,
    output_tokens: u32,
}

impl ResponseCache {
    /// Entries live under `dir/responses/`.
    pub fn new(dir: &Path) -> Self {
        ResponseCache {
            dir: dir.join("responses"),
        }
    }

    pub fn key(endpoint: &Endpoint, request: &ChatRequest) -> String {
        let messages: Vec<_> = request
            .messages
            .iter()
            .map(|m| {
                let role = role_name(m.role);
                json!([role, m.content])
            })
            .collect();
        let material = json!({
            "format": FORMAT,
            "url": endpoint.url(),
            "model": endpoint.model,
            "temperature": endpoint.temperature,
            "max_tokens": request.max_output_tokens,
            "json_schema": request.json_schema,
            "judge": request.judge,
            "judge_version": request.judge_version,
            "messages": messages,
        });
        crate::digest::sha256_hex(material.to_string().as_bytes())
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(&key[..2]).join(format!("{key}.json"))
    }

    pub async fn get(&self, key: &str) -> Option<ChatAnswer> {
        let path = self.path(key);
        let bytes = tokio::fs::read(&path).await.ok()?;
        match serde_json::from_slice::<Entry>(&bytes) {
            Ok(entry) => Some(ChatAnswer {
                content: entry.content,
                input_tokens: entry.input_tokens,
                output_tokens: entry.output_tokens,
            }),
            Err(error) => {
                tracing::debug!(path = %path.display(), %error, "ignoring a corrupt cached answer");
                None
            }
        }
    }

    pub async fn put(&self, key: &str, answer: &ChatAnswer) {
        let path = self.path(key);
        let entry = Entry {
            content: answer.content.clone(),
            input_tokens: answer.input_tokens,
            output_tokens: answer.output_tokens,
        };
        let write = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let dir = path.parent().expect("entries sit in a directory");
            std::fs::create_dir_all(dir)?;
            let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
            serde_json::to_writer(&mut tmp, &entry)?;
            tmp.persist(&path).map_err(|e| e.error)?;
            Ok(())
        });
        if let Ok(Err(error)) = write.await {
            tracing::warn!(%error, "cannot cache a judge answer");
        }
    }
}
