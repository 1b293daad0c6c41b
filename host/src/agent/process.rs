//! Agents as long-lived processes speaking JSON lines: one request object
//! per line on stdin, one answer per line on stdout. stdout is the
//! protocol; an agent logs on stderr (shown with `-v`).
//!
//! Up to the agent's concurrency, processes are started as they are needed
//! and reused. A process that dies, hangs past the timeout or answers a
//! line that is not JSON is killed (with everything it started) and a new
//! one takes its place for the next request.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;

use super::AttemptError;

/// Longest answer line read.
const MAX_LINE_BYTES: usize = 16 << 20;
/// stderr lines kept to explain a crash.
const STDERR_TAIL_LINES: usize = 12;

pub(super) struct ProcessPool {
    command: String,
    idle: Mutex<Vec<Worker>>,
}

struct Worker {
    child: Child,
    /// Taken to close it, which asks the process to exit.
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    stderr_reader: JoinHandle<()>,
}

impl ProcessPool {
    pub(super) fn new(command: String) -> ProcessPool {
        ProcessPool {
            command,
            idle: Mutex::new(Vec::new()),
        }
    }

    pub(super) async fn call(&self, request: &Value) -> Result<Value, AttemptError> {
        let idle = self.idle.lock().map(|mut idle| idle.pop()).unwrap_or(None);
        let mut worker = match idle {
            Some(worker) => worker,
            None => self.spawn()?,
        };
        let mut line = serde_json::to_vec(request).expect("a JSON value serialises");
        line.push(b'\n');
        let written = match worker.stdin.as_mut() {
            Some(stdin) => async {
                stdin.write_all(&line).await?;
                stdin.flush().await
            }
            .await
            .is_ok(),
            None => false,
        };
        if !written {
            return Err(self.died(worker).await);
        }
        match read_line(&mut worker.stdout).await {
            Ok(Some(answer)) => match serde_json::from_slice(&answer) {
                Ok(value) => {
                    if let Ok(mut idle) = self.idle.lock() {
                        idle.push(worker);
                    }
                    Ok(value)
                }
                // The process may be out of step with the protocol now (a
                // stray print); the worker is dropped, which kills it.
                Err(e) => {
                    let text = String::from_utf8_lossy(&answer);
                    let snippet: String = text.chars().take(200).collect();
                    Err(AttemptError::Fatal(format!(
                        "agent process `{}` answered a line that is not JSON ({e}): {snippet:?}",
                        self.command
                    )))
                }
            },
            Ok(None) => Err(self.died(worker).await),
            Err(LineError::TooLong) => Err(AttemptError::Fatal(format!(
                "agent process `{}` answered a line longer than {} MiB",
                self.command,
                MAX_LINE_BYTES >> 20
            ))),
            Err(LineError::Io) => Err(self.died(worker).await),
        }
    }

    fn spawn(&self) -> Result<Worker, AttemptError> {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Its own process group, so that killing it also ends what `sh`
        // started.
        #[cfg(unix)]
        command.process_group(0);
        let mut child = command.spawn().map_err(|e| AttemptError::Retry {
            message: format!("cannot start agent process `{}`: {e}", self.command),
            retry_after: None,
        })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            unreachable!("all three streams are piped")
        };
        tracing::debug!(command = %self.command, pid = child.id(), "started agent process");
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let stderr_reader = tokio::spawn(read_stderr(stderr, tail.clone()));
        Ok(Worker {
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            stderr: tail,
            stderr_reader,
        })
    }

    /// Explains a worker that stopped answering.
    async fn died(&self, mut worker: Worker) -> AttemptError {
        let status = tokio::time::timeout(Duration::from_secs(2), worker.child.wait()).await;
        // Its last words may still be in the pipe.
        let _ = tokio::time::timeout(Duration::from_millis(500), &mut worker.stderr_reader).await;
        let how = match status {
            Ok(Ok(status)) => format!("exited ({status})"),
            _ => "closed its stdout".to_owned(),
        };
        let tail: Vec<String> = worker
            .stderr
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default();
        let stderr = if tail.is_empty() {
            String::new()
        } else {
            format!("; its stderr ended with:\n{}", tail.join("\n"))
        };
        AttemptError::Retry {
            message: format!(
                "agent process `{}` {how} before answering{stderr}",
                self.command
            ),
            retry_after: None,
        }
    }

    pub(super) async fn shutdown(&self) {
        let workers: Vec<Worker> = self
            .idle
            .lock()
            .map(|mut idle| idle.drain(..).collect())
            .unwrap_or_default();
        let ends = workers.into_iter().map(|mut worker| async move {
            // End of input is the protocol's way to say goodbye.
            drop(worker.stdin.take());
            if tokio::time::timeout(Duration::from_secs(2), worker.child.wait())
                .await
                .is_err()
            {
                kill_group(&worker.child);
            }
        });
        futures::future::join_all(ends).await;
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // `kill_on_drop` ends `sh`; the group ends what it started.
        kill_group(&self.child);
        self.stderr_reader.abort();
    }
}

fn kill_group(child: &Child) {
    #[cfg(unix)]
    if let Some(pid) = child
        .id()
        .and_then(|id| rustix::process::Pid::from_raw(id as i32))
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

async fn read_stderr(stderr: tokio::process::ChildStderr, tail: Arc<Mutex<VecDeque<String>>>) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!(target: "gavel::agent", "{line}");
        if let Ok(mut tail) = tail.lock() {
            if tail.len() == STDERR_TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
}

enum LineError {
    TooLong,
    Io,
}

/// The next non-blank line, without its newline; `None` at end of file.
async fn read_line(reader: &mut (impl AsyncBufRead + Unpin)) -> Result<Option<Vec<u8>>, LineError> {
    let mut line = Vec::new();
    loop {
        let buffer = reader.fill_buf().await.map_err(|_| LineError::Io)?;
        if buffer.is_empty() {
            return Ok(None);
        }
        let (taken, end) = match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => (at + 1, true),
            None => (buffer.len(), false),
        };
        line.extend_from_slice(&buffer[..taken]);
        reader.consume(taken);
        if line.len() > MAX_LINE_BYTES {
            return Err(LineError::TooLong);
        }
        if end {
            if line.iter().all(u8::is_ascii_whitespace) {
                line.clear();
                continue;
            }
            return Ok(Some(line));
        }
    }
}
