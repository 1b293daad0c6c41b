//! A progress line on stderr while a run goes on, when stderr is a
//! terminal: rows, LLM calls, errors, tokens, time left.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use gavel::evaluation::run::Progress;
use gavel::runtime::LlmClient;

pub struct ProgressLine {
    task: tokio::task::JoinHandle<()>,
}

impl ProgressLine {
    /// Starts drawing, unless stderr is not a terminal.
    pub fn start(progress: Arc<Progress>, llm: Arc<dyn LlmClient>) -> Option<ProgressLine> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let started = Instant::now();
        let first = progress.finished_rows.load(Ordering::Relaxed);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                eprint!("\r\x1b[2K{}", line(&progress, llm.as_ref(), started, first));
                let _ = std::io::stderr().flush();
            }
        });
        Some(ProgressLine { task })
    }

    pub fn finish(self) {
        self.task.abort();
        eprint!("\r\x1b[2K");
        let _ = std::io::stderr().flush();
    }
}

fn line(progress: &Progress, llm: &dyn LlmClient, started: Instant, first: u64) -> String {
    let total = progress.total_rows.load(Ordering::Relaxed);
    let done = progress.finished_rows.load(Ordering::Relaxed);
    let errors = progress.failed_judgments.load(Ordering::Relaxed);
    let stats = llm.stats();
    let elapsed = started.elapsed().as_secs_f64();
    const WIDTH: u64 = 24;
    let filled = (done * WIDTH)
        .checked_div(total)
        .map_or(WIDTH, |f| f.min(WIDTH));
    let bar = "#".repeat(filled as usize) + &"-".repeat((WIDTH - filled) as usize);
    let this_session = done.saturating_sub(first);
    let eta = if this_session == 0 {
        "ETA -".to_owned()
    } else {
        let left = (total - done) as f64 * elapsed / this_session as f64;
        format!("ETA {}", duration(left))
    };
    format!(
        "{done}/{total} rows [{bar}] · {} LLM calls ({} cached) · {errors} errors · {} tokens · {} · {eta}",
        stats.sent,
        stats.cached,
        count(stats.tokens),
        duration(elapsed)
    )
}

fn count(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

fn duration(secs: f64) -> String {
    let secs = secs.round() as u64;
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{}h{:02}m", secs / 3600, secs / 60 % 60)
    }
}
