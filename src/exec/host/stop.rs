//! Waiting for a run against its timeout and cancel token, and stopping it: TERM to its
//! process group, KILL after a grace period.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

use super::RunEnd;

/// The time limits of one run.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub timeout: Duration,
    pub grace: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StopSignal {
    Term,
    Kill,
}

impl StopSignal {
    pub(super) fn name(self) -> &'static str {
        match self {
            StopSignal::Term => "TERM",
            StopSignal::Kill => "KILL",
        }
    }
}

/// Sends a signal to the process group led by `pid` (best effort: failures are logged).
pub(super) trait Stopper {
    fn signal(&self, pid: u32, signal: StopSignal) -> impl Future<Output = ()> + Send;
}

/// What [`race`] saw first.
pub(super) enum Raced<T> {
    Finished(T),
    Stop(RunEnd),
}

/// Awaits `run` until it finishes, `deadline` passes or `cancel` fires (a finished run wins
/// a tie). `run` is left in place so that it can be stopped and awaited further.
pub(super) async fn race<F: Future>(
    run: &mut Pin<&mut F>,
    deadline: Instant,
    cancel: &CancellationToken,
) -> Raced<F::Output> {
    tokio::select! {
        biased;
        out = run.as_mut() => Raced::Finished(out),
        () = cancel.cancelled() => Raced::Stop(RunEnd::Cancelled),
        () = sleep_until(deadline) => Raced::Stop(RunEnd::TimedOut),
    }
}

/// Stops a run that is still going: waits (up to `grace`) for its pid, sends TERM, gives it
/// `grace` to end, sends KILL, gives it `grace` again. Keeps driving `run` throughout so its
/// output is still read. `None` when it had not ended by then.
pub(super) async fn stop<F, P, S>(
    run: &mut Pin<&mut F>,
    pid: P,
    stopper: &S,
    grace: Duration,
) -> Option<F::Output>
where
    F: Future,
    P: Future<Output = Option<u32>>,
    S: Stopper,
{
    let pid = tokio::select! {
        biased;
        out = run.as_mut() => return Some(out),
        pid = timeout(grace, pid) => pid.ok().flatten(),
    };
    let Some(pid) = pid else {
        tracing::warn!("no pid to stop the command with; waiting for it to end");
        return timeout(grace, run.as_mut()).await.ok();
    };
    for signal in [StopSignal::Term, StopSignal::Kill] {
        tracing::warn!(
            pid,
            "stopping the command: {} to its process group",
            signal.name()
        );
        stopper.signal(pid, signal).await;
        if let Ok(out) = timeout(grace, run.as_mut()).await {
            return Some(out);
        }
    }
    tracing::error!(pid, "the command did not end after TERM and KILL");
    None
}
