//! The progress display on a terminal: one bar for the run (tasks done of
//! all, and what is running), and one more line per running batch, which
//! counts as one entry however many members it has: `lint ×3 [0/3] 4s
//! Checking good v0.1.0`, its message being the batch's latest line of
//! cargo progress.

use std::collections::HashMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use xtask_engine::BatchId;

pub(crate) struct Progress {
    multi: MultiProgress,
    run: ProgressBar,
    /// What runs now, in the order it started: task labels, and one label
    /// per batch (its members are not listed one by one).
    running: Vec<Running>,
    batches: HashMap<BatchId, ProgressBar>,
}

#[derive(PartialEq, Eq)]
enum Running {
    Task(String),
    Batch(BatchId, String),
}

impl Running {
    fn label(&self) -> &str {
        match self {
            Running::Task(label) | Running::Batch(_, label) => label,
        }
    }
}

impl Progress {
    /// Drawn on stderr (where indicatif draws nothing unless it is a terminal).
    pub(crate) fn new(tasks: usize) -> Progress {
        Progress::with_target(tasks, ProgressDrawTarget::stderr())
    }

    fn with_target(tasks: usize, target: ProgressDrawTarget) -> Progress {
        let multi = MultiProgress::with_draw_target(target);
        let run = multi.add(ProgressBar::new(tasks as u64));
        run.set_style(style("{spinner} [{pos}/{len}] {elapsed} {wide_msg}"));
        run.enable_steady_tick(Duration::from_millis(120));
        Progress {
            multi,
            run,
            running: Vec::new(),
            batches: HashMap::new(),
        }
    }

    /// Runs `print` with the bars out of the way, so lines land above them.
    pub(crate) fn suspend(&self, print: impl FnOnce()) {
        self.multi.suspend(print);
    }

    pub(crate) fn task_started(&mut self, label: &str) {
        self.running.push(Running::Task(label.to_string()));
        self.show_running();
    }

    pub(crate) fn batch_started(&mut self, batch: BatchId, label: &str, members: usize) {
        self.running.push(Running::Batch(batch, label.to_string()));
        let bar = self.multi.add(ProgressBar::new(members as u64));
        bar.set_style(style("  {prefix} [{pos}/{len}] {elapsed} {wide_msg}"));
        bar.set_prefix(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        self.batches.insert(batch, bar);
        self.show_running();
    }

    /// A line of the batch's own output (cargo's progress): the latest one
    /// is what its bar says it is doing.
    pub(crate) fn batch_line(&self, batch: BatchId, line: &str) {
        let line = line.trim();
        if let (Some(bar), false) = (self.batches.get(&batch), line.is_empty()) {
            bar.set_message(line.to_string());
        }
    }

    /// A task finished; `batch` is the batch it ran in, if any.
    pub(crate) fn task_finished(&mut self, label: &str, batch: Option<BatchId>) {
        self.run.inc(1);
        match batch.and_then(|b| self.batches.get(&b)) {
            Some(bar) => bar.inc(1),
            None => {
                if let Some(at) = self
                    .running
                    .iter()
                    .position(|r| *r == Running::Task(label.to_string()))
                {
                    self.running.remove(at);
                }
            }
        }
        self.show_running();
    }

    pub(crate) fn batch_finished(&mut self, batch: BatchId) {
        self.running
            .retain(|r| !matches!(r, Running::Batch(b, _) if *b == batch));
        if let Some(bar) = self.batches.remove(&batch) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        self.show_running();
    }

    pub(crate) fn finish(self) {
        for bar in self.batches.values() {
            bar.finish_and_clear();
        }
        self.run.finish_and_clear();
        let _ = self.multi.clear();
    }

    fn show_running(&self) {
        let labels: Vec<&str> = self.running.iter().map(Running::label).collect();
        self.run.set_message(labels.join(", "));
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_one_entry_and_one_bar_with_its_member_count() {
        let mut progress = Progress::with_target(5, ProgressDrawTarget::hidden());
        progress.task_started("docs#check");
        progress.batch_started(BatchId(0), "lint ×3", 3);
        // Members start as tasks of the batch: they add no entries.
        assert_eq!(progress.run.message(), "docs#check, lint ×3");
        let bar = &progress.batches[&BatchId(0)];
        assert_eq!((bar.position(), bar.length()), (0, Some(3)));
        assert_eq!(bar.prefix(), "lint ×3");

        progress.batch_line(BatchId(0), "    Checking good v0.1.0\n");
        progress.batch_line(BatchId(0), "\n");
        assert_eq!(
            progress.batches[&BatchId(0)].message(),
            "Checking good v0.1.0"
        );

        progress.task_finished("good#lint", Some(BatchId(0)));
        progress.task_finished("tool#lint", Some(BatchId(0)));
        assert_eq!(progress.batches[&BatchId(0)].position(), 2);
        assert_eq!(progress.run.position(), 2);
        progress.task_finished("docs#check", None);
        assert_eq!(progress.run.message(), "lint ×3");
        progress.task_finished("unused#lint", Some(BatchId(0)));
        progress.batch_finished(BatchId(0));
        assert!(progress.batches.is_empty());
        assert_eq!(progress.run.message(), "");
        assert_eq!(progress.run.position(), 4);
    }
}
