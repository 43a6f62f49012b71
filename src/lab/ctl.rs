//! `lab ctl SERVER ACTION`: stop, start, restart, kill, upgrade one server; back up or restore
//! its my.cnf.

use std::time::Instant;

use super::endpoint::ENDPOINT;
use super::error::{LabError, Result, io};
use super::handle::Lab;
use super::instance::{self, START_TIMEOUT, STOP_TIMEOUT, Stopped};
use super::versions::{self, BuildSpec};

/// What `Lab::ctl` does to one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Clean shutdown: `SET GLOBAL innodb_fast_shutdown=0; SHUTDOWN`, SIGKILL after 120 s.
    Stop,
    /// Start on its recorded build and wait until it answers.
    Start,
    Restart,
    /// SIGKILL: a simulated crash.
    Kill,
    /// Clean shutdown, switch to the target build (default: the installed one), start,
    /// `mariadb-upgrade`, record the new version.
    Upgrade {
        to: Option<BuildSpec>,
    },
    /// Copy `DIR/serverK/my.cnf` to `DIR/backup/serverK.my.cnf`.
    BackupConfig,
    /// Copy it back (takes effect at the next start).
    RestoreConfig,
}

impl Lab {
    /// Performs `action` on `server`; returns a one-line account of what happened.
    /// `server` may be [`ENDPOINT`]: the endpoint process, which takes stop, start and restart.
    pub async fn ctl(&mut self, server: &str, action: Action) -> Result<String> {
        self.refresh()?;
        if server == ENDPOINT {
            return self.ctl_endpoint(action).await;
        }
        self.server(server)?;
        match action {
            Action::Stop => self.stop_server(server).await,
            Action::Start => self.start_server(server).await,
            Action::Restart => {
                let stopped = self.stop_server(server).await?;
                let started = self.start_server(server).await?;
                Ok(format!("{stopped}; {started}"))
            }
            Action::Kill => {
                if instance::kill(self.server(server)?).await? {
                    Ok(format!("{server} killed (SIGKILL)"))
                } else {
                    Ok(format!("{server} was not running"))
                }
            }
            Action::Upgrade { to } => {
                // Without --to: the lab's own target (`lab up --to`), else the installed build.
                let to = to.unwrap_or_else(|| {
                    self.state
                        .upgrade_to
                        .as_deref()
                        .and_then(|t| t.parse().ok())
                        .unwrap_or_default()
                });
                self.upgrade(server, to).await
            }
            Action::BackupConfig => self.backup_config(server, true),
            Action::RestoreConfig => self.backup_config(server, false),
        }
    }

    async fn stop_server(&mut self, name: &str) -> Result<String> {
        let root = self.root_password();
        let outcome = instance::stop(self.server(name)?, root.as_deref(), STOP_TIMEOUT).await?;
        self.state.server_mut(name)?.pid = None;
        self.state.save()?;
        Ok(match outcome {
            Stopped::WasDown => format!("{name} was not running"),
            Stopped::Clean => format!("{name} stopped cleanly (innodb_fast_shutdown=0)"),
            Stopped::Killed => format!(
                "{name} did not stop within {}s and was killed (SIGKILL)",
                STOP_TIMEOUT.as_secs()
            ),
        })
    }

    async fn start_server(&mut self, name: &str) -> Result<String> {
        if let Some(pid) = instance::running_pid(self.server(name)?) {
            return Ok(format!("{name} is already running (pid {pid})"));
        }
        let root = self.root_password();
        let pid = instance::start(self.server(name)?, START_TIMEOUT).await?;
        let version = instance::version(self.server(name)?, root.as_deref()).await?;
        let s = self.state.server_mut(name)?;
        s.pid = Some(pid);
        s.version = Some(version.clone());
        self.state.stopped_by_down = false;
        self.state.save()?;
        Ok(format!("{name} started (pid {pid}, {version})"))
    }

    async fn upgrade(&mut self, name: &str, to: BuildSpec) -> Result<String> {
        let quiet = self.quiet;
        let say = move |m: &str| {
            if !quiet {
                eprintln!("{m}");
            }
        };
        let target = versions::resolve(&to, &say).await?;
        let current = self.server(name)?.build.clone();
        if target.same_as(&current) {
            let stopped = self.stop_server(name).await?;
            let started = self.start_server(name).await?;
            return Ok(format!(
                "{name} already runs {} ({}): upgrading to the same build is a restart; \
                 {stopped}; {started}",
                target.mariadbd.display(),
                target.full_version
            ));
        }
        let begun = Instant::now();
        let before = self
            .server(name)?
            .version
            .clone()
            .unwrap_or(current.full_version.clone());
        self.say(&format!(
            "{name}: clean shutdown, then {} → {}",
            current.mariadbd.display(),
            target.mariadbd.display()
        ));
        self.stop_server(name).await?;
        self.state.server_mut(name)?.build = target;
        self.state.save()?;
        self.start_server(name).await?;
        let output = instance::run_upgrade(self.server(name)?).await?;
        let root = self.root_password();
        let after = instance::version(self.server(name)?, root.as_deref()).await?;
        self.state.server_mut(name)?.version = Some(after.clone());
        self.state.save()?;
        let note = output
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("(no output)");
        Ok(format!(
            "{name} upgraded: {before} → {after} in {:.1}s (mariadb-upgrade: {note})",
            begun.elapsed().as_secs_f64()
        ))
    }

    fn backup_config(&self, name: &str, backup: bool) -> Result<String> {
        let s = self.server(name)?;
        let dir = &self.state.backup_dir;
        std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
        let copy = dir.join(format!("{name}.my.cnf"));
        let (from, to) = if backup {
            (&s.cnf, &copy)
        } else {
            (&copy, &s.cnf)
        };
        if !from.exists() {
            return Err(LabError::Invalid(format!(
                "{name}: no backup at {} (run `lab ctl {name} backup-config` first)",
                from.display()
            )));
        }
        std::fs::copy(from, to).map_err(io(format!(
            "copying {} to {}",
            from.display(),
            to.display()
        )))?;
        Ok(if backup {
            format!("{name}: saved {} as {}", from.display(), to.display())
        } else {
            format!(
                "{name}: restored {} from {} (takes effect at the next start)",
                to.display(),
                from.display()
            )
        })
    }
}
