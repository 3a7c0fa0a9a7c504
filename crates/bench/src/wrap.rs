//! `shoal-bench exec`: the small wrapper every benchmarked process runs under.
//!
//! It spawns the command (stdio inherited), waits for it, and then writes a report file
//! with the command's wall time (spawn to exit, measured here so the wrapper's own start-up
//! is not counted) and its peak RSS. The peak RSS comes from `getrusage(RUSAGE_CHILDREN)`:
//! the wrapper has exactly one child, so that is the kernel's own high-water mark of that
//! process (`ru_maxrss`, KiB), exact and unaffected by polling gaps.
//!
//! SIGTERM/SIGINT/SIGHUP sent to the wrapper are passed on to the child, and the wrapper
//! asks the kernel for a SIGTERM when the benchmark process dies (`PR_SET_PDEATHSIG`), so
//! no child outlives a crashed benchmark. The child's pid goes to `REPORT.pid` so the
//! benchmark can SIGKILL it directly as a last resort.

use crate::cli::ExecArgs;
use anyhow::{bail, Context};
use nix::sys::resource::{getrusage, UsageWho};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

/// What the wrapper writes when its command has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecReport {
    pub wall_ns: u64,
    pub maxrss_kib: u64,
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

impl ExecReport {
    pub fn to_text(self) -> String {
        let opt = |v: Option<i32>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
        format!(
            "wall_ns={}\nmaxrss_kib={}\ncode={}\nsignal={}\n",
            self.wall_ns,
            self.maxrss_kib,
            opt(self.code),
            opt(self.signal)
        )
    }

    pub fn parse(text: &str) -> Option<ExecReport> {
        let mut r = ExecReport {
            wall_ns: 0,
            maxrss_kib: 0,
            code: None,
            signal: None,
        };
        let mut seen = 0;
        for line in text.lines() {
            let (k, v) = line.split_once('=')?;
            match k {
                "wall_ns" => r.wall_ns = v.parse().ok()?,
                "maxrss_kib" => r.maxrss_kib = v.parse().ok()?,
                "code" => r.code = v.parse().ok(),
                "signal" => r.signal = v.parse().ok(),
                _ => return None,
            }
            seen += 1;
        }
        (seen == 4).then_some(r)
    }
}

/// The path of the file holding the child's pid, beside the report.
pub fn pid_path(report: &Path) -> std::path::PathBuf {
    let mut s = report.as_os_str().to_owned();
    s.push(".pid");
    s.into()
}

pub fn run(args: ExecArgs) -> anyhow::Result<ExitCode> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).context("prctl(PR_SET_PDEATHSIG)")?;
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP]).context("signal handlers")?;
    let Some((program, rest)) = args.command.split_first() else {
        bail!("no command given");
    };
    let start = Instant::now();
    let mut child = Command::new(program)
        .args(rest)
        .spawn()
        .with_context(|| format!("cannot run {}", program.to_string_lossy()))?;
    let pid = Pid::from_raw(i32::try_from(child.id()).context("pid out of range")?);
    std::fs::write(pid_path(&args.report), pid.to_string()).context("writing the pid file")?;
    std::thread::spawn(move || {
        for sig in signals.forever() {
            if let Ok(sig) = Signal::try_from(sig) {
                let _ = kill(pid, sig);
            }
        }
    });
    let status = child.wait().context("waiting for the command")?;
    let wall = start.elapsed();
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).context("getrusage")?;
    let report = ExecReport {
        wall_ns: u64::try_from(wall.as_nanos()).unwrap_or(u64::MAX),
        maxrss_kib: u64::try_from(usage.max_rss()).unwrap_or(0),
        code: status.code(),
        signal: status.signal(),
    };
    // Write then rename, so the benchmark never reads half a report.
    let tmp = args.report.with_extension("tmp");
    std::fs::write(&tmp, report.to_text()).context("writing the report")?;
    std::fs::rename(&tmp, &args.report).context("writing the report")?;
    let code = match (status.code(), status.signal()) {
        (Some(c), _) => u8::try_from(c).unwrap_or(1),
        (None, Some(s)) => u8::try_from(128 + s).unwrap_or(1),
        _ => 1,
    };
    Ok(ExitCode::from(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_round_trip() {
        let r = ExecReport {
            wall_ns: 123,
            maxrss_kib: 4567,
            code: Some(0),
            signal: None,
        };
        assert_eq!(ExecReport::parse(&r.to_text()), Some(r));
        assert_eq!(ExecReport::parse("wall_ns=1\n"), None);
        assert_eq!(ExecReport::parse("garbage"), None);
    }
}
