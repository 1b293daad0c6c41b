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
/// Longest stderr line kept.
const MAX_STDERR_LINE_BYTES: usize = gavel_runtime::text::MAX_LINE_BYTES;
/// stderr lines kept to explain a crash.
const STDERR_TAIL_LINES: usize = 12;
/// stderr lines of one process shown in the log; the rest are read (so the
/// process never blocks on a full pipe) but not shown.
const STDERR_LOGGED_LINES: usize = 1000;

pub(super) struct ProcessPool {
    command: String,
    /// The command with its secrets masked, for messages and logs.
    shown: String,
    idle: Mutex<Vec<Worker>>,
}

struct Worker {
    child: Child,
    /// The process group (the child's pid when started): `child.id()` is
    /// gone once the child has exited, but what it started in the
    /// background may still run.
    group: Option<u32>,
    /// Taken to close it, which asks the process to exit.
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    stderr_reader: JoinHandle<()>,
}

impl ProcessPool {
    pub(super) fn new(command: String) -> ProcessPool {
        ProcessPool {
            shown: gavel_runtime::redact::command(&command),
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
                        self.shown
                    )))
                }
            },
            Ok(None) => Err(self.died(worker).await),
            Err(LineError::TooLong) => Err(AttemptError::Fatal(format!(
                "agent process `{}` answered a line longer than {} MiB",
                self.shown,
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
            message: format!("cannot start agent process `{}`: {e}", self.shown),
            retry_after: None,
        })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            unreachable!("all three streams are piped")
        };
        tracing::debug!(command = %self.shown, pid = child.id(), "started agent process");
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let stderr_reader = tokio::spawn(read_stderr(stderr, tail.clone()));
        Ok(Worker {
            group: child.id(),
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
                self.shown
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
            // End of input is the protocol's way to say goodbye; what the
            // agent left running in the background is ended when the worker
            // is dropped, whether it exited on its own or not.
            drop(worker.stdin.take());
            let _ = tokio::time::timeout(Duration::from_secs(2), worker.child.wait()).await;
        });
        futures::future::join_all(ends).await;
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // `kill_on_drop` ends `sh`; the group ends what it started, even
        // after `sh` itself has exited (the group lives while a member
        // does, so its id is not reused meanwhile).
        kill_group(self.group);
        self.stderr_reader.abort();
    }
}

fn kill_group(group: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = group.and_then(|id| rustix::process::Pid::from_raw(id as i32)) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    #[cfg(not(unix))]
    let _ = group;
}

/// Logs the agent's stderr (bounded, clean lines; at most
/// [`STDERR_LOGGED_LINES`] of them) and keeps its last lines for a crash
/// report.
async fn read_stderr(stderr: tokio::process::ChildStderr, tail: Arc<Mutex<VecDeque<String>>>) {
    let mut reader = BufReader::new(stderr);
    let mut logged = 0;
    while let Some(line) = read_bounded_line(&mut reader, MAX_STDERR_LINE_BYTES).await {
        let line = gavel_runtime::text::clean_line(&line, MAX_STDERR_LINE_BYTES);
        if logged < STDERR_LOGGED_LINES {
            tracing::info!(target: "gavel::agent", "{line}");
        } else if logged == STDERR_LOGGED_LINES {
            tracing::info!(
                target: "gavel::agent",
                "the agent logged more than {STDERR_LOGGED_LINES} lines; the rest are not shown"
            );
        }
        logged += 1;
        if let Ok(mut tail) = tail.lock() {
            if tail.len() == STDERR_TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
}

/// The next line, lossily decoded, with at most `max` bytes of it kept (the
/// rest of a longer line is read and dropped); `None` at end of file or on
/// an error.
async fn read_bounded_line(reader: &mut (impl AsyncBufRead + Unpin), max: usize) -> Option<String> {
    let mut kept = Vec::new();
    let mut dropped = 0usize;
    loop {
        let buffer = reader.fill_buf().await.ok()?;
        if buffer.is_empty() {
            if kept.is_empty() && dropped == 0 {
                return None;
            }
            break;
        }
        let (taken, end) = match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => (at + 1, true),
            None => (buffer.len(), false),
        };
        let line = &buffer[..if end { taken - 1 } else { taken }];
        let room = max.saturating_sub(kept.len()).min(line.len());
        kept.extend_from_slice(&line[..room]);
        dropped += line.len() - room;
        reader.consume(taken);
        if end {
            break;
        }
    }
    // A CRLF line ends as an LF one.
    if dropped == 0 && kept.last() == Some(&b'\r') {
        kept.pop();
    }
    let mut line = String::from_utf8_lossy(&kept).into_owned();
    if dropped > 0 {
        line.push_str(&format!("... ({dropped} bytes cut)"));
    }
    Some(line)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stderr_lines_are_bounded_and_the_rest_of_a_long_line_dropped() {
        let mut input = vec![b'x'; 5000];
        input.extend_from_slice(b"\nshort\r\n\nlast");
        let mut reader = BufReader::with_capacity(64, &input[..]);
        let first = read_bounded_line(&mut reader, 100).await.unwrap();
        assert_eq!(first, format!("{}... (4900 bytes cut)", "x".repeat(100)));
        assert_eq!(read_bounded_line(&mut reader, 100).await.unwrap(), "short");
        assert_eq!(read_bounded_line(&mut reader, 100).await.unwrap(), "");
        assert_eq!(read_bounded_line(&mut reader, 100).await.unwrap(), "last");
        assert_eq!(read_bounded_line(&mut reader, 100).await, None);
    }
}
