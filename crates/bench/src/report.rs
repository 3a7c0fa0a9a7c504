//! The benchmark's results: the samples each run adds and the final table (figure,
//! reference, ratio, target, PASS/FAIL).

use crate::data::human;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Target of B1 (seconds), B3 (seconds), B4 (KiB), B5 (copies) and the ratios.
const B1_MAX_S: f64 = 1.5;
const B1_MIN_SPEEDUP: f64 = 4.0;
const B3_MAX_S: f64 = 0.8;
const B4_MAX_KIB: f64 = 32.0 * 1024.0;
const B5_MAX_COPIES: f64 = 3.0;
const B6_MAX_RATIO: f64 = 1.5;

/// One measured quantity. Times are seconds, RSS KiB, upload in payload copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    B1Shoal,
    B1Lt,
    B2LtShoal,
    B3Create,
    B4Leecher,
    B4Seeder,
    B5Total,
    B5Done,
    B5Upload,
    B6SmallPieces,
}

/// Everything one invocation measured.
#[derive(Debug, Default)]
pub struct Results {
    samples: BTreeMap<Metric, Vec<f64>>,
    /// Metrics the selected benchmarks should produce (missing ones are errors).
    expected: BTreeSet<Metric>,
    /// Transfer failures, byte mismatches, timeouts.
    pub errors: Vec<String>,
    /// Informational lines printed under the table.
    pub notes: Vec<String>,
    /// Payload sizes, for the row labels.
    pub size: u64,
    pub swarm_size: u64,
    pub leechers: u32,
    pub smoke: bool,
}

impl Results {
    pub fn new(size: u64, swarm_size: u64, leechers: u32, smoke: bool) -> Results {
        Results {
            size,
            swarm_size,
            leechers,
            smoke,
            ..Results::default()
        }
    }

    pub fn expect(&mut self, metrics: &[Metric]) {
        self.expected.extend(metrics.iter().copied());
    }

    pub fn add(&mut self, m: Metric, v: f64) {
        self.samples.entry(m).or_default().push(v);
    }

    fn values(&self, m: Metric) -> Option<Vec<f64>> {
        let mut v = self.samples.get(&m)?.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(v)
    }

    pub fn median(&self, m: Metric) -> Option<f64> {
        let v = self.values(m)?;
        let n = v.len();
        Some(if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        })
    }

    /// Best run: the lowest value, except for completions where more is better.
    fn best(&self, m: Metric) -> Option<f64> {
        let v = self.values(m)?;
        if m == Metric::B5Done {
            v.last().copied()
        } else {
            v.first().copied()
        }
    }

    fn runs(&self, m: Metric) -> usize {
        self.samples.get(&m).map_or(0, Vec::len)
    }
}

struct Row {
    name: String,
    shoal: String,
    reference: String,
    ratio: String,
    target: String,
    result: String,
}

fn secs(s: f64) -> String {
    format!("{s:.3} s")
}

fn verdict(pass: bool) -> String {
    if pass { "PASS" } else { "FAIL" }.to_string()
}

/// `median` plus `(best X of N)` when there were several runs.
fn figure(r: &Results, m: Metric, fmt: impl Fn(f64) -> String) -> Option<(f64, String)> {
    figure_with(r, m, &fmt, &fmt)
}

/// A transfer time, the median's throughput appended.
fn timed(r: &Results, m: Metric) -> Option<(f64, String)> {
    figure_with(
        r,
        m,
        &|s| format!("{}, {}", secs(s), rate(r.size, s)),
        &secs,
    )
}

fn figure_with(
    r: &Results,
    m: Metric,
    fmt: &dyn Fn(f64) -> String,
    fmt_best: &dyn Fn(f64) -> String,
) -> Option<(f64, String)> {
    let med = r.median(m)?;
    let mut s = fmt(med);
    if r.runs(m) > 1 {
        if let Some(b) = r.best(m) {
            let _ = write!(s, " (best {} of {})", fmt_best(b), r.runs(m));
        }
    }
    Some((med, s))
}

