//! Everything a screen shows about a session, computed once per change by the session
//! and never by the screen: each step's state, what it acts on, the exact masked command
//! (or what was sent), its gates with their live values, why it cannot run now, what a
//! confirmation must say. Serializable, so a second operator's screen can be fed the same.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::exec::job::{JobContext, jobs};
use crate::runbook::eval::Evaluation;
use crate::runbook::model::MaxscaleAction;
use crate::runbook::roles::RoleMap;
use crate::runbook::template::{Escape, Reveal};
use crate::runbook::{Action, Step};
use crate::session::core::{Core, ShownCommand};
use crate::session::journal::Stream;
use crate::session::run::{APPROVAL_GATE, Refusal, StepState};
use crate::session::summary::Summary;

/// Output lines a step's view carries at most (the newest; the journal holds them all).
pub const OUTPUT_SHOWN: usize = 200;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SessionView {
    pub runbook: String,
    pub phases: Vec<PhaseView>,
    pub steps: Vec<StepView>,
    /// Index of the first step not finished: where the run stands.
    pub current: Option<usize>,
    /// The id of the running step.
    pub running: Option<String>,
    pub completed: bool,
    pub summary: Option<Summary>,
    pub primary: Option<String>,
    pub notices: Vec<String>,
    /// Why the journal cannot be written, while it cannot: no step starts meanwhile.
    pub journal_broken: Option<String>,
    /// Who drives, who else is attached, and where they attach.
    pub driver: String,
    pub attached: Vec<String>,
    pub socket: Option<String>,
    /// The journal's path, as the driver opened it.
    #[serde(default)]
    pub journal: String,
    /// The operators' notes, newest last (at most [`NOTES_SHOWN`]).
    pub notes: Vec<(String, String)>,
    /// The write-availability probe, while a probed step runs.
    #[serde(default)]
    pub probe: Option<ProbeView>,
    /// What the last probe of this process measured, as one line.
    #[serde(default)]
    pub last_probe: Option<String>,
}

/// The probe report the header names: the last one, unless the one before it found writes
/// unavailable and the last found nothing. A switchover is probed together with the wait
/// after it, and the wait's "available throughout" must not hide what the switchover cost.
fn shown_probe(
    probed: &[crate::session::journal::ProbeReport],
) -> Option<&crate::session::journal::ProbeReport> {
    let hurt = |r: &&crate::session::journal::ProbeReport| {
        r.writes_failed > 0 || r.write_unavailable_s > 0.0
    };
    probed.iter().rev().take(2).find(hurt).or(probed.last())
}

/// The write-availability probe as the header shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProbeView {
    pub router: String,
    pub writes_ok: u64,
    pub writes_failed: u64,
    /// How long writes (reads) have failed, while they do.
    pub writes_failing_for: Option<std::time::Duration>,
    pub reads_failing_for: Option<std::time::Duration>,
    pub last_error: Option<String>,
}

impl ProbeView {
    fn of(p: &crate::exec::probe::ProbeStatus, now: SystemTime) -> Self {
        let since =
            |at: Option<SystemTime>| at.map(|at| now.duration_since(at).unwrap_or_default());
        ProbeView {
            router: p.router.clone(),
            writes_ok: p.writes_ok,
            writes_failed: p.writes_failed,
            writes_failing_for: since(p.writes_failing_since),
            reads_failing_for: since(p.reads_failing_since),
            last_error: p.last_error.clone(),
        }
    }
}

/// One repetition of a `for_each` phase, as the checklist shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepetitionView {
    pub member: String,
    pub index: usize,
    pub count: usize,
    pub title: String,
}

/// Notes a view carries at most.
pub const NOTES_SHOWN: usize = 20;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PhaseView {
    pub title: String,
    /// A repetition of a `for_each` phase: its member, which of how many, and the title
    /// without the member (the checklist puts the member first, where 80 columns keep it).
    #[serde(default)]
    pub repetition: Option<RepetitionView>,
    /// Steps `first..first + len` of [`SessionView::steps`].
    pub first: usize,
    pub len: usize,
    pub finished: usize,
    pub skipped: usize,
    pub overridden: usize,
    pub verified: usize,
}

/// Where a step stands, with "ready" and "blocked" derived from order and gates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    Pending,
    Ready,
    Blocked,
    Running {
        since: SystemTime,
        progress: Option<String>,
    },
    Succeeded {
        detail: String,
    },
    Failed {
        detail: String,
    },
    Skipped {
        reason: String,
    },
    Unknown,
}

impl Status {
    pub fn is_finished(&self) -> bool {
        matches!(self, Status::Succeeded { .. } | Status::Skipped { .. })
    }
}

