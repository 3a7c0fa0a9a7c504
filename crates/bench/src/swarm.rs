//! B5: one shoal seeder and N shoal leechers (default 16) on loopback.
//!
//! The seeder starts first and checks its data. Then the leechers are spawned one right
//! after the other, each with `--seed` (so it keeps serving after it completes) and
//! `--peer` for the seeder and every leecher started before it: leecher i is started as
//! soon as leecher i-1 has printed `listening on` (a few milliseconds). The figure is the
//! time from the first leecher's spawn until the last leecher's `complete:` line arrived
//! on its stderr (leechers run without `-q` for that). Then the seeder gets SIGTERM and its
//! `stopping: uploaded <bytes>` line gives its upload, reported in copies of the payload.
//! Finally the leechers get SIGTERM and every download is compared with the source.

use crate::data::human;
use crate::peers::{self, Torrent};
use crate::procs::{check_interrupted, require_success, Proc};
use crate::report::Metric;
use crate::runs::Bench;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub fn run(b: &mut Bench, t: &Torrent, leechers: u32, run: u32) -> anyhow::Result<()> {
    let seeder = peers::shoal_seed(&mut b.sp, &b.shoal, t, b.opts.timeout())?;
    let mut addrs = vec![seeder.addr];
    let outs: Vec<PathBuf> = (0..leechers)
        .map(|i| b.out_dir(&format!("swarm-{i}")))
        .collect::<anyhow::Result<_>>()?;
    let mut leechers: Vec<(Proc, PathBuf)> = Vec::new();
    let start = Instant::now();
    for (i, out) in outs.into_iter().enumerate() {
        let args = peers::shoal_get_args(t, &out, &addrs, false, true);
        let mut p = b.sp.spawn(&format!("swarm-leecher-{i}"), &b.shoal, &args)?;
        let addr = peers::wait_listening(&mut p, Duration::from_secs(10))?;
        addrs.push(addr);
        leechers.push((p, out));
    }
    let spread = start.elapsed();
    let deadline = start + b.timeout();
    let mut done = 0u32;
    let mut last = start;
    let mut failure = None;
    for (p, _) in &mut leechers {
        let left = deadline.saturating_duration_since(Instant::now());
        let r = p.wait_for("`complete:`", left, |l| {
            (l.stderr && l.text.starts_with("complete:")).then_some(l.at)
        });
        match r {
            Ok(at) => {
                done += 1;
                last = last.max(at);
            }
            Err(e) => {
                check_interrupted()?;
                failure.get_or_insert(e);
            }
        }
    }
    b.results.add(Metric::B5Done, f64::from(done));
    if let Some(e) = failure {
        return Err(e.context(format!(
            "only {done} of {} leechers completed",
            leechers.len()
        )));
    }
    let total = last - start;
    let (_, uploaded) = seeder.stop(Duration::from_secs(10))?;
    let copies = uploaded as f64 / t.size as f64;
    eprintln!(
        "B5 run {run}: {} leechers complete in {:.3} s (started within {:.0} ms); seeder uploaded {} = {copies:.2} copies",
        leechers.len(),
        total.as_secs_f64(),
        spread.as_secs_f64() * 1000.0,
        human(uploaded)
    );
    b.results.add(Metric::B5Total, total.as_secs_f64());
    b.results.add(Metric::B5Upload, copies);
    for (p, _) in &leechers {
        p.terminate();
    }
    for (p, out) in &mut leechers {
        let o = p.stop(Duration::from_secs(10))?;
        require_success(p, &o)?;
        b.check_and_remove(t, out)?;
    }
    Ok(())
}