fn rate(bytes: u64, s: f64) -> String {
    if s > 0.0 {
        format!("{:.0} MiB/s", bytes as f64 / s / (1024.0 * 1024.0))
    } else {
        "-".into()
    }
}

fn rows(r: &Results) -> Vec<Row> {
    let mut out = Vec::new();
    let mut row = |name: String,
                   shoal: String,
                   reference: String,
                   ratio: String,
                   target: &str,
                   pass: Option<bool>| {
        let (target, result) = if r.smoke {
            (
                "-".to_string(),
                if pass.is_some() { "ok" } else { "ERROR" }.to_string(),
            )
        } else {
            (
                target.to_string(),
                pass.map_or_else(|| "ERROR".into(), verdict),
            )
        };
        out.push(Row {
            name,
            shoal,
            reference,
            ratio,
            target,
            result,
        });
    };
    let size = human(r.size);
    let dash = || "-".to_string();
    let missing = |m: Metric| r.expected.contains(&m) && r.median(m).is_none();
    let b1 = timed(r, Metric::B1Shoal);
    let lt = figure(r, Metric::B1Lt, secs).map(|(v, f)| (v, format!("lt->lt {f}")));

    if let Some((v, f)) = &b1 {
        row(
            format!("B1 shoal->shoal {size}"),
            f.clone(),
            dash(),
            dash(),
            "<= 1.5 s",
            Some(*v <= B1_MAX_S),
        );
    } else if missing(Metric::B1Shoal) {
        row(
            format!("B1 shoal->shoal {size}"),
            "no data".into(),
            dash(),
            dash(),
            "<= 1.5 s",
            None,
        );
    }
    if r.expected.contains(&Metric::B1Lt) {
        match (&b1, &lt) {
            (Some((s, _)), Some((l, fl))) => {
                let speedup = l / s;
                row(
                    "B1 vs lt->lt".into(),
                    secs(*s),
                    fl.clone(),
                    format!("{speedup:.2}x faster"),
                    ">= 4x faster",
                    Some(speedup >= B1_MIN_SPEEDUP),
                );
            }
            _ => row(
                "B1 vs lt->lt".into(),
                "no data".into(),
                dash(),
                dash(),
                ">= 4x faster",
                None,
            ),
        }
    }
    if r.expected.contains(&Metric::B2LtShoal) {
        match (timed(r, Metric::B2LtShoal), &lt) {
            (Some((s, fs)), Some((l, fl))) => row(
                format!("B2 lt->shoal {size}"),
                fs,
                fl.clone(),
                format!("{:.2}x faster", l / s),
                "<= lt->lt time",
                Some(s <= *l),
            ),
            _ => row(
                format!("B2 lt->shoal {size}"),
                "no data".into(),
                dash(),
                dash(),
                "<= lt->lt time",
                None,
            ),
        }
    }
    if let Some((v, f)) = timed(r, Metric::B3Create) {
        row(
            format!("B3 shoal create {size}"),
            f,
            dash(),
            dash(),
            "<= 0.8 s",
            Some(v <= B3_MAX_S),
        );
    } else if missing(Metric::B3Create) {
        row(
            format!("B3 shoal create {size}"),
            "no data".into(),
            dash(),
            dash(),
            "<= 0.8 s",
            None,
        );
    }
    for (m, name) in [
        (Metric::B4Leecher, "B4 peak RSS, B1 leecher"),
        (Metric::B4Seeder, "B4 peak RSS, B1 seeder"),
    ] {
        if let Some((v, f)) = figure(r, m, |k| format!("{:.1} MiB", k / 1024.0)) {
            row(
                name.into(),
                f,
                dash(),
                dash(),
                "<= 32 MiB",
                Some(v <= B4_MAX_KIB),
            );
        } else if missing(m) {
            row(
                name.into(),
                "no data".into(),
                dash(),
                dash(),
                "<= 32 MiB",
                None,
            );
        }
    }
    let swarm = format!("B5 swarm 1+{} shoal, {}", r.leechers, human(r.swarm_size));
    let done = r.values(Metric::B5Done).and_then(|v| v.first().copied());
    match (figure(r, Metric::B5Total, secs), done) {
        (Some((_, f)), Some(d)) => {
            let all = d >= f64::from(r.leechers);
            row(
                swarm,
                f,
                dash(),
                format!("{d:.0}/{} done", r.leechers),
                "all complete",
                Some(all),
            );
        }
        (None, Some(d)) => row(
            swarm,
            "incomplete".into(),
            dash(),
            format!("{d:.0}/{} done", r.leechers),
            "all complete",
            Some(false),
        ),
        _ if r.expected.contains(&Metric::B5Total) => row(
            swarm,
            "no data".into(),
            dash(),
            dash(),
            "all complete",
            None,
        ),
        _ => {}
    }
    if let Some((v, f)) = figure(r, Metric::B5Upload, |c| format!("{c:.2} copies")) {
        row(
            "B5 seeder upload".into(),
            f,
            dash(),
            dash(),
            "<= 3 copies",
            Some(v <= B5_MAX_COPIES),
        );
    } else if missing(Metric::B5Upload) {
        row(
            "B5 seeder upload".into(),
            "no data".into(),
            dash(),
            dash(),
            "<= 3 copies",
            None,
        );
    }
    if r.expected.contains(&Metric::B6SmallPieces) {
        let b6 = timed(r, Metric::B6SmallPieces);
        match (b6, &b1) {
            (Some((v, f)), Some((s, _))) => row(
                format!("B6 16 KiB pieces {size}"),
                f,
                format!("B1 {}", secs(*s)),
                format!("{:.2}x B1", v / s),
                "<= 1.5x B1",
                Some(v / s <= B6_MAX_RATIO),
            ),
            _ => row(
                format!("B6 16 KiB pieces {size}"),
                "no data".into(),
                dash(),
                dash(),
                "<= 1.5x B1",
                None,
            ),
        }
    }
    out
}

