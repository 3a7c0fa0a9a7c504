//! Reading back byte amounts as shoal prints them ("8.0 MiB", "512 B"), for tests that
//! check totals in a process's output.

/// Bytes in a printed amount such as "9.5 MiB" (a bare number is bytes); panics on an
/// unknown unit.
pub fn parse_human_bytes(text: &str) -> u64 {
    let text = text.trim();
    let (num, unit) = text.split_once(' ').unwrap_or((text, "B"));
    let scale: f64 = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1048576.0,
        "GiB" => 1073741824.0,
        other => panic!("unknown unit {other:?} in {text:?}"),
    };
    (num.parse::<f64>().unwrap() * scale) as u64
}
