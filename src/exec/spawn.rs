//! Running a step's jobs as one background task that reports output, progress and the
//! outcome as messages. Every text passes the masker before it leaves the task: a
//! command's output as a stream (a secret split across two reads is still masked, see
//! [`StreamMask`]), a server's error text for fragments of secrets too (MariaDB quotes a
//! statement `near '…'` cut at 80 characters, see [`Masker::mask_partial`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::host::{HostPool, HostTransport, OutputChunk, RunEnd, Stream};
use super::job::Job;
use super::{maxscale, sql};
use crate::inventory::{Inventory, Transport};
use crate::maxscale::MaxscaleClient;
use crate::poll::mysql::SqlTarget;
use crate::session::mask::{Masker, PARTIAL_MIN_CHARS, StreamMask};
use crate::session::run::{FailCode, Outcome};

use std::panic::AssertUnwindSafe;

use futures::FutureExt;

/// What a panic said, as text.
fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// What an executor reports, tagged with the step and attempt so stale news is dropped.
#[derive(Clone, Debug, PartialEq)]
pub enum ExecMsg {
    Output {
        step: String,
        attempt: u32,
        stream: &'static str,
        text: String,
    },
    Progress {
        step: String,
        attempt: u32,
        line: String,
    },
    Finished {
        step: String,
        attempt: u32,
        outcome: Outcome,
    },
    /// The write-availability probe of a step attempt (see [`crate::exec::probe`]).
    Probe {
        step: String,
        attempt: u32,
        msg: crate::exec::probe::ProbeMsg,
    },
}

/// What one step attempt has said so far: the output streams of the running command,
/// each masked as a stream, with what may be the start of a secret held back.
struct Said {
    step: String,
    attempt: u32,
    streams: Vec<(&'static str, StreamMask)>,
}

impl Said {
    fn new(step: &str, attempt: u32) -> Self {
        Self {
            step: step.to_string(),
            attempt,
            streams: Vec::new(),
        }
    }

    fn stream(&mut self, name: &'static str) -> &mut StreamMask {
        let at = match self.streams.iter().position(|(n, _)| *n == name) {
            Some(at) => at,
            None => {
                self.streams.push((name, StreamMask::new()));
                self.streams.len() - 1
            }
        };
        &mut self.streams[at].1
    }
}

/// The long-lived means to run jobs: SQL targets, the SSH pool, the MaxScale client.
#[derive(Clone)]
pub struct Executors {
    pub sql: Arc<Vec<SqlTarget>>,
    pub hosts: HostPool,
    pub maxscale: Option<MaxscaleClient>,
    /// For `preflight` steps, which read every server of it.
    pub inventory: Option<Arc<Inventory>>,
    pub masker: Arc<Masker>,
    pub tx: mpsc::Sender<ExecMsg>,
    /// Test hook: the executor of this step panics (to show a panic becomes a failure).
    #[doc(hidden)]
    pub panic_on: Option<String>,
}

impl Executors {
    /// Runs the jobs one after the other (one per target server); the first failure ends
    /// the step.
    pub fn spawn(
        &self,
        step: String,
        attempt: u32,
        jobs: Vec<Job>,
        timeout: Duration,
        cancel: CancellationToken,
    ) {
        let this = self.clone();
        tokio::spawn(async move {
            // Supervised: whatever a job does, even panic, the step gets its outcome.
            let mut said = Said::new(&step, attempt);
            let work = AssertUnwindSafe(this.run_jobs(&mut said, jobs, timeout, cancel));
            let outcome = match work.catch_unwind().await {
                Ok(outcome) => outcome,
                Err(panic) => Outcome::failed(format!("executor panicked: {}", panic_text(&panic))),
            };
            // What a panic interrupted is said before the outcome.
            this.flush(&mut said).await;
            let outcome = this.mask_outcome(outcome);
            let _ = this
                .tx
                .send(ExecMsg::Finished {
                    step,
                    attempt,
                    outcome,
                })
                .await;
        });
    }

