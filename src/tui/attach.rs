//! `flightdeck attach`: the cockpit of a second operator. It draws the driver's session
//! as the driver publishes it (steps, gates with their live values, output as it streams,
//! the live panes fed by the driver's own pollers: attaching adds no load on any server),
//! scrolls and folds on its own, approves four-eyes steps and adds notes. When the driver
//! goes away it says so and keeps the last known state on screen.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ratatui::layout::{Constraint, Layout};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use tokio::net::UnixStream;
use tokio::sync::mpsc;

use super::run::app::{Msg, Request, RunApp};
use super::run::view::{ViewContext, view_in};
use super::terminal;
use super::theme::Theme;
use crate::session::live::Dashboard;
use crate::session::pair::socket_path;
use crate::session::view::SessionView;
use crate::session::wire::{self, PROTOCOL, ToDriver, ToObserver, WireError};

#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("cannot reach the session at {}: {source} (is a cockpit driving that journal?)", path.display())]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the driver refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Wire(#[from] WireError),
    #[error("the driver closed the connection before it said hello")]
    NoHello,
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// The socket for `target`: a `.sock` path as it is, a journal's `JOURNAL.sock`.
pub fn socket_for(target: &Path) -> PathBuf {
    if target.extension().is_some_and(|e| e == "sock") {
        target.to_path_buf()
    } else {
        socket_path(target)
    }
}

/// A connection that said hello: who drives, and the stream of what they publish.
pub struct Attached {
    pub driver: String,
    pub journal: String,
    pub news: mpsc::Receiver<ToObserver>,
    pub requests: mpsc::Sender<ToDriver>,
}

/// As [`connect`], trying again for up to `wait` while nobody serves the socket yet (a
/// new driver takes a few seconds to start).
pub async fn connect_within(target: &Path, wait: Duration) -> Result<Attached, AttachError> {
    let deadline = Instant::now() + wait;
    let mut said = false;
    loop {
        match connect(target).await {
            Err(AttachError::Connect { .. }) if Instant::now() < deadline => {
                if !std::mem::replace(&mut said, true) {
                    eprintln!(
                        "waiting for the driver at {}…",
                        socket_for(target).display()
                    );
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            other => return other,
        }
    }
}

/// Connects and greets; then reads and writes on tasks of their own.
pub async fn connect(target: &Path) -> Result<Attached, AttachError> {
    let path = socket_for(target);
    let stream = UnixStream::connect(&path)
        .await
        .map_err(|source| AttachError::Connect {
            path: path.clone(),
            source,
        })?;
    let (mut rd, mut wr) = stream.into_split();
    let hello = ToDriver::Hello {
        protocol: PROTOCOL,
        version: env!("CARGO_PKG_VERSION").into(),
    };
    wire::send(&mut wr, &hello).await?;
    let (driver, journal) = match wire::recv::<_, ToObserver>(&mut rd).await? {
        Some(ToObserver::Hello {
            driver, journal, ..
        }) => (driver, journal),
        Some(ToObserver::Refused { reason }) => return Err(AttachError::Refused(reason)),
        _ => return Err(AttachError::NoHello),
    };
    let (news_tx, news) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let msg = match wire::recv::<_, ToObserver>(&mut rd).await {
                Ok(Some(msg)) => msg,
                Ok(None) => break,
                Err(e) => ToObserver::Said {
                    text: format!("connection lost: {e}"),
                },
            };
            let lost =
                matches!(&msg, ToObserver::Said { text } if text.starts_with("connection lost"));
            if news_tx.send(msg).await.is_err() || lost {
                break;
            }
        }
    });
    let (requests, mut outbox) = mpsc::channel::<ToDriver>(16);
    tokio::spawn(async move {
        while let Some(msg) = outbox.recv().await {
            if wire::send(&mut wr, &msg).await.is_err() {
                break;
            }
        }
    });
    Ok(Attached {
        driver,
        journal,
        news,
        requests,
    })
}

