//! Chaos swarm: 20 `shoal` processes on loopback share a 256 MiB torrent (four files)
//! while a seeded random schedule kills (SIGKILL) a random peer every 1.5–3 s and
//! restarts it 1–2 s later on the same port and the same directory, so it must pick up
//! its partial files. The original seeder is among the candidates too. Once the chaos
//! ends every peer is brought back; every one of them must finish with bytes identical
//! to the source.
//!
//! Peers know each other only by `--peer` (each gets every other's fixed port, retried
//! for as long as it runs); no tracker, DHT, LSD or anything beyond 127.0.0.1.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shoal_testkit::free_port;
use support::*;

const PEERS: usize = 20;
const FILES: [(&str, usize); 4] = [
    ("a.bin", 96 << 20),
    ("b.bin", 64 << 20),
    ("sub/c.bin", 64 << 20),
    ("sub/d.bin", (32 << 20) + 12_345),
];
/// How long peers are killed and restarted.
const CHAOS: Duration = Duration::from_secs(30);
/// The whole test gives up after this.
const LIMIT: Duration = Duration::from_secs(240);
const SEED: u64 = 0x5EED_C4A0;

/// One member of the swarm: its fixed port, its directory, and its current process.
struct Member {
    index: usize,
    port: u16,
    dir: PathBuf,
    proc: Option<Proc>,
    starts: usize,
    /// Finished in an earlier life (a completed peer that restarts must stay complete).
    completed_before: bool,
}

impl Member {
    fn name(&self) -> String {
        format!("peer{:02}-{}", self.index, self.starts)
    }

    fn start(&mut self, s: &Scratch, torrent: &Path, all_ports: &[u16]) {
        self.starts += 1;
        let mut cmd = Command::new(shoal_bin());
        if self.index == 0 {
            cmd.arg("seed").arg(torrent).arg("-d").arg(&self.dir);
        } else {
            cmd.arg("get")
                .arg(torrent)
                .arg("-o")
                .arg(&self.dir)
                .arg("--seed");
        }
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(NO_PUBLIC_DISCOVERY)
            .arg("--no-trackers");
        for &p in all_ports.iter().filter(|&&p| p != self.port) {
            cmd.args(["--peer", &local(p)]);
        }
        let mut p = Proc::spawn(s, &self.name(), cmd);
        // It binds its port (maybe just freed by the killed life) before anything else.
        p.wait_text("listening on", TIMEOUT);
        self.proc = Some(p);
    }

    fn kill(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.signal("KILL");
            p.wait_exit(Duration::from_secs(10));
            if self.index != 0 && is_complete(&p) {
                self.completed_before = true;
            }
        }
    }

    fn running(&mut self) -> bool {
        self.proc.as_mut().is_some_and(|p| p.is_running())
    }

    /// The current life reported completion (the seeder is complete once it listens).
    fn complete(&mut self) -> bool {
        match &self.proc {
            Some(p) => self.index == 0 || is_complete(p),
            None => false,
        }
    }
}

fn is_complete(p: &Proc) -> bool {
    p.stderr().contains("complete: ")
}

#[test]
fn twenty_peers_finish_identical_despite_kills_and_restarts() {
    let s = Scratch::new("chaos");
    let src_dir = s.dir("src");
    let root = src_dir.join("chaos");
    for (rel, len) in FILES {
        write_random(&root.join(rel), len);
    }
    let torrent = shoal_create(
        &s,
        &root,
        &CreateOpts {
            piece_size: Some(256 * 1024),
            ..CreateOpts::default()
        },
    );

    let ports: Vec<u16> = (0..PEERS).map(|_| free_port()).collect();
    let mut members: Vec<Member> = (0..PEERS)
        .map(|i| Member {
            index: i,
            port: ports[i],
            dir: if i == 0 {
                src_dir.clone()
            } else {
                s.dir(&format!("peer{i:02}"))
            },
            proc: None,
            starts: 0,
            completed_before: false,
        })
        .collect();
    let started = Instant::now();
    for m in &mut members {
        m.start(&s, &torrent.path, &ports);
    }

    // The chaos: a seeded schedule of kills and restarts.
    let mut rng = StdRng::seed_from_u64(SEED);
    say(&format!("chaos swarm: seed {SEED:#x}"));
    let mut kills = 0;
    let mut down: Vec<(usize, Instant)> = Vec::new();
    let mut next_kill = Instant::now() + Duration::from_millis(rng.gen_range(1500..3000));
    while started.elapsed() < CHAOS {
        let now = Instant::now();
        if now >= next_kill {
            let victim = rng.gen_range(0..PEERS);
            if members[victim].running() && !down.iter().any(|(i, _)| *i == victim) {
                members[victim].kill();
                kills += 1;
                let back = now + Duration::from_millis(rng.gen_range(1000..2000));
                down.push((victim, back));
            }
            next_kill = now + Duration::from_millis(rng.gen_range(1500..3000));
        }
        down.retain(|&(i, back)| {
            if now >= back {
                members[i].start(&s, &torrent.path, &ports);
                false
            } else {
                true
            }
        });
        std::thread::sleep(Duration::from_millis(50));
    }
    for (i, _) in down.drain(..) {
        members[i].start(&s, &torrent.path, &ports);
    }
    let chaos_done = started.elapsed();

    // Everyone alive now; all must finish.
    let deadline = started + LIMIT;
    loop {
        let mut waiting = Vec::new();
        for m in &mut members {
            assert!(
                m.running(),
                "{} exited: {}",
                m.name(),
                m.proc.as_ref().unwrap().stderr()
            );
            if !m.complete() {
                waiting.push(m.index);
            }
        }
        if waiting.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "peers {waiting:?} unfinished after {LIMIT:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let finished = started.elapsed();
    for m in members.iter().skip(1) {
        if let Some(diff) = torrent.diff(&src_dir, &m.dir) {
            panic!("{}: {diff}", m.name());
        }
    }
    let restarted_complete = members.iter().filter(|m| m.completed_before).count();
    say(&format!(
        "chaos swarm: {PEERS} peers, 256 MiB, {kills} kills in {chaos_done:.1?} \
         ({restarted_complete} of them after finishing), all identical after {finished:.1?}"
    ));
    assert!(kills >= 8, "only {kills} kills happened");
}
