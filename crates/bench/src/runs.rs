//! The benchmarks themselves: which ones a subcommand selects, the shared setup (work
//! directory, payload, torrents, libtorrent detection) and the seeder -> leecher runs of
//! B1-B4 and B6. The B5 swarm lives in `swarm.rs`.
//!
//! How each figure is measured:
//! - B1/B2/B6: the leecher's wall time from its spawn to its exit with status 0 (shoal:
//!   `shoal get -q` exits once everything is verified; libtorrent: `lt_bench.py get` exits
//!   after libtorrent's torrent_finished alert), measured by the `exec` wrapper. Each
//!   seeder is started first and the leecher only once the seeder has checked its data.
//! - B3: wall time of `shoal create` on the payload (default piece size).
//! - B4: peak RSS (`ru_maxrss`) of the B1 shoal leecher, and of the B1 shoal seeder from
//!   its start (including its data check) until it is stopped after the transfer.
//!
//! Every download is compared byte for byte with the source; a difference is an error.

use crate::cli::Opts;
use crate::data::{human, verify_same, write_random, WorkDir};
use crate::peers::{self, Lt, Torrent};
use crate::procs::{check_interrupted, Interrupted, Outcome, Spawner};
use crate::report::{Metric, Results};
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Which subcommand runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    All,
    B1,
    B2,
    B3,
    B4,
    B5,
    B6,
    Smoke,
}

/// What a subcommand measures.
#[derive(Debug, Clone, Copy, Default)]
struct Plan {
    shoal_pair: bool,
    lt_ref: bool,
    b2: bool,
    b3: bool,
    b5: bool,
    b6: bool,
}

impl Plan {
    fn of(w: Which) -> Plan {
        let p = Plan::default();
        match w {
            Which::All => Plan {
                shoal_pair: true,
                lt_ref: true,
                b2: true,
                b3: true,
                b5: true,
                b6: true,
            },
            Which::B1 => Plan {
                shoal_pair: true,
                lt_ref: true,
                ..p
            },
            Which::B2 => Plan {
                lt_ref: true,
                b2: true,
                ..p
            },
            Which::B3 => Plan { b3: true, ..p },
            Which::B4 => Plan {
                shoal_pair: true,
                ..p
            },
            Which::B5 => Plan { b5: true, ..p },
            Which::B6 => Plan {
                shoal_pair: true,
                b6: true,
                ..p
            },
            Which::Smoke => Plan {
                shoal_pair: true,
                lt_ref: true,
                b2: true,
                b3: true,
                b5: true,
                b6: false,
            },
        }
    }

    fn expected(&self, w: Which) -> Vec<Metric> {
        let mut m = Vec::new();
        if self.shoal_pair {
            m.extend([Metric::B1Shoal, Metric::B4Leecher, Metric::B4Seeder]);
        }
        if self.lt_ref {
            m.push(Metric::B1Lt);
        }
        if self.b2 {
            m.push(Metric::B2LtShoal);
        }
        if self.b3 {
            m.push(Metric::B3Create);
        }
        if self.b5 {
            m.extend([Metric::B5Total, Metric::B5Done, Metric::B5Upload]);
        }
        if self.b6 {
            m.push(Metric::B6SmallPieces);
        }
        if w == Which::Smoke {
            m.retain(|x| !matches!(x, Metric::B4Leecher | Metric::B4Seeder));
        }
        m
    }
}

/// The state shared by all benchmarks of one invocation.
pub struct Bench {
    pub opts: Opts,
    pub sp: Spawner,
    pub work: PathBuf,
    pub shoal: PathBuf,
    pub lt: Option<Lt>,
    pub results: Results,
}

impl Bench {
    pub fn timeout(&self) -> Duration {
        self.opts.timeout()
    }

    /// A fresh, empty download directory.
    pub fn out_dir(&self, tag: &str) -> anyhow::Result<PathBuf> {
        let d = self.work.join("out").join(tag);
        if d.exists() {
            std::fs::remove_dir_all(&d)?;
        }
        std::fs::create_dir_all(&d)?;
        Ok(d)
    }

    /// Compares the download with the source, then deletes it (tmpfs is memory).
    pub fn check_and_remove(&self, t: &Torrent, out: &Path) -> anyhow::Result<()> {
        verify_same(&t.data_dir.join(&t.file_name), &out.join(&t.file_name))?;
        std::fs::remove_dir_all(out).with_context(|| format!("removing {}", out.display()))?;
        Ok(())
    }

