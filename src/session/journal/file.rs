//! The journal file: numbering, stamping, masking and durably appending lines, output
//! bounded per step attempt and journaled in whole lines.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::{
    Event, JournalError, OUTPUT_LIMIT_PER_ATTEMPT, Record, Result, SessionStart, Stream, io_err,
};
use crate::session::lock::now_rfc3339;
use crate::session::mask::Masker;
use crate::session::replay::replay;

/// Output without a newline is held back until its line ends, up to this many bytes.
const LINE_HOLD_LIMIT: usize = 4096;

/// Output bookkeeping for the current attempt of one step.
#[derive(Debug, Default)]
struct Attempt {
    written: usize,
    dropped: u64,
    /// Raw text per stream not yet journaled: it may end in the first part of a secret.
    pending: HashMap<Stream, String>,
}

impl Attempt {
    /// The part of `masked` that fits this attempt's budget; the rest is counted as
    /// dropped, and so is everything after a cut, even a later chunk that would fit.
    fn admit(&mut self, mut masked: String) -> Option<String> {
        let room = OUTPUT_LIMIT_PER_ATTEMPT.saturating_sub(self.written);
        let mut keep = room.min(masked.len());
        while !masked.is_char_boundary(keep) {
            keep = keep.saturating_sub(1);
        }
        if keep < masked.len() {
            let cut = masked.len().saturating_sub(keep) as u64;
            self.dropped = self.dropped.saturating_add(cut);
            self.written = OUTPUT_LIMIT_PER_ATTEMPT;
        } else {
            self.written = self.written.saturating_add(keep);
        }
        masked.truncate(keep);
        (!masked.is_empty()).then_some(masked)
    }
}

/// Numbers, stamps, masks and durably writes lines.
#[derive(Debug)]
struct Writer {
    file: File,
    path: PathBuf,
    masker: Masker,
    next_seq: u64,
    /// Output written since the last fdatasync.
    unsynced: bool,
}

impl Writer {
    fn write(&mut self, event: &Event) -> Result<()> {
        let seq = self.next_seq;
        let next_seq = seq.checked_add(1).ok_or_else(|| JournalError::Writer {
            path: self.path.clone(),
            message: format!("sequence number {seq} is the last a journal can hold"),
        })?;
        let event = self.masker.mask_event(event);
        let record = Record {
            seq,
            ts: now_rfc3339(),
            event,
        };
        let mut line = serde_json::to_vec(&record).map_err(|source| JournalError::Encode {
            path: self.path.clone(),
            source,
        })?;
        line.push(b'\n');
        // One write on an O_APPEND file. Every event but output is then fdatasync'ed (which
        // also makes the output before it durable): it is durable when we return. Output
        // waits for the next event or `sync`, so a chatty command costs no fsync a line.
        self.file.write_all(&line).map_err(io_err(&self.path))?;
        self.next_seq = next_seq;
        if record.event.batched() {
            self.unsynced = true;
            Ok(())
        } else {
            self.sync()
        }
    }

    fn sync(&mut self) -> Result<()> {
        self.file.sync_data().map_err(io_err(&self.path))?;
        self.unsynced = false;
        Ok(())
    }
}

/// An open journal, appending for one driving process (hold a [`Lock`] while it is open).
///
/// [`Lock`]: crate::session::lock::Lock
#[derive(Debug)]
pub struct Journal {
    w: Writer,
    attempts: HashMap<String, Attempt>,
}

