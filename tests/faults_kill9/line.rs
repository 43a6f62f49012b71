//! `flightdeck run --no-tui` as a real process on pipes: its transcript collected as it
//! comes, questions answered once printed, and SIGKILL when a test says so.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Generous: how long the process may take to print something (never a property under test).
pub const DEADLINE: Duration = Duration::from_secs(90);

pub struct LineSession {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Arc<Mutex<String>>,
    /// How far the transcript has been read by [`LineSession::expect`].
    read: usize,
}

impl LineSession {
    /// `flightdeck run RB --inventory INV --journal JOURNAL --no-tui`.
    pub fn start(rb: &Path, inv: &Path, journal: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_flightdeck"))
            .arg("run")
            .arg(rb)
            .arg("--inventory")
            .arg(inv)
            .arg("--journal")
            .arg(journal)
            .arg("--no-tui")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("flightdeck starts");
        let out = Arc::new(Mutex::new(String::new()));
        let mut stdout = child.stdout.take().expect("stdout");
        let sink = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                sink.lock().expect("transcript").push_str(&text);
            }
        });
        let stdin = child.stdin.take();
        LineSession {
            child,
            stdin,
            out,
            read: 0,
        }
    }

    pub fn transcript(&self) -> String {
        self.out.lock().expect("transcript").clone()
    }

    /// Waits for `text` past what was read so far, and reads past it.
    pub fn expect(&mut self, text: &str) {
        let begun = Instant::now();
        loop {
            let all = self.transcript();
            if let Some(at) = all[self.read..].find(text) {
                self.read += at + text.len();
                return;
            }
            assert!(
                begun.elapsed() < DEADLINE,
                "no {text:?} after:\n{}",
                &all[self.read..]
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Answers the question `prompt` once it is printed.
    pub fn answer(&mut self, prompt: &str, line: &str) {
        self.expect(prompt);
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write an answer");
        stdin.flush().expect("flush");
    }

    /// SIGKILL, as `kill -9` does: nothing of the process runs after it.
    pub fn kill9(mut self) -> String {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
        std::thread::sleep(Duration::from_millis(100)); // the reader's last chunk
        self.transcript()
    }

    /// Closes stdin (end of input) and waits for the process; returns its transcript.
    pub fn finish(mut self) -> String {
        drop(self.stdin.take());
        let begun = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "{status}\n{}", self.transcript());
                break;
            }
            assert!(begun.elapsed() < DEADLINE, "did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(100)); // the reader's last chunk
        self.transcript()
    }
}
