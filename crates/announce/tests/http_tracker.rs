//! The announcer against a local HTTP tracker.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use shoal_announce::{Announcer, TransferStats};
use tokio::sync::{mpsc, watch};

#[tokio::test]
async fn started_then_stopped_with_correct_query() {
    let tracker = HttpTracker::start(Reply::ok(announce_reply(1800))).await;
    let (_stats_tx, stats_rx) = watch::channel(stats());
    let (peers_tx, mut peers_rx) = mpsc::channel(8);
    let announcer = Announcer::spawn(config(vec![vec![tracker.url.clone()]]), stats_rx, peers_tx);

    let peers = tokio::time::timeout(Duration::from_secs(5), peers_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(peers, canned_peers());

    let first = tracker.targets()[0].clone();
    assert!(first.starts_with("/announce?"), "{first}");
    assert_eq!(param(&first, "info_hash"), Some(INFO_HASH_ENC));
    assert_eq!(param(&first, "peer_id"), Some("-SH0001-abcdefghijkl"));
    assert_eq!(param(&first, "event"), Some("started"));
    assert_eq!(param(&first, "compact"), Some("1"));
    assert_eq!(param(&first, "port"), Some("6881"));
    assert_eq!(param(&first, "uploaded"), Some("11"));
    assert_eq!(param(&first, "downloaded"), Some("22"));
    assert_eq!(param(&first, "left"), Some("33"));
    assert_eq!(param(&first, "numwant"), Some("200"));

    let status = announcer.status();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].last_result, Some(Ok(2)));
    assert_eq!((status[0].seeders, status[0].leechers), (Some(3), Some(4)));
    assert!(status[0].next_announce.is_some());

    announcer.stop(Duration::from_secs(3)).await;
    let targets = tracker.targets();
    assert_eq!(targets.len(), 2, "{targets:?}");
    assert_eq!(param(&targets[1], "event"), Some("stopped"));
    assert_eq!(param(&targets[1], "key"), param(&first, "key"));
}

#[tokio::test]
async fn reannounces_after_interval_with_fresh_stats_and_completed_once() {
    // interval 0 is clamped up to the (test) floor of 100 ms.
    let tracker = HttpTracker::start(Reply::ok(announce_reply(0))).await;
    let (stats_tx, stats_rx) = watch::channel(stats());
    let (peers_tx, _peers_rx) = mpsc::channel(64);
    let announcer = Announcer::spawn(config(vec![vec![tracker.url.clone()]]), stats_rx, peers_tx);

    WAIT.until_async("second announce", || tracker.count() >= 2)
        .await;
    stats_tx
        .send(TransferStats {
            uploaded: 100,
            downloaded: 200,
            left: 0,
        })
        .unwrap();
    announcer.completed();
    announcer.completed();
    WAIT.until_async("more announces", || tracker.count() >= 5)
        .await;
    announcer.stop(Duration::from_secs(3)).await;

    let requests = tracker.requests.lock().unwrap().clone();
    let events: Vec<Option<&str>> = requests.iter().map(|(_, t)| param(t, "event")).collect();
    assert_eq!(events[0], Some("started"));
    assert_eq!(events[1], None);
    assert_eq!(
        events.iter().filter(|e| **e == Some("completed")).count(),
        1,
        "{events:?}"
    );
    assert_eq!(events.last().unwrap(), &Some("stopped"));
    let completed = requests
        .iter()
        .find(|(_, t)| param(t, "event") == Some("completed"))
        .unwrap();
    assert_eq!(param(&completed.1, "left"), Some("0"));
    // Regular re-announces respect the floor.
    let regular: Vec<_> = requests
        .iter()
        .filter(|(_, t)| param(t, "event").is_none())
        .collect();
    for pair in regular.windows(2) {
        assert!(
            pair[1].0 - pair[0].0 >= Duration::from_millis(90),
            "re-announced too fast"
        );
    }
}