    /// Writes a random payload of `size` bytes as `data/<name>/<name>.bin`.
    pub fn payload(&self, name: &str, size: u64, seed: u64) -> anyhow::Result<(PathBuf, String)> {
        let dir = self.work.join("data").join(name);
        std::fs::create_dir_all(&dir)?;
        let file_name = format!("{name}.bin");
        let t0 = Instant::now();
        write_random(&dir.join(&file_name), size, seed)?;
        eprintln!(
            "generated {} of random data in {:.2?}",
            human(size),
            t0.elapsed()
        );
        Ok((dir, file_name))
    }

    /// `shoal create` of `dir/file`; returns the torrent and the wall time.
    pub fn torrent(
        &mut self,
        (dir, file): &(PathBuf, String),
        name: &str,
        piece: Option<u32>,
    ) -> anyhow::Result<(Torrent, Duration)> {
        let path = self.work.join(format!("{name}.torrent"));
        let src = dir.join(file);
        let wall = peers::shoal_create(
            &mut self.sp,
            &self.shoal,
            &src,
            &path,
            piece,
            self.opts.timeout(),
        )?;
        let size = std::fs::metadata(&src)?.len();
        let t = Torrent {
            path,
            data_dir: dir.clone(),
            file_name: file.clone(),
            size,
        };
        Ok((t, wall))
    }

    /// shoal seeder -> shoal leecher; returns the leecher's and the seeder's outcomes.
    pub fn shoal_pair(&mut self, t: &Torrent, tag: &str) -> anyhow::Result<(Outcome, Outcome)> {
        let seeder = peers::shoal_seed(&mut self.sp, &self.shoal, t, self.opts.timeout())?;
        let out = self.out_dir(tag)?;
        let leech = peers::shoal_get(
            &mut self.sp,
            &self.shoal,
            t,
            &out,
            seeder.addr,
            self.opts.timeout(),
        )?;
        let (seed, _) = seeder.stop(Duration::from_secs(10))?;
        self.check_and_remove(t, &out)?;
        Ok((leech, seed))
    }

    /// libtorrent seeder -> libtorrent leecher, then (if `b2`) -> shoal leecher.
    fn lt_runs(
        &mut self,
        lt: &Lt,
        t: &Torrent,
        b2: bool,
    ) -> anyhow::Result<(Outcome, Option<Outcome>)> {
        let lifetime = self.timeout() * 3;
        let seeder = peers::lt_seed(&mut self.sp, lt, t, self.opts.timeout(), lifetime)?;
        let out = self.out_dir("lt-lt")?;
        let ref_o = peers::lt_get(&mut self.sp, lt, t, &out, seeder.addr, self.opts.timeout())?;
        self.check_and_remove(t, &out)?;
        let b2_o = if b2 {
            let out = self.out_dir("lt-shoal")?;
            let o = peers::shoal_get(
                &mut self.sp,
                &self.shoal,
                t,
                &out,
                seeder.addr,
                self.opts.timeout(),
            )?;
            self.check_and_remove(t, &out)?;
            Some(o)
        } else {
            None
        };
        seeder.stop(Duration::from_secs(10))?;
        Ok((ref_o, b2_o))
    }

