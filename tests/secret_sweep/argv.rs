//! Every process's argv, read from `/proc/*/cmdline` every 20 ms on a thread of its own
//! while the rehearsal runs. It keeps only verdicts (which secret, which program), never
//! an argv, so a failure message cannot itself leak the secret.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Planted, holds_run};

const EVERY: Duration = Duration::from_millis(20);

/// What the sampler saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Sweeps of all of `/proc`.
    pub sweeps: usize,
    /// Sweeps taken while a step ran (the flag the test sets).
    pub sweeps_during_steps: usize,
    /// Sweeps that found a `sh -s` (a shell step's shell, its script on stdin).
    pub sweeps_with_sh_s: usize,
    /// Sweeps that found the control process's marker.
    pub sweeps_with_control: usize,
    /// (secret name, program name) for each argv holding a secret or 8 characters of one.
    pub leaks: Vec<(String, String)>,
}

pub struct Sampler {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Starts sampling; `stepping` says whether a step is running now; `control` is an
    /// argument a known process carries, to show the sampler finds what is there.
    pub fn start(secrets: Vec<Planted>, stepping: Arc<AtomicUsize>, control: String) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let thread = {
            let (stop, seen) = (stop.clone(), seen.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let during = stepping.load(Ordering::SeqCst) > 0;
                    let sweep = sweep(&secrets, &control);
                    let mut s = seen
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    s.sweeps += 1;
                    s.sweeps_during_steps += usize::from(during);
                    s.sweeps_with_sh_s += usize::from(sweep.sh_s);
                    s.sweeps_with_control += usize::from(sweep.control);
                    for leak in sweep.leaks {
                        if !s.leaks.contains(&leak) {
                            s.leaks.push(leak);
                        }
                    }
                    drop(s);
                    std::thread::sleep(EVERY);
                }
            })
        };
        Self {
            stop,
            seen,
            thread: Some(thread),
        }
    }

    /// Stops the thread and returns what it saw.
    pub fn finish(mut self) -> Seen {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().expect("the sampler thread");
        }
        std::mem::take(&mut *self.seen.lock().expect("sampler state"))
    }
}

struct Sweep {
    sh_s: bool,
    control: bool,
    leaks: Vec<(String, String)>,
}

fn sweep(secrets: &[Planted], control: &str) -> Sweep {
    let mut out = Sweep {
        sh_s: false,
        control: false,
        leaks: Vec::new(),
    };
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let is_pid = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
        if !is_pid {
            continue;
        }
        // A process that ended between the listing and the read is simply gone.
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let argv: Vec<String> = raw
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let program = argv
            .first()
            .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
            .unwrap_or_default();
        let joined = argv.join(" ");
        out.sh_s |=
            argv.len() >= 2 && program == "sh" && argv.get(1).map(String::as_str) == Some("-s");
        out.control |= joined.contains(control);
        for s in secrets {
            if holds_run(&joined, &s.value) {
                out.leaks.push((s.name.clone(), program.clone()));
            }
        }
    }
    out
}
