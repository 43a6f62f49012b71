//! The cockpit without a terminal or servers: a session [`Core`] fed by hand and the
//! cockpit's own state, wired as the real loop wires them (a key becomes at most one
//! command; a refusal becomes the message; the screen is drawn from the published view).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flightdeck::inventory;
use flightdeck::runbook::{self, roles::RoleMap};
use flightdeck::session::core::Core;
use flightdeck::session::live::Dashboard;
use flightdeck::session::run::{Effect, Run, StepState};
use flightdeck::session::view::{SessionView, StepView, refusal_hint};
use flightdeck::tui::run::app::{Request, RunApp};
use flightdeck::tui::run::view::{ViewContext, view};
use flightdeck::tui::theme::Theme;

pub struct Screen {
    pub core: Core,
    pub app: RunApp,
    pub view: SessionView,
}

impl Screen {
    /// The seed runbook on the loopback copy of the example inventory, with `dash` live.
    pub fn seed(dash: Dashboard) -> Screen {
        Screen::open(
            "runbooks/mariadb-10.5-to-11.4-maxscale.toml",
            "tests/fixtures/pair.toml",
            dash,
        )
    }

    /// `runbook` against `inventory` (expanded as `run` expands it), with `dash` live.
    pub fn open(runbook: &str, inventory: &str, dash: Dashboard) -> Screen {
        let inv = inventory::load_file(Path::new(inventory)).expect("inventory");
        let loaded = runbook::load_checked(Path::new(runbook), Some(&inv)).expect("runbook");
        let mut vars = loaded.runbook.vars.clone();
        vars.extend(inv.vars.clone());
        let roles = RoleMap::from_inventory(&inv, &loaded.runbook.pins);
        let core = Core::new(
            Run::new(loaded.runbook.clone()),
            Dashboard::new(&[], Duration::from_millis(250), Duration::from_secs(1)),
            roles,
            Arc::new(inv),
            vars,
        );
        let view = SessionView::of(&core, SystemTime::now());
        let mut screen = Screen {
            app: RunApp::new(&view),
            core,
            view,
        };
        screen.live(dash);
        screen
    }

    /// The snapshots of `dash` arrive as the pollers would send them, so roles follow.
    pub fn live(&mut self, dash: Dashboard) {
        let now = Instant::now();
        let (snaps, maxscale) = (dash.servers.clone(), dash.maxscale.clone());
        self.core.dash = dash;
        for snap in snaps {
            self.core.server(snap, now);
        }
        if let Some(m) = maxscale {
            self.core.maxscale(m, now);
        }
        self.refresh(now);
    }

    /// Publishes the session's view to the cockpit, as the loop does each frame.
    pub fn refresh(&mut self, now: Instant) {
        self.view = SessionView::of(&self.core, SystemTime::now());
        self.app.observe(&self.view, now);
    }

    /// As if every step before `id` had succeeded (a resumed journal restores them so),
    /// with the cursor on `id`.
    pub fn at_step(&mut self, id: &str) {
        let ids: Vec<String> = self.view.steps.iter().map(|s| s.id.clone()).collect();
        for s in &ids {
            if s == id {
                break;
            }
            let done = StepState::Succeeded {
                detail: String::new(),
            };
            self.core.run.restore(s, done, 1);
        }
        self.refresh(Instant::now());
        // As seen when the cockpit opens on a resumed journal: nothing moved under the
        // operator's eyes.
        self.app.guard_until = None;
        self.app.selected = ids.iter().position(|s| s == id).expect("step");
        self.app.detail_scroll = 0;
    }

    pub fn selected(&self) -> &StepView {
        self.app
            .selected_step(&self.view)
            .expect("a step is selected")
    }

    /// A key event; returns the effects of the command it gave, if any.
    pub fn event(&mut self, k: KeyEvent, now: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        match self.app.key(k, &self.view, now) {
            Some(Request::Session(cmd)) => match self.core.command(cmd, now) {
                Ok(e) => effects = e,
                Err(r) => self.app.message = Some(refusal_hint(&r)),
            },
            Some(Request::Note(text)) => self.core.notes.push(("tester".into(), text)),
            Some(Request::Approve { .. } | Request::HandOver) | None => {}
        }
        self.refresh(now);
        effects
    }

    pub fn press(&mut self, code: KeyCode, now: Instant) -> Vec<Effect> {
        self.event(KeyEvent::new(code, KeyModifiers::NONE), now)
    }

    pub fn type_text(&mut self, text: &str, now: Instant) -> Vec<Effect> {
        text.chars()
            .flat_map(|c| self.press(KeyCode::Char(c), now))
            .collect()
    }

    pub fn paste(&mut self, text: &str, now: Instant) {
        self.app.paste(text);
        self.refresh(now);
    }

    /// The screen 100 ms after the newest snapshot, so ages in snapshots are always the same.
    pub fn draw(&self, w: u16, h: u16) -> String {
        let ctx = ViewContext {
            theme: Theme::PLAIN,
        };
        let newest = self.core.dash.servers.iter().map(|s| s.taken_at).max();
        let now = newest.map_or_else(Instant::now, |t| t + Duration::from_millis(100));
        super::draw(w, h, |f| {
            view(&self.app, &self.view, &self.core.dash, &ctx, f, now)
        })
    }
}
