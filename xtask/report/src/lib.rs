//! Turning run events into what a person (or a CI log) reads: prefixed task
//! output, GitHub Actions log groups, a progress bar on terminals, and the
//! final summary. The only crate that knows about terminals.
//!
//! Nothing a task printed, and no name from the workspace or a cache entry,
//! reaches the terminal or CI log unfiltered: `sanitize.rs` drops every
//! control sequence but colour, `workflow_commands.rs` keeps GitHub Actions
//! from reading commands in it.

mod sanitize;
mod style;
mod workflow_commands;

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use xtask_engine::summary::RunSummary;
use xtask_engine::{Event, EventSink, NodeIndex, TaskStatus};

pub use sanitize::{clean_line, clean_message, display_lines};
pub use style::{Style, draw_progress};

/// Which task logs are shown (Turborepo's `--output-logs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputLogs {
    /// Everything: live output of executed tasks, replayed logs of cached ones.
    Full,
    /// Only a line with the key per task.
    HashOnly,
    /// Output of executed tasks; a line with the key for cached ones.
    NewOnly,
    /// Only the logs of failed tasks.
    ErrorsOnly,
    None,
}

impl OutputLogs {
    pub fn parse(text: &str) -> Option<OutputLogs> {
        Some(match text {
            "full" => OutputLogs::Full,
            "hash-only" => OutputLogs::HashOnly,
            "new-only" => OutputLogs::NewOnly,
            "errors-only" => OutputLogs::ErrorsOnly,
            "none" => OutputLogs::None,
            _ => return None,
        })
    }
}

/// The reporter of one run; an [`EventSink`] shared by the engine's workers.
pub struct Reporter {
    style: Style,
    logs: OutputLogs,
    state: Mutex<State>,
    /// Ends GitHub Actions' pause of workflow commands around task output;
    /// random per run, so no log written earlier can end it.
    command_token: String,
}

#[derive(Default)]
struct State {
    /// Output held back until the task finishes (GitHub groups, errors-only).
    held: HashMap<NodeIndex, Vec<u8>>,
    progress: Option<ProgressBar>,
    running: Vec<String>,
    warnings: usize,
}

impl Reporter {
    pub fn new(style: Style, logs: OutputLogs) -> Reporter {
        Reporter {
            style,
            logs,
            state: Mutex::new(State::default()),
            command_token: xtask_engine::random_token(),
        }
    }

    /// Live lines are held back (not streamed) when they must be printed as
    /// one block at the end of the task.
    fn holds_output(&self) -> bool {
        self.style.github_groups || self.logs == OutputLogs::ErrorsOnly
    }

    fn streams_output(&self) -> bool {
        matches!(self.logs, OutputLogs::Full | OutputLogs::NewOnly)
    }

    fn print(&self, state: &State, text: &str) {
        match &state.progress {
            Some(bar) => bar.suspend(|| write_stdout(text.as_bytes())),
            None => write_stdout(text.as_bytes()),
        }
    }

