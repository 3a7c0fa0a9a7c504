//! [`Proc`]: a child process guard. Output goes to files under the scratch `logs/`
//! directory (no pipes to fill up); the process runs in its own process group and the
//! whole group is terminated, then killed, when the guard is dropped.

use std::fs::File;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::{Scratch, TIMEOUT};

pub struct Proc {
    pub name: String,
    child: Child,
    out: PathBuf,
    err: PathBuf,
    status: Option<ExitStatus>,
}

impl Proc {
    /// Spawns `cmd` with stdin closed and stdout/stderr in `logs/NAME.out|.err`.
    pub fn spawn(s: &Scratch, name: &str, mut cmd: Command) -> Proc {
        let out = s.log_dir().join(format!("{name}.out"));
        let err = s.log_dir().join(format!("{name}.err"));
        let desc = format!("{cmd:?}");
        std::fs::write(s.log_dir().join(format!("{name}.cmd")), &desc).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(File::create(&out).unwrap())
            .stderr(File::create(&err).unwrap())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {desc}: {e}"));
        Proc {
            name: name.to_string(),
            child,
            out,
            err,
            status: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything written to stdout so far (`\r` progress lines turned into lines).
    pub fn stdout(&self) -> String {
        read_text(&self.out)
    }

    pub fn stderr(&self) -> String {
        read_text(&self.err)
    }

    /// The exit status if the process has ended.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().unwrap();
        }
        self.status
    }

    pub fn is_running(&mut self) -> bool {
        self.try_status().is_none()
    }

    /// Waits for the first stdout line starting with `prefix` and returns it. Panics on
    /// timeout or if the process exits first.
    pub fn wait_line(&mut self, prefix: &str, timeout: Duration) -> String {
        let mut found = None;
        self.wait_output(
            &format!("a stdout line starting with {prefix:?}"),
            timeout,
            |p| {
                found = p
                    .stdout()
                    .lines()
                    .find(|l| l.starts_with(prefix))
                    .map(str::to_string);
                found.is_some()
            },
        );
        found.unwrap()
    }

    /// Waits until `needle` appears in stdout or stderr.
    pub fn wait_text(&mut self, needle: &str, timeout: Duration) {
        self.wait_output(&format!("{needle:?} in its output"), timeout, |p| {
            p.stdout().contains(needle) || p.stderr().contains(needle)
        });
    }

    fn wait_output(&mut self, what: &str, timeout: Duration, mut cond: impl FnMut(&Self) -> bool) {
        let start = Instant::now();
        loop {
            if cond(self) {
                return;
            }
            if let Some(st) = self.try_status() {
                // One last look: the output may have landed just before exit.
                if cond(self) {
                    return;
                }
                panic!("{} exited ({st}) before {what}", self.name);
            }
            if start.elapsed() > timeout {
                panic!(
                    "{}: timed out after {timeout:?} waiting for {what}",
                    self.name
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Reads the `listening on IP:PORT` line (shoal and the libtorrent helpers print it)
    /// and returns the port.
    pub fn listen_port(&mut self) -> u16 {
        let line = self.wait_line("listening on ", Duration::from_secs(30));
        let port = line
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse::<u16>().ok());
        match port {
            Some(p) if p != 0 => p,
            _ => panic!("{}: bad listening line {line:?}", self.name),
        }
    }

    /// Waits for the process to exit; panics after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(st) = self.try_status() {
                return st;
            }
            if start.elapsed() > timeout {
                panic!("{}: still running after {timeout:?}", self.name);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits (up to [`TIMEOUT`]) and asserts a zero exit status.
    pub fn expect_success(&mut self) {
        let st = self.wait_exit(TIMEOUT);
        assert!(st.success(), "{} failed: {st}", self.name);
    }

    /// Sends `sig` (a `kill -s` name such as `INT`, `TERM`) to the process only.
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args(["-s", sig, &self.pid().to_string()])
            .status();
    }

    /// Asks the process to stop with `sig` and asserts that it exits by itself with
    /// status 0 within `timeout` (a clean shutdown, not death by the signal).
    pub fn expect_clean_stop(&mut self, sig: &str, timeout: Duration) {
        if let Some(st) = self.try_status() {
            panic!("{} exited before SIG{sig}: {st}", self.name);
        }
        self.signal(sig);
        let st = self.wait_exit(timeout);
        assert!(
            st.success(),
            "{} did not stop cleanly on SIG{sig}: {st} (signal {:?})",
            self.name,
            st.signal()
        );
    }

    /// Terminates the whole process group: SIGTERM, up to 3 s grace, then SIGKILL.
    pub fn stop(&mut self) {
        if self.is_running() {
            kill_group(self.pid(), "TERM");
            let start = Instant::now();
            while self.is_running() && start.elapsed() < Duration::from_secs(3) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // Leftover group members (forks) go too; the leader may already be gone.
        kill_group(self.pid(), "KILL");
        if self.is_running() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

fn kill_group(pgid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args(["-s", sig, "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

fn read_text(p: &PathBuf) -> String {
    String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).replace('\r', "\n")
}
