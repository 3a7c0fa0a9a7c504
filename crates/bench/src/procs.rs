//! Child processes of the benchmark: spawning (always under the `exec` wrapper, see
//! `wrap.rs`), capturing their output lines with arrival times, bounded waits, stopping
//! with SIGTERM, and killing whatever is left when a [`Proc`] is dropped.
//!
//! Every wait is bounded by a deadline and also ends when Ctrl-C/SIGTERM reached the
//! benchmark (see [`install_interrupt_handler`]), so an error or an interrupt always
//! unwinds through the `Drop` impls that kill the children and remove the work directory.
//! All children are spawned from the main thread: the wrappers' parent-death signal is tied
//! to the thread that forked them.

use crate::wrap::{pid_path, ExecReport};
use anyhow::{anyhow, bail, Context};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Set once SIGINT/SIGTERM/SIGHUP reached the benchmark.
static INTERRUPTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The error returned by waits once the benchmark was interrupted.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Turns SIGINT/SIGTERM/SIGHUP into a flag that every wait checks.
pub fn install_interrupt_handler() -> anyhow::Result<()> {
    let flag = INTERRUPTED.get_or_init(|| Arc::new(AtomicBool::new(false)));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(sig, Arc::clone(flag)).context("signal handler")?;
    }
    Ok(())
}

/// Fails with [`Interrupted`] once the benchmark got a stop signal.
pub fn check_interrupted() -> anyhow::Result<()> {
    match INTERRUPTED.get() {
        Some(f) if f.load(Ordering::Relaxed) => Err(Interrupted.into()),
        _ => Ok(()),
    }
}

/// One line a child wrote, with the time the benchmark read it.
#[derive(Debug, Clone)]
pub struct Line {
    pub at: Instant,
    pub stderr: bool,
    pub text: String,
}

#[derive(Default)]
struct Capture {
    lines: Mutex<Vec<Line>>,
    more: Condvar,
}

impl Capture {
    fn push(&self, line: Line) {
        if let Ok(mut v) = self.lines.lock() {
            v.push(line);
        }
        self.more.notify_all();
    }

    fn snapshot(&self) -> Vec<Line> {
        self.lines.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Waits up to `d` for more than `seen` lines.
    fn wait_more(&self, seen: usize, d: Duration) {
        if let Ok(v) = self.lines.lock() {
            if v.len() <= seen {
                let _ = self.more.wait_timeout(v, d);
            }
        }
    }
}

fn read_lines(r: impl Read, stderr: bool, cap: Arc<Capture>) {
    let mut r = BufReader::new(r);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match r.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&buf).trim_end().to_string();
                cap.push(Line {
                    at: Instant::now(),
                    stderr,
                    text,
                });
            }
        }
    }
}

/// How a child ended, as its wrapper measured it.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// Spawn to exit of the real command (not the wrapper).
    pub wall: Duration,
    /// Peak resident set size of the command, KiB.
    pub maxrss_kib: u64,
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

impl Outcome {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    pub fn describe(&self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            _ => "unknown exit".into(),
        }
    }
}

/// Spawns wrapped children; knows this program's path and where the reports go.
pub struct Spawner {
    exe: PathBuf,
    dir: PathBuf,
    next: u32,
}

impl Spawner {
    pub fn new(dir: PathBuf) -> anyhow::Result<Spawner> {
        let exe = std::env::current_exe().context("cannot find this program's path")?;
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Spawner { exe, dir, next: 0 })
    }

    /// Starts `program args` under the wrapper, output captured line by line.
    pub fn spawn(&mut self, name: &str, program: &Path, args: &[OsString]) -> anyhow::Result<Proc> {
        check_interrupted()?;
        self.next += 1;
        let report = self.dir.join(format!("{:03}-{name}.report", self.next));
        let spawned = Instant::now();
        let mut child = Command::new(&self.exe)
            .arg("exec")
            .arg("--report")
            .arg(&report)
            .arg("--")
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {name} ({})", program.display()))?;
        let cap = Arc::new(Capture::default());
        if let Some(out) = child.stdout.take() {
            let c = Arc::clone(&cap);
            std::thread::spawn(move || read_lines(out, false, c));
        }
        if let Some(err) = child.stderr.take() {
            let c = Arc::clone(&cap);
            std::thread::spawn(move || read_lines(err, true, c));
        }
        Ok(Proc {
            name: name.to_string(),
            child,
            report,
            cap,
            spawned,
            done: None,
        })
    }
}

/// A running (or finished) wrapped child. Dropping it kills what is still running.
pub struct Proc {
    name: String,
    child: Child,
    report: PathBuf,
    cap: Arc<Capture>,
    pub spawned: Instant,
    done: Option<Outcome>,
}

