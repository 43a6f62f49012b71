//! The `maxscale` executor: set / clear a server state, or a switchover (asynchronous,
//! polled with `fetch-cmd-result`, as MaxScale 2.5.4+ offers). MaxScale's own error
//! messages are returned verbatim.

use std::time::{Duration, Instant};

use crate::maxscale::{CommandResult, MaxscaleAction, MaxscaleClient, MaxscaleError};

#[derive(Debug, thiserror::Error)]
pub enum MaxscaleStepError {
    #[error("{0}")]
    Api(#[from] MaxscaleError),
    #[error("switchover: {}", .0.join(" "))]
    Refused(Vec<String>),
    #[error("switchover did not finish within {0:?}; check MaxScale before retrying")]
    Timeout(Duration),
    /// MaxScale went away after it accepted the switchover: it may have finished, stopped
    /// halfway (every server read-only, no primary) or never begun.
    #[error(
        "outcome unknown: MaxScale stopped answering while the switchover was pending ({0}); \
         the cluster may have no primary: check which server is writable (read_only) and \
         what MaxScale says once it is back, before anything else"
    )]
    Lost(MaxscaleError),
    #[error("{0} is not a step's action")]
    NotAStep(String),
}

/// Performs the call; progress lines go to `progress`. Returns MaxScale's final message.
pub async fn run(
    client: &MaxscaleClient,
    call: &MaxscaleAction,
    timeout: Duration,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<String, MaxscaleStepError> {
    match call {
        MaxscaleAction::SetState {
            server,
            state,
            force,
        } => {
            client.set_state(server, *state, *force).await?;
            Ok(format!("{server}: {} set", state.as_str()))
        }
        MaxscaleAction::ClearState { server, state } => {
            client.clear_state(server, *state).await?;
            Ok(format!("{server}: {} cleared", state.as_str()))
        }
        MaxscaleAction::AsyncSwitchover { monitor, new, old } => {
            // Refused, or never connected: nothing was asked. A request that went out and
            // got no answer (a timeout, a connection dropped) may have been taken.
            client
                .async_switchover(monitor, new, old.as_deref())
                .await
                .map_err(|e| match e {
                    MaxscaleError::Timeout { .. } | MaxscaleError::Transport { .. } => {
                        MaxscaleStepError::Lost(e)
                    }
                    other => MaxscaleStepError::Api(other),
                })?;
            let begun = Instant::now();
            loop {
                let result = client
                    .fetch_cmd_result(monitor)
                    .await
                    .map_err(MaxscaleStepError::Lost)?;
                match result {
                    CommandResult::Done(msg) => return Ok(msg),
                    CommandResult::Failed(details) => {
                        return Err(MaxscaleStepError::Refused(details));
                    }
                    CommandResult::Running(detail) | CommandResult::NoResult(detail) => {
                        progress(format!("{detail} ({:.1} s)", begun.elapsed().as_secs_f64()));
                    }
                }
                if begun.elapsed() > timeout {
                    return Err(MaxscaleStepError::Timeout(timeout));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        other => Err(MaxscaleStepError::NotAStep(other.rest_line())),
    }
}