#[tokio::test]
async fn announce_now_respects_min_interval() {
    let mut body = announce_reply(3600);
    body.pop();
    body.extend_from_slice(b"12:min intervali0ee"); // unsorted key: tolerated
    let tracker = HttpTracker::start(Reply::ok(body)).await;
    let (_stats_tx, stats_rx) = watch::channel(stats());
    let (peers_tx, _peers_rx) = mpsc::channel(8);
    let mut cfg = config(vec![vec![tracker.url.clone()]]);
    cfg.min_interval_floor = Duration::from_millis(300);
    let announcer = Announcer::spawn(cfg, stats_rx, peers_tx);

    WAIT.until_async("started", || tracker.count() == 1).await;
    announcer.announce_now();
    WAIT.until_async("requested announce", || tracker.count() == 2)
        .await;
    let r = tracker.requests.lock().unwrap().clone();
    assert!(
        r[1].0 - r[0].0 >= Duration::from_millis(250),
        "min interval ignored"
    );
    assert_eq!(param(&r[1].1, "event"), None);
    announcer.stop(Duration::from_secs(3)).await;
}

#[tokio::test]
async fn follows_a_redirect() {
    let target = HttpTracker::start(Reply::ok(announce_reply(1800))).await;
    let redirect = Reply {
        status: "302 Found",
        headers: format!("Location: {}?passkey=1\r\n", target.url),
        body: Vec::new(),
    };
    let front = HttpTracker::start(redirect).await;
    let (_stats_tx, stats_rx) = watch::channel(stats());
    let (peers_tx, mut peers_rx) = mpsc::channel(8);
    let announcer = Announcer::spawn(config(vec![vec![front.url.clone()]]), stats_rx, peers_tx);
    let peers = tokio::time::timeout(Duration::from_secs(5), peers_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(peers, canned_peers());
    assert_eq!(target.targets()[0], "/announce?passkey=1");
    announcer.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn bad_replies_are_errors_not_panics() {
    let huge = vec![b'x'; shoal_announce::MAX_REPLY + 1];
    let cases: Vec<(Reply, &str)> = vec![
        (
            Reply::ok(b"d14:failure reason11:not allowede".to_vec()),
            "not allowed",
        ),
        (Reply::ok(b"<html>oops</html>".to_vec()), "malformed"),
        (Reply::ok(huge), "larger than"),
        (
            Reply {
                status: "404 Not Found",
                headers: String::new(),
                body: b"nope".to_vec(),
            },
            "404",
        ),
        (
            Reply {
                status: "302 Found",
                headers: "Location: /announce\r\n".into(),
                body: Vec::new(),
            },
            "redirect",
        ),
    ];
    for (reply, want) in cases {
        let tracker = HttpTracker::start(reply).await;
        let (_stats_tx, stats_rx) = watch::channel(stats());
        let (peers_tx, _peers_rx) = mpsc::channel(8);
        let announcer =
            Announcer::spawn(config(vec![vec![tracker.url.clone()]]), stats_rx, peers_tx);
        WAIT.until_async("an error", || {
            matches!(announcer.status()[0].last_result, Some(Err(_)))
        })
        .await;
        let Some(Err(text)) = announcer.status()[0].last_result.clone() else {
            unreachable!()
        };
        assert!(
            text.to_lowercase().contains(want),
            "{text:?} lacks {want:?}"
        );
        // It never acknowledged `started`, so it gets no `stopped`.
        announcer.stop(Duration::from_millis(500)).await;
        assert!(tracker
            .targets()
            .iter()
            .all(|t| param(t, "event") != Some("stopped")));
    }
}

#[tokio::test]
async fn tracker_id_is_echoed() {
    let mut body = announce_reply(0);
    body.pop();
    body.extend_from_slice(b"10:tracker id4:t1d!e");
    let tracker = HttpTracker::start(Reply::ok(body)).await;
    let (_stats_tx, stats_rx) = watch::channel(stats());
    let (peers_tx, _peers_rx) = mpsc::channel(8);
    let announcer = Announcer::spawn(config(vec![vec![tracker.url.clone()]]), stats_rx, peers_tx);
    WAIT.until_async("re-announce", || tracker.count() >= 2)
        .await;
    announcer.stop(Duration::from_secs(2)).await;
    let targets = tracker.targets();
    assert_eq!(param(&targets[0], "trackerid"), None);
    assert_eq!(param(&targets[1], "trackerid"), Some("t1d%21"));
}
