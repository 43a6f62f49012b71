//! Reading a command's output stream into [`OutputChunk`]s as it arrives.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{mpsc, watch};

use super::{OutputChunk, Stream};

/// Bytes read but not sent yet: an incomplete line, or the incomplete UTF-8 character at its end.
#[derive(Debug, Default)]
pub(super) struct Chunker {
    buf: Vec<u8>,
}

impl Chunker {
    pub(super) fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The complete lines (each with its `'\n'`); then, when `partial`, the start of the
    /// incomplete last line, up to an incomplete UTF-8 character that is kept for later.
    pub(super) fn drain(&mut self, partial: bool) -> Vec<String> {
        let mut chunks = Vec::new();
        let mut start = 0;
        while let Some(nl) = self.buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + nl + 1;
            chunks.push(String::from_utf8_lossy(&self.buf[start..end]).into_owned());
            start = end;
        }
        let mut rest = &self.buf[start..];
        if partial && !rest.is_empty() {
            let keep = match std::str::from_utf8(rest) {
                Ok(_) => 0,
                // Incomplete character at the end: wait for its other bytes.
                Err(e) if e.error_len().is_none() => rest.len() - e.valid_up_to(),
                Err(_) => 0,
            };
            let (now, later) = rest.split_at(rest.len() - keep);
            if !now.is_empty() {
                chunks.push(String::from_utf8_lossy(now).into_owned());
            }
            rest = later;
        }
        self.buf = rest.to_vec();
        chunks
    }

    /// Whatever is left, at the end of the stream.
    pub(super) fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.buf);
        (!rest.is_empty()).then(|| String::from_utf8_lossy(&rest).into_owned())
    }
}

/// The first line a remote run prints: this prefix and the pid of its process group.
pub(super) const PID_MARKER: &str = "__flightdeck_remote_pgid=";

fn parse_marker(line: &str) -> Option<u32> {
    line.trim_end().strip_prefix(PID_MARKER)?.parse().ok()
}

/// Sends chunks to `out`; once the receiver is gone, drops them (the stream is still read to
/// its end so the command never blocks on a full pipe).
struct Sink<'a> {
    out: &'a mpsc::Sender<OutputChunk>,
    stream: Stream,
    open: bool,
}

impl Sink<'_> {
    async fn send(&mut self, text: String) {
        if self.open {
            let chunk = OutputChunk {
                stream: self.stream,
                text,
            };
            self.open = self.out.send(chunk).await.is_ok();
        }
    }
}

/// Reads `reader` to its end, sending chunks as they arrive. With `pid`, the first line that
/// carries [`PID_MARKER`] is not sent but published there (lines before it, e.g. from a
/// chatty `.bashrc`, are sent as output).
pub(super) async fn pump<R: AsyncRead + Unpin>(
    reader: Option<R>,
    stream: Stream,
    out: &mpsc::Sender<OutputChunk>,
    pid: Option<&watch::Sender<Option<u32>>>,
) -> io::Result<()> {
    let Some(mut reader) = reader else {
        return Ok(());
    };
    let mut sink = Sink {
        out,
        stream,
        open: true,
    };
    let mut looking_for_pid = pid.is_some();
    let mut chunker = Chunker::default();
    let mut buf = vec![0u8; 8192];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        chunker.push(&buf[..n]);
        for text in chunker.drain(!looking_for_pid) {
            if looking_for_pid && let Some(found) = parse_marker(&text) {
                looking_for_pid = false;
                if let Some(pid) = pid {
                    pid.send_replace(Some(found));
                }
                continue;
            }
            sink.send(text).await;
        }
        if !looking_for_pid {
            // The marker came in this read: what follows it may be an incomplete line.
            for text in chunker.drain(true) {
                sink.send(text).await;
            }
        }
    }
    for text in chunker.drain(false) {
        sink.send(text).await;
    }
    if let Some(text) = chunker.finish() {
        sink.send(text).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_partial_tail() {
        let mut c = Chunker::default();
        c.push(b"one\ntwo\nthr");
        assert_eq!(c.drain(false), vec!["one\n", "two\n"]);
        assert_eq!(c.drain(true), vec!["thr"]);
        c.push(b"ee\n");
        assert_eq!(c.drain(true), vec!["ee\n"]);
        assert_eq!(c.finish(), None);
    }

    #[test]
    fn split_utf8_character_waits_for_its_bytes() {
        let bytes = "→x".as_bytes();
        let mut c = Chunker::default();
        c.push(&bytes[..1]);
        assert!(c.drain(true).is_empty());
        c.push(&bytes[1..]);
        assert_eq!(c.drain(true), vec!["→x"]);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut c = Chunker::default();
        c.push(b"a\xffb\n");
        assert_eq!(c.drain(true), vec!["a\u{fffd}b\n"]);
    }

    #[tokio::test]
    async fn marker_line_is_stripped_and_published() {
        let (tx, mut rx) = mpsc::channel(16);
        let (pid_tx, pid_rx) = watch::channel(None);
        let input: &[u8] = b"motd\n__flightdeck_remote_pgid=4242\nhello\npartial";
        pump(Some(input), Stream::Stdout, &tx, Some(&pid_tx))
            .await
            .expect("pump");
        drop(tx);
        let mut got = Vec::new();
        while let Some(chunk) = rx.recv().await {
            got.push(chunk.text);
        }
        assert_eq!(got, vec!["motd\n", "hello\n", "partial"]);
        assert_eq!(*pid_rx.borrow(), Some(4242));
    }
}
