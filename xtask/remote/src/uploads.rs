//! Background uploads: a queue drained by a few worker threads (bounded
//! concurrency), and `finish`, which waits for the queue up to a time limit and
//! then gives up on the rest, so a slow remote never holds a finished build.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Bytes allowed to wait in the queue: artifacts wait in memory, and a remote much
/// slower than the build must not make the run's memory grow without bound.
pub(crate) const QUEUE_MAX_BYTES: u64 = 1 << 30;

/// One artifact to upload.
pub(crate) struct Job {
    pub(crate) key: String,
    pub(crate) namespace: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) tag: Option<String>,
    pub(crate) duration: Duration,
}

/// What the uploads of a run came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadReport {
    /// Stored on the remote.
    pub uploaded: u64,
    /// Tried and failed (warned about once per kind).
    pub failed: u64,
    /// Not tried: read-only mode, an untrusted build without a namespace of its
    /// own, the breaker open, too large, or the queue full.
    pub skipped: u64,
    /// Still queued or in flight when `finish`'s time limit ran out.
    pub abandoned: u64,
}

#[derive(Default)]
struct Counts {
    /// Queued or in flight.
    pending: u64,
    report: UploadReport,
}

/// The queue and its workers. Workers are started on the first upload.
pub(crate) struct Uploads {
    concurrency: usize,
    sender: Mutex<Option<Sender<Job>>>,
    shared: Arc<Shared>,
}

struct Shared {
    counts: Mutex<Counts>,
    idle: Condvar,
    queued_bytes: AtomicU64,
    /// Set when `finish` gives up: workers drop what is still queued.
    abandoned: AtomicBool,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Uploads {
    pub(crate) fn new(concurrency: usize) -> Uploads {
        Uploads {
            concurrency: concurrency.max(1),
            sender: Mutex::new(None),
            shared: Arc::new(Shared {
                counts: Mutex::new(Counts::default()),
                idle: Condvar::new(),
                queued_bytes: AtomicU64::new(0),
                abandoned: AtomicBool::new(false),
            }),
        }
    }

    pub(crate) fn skipped(&self) {
        self.shared.lock().report.skipped += 1;
    }

    /// Queues `job`; `work` runs it on a worker thread and says whether it
    /// succeeded. False if the queue is full (the job is dropped).
    pub(crate) fn push(&self, job: Job, work: Arc<dyn Fn(&Job) -> bool + Send + Sync>) -> bool {
        if self.shared.abandoned.load(Ordering::Relaxed) {
            // `finish` gave up on the queue: the run is ending.
            self.skipped();
            return false;
        }
        let size = job.bytes.len() as u64;
        let before = self.shared.queued_bytes.fetch_add(size, Ordering::Relaxed);
        if before > 0 && before + size > QUEUE_MAX_BYTES {
            self.shared.queued_bytes.fetch_sub(size, Ordering::Relaxed);
            self.skipped();
            return false;
        }
        let mut sender = self
            .sender
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let sender = sender.get_or_insert_with(|| self.start(work));
        self.shared.lock().pending += 1;
        if sender.send(job).is_err() {
            // Workers only stop when the sender is dropped, which happens only in
            // `Drop`; count it as failed rather than hang `finish`.
            let mut counts = self.shared.lock();
            counts.pending -= 1;
            counts.report.failed += 1;
        }
        true
    }

    fn start(&self, work: Arc<dyn Fn(&Job) -> bool + Send + Sync>) -> Sender<Job> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..self.concurrency {
            let receiver: Arc<Mutex<Receiver<Job>>> = Arc::clone(&receiver);
            let shared = Arc::clone(&self.shared);
            let work = Arc::clone(&work);
            let spawned = thread::Builder::new()
                .name(format!("xtask-upload-{index}"))
                .spawn(move || worker(&receiver, &shared, &*work));
            // With no thread at all, jobs stay queued and `finish` reports them
            // abandoned: the build still goes on.
            drop(spawned);
        }
        sender
    }

