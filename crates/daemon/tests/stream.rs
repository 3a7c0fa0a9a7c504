//! Streaming a file that is still downloading: Range requests for the middle and the
//! end return exactly the right bytes (206 + Content-Range) before the download is
//! done (the engine fetches the requested pieces first); 416 outside the file.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use shoal_testkit::{make_torrent, random_file};
use support::{Seeder, TestDaemon};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_of_a_downloading_file() {
    let src = tempfile::tempdir().unwrap();
    let file = src.path().join("movie.mp4");
    let len = 6 * 1024 * 1024;
    let data = random_file(&file, len, 7);
    let meta = make_torrent(&file, 64 * 1024);
    // 512 KiB/s: the whole file takes ~12 s, the ranged pieces (under 0.5 MiB) a
    // second or two. At 1 MiB/s a machine busy with other test runs once delivered
    // the whole file before the ranges.
    let seeder = Seeder::start(&[(&meta, src.path())], Some(512 * 1024)).await;
    let mut d = TestDaemon::start().await;
    let id = d.api.add_torrent(&meta, &[seeder.addr()], json!({})).await;
    d.api
        .wait_torrent(&id, 30, |t| t["state"] != "checking")
        .await;

    let get_range = |range: String| {
        let api = d.api.clone();
        let id = id.clone();
        async move {
            let r = api
                .http
                .get(api.url(&format!("/stream/{id}/0")))
                .bearer_auth(&api.token)
                .header("Range", range)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            let body = r.bytes().await.unwrap();
            (status, headers, body)
        }
    };
    let (a, b) = (4_000_000usize, 4_300_000usize);
    let (mid, end) = tokio::join!(
        get_range(format!("bytes={a}-{}", b - 1)),
        get_range("bytes=-100000".into())
    );
    let progress = d.api.torrent(&id).await["progress"].as_f64().unwrap();
    assert_eq!(mid.0, 206);
    assert_eq!(
        mid.1["content-range"],
        format!("bytes {a}-{}/{len}", b - 1).as_str()
    );
    assert_eq!(mid.1["accept-ranges"], "bytes");
    assert_eq!(mid.1["content-type"], "video/mp4");
    assert_eq!(&mid.2[..], &data[a..b]);
    assert_eq!(end.0, 206);
    assert_eq!(
        end.1["content-range"],
        format!("bytes {}-{}/{len}", len - 100_000, len - 1).as_str()
    );
    assert_eq!(&end.2[..], &data[len - 100_000..]);
    assert!(
        progress < 1.0,
        "the ranges came only after the whole download ({progress})"
    );

    // Outside the file.
    let (status, headers, _) = get_range(format!("bytes={len}-")).await;
    assert_eq!(status, 416);
    assert_eq!(headers["content-range"], format!("bytes */{len}").as_str());

    // The whole file without a Range header.
    let r = d
        .api
        .http
        .get(d.api.url(&format!("/stream/{id}/0")))
        .bearer_auth(&d.api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], len.to_string().as_str());
    let body = r.bytes().await.unwrap();
    assert!(body[..] == data[..], "whole-file body differs");
    // Files that do not exist.
    let (status, _) = d.api.req("GET", &format!("/stream/{id}/1"), None).await;
    assert_eq!(status, 404);
    d.stop().await;
    seeder.session.shutdown().await;
}
