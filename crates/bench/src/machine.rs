//! What the report says about the machine: CPU model, cores, kernel, memory and load.

use crate::data::human;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// CPU model, cores, kernel, memory and load, one `key: value` per line.
pub fn summary() -> String {
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')))
        .map_or("unknown", |(_, m)| m.trim())
        .to_string();
    let cpus = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let usable = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or("unknown".to_string(), |k| human(k * 1024));
    format!(
        "cpu: {model}\ncores: {cpus} ({usable} usable)\nkernel: {}\nmemory: {mem}\nload average at start: {}\n",
        read("/proc/sys/kernel/osrelease").trim(),
        load_average()
    )
}

/// The 1, 5 and 15 minute load averages (other work on the machine skews the figures).
pub fn load_average() -> String {
    read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
