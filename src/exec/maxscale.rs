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
            client
                .async_switchover(monitor, new, old.as_deref())
                .await?;
            let begun = Instant::now();
            loop {
                match client.fetch_cmd_result(monitor).await? {
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