impl Proc {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Everything the child wrote so far.
    pub fn lines(&self) -> Vec<Line> {
        self.cap.snapshot()
    }

    /// The last `n` lines, for error messages.
    pub fn tail(&self, n: usize) -> String {
        let lines = self.lines();
        let start = lines.len().saturating_sub(n);
        lines[start..]
            .iter()
            .map(|l| format!("    {}", l.text))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits for the first line (old or new) that `f` maps to `Some`, up to `timeout`.
    /// Fails if the child exits first.
    pub fn wait_for<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut(&Line) -> Option<T>,
    ) -> anyhow::Result<T> {
        let deadline = Instant::now() + timeout;
        let mut seen = 0;
        loop {
            let lines = self.cap.snapshot();
            for line in &lines[seen..] {
                if let Some(v) = f(line) {
                    return Ok(v);
                }
            }
            seen = lines.len();
            check_interrupted()?;
            if self.done.is_some() || self.try_exit()?.is_some() {
                // Let the readers drain the pipes before giving up.
                std::thread::sleep(Duration::from_millis(50));
                if self.cap.snapshot().len() > seen {
                    continue;
                }
                bail!(
                    "{} exited ({}) before {what}; last output:\n{}",
                    self.name,
                    self.done.map_or_else(String::new, |o| o.describe()),
                    self.tail(15)
                );
            }
            let now = Instant::now();
            if now >= deadline {
                bail!(
                    "timeout ({timeout:?}) waiting for {} to print {what}; last output:\n{}",
                    self.name,
                    self.tail(15)
                );
            }
            self.cap
                .wait_more(seen, (deadline - now).min(Duration::from_millis(20)));
        }
    }

    /// Waits up to `timeout` for the child to exit; kills it and fails on timeout.
    pub fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<Outcome> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(o) = self.try_exit()? {
                return Ok(o);
            }
            if let Err(e) = check_interrupted() {
                self.kill();
                return Err(e);
            }
            if Instant::now() >= deadline {
                self.kill();
                bail!(
                    "timeout ({timeout:?}): {} did not finish; last output:\n{}",
                    self.name,
                    self.tail(15)
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Sends SIGTERM (the wrapper passes it on) without waiting.
    pub fn terminate(&self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
    }

    /// SIGTERM, then waits up to `timeout` for the exit.
    pub fn stop(&mut self, timeout: Duration) -> anyhow::Result<Outcome> {
        if let Some(o) = self.done {
            return Ok(o);
        }
        self.terminate();
        self.wait_exit(timeout)
    }

    /// Polls for the exit; on exit reads the wrapper's report.
    fn try_exit(&mut self) -> anyhow::Result<Option<Outcome>> {
        if let Some(o) = self.done {
            return Ok(Some(o));
        }
        let Some(status) = self.child.try_wait().context("waiting for a child")? else {
            return Ok(None);
        };
        let o = self.outcome(status);
        self.done = Some(o);
        Ok(Some(o))
    }

    fn outcome(&self, status: ExitStatus) -> Outcome {
        use std::os::unix::process::ExitStatusExt;
        let text = std::fs::read_to_string(&self.report).unwrap_or_default();
        match ExecReport::parse(&text) {
            Some(r) => Outcome {
                wall: Duration::from_nanos(r.wall_ns),
                maxrss_kib: r.maxrss_kib,
                code: r.code,
                signal: r.signal,
            },
            // The wrapper itself died: fall back to what we saw from outside.
            None => Outcome {
                wall: self.spawned.elapsed(),
                maxrss_kib: 0,
                code: status.code().map(|_| -1),
                signal: status.signal(),
            },
        }
    }

    /// SIGTERM, a grace period of 3 s, then SIGKILL for the command and its wrapper.
    fn kill(&mut self) {
        if self.done.is_some() {
            return;
        }
        self.terminate();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if matches!(self.try_exit(), Ok(Some(_)) | Err(_)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(pid) = std::fs::read_to_string(pid_path(&self.report))
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.done = Some(Outcome {
            wall: self.spawned.elapsed(),
            maxrss_kib: 0,
            code: None,
            signal: Some(9),
        });
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Fails unless the child exited with status 0.
pub fn require_success(p: &Proc, o: &Outcome) -> anyhow::Result<()> {
    if o.success() {
        Ok(())
    } else {
        Err(anyhow!(
            "{} failed ({}); last output:\n{}",
            p.name(),
            o.describe(),
            p.tail(15)
        ))
    }
}
