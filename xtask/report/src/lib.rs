//! Turning run events into what a person (or a CI log) reads: prefixed task
//! output, GitHub Actions log groups, a progress bar on terminals, and the
//! final summary. The only crate that knows about terminals.
//!
//! Nothing a task printed, and no name from the workspace or a cache entry,
//! reaches the terminal or CI log unfiltered: `sanitize.rs` drops every
//! control sequence but colour, `workflow_commands.rs` keeps GitHub Actions
//! from reading commands in it.

mod progress;
mod sanitize;
mod style;
mod workflow_commands;

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use xtask_engine::summary::RunSummary;
use xtask_engine::{BatchId, Event, EventSink, LogCapture, NodeIndex, TaskStatus};

use progress::Progress;
pub use sanitize::{clean_line, clean_message, display_lines};
pub use style::{Facts, Style, draw_progress};

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
    /// Whether tasks get a line when they start and end (with their keys).
    fn shows_status(self) -> bool {
        matches!(
            self,
            OutputLogs::Full | OutputLogs::NewOnly | OutputLogs::HashOnly
        )
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
    /// Output held back until the task finishes (GitHub groups, errors-only),
    /// bounded as stored logs are: a task printing gigabytes must not make
    /// the reporter hold them.
    held: HashMap<NodeIndex, LogCapture>,
    /// The batches running now, and the batch each running member is in.
    batches: HashMap<BatchId, BatchView>,
    batch_of: HashMap<NodeIndex, BatchId>,
    progress: Option<Progress>,
    warnings: usize,
}

/// A running batch, as the reporter shows it.
struct BatchView {
    /// Its label as shown (`lint ×3`).
    label: String,
    /// Text held back until the batch ends, prefixed and cleaned: on GitHub
    /// Actions the whole group (its lines and its members', in order); with
    /// errors-only its own lines, shown if a member failed.
    held: LogCapture,
    /// `::error::` lines for its failed members, after the group.
    errors: String,
    executed: usize,
    failed: usize,
    cancelled: usize,
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

    /// Whether an executing task's output can be shown at all (now or when
    /// it ends): not with hash-only or none, so it need not be held either.
    fn may_show_output(&self) -> bool {
        matches!(
            self.logs,
            OutputLogs::Full | OutputLogs::NewOnly | OutputLogs::ErrorsOnly
        )
    }

    fn print(&self, state: &State, text: &str) {
        match &state.progress {
            Some(progress) => progress.suspend(|| write_stdout(text.as_bytes())),
            None => write_stdout(text.as_bytes()),
        }
    }