impl Journal {
    /// Creates a new journal (mode 0660; an error if `path` exists) starting with `header`.
    /// Its group may append: an operator of the journal's group who takes the wheel at a
    /// handover drives the same journal (it is masked; the umask may narrow it further).
    pub fn create(path: &Path, header: SessionStart, masker: Masker) -> Result<Journal> {
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o660)
            .open(path)
            .map_err(|source| match source.kind() {
                io::ErrorKind::AlreadyExists => JournalError::Exists {
                    path: path.to_path_buf(),
                },
                _ => io_err(path)(source),
            })?;
        let w = Writer {
            file,
            path: path.to_path_buf(),
            masker,
            next_seq: 1,
            unsynced: false,
        };
        let mut journal = Journal {
            w,
            attempts: HashMap::new(),
        };
        journal.w.write(&Event::SessionStart(header))?;
        // Make the new directory entry durable too, not only the file's contents.
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(dir))?;
        Ok(journal)
    }

    /// Opens an existing journal to go on appending, after a crash or from another
    /// process, and journals a `session_resume` for this process. A torn last line (a
    /// write cut short by a crash, never acknowledged) is cut off first, so the next
    /// line starts clean; a journal corrupt anywhere else is refused.
    pub fn open_append(path: &Path, masker: Masker) -> Result<Journal> {
        let replayed = replay(path)?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io_err(path))?;
        if replayed.torn_tail.is_some() {
            file.set_len(replayed.valid_len).map_err(io_err(path))?;
            file.sync_all().map_err(io_err(path))?;
        }
        let Some(next_seq) = replayed.last_seq.checked_add(1) else {
            return Err(JournalError::Corrupt {
                path: path.to_path_buf(),
                line: replayed.events.len(),
                message: format!(
                    "sequence number {} is the last a journal can hold",
                    replayed.last_seq
                ),
            });
        };
        let w = Writer {
            file,
            path: path.to_path_buf(),
            masker,
            next_seq,
            unsynced: false,
        };
        let mut journal = Journal {
            w,
            attempts: HashMap::new(),
        };
        journal.w.write(&Event::resume_here())?;
        Ok(journal)
    }

    /// Makes the output written so far durable (other events are durable at once).
    pub fn sync(&mut self) -> Result<()> {
        if self.w.unsynced {
            self.w.sync()?;
        }
        Ok(())
    }

    /// Whether output awaits a [`Journal::sync`].
    pub fn unsynced(&self) -> bool {
        self.w.unsynced
    }

    pub fn path(&self) -> &Path {
        &self.w.path
    }

    /// The sequence number the next line will carry.
    pub fn next_seq(&self) -> u64 {
        self.w.next_seq
    }

    pub fn masker(&self) -> &Masker {
        &self.w.masker
    }

    /// Masks and appends one event, durably. `output` is bounded per step attempt and may
    /// be held back a few bytes (a possible secret prefix) until more output or the
    /// attempt's end; `step_end` (or the step's next `step_start`, or `session_end`)
    /// first writes what is held and, if output was dropped, one `output_truncated`.
    pub fn append(&mut self, event: &Event) -> Result<()> {
        match event {
            Event::Output { step, stream, text } => return self.output(step, *stream, text),
            Event::StepStart { step, .. } => {
                self.finish_attempt(step)?;
                self.attempts.insert(step.clone(), Attempt::default());
            }
            Event::StepEnd { step, .. } => self.finish_attempt(step)?,
            Event::SessionEnd { .. } => self.finish_all()?,
            _ => {}
        }
        self.w.write(event)
    }

    /// Writes what is held back for every step (as `session_end` does).
    pub fn close(mut self) -> Result<()> {
        self.finish_all()?;
        self.sync()
    }

    fn output(&mut self, step: &str, stream: Stream, text: &str) -> Result<()> {
        let attempt = self.attempts.entry(step.to_string()).or_default();
        let pending = attempt.pending.entry(stream).or_default();
        pending.push_str(text);
        // Whole lines only, so a line split across two reads is journaled as one; a
        // secret cannot straddle a line end unless it holds a newline itself.
        let line_end = pending.rfind('\n').map(|i| i.saturating_add(1));
        let (masked, used) = match line_end {
            _ if self.w.masker.has_multiline() => self.w.masker.mask_prefix(pending),
            Some(end) => (self.w.masker.mask(&pending[..end]), end),
            None if pending.len() > LINE_HOLD_LIMIT => self.w.masker.mask_prefix(pending),
            None => return Ok(()),
        };
        pending.drain(..used);
        match attempt.admit(masked) {
            Some(text) => self.w.write(&Event::Output {
                step: step.to_string(),
                stream,
                text,
            }),
            None => Ok(()),
        }
    }

    /// Writes the held-back output of `step`'s current attempt and its truncation notice.
    fn finish_attempt(&mut self, step: &str) -> Result<()> {
        let Some(mut attempt) = self.attempts.remove(step) else {
            return Ok(());
        };
        for stream in [Stream::Stdout, Stream::Stderr, Stream::Info] {
            let rest = attempt.pending.remove(&stream).unwrap_or_default();
            if let Some(text) = attempt.admit(self.w.masker.mask(&rest)) {
                self.w.write(&Event::Output {
                    step: step.to_string(),
                    stream,
                    text,
                })?;
            }
        }
        if attempt.dropped > 0 {
            let dropped_bytes = attempt.dropped;
            self.w.write(&Event::OutputTruncated {
                step: step.to_string(),
                dropped_bytes,
            })?;
        }
        Ok(())
    }

    fn finish_all(&mut self) -> Result<()> {
        let mut steps: Vec<String> = self.attempts.keys().cloned().collect();
        steps.sort();
        steps.iter().try_for_each(|step| self.finish_attempt(step))
    }
}

impl Drop for Journal {
    /// Best effort: write held-back output. Errors cannot be reported here; call
    /// [`Journal::close`] (or append `session_end`) to see them.
    fn drop(&mut self) {
        let _ = self.finish_all();
        let _ = self.sync();
    }
}
