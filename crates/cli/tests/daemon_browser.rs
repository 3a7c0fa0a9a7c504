//! The daemon's web UI in a real browser: a local `shoal seed`, a `shoal daemon` (both
//! on loopback, no DHT/LSD/trackers), and `node tests/browser/ui.test.mjs`, which drives
//! headless Debian chromium through playwright-core: log in, set a limit, add the
//! torrent by magnet (x.pe = the seeder), watch it download and seed, file selection,
//! pause/resume, detail view, remove. The screenshots land in
//! `$SHOAL_ARTIFACT_DIR` or `<target dir>/test-artifacts/` (`ui.png`,
//! `ui-downloading.png`, `ui-failure.png` on failure).
//!
//! Needs /usr/bin/chromium, node and `npm ci --prefix crates/cli/tests/browser`
//! (scripts/install-test-deps does both); without them the test is skipped, unless
//! `SHOAL_REQUIRE_INTEROP` is set, where it fails.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::*;

const CHROMIUM: &str = "/usr/bin/chromium";
/// Everything the browser script does: up to 60 s to start the browser, then its steps
/// (it stops itself a little earlier).
const UI_TIMEOUT: Duration = Duration::from_secs(110);
const UI_SCRIPT_TIMEOUT_MS: &str = "45000";
/// The whole test, setup included.
const TEST_BUDGET: Duration = Duration::from_secs(120);

/// Payload files under the torrent's top directory: names with HTML in them, which the
/// UI must show as text (the browser script checks no element with these ids appears).
const TOP: &str = "<img src=x id=xss-probe> & \"q\"";
const FILES: &[(&str, usize)] = &[
    ("alpha.bin", 1_300_000),
    ("sub/<i id=xss-file>.dat", 700_001),
    ("zeta.bin", 917_513),
];

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn in_path(cmd: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
        .unwrap_or(false)
}

/// True when chromium, node and playwright-core are there; otherwise prints `SKIP:` and
/// returns false, or panics under `SHOAL_REQUIRE_INTEROP`.
fn browser_tools(test: &str) -> bool {
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).is_file() {
        missing.push(format!("{CHROMIUM} (Debian package chromium)"));
    }
    if !in_path("node") {
        missing.push("node".to_string());
    }
    if !browser_dir()
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        missing.push("playwright-core (npm ci --prefix crates/cli/tests/browser)".to_string());
    }
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "{test}: missing {} (install with scripts/install-test-deps)",
        missing.join(", ")
    );
    if std::env::var_os("SHOAL_REQUIRE_INTEROP").is_some_and(|v| !v.is_empty()) {
        panic!("SHOAL_REQUIRE_INTEROP is set but {msg}");
    }
    say(&format!("SKIP: {msg}"));
    false
}

/// `$SHOAL_ARTIFACT_DIR`, else `test-artifacts/` in the target directory (the one that
/// holds the `shoal` binary under test).
fn artifact_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SHOAL_ARTIFACT_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let bin = Path::new(shoal_bin());
    bin.parent()
        .and_then(Path::parent)
        .map(|target| target.join("test-artifacts"))
        .unwrap_or_else(|| std::env::temp_dir().join("shoal-test-artifacts"))
}

/// `shoal daemon` on loopback with a fresh state directory; returns it with the UI's
/// URL and the API token once the API is up.
fn start_daemon(s: &Scratch, downloads: &Path) -> (Proc, String, String) {
    let mut cmd = Command::new(shoal_bin());
    cmd.arg("daemon")
        .arg("--state-dir")
        .arg(s.dir("daemon-state"))
        .arg("--download-dir")
        .arg(downloads)
        .args(["--port", "0", "--bind", "127.0.0.1", "--api", "127.0.0.1:0"])
        .args(NO_PUBLIC_DISCOVERY)
        .arg("--no-trackers");
    let mut p = Proc::spawn(s, "daemon", cmd);
    let api = p.wait_line("api http://", Duration::from_secs(30));
    let addr = api.trim().trim_start_matches("api http://").to_string();
    let token_line = p.wait_line("token in ", Duration::from_secs(10));
    let token_file = PathBuf::from(token_line.trim().trim_start_matches("token in "));
    let token = std::fs::read_to_string(&token_file)
        .unwrap_or_else(|e| panic!("token file {}: {e}", token_file.display()))
        .trim()
        .to_string();
    assert!(!token.is_empty(), "empty API token");
    (p, format!("http://{addr}/"), token)
}

#[test]
fn web_ui_adds_downloads_pauses_resumes_in_chromium() {
    let name = "daemon_browser";
    if !browser_tools(name) {
        return;
    }
    let start = Instant::now();
    let s = Scratch::new(name);
    let src_dir = s.dir("src");
    for (rel, len) in FILES {
        write_random(&src_dir.join(TOP).join(rel), *len);
    }
    let opts = CreateOpts {
        piece_size: Some(16 * 1024),
        ..Default::default()
    };
    let t = shoal_create(&s, &src_dir.join(TOP), &opts);
    let (_seed, seed_port) =
        shoal_seed_with(&s, "seed", &t.path, &src_dir, &[], &["--no-trackers"]);
    let downloads = s.dir("downloads");
    let (mut daemon, url, token) = start_daemon(&s, &downloads);
    let magnet = format!("magnet:?xt=urn:btih:{}&x.pe={}", t.hex(), local(seed_port));

    let artifacts = artifact_dir();
    std::fs::create_dir_all(&artifacts).unwrap();
    let screenshot = artifacts.join("ui.png");
    let _ = std::fs::remove_file(&screenshot);
    let mut cmd = Command::new("node");
    cmd.current_dir(browser_dir())
        .arg("ui.test.mjs")
        .args(["--url", &url, "--token", &token, "--magnet", &magnet])
        .args(["--id", &t.hex(), "--name", TOP])
        .args(["--files", &FILES.len().to_string()])
        .args(["--seeder", &local(seed_port)])
        .arg("--screenshot")
        .arg(&screenshot)
        .args(["--chromium", CHROMIUM, "--timeout-ms", UI_SCRIPT_TIMEOUT_MS]);
    let mut ui = Proc::spawn(&s, "ui-test", cmd);
    let status = ui.wait_exit(UI_TIMEOUT);
    say(&format!("{name}: browser steps:\n{}", ui.stdout()));
    assert!(
        status.success(),
        "ui.test.mjs failed ({status}):\n{}{}",
        ui.stdout(),
        ui.stderr()
    );
    assert!(
        screenshot.is_file(),
        "no screenshot at {}",
        screenshot.display()
    );
    say(&format!("{name}: screenshot {}", screenshot.display()));

    // The UI removed the torrent keeping its data: the download is complete and intact.
    t.assert_downloaded(&src_dir, &downloads);
    assert!(daemon.is_running(), "daemon died during the browser test");
    daemon.expect_clean_stop("INT", Duration::from_secs(10));
    assert!(
        start.elapsed() < TEST_BUDGET,
        "browser test took {:?} (budget {TEST_BUDGET:?})",
        start.elapsed()
    );
}