/// Writes move from one server to another (a switchover).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Direction {
    pub from: String,
    pub to: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Judged {
    pub condition: String,
    pub holds: bool,
    pub observed: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NoteView {
    pub label: String,
    pub warning: bool,
    pub text: String,
}

/// Why a step cannot run now, for the screen to say (and to offer an override).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Blocked {
    pub message: String,
    /// Failed gates (an override may run it anyway).
    pub gates: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepView {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub phase: usize,
    pub status: Status,
    pub attempts: u32,
    pub destructive: bool,
    pub target: Option<String>,
    pub servers: Vec<String>,
    /// Resolved when it first started, not from the roles as they are now.
    pub frozen: bool,
    /// The masked lines it sends (or would send), or why they cannot be resolved.
    pub command: Result<Vec<String>, String>,
    /// What the latest attempt sent, as journaled.
    pub sent: Option<String>,
    pub direction: Option<Direction>,
    /// For a switchover of unknown outcome: who is primary now against its aim.
    pub verdict: Option<String>,
    /// A pending check's or wait's condition, judged now.
    pub condition_now: Option<Judged>,
    pub gates: Vec<Judged>,
    /// Why it cannot run now; `None` when it can.
    pub blocked: Option<Blocked>,
    /// What a destructive step asks to type, or why it cannot be known.
    pub confirm_name: Result<String, String>,
    /// What a confirmation to run it says.
    pub confirm: Vec<String>,
    pub why: Option<String>,
    pub notes: Vec<NoteView>,
    pub rollback: Option<String>,
    /// In a runbook that extends another: the base's step this one replaces.
    #[serde(default)]
    pub replaces: Option<String>,
    pub overridden: Option<String>,
    pub verified: Option<String>,
    pub output: Vec<(Stream, String)>,
    pub output_dropped: usize,
}

impl SessionView {
    pub fn of(core: &Core, now: SystemTime) -> Self {
        let run = &core.run;
        let mut steps = Vec::new();
        let mut phases = Vec::new();
        for (pi, phase) in run.runbook.phases.iter().enumerate() {
            let first = steps.len();
            for step in &phase.steps {
                steps.push(step_view(core, step, pi, now));
            }
            let of = |f: &dyn Fn(&StepView) -> bool| steps[first..].iter().filter(|s| f(s)).count();
            phases.push(PhaseView {
                title: phase.title.clone(),
                repetition: phase.repetition.as_ref().map(|r| RepetitionView {
                    member: r.member.clone(),
                    index: r.index,
                    count: r.count,
                    title: r.title.clone(),
                }),
                first,
                len: phase.steps.len(),
                finished: of(&|s| s.status.is_finished()),
                skipped: of(&|s| matches!(s.status, Status::Skipped { .. })),
                overridden: of(&|s| s.overridden.is_some()),
                verified: of(&|s| s.verified.is_some()),
            });
        }
        let current = steps.iter().position(|s| !s.status.is_finished());
        let summary = run
            .completed
            .then(|| Summary::of(run, core.began, core.completed_at.unwrap_or(now)));
        SessionView {
            runbook: run.runbook.meta.name.clone(),
            phases,
            steps,
            current,
            running: run.running().map(str::to_string),
            completed: run.completed,
            summary,
            primary: core.roles.primary.clone(),
            notices: core.notices.clone(),
            journal_broken: None,
            driver: String::new(),
            attached: core.attached.clone(),
            socket: None,
            journal: String::new(),
            notes: core.notes[core.notes.len().saturating_sub(NOTES_SHOWN)..].to_vec(),
            probe: core.probe.as_ref().map(|p| ProbeView::of(p, now)),
            last_probe: shown_probe(&core.probed).map(|r| format!("{}: {}", r.step, r.short())),
        }
    }

    pub fn step(&self, id: &str) -> Option<&StepView> {
        self.steps.iter().find(|s| s.id == id)
    }
}

/// A step's gates with their live values, and its four-eyes approval as one more gate.
fn gates(core: &Core, step: &Step) -> Vec<Judged> {
    let mut gates: Vec<Judged> = core.gates(step).into_iter().map(judged).collect();
    if step.second_approval {
        let by = core.run.approved.get(&step.id.value);
        let observed = match (by, core.attached.as_slice()) {
            (Some(who), _) => format!("✔ approved by {who}"),
            (None, []) => "✘ waiting for a second operator: none is attached".to_string(),
            (None, who) => format!("✘ waiting for an approval from {}", who.join(", ")),
        };
        gates.push(Judged {
            condition: APPROVAL_GATE.to_string(),
            holds: by.is_some(),
            observed: vec![observed],
        });
    }
    gates
}

fn judged((condition, e): (String, Evaluation)) -> Judged {
    Judged {
        condition,
        holds: e.holds,
        observed: e.observed,
    }
}

fn step_view(core: &Core, step: &Step, phase: usize, now: SystemTime) -> StepView {
    let id = step.id.value.as_str();
    let run = &core.run;
    let state = run.state(id);
    let blocked = match state {
        StepState::Pending | StepState::Failed { .. } | StepState::Unknown => {
            core.may_run(step).err().map(|r| Blocked {
                message: refusal_hint(&r),
                gates: match r {
                    Refusal::Gates(g) => g,
                    _ => Vec::new(),
                },
            })
        }
        _ => None,
    };
    let status = match state {
        StepState::Pending => match &blocked {
            None => Status::Ready,
            Some(b) if !b.gates.is_empty() => Status::Blocked,
            Some(_) => Status::Pending,
        },
        StepState::Running {
            started, progress, ..
        } => Status::Running {
            since: now.checked_sub(started.elapsed()).unwrap_or(now),
            progress: progress.clone(),
        },
        StepState::Succeeded { detail } => Status::Succeeded {
            detail: detail.clone(),
        },
        StepState::Failed { detail } => Status::Failed {
            detail: detail.clone(),
        },
        StepState::Skipped { reason } => Status::Skipped {
            reason: reason.clone(),
        },
        StepState::Unknown => Status::Unknown,
    };
    let d = describe(core, step);
    let condition_now = (state == &StepState::Pending)
        .then(|| core.condition_now(step))
        .flatten()
        .map(|e| judged((String::new(), e)));
    let output = core.output.get(id).map_or(&[][..], Vec::as_slice);
    let skip = output.len().saturating_sub(OUTPUT_SHOWN);
    let verdict = (state == &StepState::Unknown)
        .then(|| unknown_switchover(core, &d))
        .flatten();
    let mut view = StepView {
        id: id.to_string(),
        title: step.title.clone(),
        kind: step.action.kind().to_string(),
        phase,
        status,
        attempts: run.attempts(id),
        destructive: step.destructive,
        target: step.target.as_ref().map(|t| t.value.clone()),
        servers: d.servers,
        frozen: d.frozen,
        command: d.command,
        sent: d.sent,
        direction: d.direction,
        verdict,
        condition_now,
        gates: gates(core, step),
        blocked,
        confirm_name: core.confirm_name(step).map_err(|r| r.to_string()),
        confirm: Vec::new(),
        why: step.why.as_ref().map(|w| w.trim().to_string()),
        notes: step
            .notes
            .iter()
            .map(|n| NoteView {
                label: n.kind.label().to_string(),
                warning: n.kind == crate::runbook::NoteKind::Warning,
                text: n.text.trim().to_string(),
            })
            .collect(),
        rollback: step.rollback.as_ref().map(|r| r.trim().to_string()),
        replaces: step.overridden.as_ref().map(ToString::to_string),
        overridden: run.overrides.get(id).cloned(),
        verified: run.verified.get(id).cloned(),
        output: output[skip..].to_vec(),
        output_dropped: skip,
    };
    view.confirm = confirm_lines(&view);
    view
}

/// A step resolved for showing.
struct Described {
    servers: Vec<String>,
    command: Result<Vec<String>, String>,
    direction: Option<Direction>,
    frozen: bool,
    sent: Option<String>,
}

fn describe(core: &Core, step: &Step) -> Described {
    let roles = core.roles_for(step);
    let facts = core.facts(&roles);
    let resolved = core.run.resolved.get(&step.id.value);
    let servers = core.run.servers(step, &facts).unwrap_or_default();
    let command = shown_command(core, step, &roles, &servers);
    let direction = match &step.action {
        Action::Maxscale(MaxscaleAction::Switchover {
            new_primary,
            old_primary,
        }) => match (
            roles.resolve_one(&old_primary.value),
            roles.resolve_one(&new_primary.value),
        ) {
            (Ok(from), Ok(to)) => Some(Direction { from, to }),
            _ => None,
        },
        _ => None,
    };
    Described {
        servers,
        command,
        direction,
        frozen: resolved.is_some(),
        sent: resolved.and_then(|r| r.sent.clone()),
    }
}

/// The step's command as shown, from the cache while its roles and servers hold.
fn shown_command(
    core: &Core,
    step: &Step,
    roles: &RoleMap,
    servers: &[String],
) -> Result<Vec<String>, String> {
    let id = &step.id.value;
    // A poisoned lock only means a panic while rendering; render again without the cache.
    let mut cache = core.shown.lock().ok();
    if let Some(hit) = cache.as_ref().and_then(|c| c.get(id))
        && hit.roles == *roles
        && hit.servers == servers
    {
        return hit.command.clone();
    }
    let command = render_command(core, step, roles, servers);
    if let Some(c) = cache.as_mut() {
        c.insert(
            id.clone(),
            ShownCommand {
                roles: roles.clone(),
                servers: servers.to_vec(),
                command: command.clone(),
            },
        );
    }
    command
}

fn render_command(
    core: &Core,
    step: &Step,
    roles: &RoleMap,
    servers: &[String],
) -> Result<Vec<String>, String> {
    let no_secrets = Default::default();
    let mut ctx = JobContext {
        vars: &core.vars,
        secrets: &no_secrets,
        inventory: &core.inventory,
        roles,
        target: None,
        reveal: Reveal::Masked,
    };
    match &step.action {
        Action::Wait { until, .. } => Ok(vec![format!("wait until: {until}")]),
        Action::Check { condition } => Ok(vec![format!("must hold: {condition}")]),
        Action::Manual {
            instructions,
            command,
        } => {
            let mut lines = vec![format!("by hand: {}", instructions.trim())];
            if let Some(c) = command {
                for server in servers
                    .iter()
                    .map(Some)
                    .chain(servers.is_empty().then_some(None))
                {
                    ctx.target = server.cloned();
                    match c.render(&ctx, Escape::Shell, Reveal::Masked) {
                        Ok(text) => {
                            let on = server.map_or(String::new(), |s| format!(" (on {s})"));
                            lines.push(format!("command{on}:"));
                            lines.extend(text.lines().map(|l| format!("  {l}")));
                        }
                        Err(e) => lines.push(format!("cannot resolve the command: {e}")),
                    }
                }
            }
            Ok(lines)
        }
        Action::Note { text } => Ok(vec![text.trim().to_string()]),
        _ => jobs(step, servers, &mut ctx).map(|js| {
            js.iter()
                .flat_map(|j| j.shown().lines().map(str::to_string).collect::<Vec<_>>())
                .collect()
        }),
    }
}

/// For a switchover whose outcome is unknown: who is primary now against who the step was
/// meant to make primary, and what that means.
fn unknown_switchover(core: &Core, d: &Described) -> Option<String> {
    let d = d.direction.as_ref()?;
    Some(match core.dash.primary() {
        Some(p) if p == d.to => format!(
            "meant to make {} primary; {p} is primary now: the switchover evidently completed. \
             Check, then mark it verified done (v); a re-run would only repeat the same request.",
            d.to
        ),
        Some(p) if p == d.from => format!(
            "meant to make {} primary; {p} is still primary: the switchover evidently did not \
             complete. Enter repeats the same request ({} → {}).",
            d.to, d.from, d.to
        ),
        Some(p) => format!(
            "meant to make {} primary; {p} is primary now: neither side of the request. \
             Find out what happened before going on.",
            d.to
        ),
        // No primary, with live servers: a switchover that stopped halfway (MaxScale died
        // after setting read_only on the old primary) leaves writes going nowhere. Who is
        // writable per `read_only` is said beside what MaxScale says.
        None if core.dash.servers.iter().any(|s| s.live().is_some()) => {
            let writable: Vec<&str> = core
                .dash
                .servers
                .iter()
                .filter(|s| s.live().is_some_and(|i| !i.read_only))
                .map(|s| s.server.as_str())
                .collect();
            let servers = if writable.is_empty() {
                "no live server is writable now".to_owned()
            } else {
                format!("{} writable per read_only", writable.join(", "))
            };
            let maxscale = match core.dash.maxscale.as_ref() {
                Some(m) if m.error.is_some() => " and MaxScale does not answer",
                Some(m) if m.polled => " and MaxScale names no primary",
                _ => "",
            };
            format!(
                "meant to make {} primary; {servers}{maxscale}: writes go nowhere. Repair \
                 that first (the rollback below says how), then verify (v) or re-run.",
                d.to
            )
        }
        None => format!(
            "meant to make {} primary; no primary is known now: wait for the panes, then decide.",
            d.to
        ),
    })
}

/// The confirmation's text: what runs, where, and (for a switchover) where writes go.
fn confirm_lines(s: &StepView) -> Vec<String> {
    let mut lines = vec![format!("Run {} — {}?", s.id, s.title)];
    if let Some(dir) = &s.direction {
        lines.push(format!("Writes move from {} to {}.", dir.from, dir.to));
    }
    if !s.servers.is_empty() {
        lines.push(format!("On: {}", s.servers.join(", ")));
    }
    if s.status == Status::Unknown {
        lines.push("Its outcome is unknown: this repeats the first request.".into());
        lines.extend(s.verdict.clone());
    }
    match &s.command {
        Ok(cmd) => lines.extend(cmd.iter().map(|l| format!("  {l}"))),
        Err(e) => lines.push(format!("cannot resolve: {e}")),
    }
    lines
}

pub fn refusal_hint(r: &Refusal) -> String {
    match r {
        Refusal::Gates(_) => format!("{r} — o overrides with a typed justification"),
        _ => r.to_string(),
    }
}