    /// Waits until the queue is empty or `limit` has passed; then whatever is left
    /// is abandoned. Returns the report so far and how many were abandoned now.
    pub(crate) fn finish(&self, limit: Duration) -> (UploadReport, u64) {
        let deadline = Instant::now() + limit;
        let mut counts = self.shared.lock();
        while counts.pending > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            counts = self
                .shared
                .idle
                .wait_timeout(counts, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        let left = counts.pending;
        if left > 0 {
            self.shared.abandoned.store(true, Ordering::Relaxed);
            counts.report.abandoned += left;
            // They are no longer ours to wait for; a worker that finishes one late
            // must not count it twice.
            counts.pending = 0;
        }
        (counts.report, left)
    }
}

impl Drop for Uploads {
    fn drop(&mut self) {
        // Dropping the sender lets idle workers exit.
        self.sender
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
    }
}

fn worker(
    receiver: &Mutex<Receiver<Job>>,
    shared: &Shared,
    work: &(dyn Fn(&Job) -> bool + Send + Sync),
) {
    loop {
        let job = {
            let receiver = receiver
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match receiver.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let size = job.bytes.len() as u64;
        let abandoned = shared.abandoned.load(Ordering::Relaxed);
        let ok = !abandoned && work(&job);
        drop(job);
        shared.queued_bytes.fetch_sub(size, Ordering::Relaxed);
        let mut counts = shared.lock();
        if abandoned || shared.abandoned.load(Ordering::Relaxed) && counts.pending == 0 {
            // Already counted as abandoned by `finish`.
            continue;
        }
        counts.pending -= 1;
        if ok {
            counts.report.uploaded += 1;
        } else {
            counts.report.failed += 1;
        }
        if counts.pending == 0 {
            shared.idle.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn job(n: usize) -> Job {
        Job {
            key: n.to_string(),
            namespace: "main".to_owned(),
            bytes: vec![0; 10],
            tag: None,
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn concurrency_is_bounded_and_everything_is_counted() {
        let uploads = Uploads::new(2);
        let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (r, p) = (Arc::clone(&running), Arc::clone(&peak));
        let work: Arc<dyn Fn(&Job) -> bool + Send + Sync> = Arc::new(move |job: &Job| {
            let now = r.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(now, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(20));
            r.fetch_sub(1, Ordering::SeqCst);
            job.key != "3"
        });
        for n in 0..8 {
            assert!(uploads.push(job(n), Arc::clone(&work)));
        }
        uploads.skipped();
        let (report, left) = uploads.finish(Duration::from_secs(10));
        assert_eq!(left, 0);
        assert_eq!(
            report,
            UploadReport {
                uploaded: 7,
                failed: 1,
                skipped: 1,
                abandoned: 0
            }
        );
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn finish_gives_up_at_the_limit_and_later_uploads_are_skipped() {
        let uploads = Uploads::new(1);
        let work: Arc<dyn Fn(&Job) -> bool + Send + Sync> = Arc::new(|_: &Job| {
            thread::sleep(Duration::from_millis(300));
            true
        });
        for n in 0..3 {
            uploads.push(job(n), Arc::clone(&work));
        }
        let started = Instant::now();
        let (report, left) = uploads.finish(Duration::from_millis(50));
        assert!(started.elapsed() < Duration::from_millis(250));
        assert_eq!((left, report.abandoned, report.uploaded), (3, 3, 0));
        assert!(!uploads.push(job(9), Arc::clone(&work)));
        // The one in flight finishing late is not counted twice.
        thread::sleep(Duration::from_millis(400));
        let (report, left) = uploads.finish(Duration::from_millis(10));
        assert_eq!(
            (left, report.abandoned, report.uploaded, report.skipped),
            (0, 3, 0, 1)
        );
    }
}
