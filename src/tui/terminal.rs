//! Owning the terminal: raw mode and the alternate screen in, and always back out, also
//! when the program panics.

use std::io::{self, Stdout};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::execute;
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Enters the TUI; the guard restores the terminal when dropped.
pub fn enter() -> io::Result<(Term, TerminalGuard)> {
    enter_with(false)
}

/// Enters the TUI with bracketed paste (a pasted line arrives as one paste, never as
/// keys that could answer a question) and mouse reporting (the wheel scrolls; most
/// terminals still select text with Shift held).
pub fn enter_cockpit() -> io::Result<(Term, TerminalGuard)> {
    enter_with(true)
}

fn enter_with(paste_and_mouse: bool) -> io::Result<(Term, TerminalGuard)> {
    install_panic_hook();
    enable_raw_mode()?;
    let mut stdout = io::stdout();
    let entered = if paste_and_mouse {
        execute!(
            stdout,
            EnterAlternateScreen,
            EnableBracketedPaste,
            EnableMouseCapture
        )
    } else {
        execute!(stdout, EnterAlternateScreen)
    };
    if let Err(e) = entered {
        let _ = disable_raw_mode();
        return Err(e);
    }
    // A terminal left in the alternate screen (a cockpit killed with -9) is already there:
    // entering again does not clear it, and what was printed since (the lab's status)
    // would show through every blank cell of the first frames.
    if let Err(e) = execute!(stdout, Clear(ClearType::All)) {
        let _ = disable_raw_mode();
        return Err(e);
    }
    let term = Terminal::new(CrosstermBackend::new(stdout))?;
    Ok((term, TerminalGuard))
}

pub struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// A panic must not leave the operator's shell in raw mode with the message hidden.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        crate::session::crash::journal(&format!("cockpit crashed: {info}"));
        restore();
        previous(info);
    }));
}

/// Reads the terminal's events on a task of its own and sends each as a cockpit message
/// (keys, pastes, the wheel; a resize is a zero scroll, which redraws) until `tx` closes.
pub fn keyboard<T: Send + 'static>(
    tx: tokio::sync::mpsc::Sender<T>,
    wrap: fn(crate::tui::run::app::Msg) -> T,
) -> tokio::task::JoinHandle<()> {
    use crate::tui::run::app::Msg;
    use crossterm::event::{Event, EventStream, MouseEventKind};
    use futures::StreamExt;
    tokio::spawn(async move {
        let mut events = EventStream::new();
        while let Some(Ok(ev)) = events.next().await {
            let msg = match ev {
                Event::Key(k) => Msg::Key(k),
                Event::Paste(text) => Msg::Paste(text),
                Event::Mouse(m) => match m.kind {
                    MouseEventKind::ScrollDown => Msg::Scroll(3),
                    MouseEventKind::ScrollUp => Msg::Scroll(-3),
                    _ => continue,
                },
                Event::Resize(..) => Msg::Scroll(0),
                _ => continue,
            };
            if tx.send(wrap(msg)).await.is_err() {
                break;
            }
        }
    })
}