/// `flightdeck attach`: the observer's cockpit in the terminal.
pub async fn run(target: &Path, wait: Duration) -> Result<(), AttachError> {
    let mut a = connect_within(target, wait).await?;
    let mut session = SessionView::default();
    let mut dash = Dashboard::new(&[], Duration::from_millis(250), Duration::from_secs(1));
    let mut app: Option<RunApp> = None;
    let (keys_tx, mut keys) = mpsc::channel::<Msg>(64);
    let keyboard = terminal::keyboard(keys_tx, |m| m);
    let (mut term, guard) = terminal::enter_cockpit()?;
    let theme = Theme::from_env();
    let mut connected = true;
    let mut offer: Option<Offered> = None;
    let mut handed: Option<(String, String, String)> = None;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let now = Instant::now();
        if let Some(app) = app.as_mut() {
            let ctx = ViewContext { theme };
            let lost = (!connected).then(|| disconnected_text(&a.driver, &a.journal));
            let app: &RunApp = app;
            term.draw(|f| {
                let area = f.area();
                let [banner, rest] = Layout::vertical([
                    Constraint::Length(2 * u16::from(lost.is_some())),
                    Constraint::Min(0),
                ])
                .areas(area);
                if let Some(text) = &lost {
                    f.render_widget(
                        Paragraph::new(Line::styled(text.clone(), theme.bad()))
                            .wrap(ratatui::widgets::Wrap { trim: true }),
                        banner,
                    );
                }
                view_in(app, &session, &dash, &ctx, f, rest, now);
            })?;
            if app.quit {
                break;
            }
        }
        tokio::select! {
            Some(k) = keys.recv() => {
                let Some(app) = app.as_mut() else { continue };
                if let Some(files) = offer.take() {
                    let yes = matches!(&k, Msg::Key(key) if super::run::modal::is_yes(key));
                    let (said, request) = take_wheel(yes, &files);
                    app.message = Some(said);
                    if let Some(r) = request && connected {
                        let _ = a.requests.send(r).await;
                    }
                    continue;
                }
                let request = match k {
                    Msg::Key(k) => app.key(k, &session, Instant::now()),
                    Msg::Paste(text) => { app.paste(&text); None }
                    Msg::Scroll(n) => { app.scroll_detail(n); None }
                };
                let msg = match request {
                    Some(Request::Approve { step, typed }) => Some(ToDriver::Approve { step, typed }),
                    Some(Request::Note(text)) => Some(ToDriver::Note { text }),
                    Some(Request::Session(_) | Request::HandOver) | None => None,
                };
                if let Some(msg) = msg {
                    if !connected || a.requests.send(msg).await.is_err() {
                        app.message = Some("the driver is gone: nothing was sent".into());
                    }
                }
            }
            news = a.news.recv(), if connected => match news {
                Some(ToObserver::View(v)) => {
                    session = *v;
                    let app = app.get_or_insert_with(|| {
                        let mut app = RunApp::new(&session);
                        app.observer = true;
                        app.message = None;
                        app
                    });
                    app.observe(&session, Instant::now());
                }
                Some(ToObserver::Dash(d)) => dash = d.into_dashboard(Instant::now()),
                Some(ToObserver::Said { text }) => {
                    if let Some(app) = app.as_mut() && !text.is_empty() {
                        app.message = Some(text);
                    }
                }
                Some(ToObserver::Offer { from, runbook, inventory, journal }) => {
                    offer = Some(Offered { runbook, inventory, journal });
                    if let Some(app) = app.as_mut() {
                        app.message = Some(format!(
                            "{from} offers you the wheel: y takes it (you then drive), any other key declines"
                        ));
                    }
                }
                Some(ToObserver::HandedOver { runbook, inventory, journal }) => {
                    handed = Some((runbook, inventory, journal));
                    break;
                }
                Some(ToObserver::Hello { .. } | ToObserver::Refused { .. }) => {}
                None => connected = false,
            },
            _ = tick.tick() => {}
        }
    }
    drop(guard);
    keyboard.abort();
    if let Some((runbook, inventory, journal)) = handed {
        // The wheel is ours: this process becomes the driver (secrets come from this
        // operator's environment and files, as for any `run`).
        use std::os::unix::process::CommandExt;
        let exe = std::env::current_exe()?;
        let err = std::process::Command::new(exe)
            .args([
                "run",
                &runbook,
                "--inventory",
                &inventory,
                "--journal",
                &journal,
            ])
            .exec();
        return Err(err.into());
    }
    Ok(())
}

/// The files of an offered wheel, as the driver runs them.
pub struct Offered {
    pub runbook: String,
    pub inventory: String,
    pub journal: String,
}

/// The answer to an offer of the wheel: what to tell this operator and what to send. A
/// yes is sent only when this process could drive the session (see
/// [`crate::session::takeover`]); otherwise the offer is declined with the reason.
pub fn take_wheel(yes: bool, files: &Offered) -> (String, Option<ToDriver>) {
    if !yes {
        return ("declined".into(), None);
    }
    // A driver of an older build sends no files: accept, as it did.
    if files.runbook.is_empty() {
        return ("taking the wheel…".into(), Some(ToDriver::Accept));
    }
    match crate::session::takeover::can_drive(
        Path::new(&files.runbook),
        Path::new(&files.inventory),
        Path::new(&files.journal),
    ) {
        Ok(()) => ("taking the wheel…".into(), Some(ToDriver::Accept)),
        Err(reason) => (
            format!("you cannot drive this session, so the offer is declined: {reason}"),
            Some(ToDriver::Decline { reason }),
        ),
    }
}

/// Sends one request (an approval or a note) and prints the driver's answer: for scripts,
/// and for a second operator who prefers a shell to a second cockpit. False when the
/// driver said no.
pub async fn once(target: &Path, request: ToDriver) -> Result<bool, AttachError> {
    let mut a = connect(target).await?;
    a.requests
        .send(request)
        .await
        .map_err(|_| AttachError::NoHello)?;
    let deadline = tokio::time::sleep(Duration::from_secs(10));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return Err(AttachError::Refused("no answer from the driver within 10 s".into())),
            msg = a.news.recv() => match msg {
                Some(ToObserver::Said { text }) if !text.is_empty() => {
                    println!("{text}");
                    return Ok(!text.starts_with("not approved"));
                }
                Some(_) => {}
                None => return Err(AttachError::NoHello),
            },
        }
    }
}

/// What an observer reads when the driver has gone.
pub fn disconnected_text(driver: &str, journal: &str) -> String {
    format!(
        " driver disconnected ({driver}) · last known state below · to take over: flightdeck \
         run RUNBOOK --inventory INV --journal {journal} (the lock rules apply) · q leaves"
    )
}