    /// Task output as display lines (see sanitize.rs), each with the prefix.
    fn prefixed(&self, node: NodeIndex, label: &str, bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len() + 32);
        let prefix = self.style.task_prefix(node, &shown(label));
        for line in display_lines(bytes, self.style.color) {
            out.push_str(&prefix);
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// Text for a GitHub Actions log, with workflow commands in it disarmed.
    fn guarded(&self, text: String) -> String {
        if self.style.github_groups {
            workflow_commands::guard(&text, &self.command_token)
        } else {
            text
        }
    }

    fn task_finished(
        &self,
        state: &mut State,
        node: NodeIndex,
        label: &str,
        key: &str,
        status: &TaskStatus,
        log: &[u8],
    ) {
        let held = state.held.remove(&node).unwrap_or_default();
        state.running.retain(|l| *l != shown(label));
        let short = &key[..key.len().min(16)];
        let mut block = String::new();
        match status {
            TaskStatus::Cached => match self.logs {
                OutputLogs::Full => {
                    block.push_str(&self.prefixed(
                        node,
                        label,
                        format!("cache hit, replaying logs {short}\n").as_bytes(),
                    ));
                    block.push_str(&self.prefixed(node, label, log));
                }
                OutputLogs::NewOnly | OutputLogs::HashOnly => {
                    block.push_str(&self.prefixed(
                        node,
                        label,
                        format!("cache hit, suppressing logs {short}\n").as_bytes(),
                    ));
                }
                OutputLogs::ErrorsOnly | OutputLogs::None => {}
            },
            TaskStatus::Executed | TaskStatus::Failed { .. } | TaskStatus::Cancelled => {
                let failed = !matches!(status, TaskStatus::Executed);
                let show_log = match self.logs {
                    OutputLogs::Full | OutputLogs::NewOnly => self.holds_output(),
                    OutputLogs::ErrorsOnly => failed,
                    OutputLogs::HashOnly | OutputLogs::None => false,
                };
                if show_log {
                    block.push_str(&self.prefixed(node, label, &held));
                }
                if let TaskStatus::Failed { exit_code } = status
                    && self.logs != OutputLogs::None
                {
                    block.push_str(&self.prefixed(
                        node,
                        label,
                        format!("command failed (exit code {exit_code})\n").as_bytes(),
                    ));
                }
            }
            TaskStatus::Skipped { .. } | TaskStatus::Empty => {}
        }
        if !block.is_empty() {
            if self.style.github_groups {
                let label = shown(label);
                let mut grouped = format!("::group::{label}\n");
                grouped.push_str(&self.guarded(block));
                grouped.push_str("::endgroup::\n");
                if let TaskStatus::Failed { exit_code } = status {
                    grouped.push_str(&format!(
                        "::error::{label} failed with exit code {exit_code}\n"
                    ));
                }
                block = grouped;
            }
            self.print(state, &block);
        }
        if let Some(bar) = &state.progress {
            bar.inc(1);
            bar.set_message(state.running.join(", "));
        }
    }

    fn summary(&self, state: &mut State, summary: &RunSummary) {
        if let Some(bar) = state.progress.take() {
            bar.finish_and_clear();
        }
        let t = &summary.totals;
        let successful = t.cached + t.executed;
        let mut text = String::from("\n");
        text.push_str(&format!(
            " Tasks:    {successful} successful, {} total\n",
            t.tasks
        ));
        text.push_str(&format!(
            "Cached:    {} cached, {} total\n",
            t.cached, t.tasks
        ));
        let time = format_duration(Duration::from_millis(summary.duration_ms as u64));
        if t.all_cached() {
            text.push_str(&format!(
                "  Time:    {time} {}\n",
                self.style
                    .highlight(&format!(">>> all {} tasks cached, nothing ran", t.cached))
            ));
        } else {
            text.push_str(&format!("  Time:    {time}\n"));
        }
        let failed: Vec<&str> = summary
            .tasks
            .iter()
            .filter(|t| matches!(t.status, TaskStatus::Failed { .. }))
            .map(|t| t.task_id.as_str())
            .collect();
        if !failed.is_empty() {
            text.push_str(&format!(
                "Failed:    {}\n",
                self.style.error(&shown(&failed.join(", ")))
            ));
        }
        if t.skipped > 0 {
            text.push_str(&format!(
                "Skipped:   {} (a dependency failed or the run stopped)\n",
                t.skipped
            ));
        }
        if state.warnings > 0 {
            text.push_str(&format!("Warnings:  {} (above)\n", state.warnings));
        }
        write_stdout(text.as_bytes());
    }
}

impl EventSink for Reporter {
    fn event(&self, event: Event<'_>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::RunStarted { tasks, concurrency } => {
                if self.style.progress && tasks > 0 {
                    let bar = ProgressBar::with_draw_target(
                        Some(tasks as u64),
                        ProgressDrawTarget::stderr(),
                    );
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} [{pos}/{len}] {elapsed} {wide_msg}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    bar.enable_steady_tick(Duration::from_millis(120));
                    state.progress = Some(bar);
                } else if !self.style.progress && self.logs != OutputLogs::None {
                    let line = format!("xtask: running {tasks} tasks, {concurrency} at a time\n");
                    write_stderr(line.as_bytes());
                }
            }
            Event::TaskStarted { node, label, key } => {
                state.running.push(shown(label).into_owned());
                if let Some(bar) = &state.progress {
                    bar.set_message(state.running.join(", "));
                }
                if matches!(
                    self.logs,
                    OutputLogs::Full | OutputLogs::NewOnly | OutputLogs::HashOnly
                ) {
                    let short = &key[..key.len().min(16)];
                    let line = self.prefixed(
                        node,
                        label,
                        format!("cache miss, executing {short}\n").as_bytes(),
                    );
                    if self.style.github_groups {
                        let text = format!("cache miss, executing {short}\n");
                        state
                            .held
                            .entry(node)
                            .or_default()
                            .extend_from_slice(text.as_bytes());
                    } else {
                        self.print(&state, &line);
                    }
                }
            }
            Event::TaskOutput { node, label, line } => {
                if self.holds_output() {
                    state.held.entry(node).or_default().extend_from_slice(line);
                } else if self.streams_output() {
                    let text = self.prefixed(node, label, line);
                    self.print(&state, &text);
                }
            }
            Event::TaskFinished {
                node,
                label,
                key,
                status,
                log,
                ..
            } => self.task_finished(&mut state, node, label, key, status, log),
            Event::Warning { message } => {
                state.warnings += 1;
                let text = self.guarded(format!(
                    "{} {}\n",
                    self.style.warning("warning:"),
                    clean_message(&message)
                ));
                match &state.progress {
                    Some(bar) => bar.suspend(|| write_stderr(text.as_bytes())),
                    None => write_stderr(text.as_bytes()),
                }
            }
            Event::Notice { message } => {
                let text = format!("xtask: {message}\n");
                match &state.progress {
                    Some(bar) => bar.suspend(|| write_stderr(text.as_bytes())),
                    None => write_stderr(text.as_bytes()),
                }
            }
            Event::RunFinished { summary } => self.summary(&mut state, summary),
        }
    }
}

/// A label (or any name) as shown: control characters and sequences dropped.
fn shown(label: &str) -> Cow<'_, str> {
    if label.chars().any(char::is_control) {
        Cow::Owned(clean_line(label, false))
    } else {
        Cow::Borrowed(label)
    }
}

/// A message for stderr outside a run (an error and its causes): no control
/// sequence, and on GitHub Actions no workflow command.
pub fn safe_message(text: &str, style: &Style) -> String {
    let mut clean = clean_message(text);
    clean.push('\n');
    if style.github_groups {
        workflow_commands::guard(&clean, &xtask_engine::random_token())
    } else {
        clean
    }
}

/// Writes ignoring errors: a closed pipe (`| head`) must not fail the run.
fn write_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

fn write_stderr(bytes: &[u8]) {
    let _ = std::io::stderr().lock().write_all(bytes);
}

pub fn format_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d < Duration::from_secs(60) {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}