    /// [`Executors::spawn`], once `ready` fires (or after `patience`): the probe's first
    /// write through the router, so that what it measures starts before the step acts.
    #[allow(clippy::too_many_arguments)]
    pub fn spawn_after(
        &self,
        ready: tokio::sync::oneshot::Receiver<()>,
        patience: Duration,
        step: String,
        attempt: u32,
        jobs: Vec<Job>,
        timeout: Duration,
        cancel: CancellationToken,
    ) {
        let this = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = tokio::time::timeout(patience, ready) => {}
            }
            this.spawn(step, attempt, jobs, timeout, cancel);
        });
    }

    async fn run_jobs(
        &self,
        said: &mut Said,
        jobs: Vec<Job>,
        timeout: Duration,
        cancel: CancellationToken,
    ) -> Outcome {
        #[expect(
            clippy::panic,
            reason = "a test hook, None outside tests: shows a panicking executor fails its step"
        )]
        if self.panic_on.as_deref() == Some(said.step.as_str()) {
            panic!("test hook: the executor of {} panics", said.step);
        }
        let mut details = Vec::new();
        for job in jobs {
            let result = self.run_job(said, job, timeout, cancel.clone()).await;
            // Each job's output ends with it (the next job runs on another server).
            self.flush(said).await;
            match result {
                Ok(detail) => details.push(detail),
                Err(stopped) => return stopped,
            }
        }
        Outcome::Succeeded(details.join("; "))
    }

    fn mask_outcome(&self, outcome: Outcome) -> Outcome {
        let m = |d: String| self.masker.mask(&d);
        match outcome {
            Outcome::Succeeded(d) => Outcome::Succeeded(m(d)),
            Outcome::Failed { detail, code } => Outcome::Failed {
                detail: m(detail),
                code,
            },
            Outcome::Cancelled(d) => Outcome::Cancelled(m(d)),
            Outcome::TimedOut(d) => Outcome::TimedOut(m(d)),
            Outcome::Unknown(d) => Outcome::Unknown(m(d)),
        }
    }

    /// Says a whole message (a result row, an info line), masked.
    async fn say(&self, said: &Said, stream: &'static str, text: String) {
        self.send(said, stream, self.masker.mask(&text)).await;
    }

    /// Says a chunk of a command's output: masked as part of its stream, so what may be
    /// the start of a secret waits for the next chunk or [`Executors::flush`].
    async fn say_chunk(&self, said: &mut Said, stream: &'static str, chunk: &str) {
        let text = said.stream(stream).push(&self.masker, chunk);
        if !text.is_empty() {
            self.send(said, stream, text).await;
        }
    }

    /// Says what the streams hold back: their command has ended.
    async fn flush(&self, said: &mut Said) {
        let mut rest = Vec::new();
        for (name, stream) in &mut said.streams {
            if stream.is_holding() {
                rest.push((*name, stream.finish(&self.masker)));
            }
        }
        for (name, text) in rest {
            self.send(said, name, text).await;
        }
    }

    async fn send(&self, said: &Said, stream: &'static str, text: String) {
        let _ = self
            .tx
            .send(ExecMsg::Output {
                step: said.step.clone(),
                attempt: said.attempt,
                stream,
                text,
            })
            .await;
    }

    /// `preflight`: the report as the step's output; a blocker fails the step.
    async fn preflight(
        &self,
        said: &mut Said,
        to: &str,
        timeout: Duration,
        cancel: CancellationToken,
    ) -> Result<String, Outcome> {
        let Some(inv) = &self.inventory else {
            return Err(Outcome::failed("no inventory to run preflight against"));
        };
        let report = tokio::select! {
            _ = cancel.cancelled() => {
                return Err(Outcome::Cancelled("preflight cancelled: nothing was changed".into()));
            }
            _ = tokio::time::sleep(timeout) => {
                return Err(Outcome::TimedOut(format!(
                    "preflight did not finish within {}: nothing was changed",
                    crate::runbook::plan::format_duration(timeout)
                )));
            }
            r = crate::preflight::run(inv, &self.hosts, to) => {
                r.map_err(|e| Outcome::failed(e.to_string()))?
            }
        };
        for line in report.text().lines() {
            self.say(said, "stdout", line.to_owned()).await;
        }
        let count = |s| report.findings.iter().filter(|f| f.severity == s).count();
        let (blockers, warnings) = (
            count(crate::preflight::Severity::Blocker),
            count(crate::preflight::Severity::Warning),
        );
        if blockers > 0 {
            Err(Outcome::failed(format!(
                "preflight for {to}: {blockers} blocker(s), {warnings} warning(s)"
            )))
        } else {
            Ok(format!(
                "preflight for {to}: no blocker, {warnings} warning(s)"
            ))
        }
    }

    async fn run_job(
        &self,
        said: &mut Said,
        job: Job,
        timeout: Duration,
        cancel: CancellationToken,
    ) -> Result<String, Outcome> {
        match job {
            Job::Preflight { to } => self.preflight(said, &to, timeout, cancel).await,
            Job::Sql {
                server,
                statements,
                expect,
                ..
            } => {
                let target = self
                    .sql
                    .iter()
                    .find(|t| t.server == server)
                    .ok_or_else(|| Outcome::failed(format!("no SQL target {server}")))?;
                let table = match sql::run(target, &statements, timeout, &cancel).await {
                    Ok(table) => table,
                    Err(e) => {
                        // The server's words may quote part of a statement, and so part
                        // of a secret in it.
                        let partial = |t: &str| self.masker.mask_partial(t, PARTIAL_MIN_CHARS);
                        if let Some(line) = e.stop_report() {
                            self.say(said, "info", partial(&line)).await;
                        }
                        let detail = partial(&e.to_string());
                        return Err(match e {
                            sql::SqlError::Failed { errno, .. } => Outcome::Failed {
                                detail,
                                code: errno.map(FailCode::Sql),
                            },
                            sql::SqlError::Cancelled { .. } => Outcome::Cancelled(detail),
                            sql::SqlError::Timeout { .. } => Outcome::TimedOut(detail),
                        });
                    }
                };
                for line in sql::format(&table) {
                    self.say(said, "stdout", line).await;
                }
                let checks = sql::check(&table, &expect);
                let mut failed = Vec::new();
                for c in &checks {
                    let mark = if c.holds { "✔" } else { "✘" };
                    self.say(
                        said,
                        "info",
                        format!("{mark} {} (observed {})", c.expect, c.observed),
                    )
                    .await;
                    if !c.holds {
                        failed.push(format!("{} (observed {})", c.expect, c.observed));
                    }
                }
                if failed.is_empty() {
                    Ok(format!("{server}: {} expectation(s) hold", checks.len()))
                } else {
                    Err(Outcome::failed(format!(
                        "{server}: expect failed: {}",
                        failed.join("; ")
                    )))
                }
            }
            Job::Shell {
                server,
                transport,
                script,
                expect_exit,
                ..
            } => {
                let transport = match transport {
                    Transport::None => {
                        return Err(Outcome::failed(format!(
                            "{server}: the inventory gives no shell access to it (no `ssh` \
                             table, no transport = \"local\"): nothing was run"
                        )));
                    }
                    Transport::Local => HostTransport::Local,
                    Transport::Ssh(s) => HostTransport::Ssh {
                        host: s.host,
                        user: s.user,
                        port: s.port,
                    },
                };
                let (out_tx, mut out_rx) = mpsc::channel::<OutputChunk>(256);
                let run = self.hosts.run(&transport, &script, timeout, cancel, out_tx);
                tokio::pin!(run);
                let result = loop {
                    tokio::select! {
                        r = &mut run => break r,
                        Some(chunk) = out_rx.recv() => {
                            let stream = match chunk.stream { Stream::Stdout => "stdout", Stream::Stderr => "stderr" };
                            self.say_chunk(said, stream, &chunk.text).await;
                        }
                    }
                };
                while let Ok(chunk) = out_rx.try_recv() {
                    let stream = match chunk.stream {
                        Stream::Stdout => "stdout",
                        Stream::Stderr => "stderr",
                    };
                    self.say_chunk(said, stream, &chunk.text).await;
                }
                let run = result.map_err(|e| Outcome::failed(format!("{server}: {e}")))?;
                match (run.ended, run.exit_code) {
                    (RunEnd::Exited, Some(code)) if code == expect_exit => {
                        Ok(format!("{server}: exit {code}"))
                    }
                    (RunEnd::Exited, code) => Err(Outcome::Failed {
                        detail: format!(
                            "{server}: exit {} (expected {expect_exit})",
                            code.map_or("?".into(), |c| c.to_string())
                        ),
                        code: code.map(FailCode::Exit),
                    }),
                    (RunEnd::TimedOut, _) => Err(Outcome::TimedOut(format!(
                        "{server}: timed out after {timeout:?}"
                    ))),
                    (RunEnd::Cancelled, _) => {
                        Err(Outcome::Cancelled(format!("{server}: cancelled")))
                    }
                }
            }
            Job::Maxscale { call, .. } => {
                let client = self
                    .maxscale
                    .as_ref()
                    .ok_or_else(|| Outcome::failed("the inventory names no MaxScale"))?;
                let (ptx, mut prx) = mpsc::unbounded_channel::<String>();
                let mut progress = move |line: String| {
                    let _ = ptx.send(line);
                };
                let work = maxscale::run(client, &call, timeout, &mut progress);
                tokio::pin!(work);
                let result = loop {
                    tokio::select! {
                        _ = cancel.cancelled() => return Err(Outcome::Cancelled("cancelled (MaxScale may still complete the command: check its state)".into())),
                        r = &mut work => break r,
                        Some(line) = prx.recv() => {
                            let line = self.masker.mask(&line);
                            let _ = self.tx.send(ExecMsg::Progress { step: said.step.clone(), attempt: said.attempt, line }).await;
                        }
                    }
                };
                let message = result.map_err(|e| match e {
                    maxscale::MaxscaleStepError::Timeout(_) => Outcome::TimedOut(e.to_string()),
                    maxscale::MaxscaleStepError::Lost(_) => Outcome::Unknown(e.to_string()),
                    other => Outcome::failed(other.to_string()),
                })?;
                self.say(said, "info", message.clone()).await;
                Ok(message)
            }
        }
    }
}