/// Renders the table with aligned columns.
pub fn table(r: &Results) -> String {
    let rows = rows(r);
    let header = [
        "benchmark",
        "shoal",
        "reference",
        "ratio",
        "target",
        "result",
    ];
    let cells: Vec<[&str; 6]> = rows
        .iter()
        .map(|x| {
            [
                x.name.as_str(),
                &x.shoal,
                &x.reference,
                &x.ratio,
                &x.target,
                &x.result,
            ]
        })
        .collect();
    let mut width = header.map(|h| h.chars().count());
    for c in &cells {
        for (w, s) in width.iter_mut().zip(c) {
            *w = (*w).max(s.chars().count());
        }
    }
    let line = |c: &[&str; 6]| {
        let mut s = String::new();
        for (i, (cell, w)) in c.iter().zip(width).enumerate() {
            if i > 0 {
                s.push_str(" | ");
            }
            let _ = write!(s, "{cell:<w$}");
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(&header);
    out.push_str(&line(
        &width.map(|w| "-".repeat(w)).each_ref().map(String::as_str),
    ));
    for c in &cells {
        out.push_str(&line(c));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_table() {
        let mut r = Results {
            size: 1 << 30,
            swarm_size: 256 << 20,
            leechers: 16,
            ..Results::default()
        };
        r.expect(&[Metric::B1Shoal, Metric::B1Lt, Metric::B6SmallPieces]);
        for v in [1.4, 1.0, 1.2] {
            r.add(Metric::B1Shoal, v);
        }
        r.add(Metric::B1Lt, 6.0);
        assert_eq!(r.median(Metric::B1Shoal), Some(1.2));
        let t = table(&r);
        assert!(t.contains("B1 shoal->shoal 1.0 GiB"), "{t}");
        assert!(t.contains("5.00x faster"), "{t}");
        assert!(t.contains("1.200 s, 853 MiB/s (best 1.000 s of 3)"), "{t}");
        // B6 was expected but has no data.
        assert!(
            t.lines()
                .any(|l| l.starts_with("B6") && l.ends_with("ERROR")),
            "{t}"
        );
    }
}