    /// Task output as display lines (see sanitize.rs), each after `prefix`.
    fn prefixed(&self, prefix: &str, bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len() + 32);
        for line in display_lines(bytes, self.style.color) {
            out.push_str(prefix);
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    fn task_prefix(&self, node: NodeIndex, label: &str) -> String {
        self.style.task_prefix(node, &shown(label))
    }

    /// Text for a GitHub Actions log, with workflow commands in it disarmed.
    fn guarded(&self, text: String) -> String {
        if self.style.github_groups {
            workflow_commands::guard(&text, &self.command_token)
        } else {
            text
        }
    }

    fn task_started(&self, state: &mut State, node: NodeIndex, label: &str, key: &str) {
        if state.batch_of.contains_key(&node) {
            // The batch's first line named it; its key comes with its status.
            return;
        }
        if let Some(progress) = &mut state.progress {
            progress.task_started(&shown(label));
        }
        if self.logs.shows_status() {
            let short = &key[..key.len().min(16)];
            let text = format!("cache miss, executing {short}\n");
            if self.style.github_groups {
                state.held.entry(node).or_default().push(text.as_bytes());
            } else {
                let line = self.prefixed(&self.task_prefix(node, label), text.as_bytes());
                self.print(state, &line);
            }
        }
    }

    fn task_output(&self, state: &mut State, node: NodeIndex, label: &str, line: &[u8]) {
        if !self.may_show_output() {
            return;
        }
        if self.holds_output() {
            let batch = state.batch_of.get(&node).copied();
            match batch.and_then(|b| state.batches.get_mut(&b)) {
                // A member's lines stay in order with the batch's, in its group.
                Some(view) if self.style.github_groups => {
                    let text = self.prefixed(&self.task_prefix(node, label), line);
                    view.held.push(text.as_bytes());
                }
                _ => state.held.entry(node).or_default().push(line),
            }
        } else if self.streams_output() {
            let text = self.prefixed(&self.task_prefix(node, label), line);
            self.print(state, &text);
        }
    }

    // Long: one match over the output-logs modes × hit/miss/failure; the
    // table reads as the documentation of those modes.
    fn task_finished(
        &self,
        state: &mut State,
        node: NodeIndex,
        label: &str,
        key: &str,
        status: &TaskStatus,
        log: &[u8],
    ) {
        let held = state
            .held
            .remove(&node)
            .map(LogCapture::finish)
            .unwrap_or_default();
        let batch = state.batch_of.remove(&node);
        if let Some(progress) = &mut state.progress {
            progress.task_finished(&shown(label), batch);
        }
        let prefix = self.task_prefix(node, label);
        let short = &key[..key.len().min(16)];
        let mut block = String::new();
        match status {
            TaskStatus::Cached => match self.logs {
                OutputLogs::Full => {
                    block.push_str(&self.prefixed(
                        &prefix,
                        format!("cache hit, replaying logs {short}\n").as_bytes(),
                    ));
                    block.push_str(&self.prefixed(&prefix, log));
                }
                OutputLogs::NewOnly | OutputLogs::HashOnly => {
                    block.push_str(&self.prefixed(
                        &prefix,
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
                    block.push_str(&self.prefixed(&prefix, &held));
                }
                // A batch's output does not say which members passed: each
                // says so, with its key (its start had no line of its own).
                if batch.is_some() && *status == TaskStatus::Executed && self.logs.shows_status() {
                    block.push_str(
                        &self.prefixed(&prefix, format!("executed {short}\n").as_bytes()),
                    );
                }
                if let TaskStatus::Failed { exit_code } = status
                    && self.logs != OutputLogs::None
                {
                    block.push_str(&self.prefixed(
                        &prefix,
                        format!("command failed (exit code {exit_code})\n").as_bytes(),
                    ));
                }
            }
            TaskStatus::Skipped { .. } | TaskStatus::Empty => {}
        }
        let error = match status {
            TaskStatus::Failed { exit_code } => Some(format!(
                "::error::{} failed with exit code {exit_code}\n",
                shown(label)
            )),
            _ => None,
        };
        if let Some(view) = batch.and_then(|b| state.batches.get_mut(&b)) {
            match status {
                TaskStatus::Executed => view.executed += 1,
                TaskStatus::Failed { .. } => view.failed += 1,
                _ => view.cancelled += 1,
            }
            if self.style.github_groups {
                // Printed with the batch's group when the batch ends.
                view.held.push(block.as_bytes());
                if let (Some(error), false) = (error, block.is_empty()) {
                    view.errors.push_str(&error);
                }
                return;
            }
        }
        if !block.is_empty() {
            if self.style.github_groups {
                let mut grouped = format!("::group::{}\n", shown(label));
                grouped.push_str(&self.guarded(block));
                grouped.push_str("::endgroup::\n");
                grouped.push_str(error.as_deref().unwrap_or(""));
                block = grouped;
            }
            self.print(state, &block);
        }
    }

    fn batch_started(
        &self,
        state: &mut State,
        batch: BatchId,
        label: &str,
        members: &[(NodeIndex, &str)],
    ) {
        let label = shown(label).into_owned();
        if let Some(progress) = &mut state.progress {
            progress.batch_started(batch, &label, members.len());
        }
        for &(node, _) in members {
            state.batch_of.insert(node, batch);
        }
        let mut view = BatchView {
            label,
            held: LogCapture::default(),
            errors: String::new(),
            executed: 0,
            failed: 0,
            cancelled: 0,
        };
        if self.logs.shows_status() {
            let names: Vec<&str> = members.iter().map(|&(_, label)| label).collect();
            let text = self.prefixed(
                &self.style.batch_prefix(&view.label),
                format!("cache miss, executing {}\n", names.join(", ")).as_bytes(),
            );
            if self.style.github_groups {
                view.held.push(text.as_bytes());
            } else {
                self.print(state, &text);
            }
        }
        state.batches.insert(batch, view);
    }

    fn batch_output(&self, state: &mut State, batch: BatchId, label: &str, line: &[u8]) {
        if let Some(progress) = &state.progress
            && let Some(last) = display_lines(line, false).last()
        {
            progress.batch_line(batch, last);
        }
        if !self.may_show_output() {
            return;
        }
        let text = self.prefixed(&self.style.batch_prefix(&shown(label)), line);
        if self.holds_output() {
            if let Some(view) = state.batches.get_mut(&batch) {
                view.held.push(text.as_bytes());
            }
        } else if self.streams_output() {
            self.print(state, &text);
        }
    }

    fn batch_finished(&self, state: &mut State, batch: BatchId, duration: Duration) {
        if let Some(progress) = &mut state.progress {
            progress.batch_finished(batch);
        }
        let Some(view) = state.batches.remove(&batch) else {
            return;
        };
        if self.logs == OutputLogs::ErrorsOnly && view.failed == 0 {
            return;
        }
        let mut text = String::from_utf8_lossy(&view.held.finish()).into_owned();
        if self.logs.shows_status() {
            let mut counts = Vec::new();
            for (count, what) in [
                (view.executed, "executed"),
                (view.failed, "failed"),
                (view.cancelled, "cancelled"),
            ] {
                if count > 0 {
                    counts.push(format!("{count} {what}"));
                }
            }
            text.push_str(
                &self.prefixed(
                    &self.style.batch_prefix(&view.label),
                    format!(
                        "finished in {} ({})\n",
                        format_duration(duration),
                        counts.join(", ")
                    )
                    .as_bytes(),
                ),
            );
        }
        if self.style.github_groups {
            if text.is_empty() {
                return;
            }
            let mut grouped = format!("::group::{}\n", view.label);
            grouped.push_str(&self.guarded(text));
            grouped.push_str("::endgroup::\n");
            grouped.push_str(&view.errors);
            self.print(state, &grouped);
        } else {
            // With errors-only this is what cargo said that no member owns
            // (an error in a crate outside the batch): shown on failure only.
            self.print(state, &text);
        }
    }

    fn summary(&self, state: &mut State, summary: &RunSummary) {
        if let Some(progress) = state.progress.take() {
            progress.finish();
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

    fn stderr_line(&self, state: &State, text: &str) {
        match &state.progress {
            Some(progress) => progress.suspend(|| write_stderr(text.as_bytes())),
            None => write_stderr(text.as_bytes()),
        }
    }
}

impl EventSink for Reporter {
    fn event(&self, event: Event<'_>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::RunStarted { tasks, concurrency } => {
                if self.style.progress && tasks > 0 {
                    state.progress = Some(Progress::new(tasks));
                } else if !self.style.progress && self.logs != OutputLogs::None {
                    let line = format!("xtask: running {tasks} tasks, {concurrency} at a time\n");
                    write_stderr(line.as_bytes());
                }
            }
            Event::TaskStarted { node, label, key } => {
                self.task_started(&mut state, node, label, key)
            }
            Event::TaskOutput { node, label, line } => {
                self.task_output(&mut state, node, label, line)
            }
            Event::TaskFinished {
                node,
                label,
                key,
                status,
                log,
                ..
            } => self.task_finished(&mut state, node, label, key, status, log),
            Event::BatchStarted {
                batch,
                label,
                members,
            } => self.batch_started(&mut state, batch, label, members),
            Event::BatchOutput { batch, label, line } => {
                self.batch_output(&mut state, batch, label, line)
            }
            Event::BatchFinished {
                batch, duration, ..
            } => self.batch_finished(&mut state, batch, duration),
            Event::Warning { message } => {
                state.warnings += 1;
                let text = self.guarded(format!(
                    "{} {}\n",
                    self.style.warning("warning:"),
                    clean_message(&message)
                ));
                self.stderr_line(&state, &text);
            }
            Event::Notice { message } => {
                let text = format!("xtask: {message}\n");
                self.stderr_line(&state, &text);
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
