//! Download progress: a progress bar on a terminal, plain lines otherwise.

use indicatif::{ProgressBar, ProgressStyle};
use shoal_engine::{TorrentHandle, TorrentStats};
use std::io::IsTerminal;
use std::time::Duration;

/// Formats a byte count for humans (binary units).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn percent(s: &TorrentStats) -> f64 {
    if s.total_length == 0 {
        100.0
    } else {
        s.verified_bytes as f64 * 100.0 / s.total_length as f64
    }
}

/// Plain one-line summary of a torrent's state.
pub fn status_line(s: &TorrentStats) -> String {
    if let Some(fault) = &s.fault {
        return format!("{:5.1}% {fault}", percent(s));
    }
    format!(
        "{:5.1}% {} / {}  down {}/s  up {}/s  peers {}",
        percent(s),
        human_bytes(s.verified_bytes),
        human_bytes(s.total_length),
        human_bytes(s.download_rate),
        human_bytes(s.upload_rate),
        peers(s)
    )
}

/// The peer count, and why peers refused when some did ("0 (3 peers refused: they
/// require encryption)").
fn peers(s: &TorrentStats) -> String {
    if s.encryption_refusals.is_empty() {
        s.peers.to_string()
    } else {
        format!("{} ({})", s.peers, s.encryption_refusals)
    }
}

/// Reports progress until the task is aborted. Quiet mode reports nothing.
pub async fn report(handle: TorrentHandle, quiet: bool) {
    if quiet {
        return;
    }
    if std::io::stderr().is_terminal() {
        let stats = handle.stats();
        let bar = ProgressBar::new(stats.total_length);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40.cyan/blue} {bytes}/{total_bytes} {percent:>3}% {msg} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        loop {
            let s = handle.stats();
            bar.set_position(s.verified_bytes);
            bar.set_message(match &s.fault {
                Some(fault) => fault.clone(),
                None => format!(
                    "down {}/s up {}/s peers {}",
                    human_bytes(s.download_rate),
                    human_bytes(s.upload_rate),
                    peers(&s)
                ),
            });
            if s.complete {
                bar.finish();
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    } else {
        loop {
            let s = handle.stats();
            eprintln!("{}", status_line(&s));
            if s.complete {
                return;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_bytes() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }
}
