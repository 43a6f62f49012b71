//! A throwaway sshd on 127.0.0.1 for the host executor's tests: its own keys, configs and
//! known_hosts in a tempdir, so the user's `~/.ssh` is never read or written.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::PATIENCE;

const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    child: Child,
    dir: TempDir,
    pub port: u16,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn run_ok(cmd: &mut Command) {
    let status = cmd.status().expect("spawn helper");
    assert!(status.success(), "{cmd:?} failed: {status}");
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

impl Sshd {
    fn start() -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: apt-get install -y openssh-server (scripts/setup does)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let p = |name: &str| dir.path().join(name);
        for key in ["host_key", "client_key", "stranger_key"] {
            run_ok(
                Command::new("ssh-keygen")
                    .args(["-q", "-t", "ed25519", "-N", "", "-C", key])
                    .arg("-f")
                    .arg(p(key)),
            );
        }
        std::fs::copy(p("client_key.pub"), p("authorized_keys")).expect("authorized_keys");
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let port = free_port();
        let base = format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {}\nAuthorizedKeysFile {}\nPidFile {}\n\
             StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nUsePAM no\n\
             MaxSessions 32\nMaxStartups 64\nLogLevel VERBOSE\n",
            p("host_key").display(),
            p("authorized_keys").display(),
            p("sshd.pid").display(),
        );
        // Newer sshd throttles a source after failed logins; the auth test fails on purpose.
        let config = p("sshd_config");
        std::fs::write(&config, format!("{base}PerSourcePenalties no\n")).expect("sshd_config");
        let valid = Command::new(SSHD)
            .arg("-t")
            .arg("-f")
            .arg(&config)
            .stderr(Stdio::null())
            .status();
        if !valid.is_ok_and(|s| s.success()) {
            std::fs::write(&config, &base).expect("sshd_config");
        }
        let log = std::fs::File::create(p("sshd.log")).expect("sshd.log");
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start sshd");
        let mut sshd = Sshd { child, dir, port };
        sshd.wait_for_banner();
        sshd.write_client_files();
        sshd
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("sshd.log")).unwrap_or_default()
    }

    fn wait_for_banner(&mut self) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("sshd exited ({status}):\n{}", self.log());
            }
            if let Ok(mut conn) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let mut banner = [0u8; 8];
                if conn.read_exact(&mut banner).is_ok() && banner.starts_with(b"SSH-2.0") {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "sshd never answered:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// known_hosts with the server's key, and ssh configs for a good and a refused client.
    fn write_client_files(&self) {
        let host_pub = std::fs::read_to_string(self.path("host_key.pub")).expect("host key");
        let key: Vec<&str> = host_pub.split_whitespace().take(2).collect();
        let known = format!("[127.0.0.1]:{} {}\n", self.port, key.join(" "));
        std::fs::write(self.path("known_hosts"), known).expect("known_hosts");
        std::fs::write(self.path("empty_known_hosts"), "").expect("empty known_hosts");
        let config = |identity: &str, known_hosts: &str| {
            format!(
                "Host *\n  IdentityFile {}\n  IdentitiesOnly yes\n  IdentityAgent none\n  \
                 UserKnownHostsFile {}\n  GlobalKnownHostsFile /dev/null\n  \
                 StrictHostKeyChecking yes\n  BatchMode yes\n  LogLevel ERROR\n",
                self.path(identity).display(),
                self.path(known_hosts).display(),
            )
        };
        let write = |name: &str, text: String| std::fs::write(self.path(name), text).expect(name);
        write("client_config", config("client_key", "known_hosts"));
        write("stranger_config", config("stranger_key", "known_hosts"));
        write(
            "unknown_host_config",
            config("client_key", "empty_known_hosts"),
        );
    }
}

/// One sshd for the tests running at the same time; it stops when the last one drops it.
pub fn sshd() -> Arc<Sshd> {
    static SHARED: Mutex<Weak<Sshd>> = Mutex::new(Weak::new());
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(sshd) = shared.upgrade() {
        return sshd;
    }
    let sshd = Arc::new(Sshd::start());
    *shared = Arc::downgrade(&sshd);
    sshd
}
