//! BEP 12 behaviour across several local trackers.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use shoal_announce::Announcer;
use tokio::sync::{mpsc, watch};

#[tokio::test]
async fn working_tracker_moves_to_front_of_its_tier() {
    let failing = HttpTracker::start(Reply::ok(b"d14:failure reason4:nopee".to_vec())).await;
    let dead = dead_http().await;
    let good = HttpTracker::start(Reply::ok(announce_reply(0))).await;
    let (_stats_tx, stats_rx) = watch::channel(stats());
    let (peers_tx, _peers_rx) = mpsc::channel(64);
    let mut cfg = config(vec![vec![
        failing.url.clone(),
        dead.clone(),
        good.url.clone(),
    ]]);
    // Failed trackers are ready again almost at once, so only the reordering keeps the
    // working tracker first.
    cfg.retry_base = Duration::from_millis(1);
    cfg.retry_max = Duration::from_millis(1);
    let announcer = Announcer::spawn(cfg, stats_rx, peers_tx);

    WAIT.until_async("several rounds", || good.count() >= 4)
        .await;
    announcer.stop(Duration::from_secs(2)).await;
    // The shuffle may have put `failing` before `good` in the first round only.
    assert!(
        failing.count() <= 1,
        "failing tracker asked {} times",
        failing.count()
    );
    let events: Vec<_> = good
        .targets()
        .iter()
        .map(|t| param(t, "event").map(str::to_owned))
        .collect();
    assert_eq!(events.first().unwrap().as_deref(), Some("started"));
    assert_eq!(events.last().unwrap().as_deref(), Some("stopped"));
    // `failing` never acknowledged anything, so no `stopped` for it.
    assert!(failing
        .targets()
        .iter()
        .all(|t| param(t, "event") != Some("stopped")));
}

#[tokio::test]
async fn first_working_tier_is_used_and_lower_tiers_untouched() {
    let tier0 = HttpTracker::start(Reply::ok(b"d14:failure reason4:nopee".to_vec())).await;
    let tier1 = HttpTracker::start(Reply::ok(announce_reply(1800))).await;
    let tier2 = HttpTracker::start(Reply::ok(announce_reply(1800))).await;
    let (_stats_tx, stats_rx) = watch::channel(stats());
    let (peers_tx, mut peers_rx) = mpsc::channel(8);
    let cfg = config(vec![
        vec![tier0.url.clone()],
        vec![tier1.url.clone()],
        vec![tier2.url.clone()],
    ]);
    let announcer = Announcer::spawn(cfg, stats_rx, peers_tx);

    tokio::time::timeout(Duration::from_secs(5), peers_rx.recv())
        .await
        .unwrap()
        .unwrap();
    let status = announcer.status();
    assert_eq!(status.iter().map(|s| s.tier).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(
        status[0].last_result,
        Some(Err("tracker failure: nope".into()))
    );
    assert!(status[0].next_announce.is_some(), "back-off end shown");
    assert_eq!(status[1].last_result, Some(Ok(2)));
    assert_eq!(status[2].last_result, None);
    assert_eq!(tier2.count(), 0);
    announcer.stop(Duration::from_secs(2)).await;
    assert_eq!(param(&tier1.targets()[1], "event"), Some("stopped"));
    assert_eq!(tier2.count(), 0);
}

#[tokio::test]
async fn all_failing_retries_with_backoff_and_invalid_urls_are_reported() {
    let failing = HttpTracker::start(Reply::ok(b"d14:failure reason4:nopee".to_vec())).await;
    let (_stats_tx, stats_rx) = watch::channel(stats());
    let (peers_tx, _peers_rx) = mpsc::channel(8);
    let cfg = config(vec![vec![
        failing.url.clone(),
        "wss://t.example/announce".into(),
        "udp://no-port".into(),
    ]]);
    let announcer = Announcer::spawn(cfg, stats_rx, peers_tx);

    // Back-off 50, 100, 200, 200 ms...
    WAIT.until_async("retries", || failing.count() >= 4).await;
    let requests = failing.requests.lock().unwrap().clone();
    assert!(requests[3].0 - requests[2].0 >= Duration::from_millis(150));
    let status = announcer.status();
    for s in &status {
        assert!(matches!(s.last_result, Some(Err(_))), "{s:?}");
    }
    let wss = status.iter().find(|s| s.url.starts_with("wss")).unwrap();
    assert!(wss
        .last_result
        .as_ref()
        .unwrap()
        .as_ref()
        .unwrap_err()
        .contains("unsupported scheme"));
    announcer.stop(Duration::from_secs(1)).await;
}