    /// Runs `f`; a failure is recorded (and the benchmark goes on), an interrupt is not.
    fn attempt<T>(
        &mut self,
        what: &str,
        f: impl FnOnce(&mut Bench) -> anyhow::Result<T>,
    ) -> anyhow::Result<Option<T>> {
        match f(self) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is::<Interrupted>() => Err(e),
            Err(e) => {
                eprintln!("FAILED {what}: {e:#}");
                self.results.errors.push(format!("{what}: {e:#}"));
                check_interrupted()?;
                Ok(None)
            }
        }
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn kib(o: &Outcome) -> f64 {
    o.maxrss_kib as f64
}

/// The shoal binary: `--shoal`, else `shoal` next to this program.
fn find_shoal(opts: &Opts) -> anyhow::Result<PathBuf> {
    let path = match &opts.shoal {
        Some(p) => p.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("this program has no directory")?
            .join("shoal"),
    };
    if !path.is_file() {
        bail!(
            "no shoal binary at {} (build it with `cargo build --release -p shoal-cli`, or pass --shoal)",
            path.display()
        );
    }
    Ok(path)
}

fn version(shoal: &Path) -> String {
    std::process::Command::new(shoal)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Runs the benchmarks of `which`; the results carry any failures.
pub fn run(which: Which, opts: Opts) -> anyhow::Result<Results> {
    let mut plan = Plan::of(which);
    let smoke = which == Which::Smoke;
    let size = opts.size.unwrap_or(if smoke { 16 << 20 } else { 1 << 30 });
    let swarm_size = opts
        .swarm_size
        .unwrap_or(if smoke { 4 << 20 } else { 256 << 20 });
    let leechers = opts.leechers.unwrap_or(if smoke { 3 } else { 16 });
    let shoal = find_shoal(&opts)?;
    let work = WorkDir::create(opts.workdir.as_deref(), opts.keep)?;
    let sp = Spawner::new(work.path.join("reports"))?;
    let mut b = Bench {
        sp,
        work: work.path.clone(),
        shoal,
        lt: None,
        results: Results::new(size, swarm_size, leechers, smoke),
        opts,
    };
    if plan.lt_ref && b.opts.no_lt {
        plan.lt_ref = false;
        plan.b2 = false;
    }
    if plan.lt_ref {
        match Lt::detect(&b.opts.python, &b.work) {
            Ok(lt) => b.lt = Some(lt),
            Err(e) if smoke => {
                b.results
                    .notes
                    .push(format!("libtorrent reference skipped: {e:#}"));
                plan.lt_ref = false;
                plan.b2 = false;
            }
            Err(e) => b
                .results
                .errors
                .push(format!("libtorrent reference: {e:#}")),
        }
    }
    b.results.expect(&plan.expected(which));
    println!("shoal: {} ({})", b.shoal.display(), version(&b.shoal));
    if let Some(lt) = &b.lt {
        println!(
            "libtorrent: {} (python {})",
            lt.version,
            lt.python.display()
        );
    }
    println!("work dir: {}", b.work.display());
    println!("runs: {}", b.opts.runs);
    println!();

    let runs = b.opts.runs;
    if plan.shoal_pair || plan.lt_ref || plan.b3 || plan.b6 {
        let src = b.payload("payload", size, 1)?;
        let mut big = None;
        let creates = if plan.b3 { runs } else { 1 };
        for i in 0..creates {
            if let Some((t, wall)) =
                b.attempt("B3 shoal create", |b| b.torrent(&src, "payload", None))?
            {
                if plan.b3 {
                    eprintln!("B3 run {}: shoal create {:.3} s", i + 1, secs(wall));
                    b.results.add(Metric::B3Create, secs(wall));
                }
                big = Some(t);
            }
        }
        let small_pieces = if plan.b6 {
            b.attempt("B6 shoal create", |b| {
                b.torrent(&src, "payload-16k", Some(16384))
            })?
            .map(|(t, _)| t)
        } else {
            None
        };
        if let Some(big) = big {
            for i in 1..=runs {
                pair_runs(&mut b, &plan, &big, small_pieces.as_ref(), i)?;
            }
        }
        std::fs::remove_dir_all(&src.0)?;
    }
    if plan.b5 {
        let src = b.payload("swarm", swarm_size, 2)?;
        if let Some((t, _)) = b.attempt("B5 shoal create", |b| b.torrent(&src, "swarm", None))? {
            for i in 1..=runs {
                b.attempt("B5 swarm", |b| crate::swarm::run(b, &t, leechers, i))?;
            }
        }
    }
    drop(work);
    Ok(b.results)
}

/// One run of B1 (shoal and lt), B2, B4 and B6.
fn pair_runs(
    b: &mut Bench,
    plan: &Plan,
    big: &Torrent,
    small: Option<&Torrent>,
    i: u32,
) -> anyhow::Result<()> {
    if plan.shoal_pair {
        if let Some((l, s)) = b.attempt("B1 shoal->shoal", |b| b.shoal_pair(big, "shoal-shoal"))? {
            eprintln!(
                "B1 run {i}: shoal->shoal {:.3} s; peak RSS leecher {:.1} MiB, seeder {:.1} MiB",
                secs(l.wall),
                kib(&l) / 1024.0,
                kib(&s) / 1024.0
            );
            b.results.add(Metric::B1Shoal, secs(l.wall));
            b.results.add(Metric::B4Leecher, kib(&l));
            b.results.add(Metric::B4Seeder, kib(&s));
        }
    }
    if let (true, Some(lt)) = (plan.lt_ref, b.lt.clone()) {
        if let Some((r, b2)) =
            b.attempt("B1 lt->lt / B2 lt->shoal", |b| b.lt_runs(&lt, big, plan.b2))?
        {
            eprintln!("B1 run {i}: lt->lt {:.3} s", secs(r.wall));
            b.results.add(Metric::B1Lt, secs(r.wall));
            if let Some(o) = b2 {
                eprintln!("B2 run {i}: lt->shoal {:.3} s", secs(o.wall));
                b.results.add(Metric::B2LtShoal, secs(o.wall));
            }
        }
    }
    if let Some(small) = small {
        if let Some((l, _)) = b.attempt("B6 shoal->shoal 16 KiB pieces", |b| {
            b.shoal_pair(small, "small-pieces")
        })? {
            eprintln!(
                "B6 run {i}: shoal->shoal, 16 KiB pieces {:.3} s",
                secs(l.wall)
            );
            b.results.add(Metric::B6SmallPieces, secs(l.wall));
        }
    }
    Ok(())
}
