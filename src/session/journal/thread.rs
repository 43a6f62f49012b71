//! The journal on its own thread, so that no fsync ever runs on the loop that reads keys.
//!
//! Write-ahead events (a confirmation, a step's start and end, an override, a skip) are
//! acknowledged once durable: the caller waits, and acts only after. Output is sent
//! without waiting and made durable in batches: at most one fdatasync per
//! [`OUTPUT_SYNC`], and always before the next write-ahead event. A journal that cannot
//! be written (a full disk) is reported by [`JournalHandle::broken`] until a write-ahead
//! event succeeds again; the driver starts no step meanwhile.

use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Event, Journal, JournalError, Result};

/// How long output may wait to be made durable.
pub const OUTPUT_SYNC: Duration = Duration::from_millis(200);

enum Req {
    /// Write and make durable; answer when done.
    Append(Event, mpsc::SyncSender<std::result::Result<(), String>>),
    /// Write; durable within [`OUTPUT_SYNC`].
    Output(Event),
    /// Finish held-back output, sync, and stop.
    Close(mpsc::SyncSender<std::result::Result<(), String>>),
}

/// A handle to the journal's thread (cheap to clone; every clone appends to the same file).
#[derive(Clone, Debug)]
pub struct JournalHandle {
    tx: mpsc::Sender<Req>,
    path: PathBuf,
    broken: Arc<Mutex<Option<String>>>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for Req {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("journal request")
    }
}

impl JournalHandle {
    /// Moves `journal` to a thread of its own.
    pub fn spawn(journal: Journal) -> std::io::Result<JournalHandle> {
        let (tx, rx) = mpsc::channel();
        let path = journal.path().to_path_buf();
        let broken = Arc::new(Mutex::new(None));
        let flag = broken.clone();
        let thread = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || serve(journal, &rx, &flag))?;
        Ok(JournalHandle {
            tx,
            path,
            broken,
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Appends `event` and returns once it is durable (output is sent on, see the module).
    pub fn append(&self, event: &Event) -> Result<()> {
        if event.batched() {
            self.output(event.clone());
            return Ok(());
        }
        let (ack, done) = mpsc::sync_channel(1);
        self.tx
            .send(Req::Append(event.clone(), ack))
            .map_err(|_| self.gone())?;
        match done.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(JournalError::Writer {
                path: self.path.clone(),
                message,
            }),
            Err(_) => Err(self.gone()),
        }
    }

    /// Appends output without waiting.
    pub fn output(&self, event: Event) {
        if self.tx.send(Req::Output(event)).is_err() {
            self.set_broken("the journal's thread has stopped".into());
        }
    }

    /// Why the journal cannot be written now, if it cannot.
    pub fn broken(&self) -> Option<String> {
        self.broken.lock().map_or(None, |b| b.clone())
    }

    /// Writes what is held back, syncs, and stops the thread (waiting for it).
    pub fn close(&self) -> Result<()> {
        let (ack, done) = mpsc::sync_channel(1);
        let sent = self.tx.send(Req::Close(ack)).is_ok();
        let result = if sent { done.recv().ok() } else { None };
        if let Ok(mut t) = self.thread.lock()
            && let Some(t) = t.take()
        {
            let _ = t.join();
        }
        match result {
            Some(Err(message)) => Err(JournalError::Writer {
                path: self.path.clone(),
                message,
            }),
            _ => Ok(()),
        }
    }

    /// Appends `event` from a panicking thread: waits at most `patience` for it.
    pub fn append_within(&self, event: &Event, patience: Duration) -> bool {
        let (ack, done) = mpsc::sync_channel(1);
        self.tx.send(Req::Append(event.clone(), ack)).is_ok()
            && matches!(done.recv_timeout(patience), Ok(Ok(())))
    }

    fn gone(&self) -> JournalError {
        let message = "the journal's thread has stopped".to_string();
        self.set_broken(message.clone());
        JournalError::Writer {
            path: self.path.clone(),
            message,
        }
    }

    fn set_broken(&self, why: String) {
        if let Ok(mut b) = self.broken.lock() {
            *b = Some(why);
        }
    }
}

fn serve(mut journal: Journal, rx: &mpsc::Receiver<Req>, broken: &Mutex<Option<String>>) {
    let set = |why: Option<String>| {
        if let Ok(mut b) = broken.lock() {
            *b = why;
        }
    };
    let mut last_sync = Instant::now();
    loop {
        let wait = if journal.unsynced() {
            OUTPUT_SYNC.saturating_sub(last_sync.elapsed())
        } else {
            Duration::from_secs(3600)
        };
        match rx.recv_timeout(wait) {
            Ok(Req::Append(event, ack)) => {
                let result = journal.append(&event).map_err(|e| e.to_string());
                set(result.as_ref().err().cloned());
                last_sync = Instant::now();
                let _ = ack.send(result);
            }
            Ok(Req::Output(event)) => {
                if let Err(e) = journal.append(&event) {
                    set(Some(e.to_string()));
                }
            }
            Ok(Req::Close(ack)) => {
                let _ = ack.send(journal.close().map_err(|e| e.to_string()));
                return;
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Err(e) = journal.sync() {
                    set(Some(e.to_string()));
                }
                last_sync = Instant::now();
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
