//! `shoal get`: download a torrent (from a .torrent file, or a magnet link whose
//! metadata is fetched from peers first), optionally keep seeding. A private link
//! (`magnet:?…#k=KEY`) is fetched with its magnet part only and decrypted into the
//! share's files; the key stays in this process.

use super::private::split_source;
use super::swarm;
use crate::args::GetArgs;
use crate::progress::{self, human_bytes};
use anyhow::Context;
use shoal_engine::{AddTorrentOptions, Content, FetchStatus, TorrentHandle};
use shoal_metainfo::Magnet;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// How long `get MAGNET` looks for peers that send the torrent's metadata.
const METADATA_TIMEOUT: Duration = Duration::from_secs(300);

pub async fn run(args: GetArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let (source, key) = split_source(&args.source)?;
    let mut peers = swarm::resolve_peers(&args.net.peers).await?;
    let magnet = if source.starts_with("magnet:") {
        let magnet = Magnet::parse(source).context("invalid magnet link")?;
        // x.pe addresses that do not resolve are skipped, not fatal.
        for peer in &magnet.peers {
            match swarm::resolve_peers(std::slice::from_ref(peer)).await {
                Ok(addrs) => peers.extend(addrs),
                Err(e) => tracing::warn!("skipping x.pe peer: {e:#}"),
            }
        }
        Some(magnet)
    } else if key.is_some() {
        anyhow::bail!("a private link must be a magnet link");
    } else {
        None
    };
    let session = swarm::start_session(&args.net).await?;
    let meta = match &magnet {
        Some(magnet) => {
            if !quiet {
                eprintln!(
                    "fetching metadata for {} from {} peer(s)",
                    magnet.info_hash,
                    peers.len()
                );
            }
            let (status, status_rx) = tokio::sync::watch::channel(FetchStatus::default());
            let shown = (!quiet).then(|| tokio::spawn(show_fetch_status(status_rx)));
            let fetched = session
                .fetch_metadata_with_status(magnet, peers.clone(), METADATA_TIMEOUT, status)
                .await;
            if let Some(task) = shown {
                task.abort();
            }
            fetched?
        }
        None => swarm::load_torrent(Path::new(source))?,
    };
    let content = match key {
        Some(key) => {
            if meta.info.multi_file || meta.info.files.len() != 1 {
                anyhow::bail!("this link is not a private share (its torrent has several files)");
            }
            Content::PrivateReceive(key)
        }
        None => Content::Files,
    };
    let opts = AddTorrentOptions {
        download_dir: args.output.clone(),
        peers,
        content,
        ..AddTorrentOptions::default()
    };
    let handle = session.add_torrent(meta, opts, |_| {}).await?;
    let reporter = tokio::spawn(progress::report(handle.clone(), quiet));
    let outcome = tokio::select! {
        r = handle.wait_complete() => Some(r),
        _ = crate::signals::interrupted() => None,
    };
    reporter.abort();
    let code = match outcome {
        Some(Ok(())) => {
            if !quiet {
                let (name, size) = shown_name(&handle);
                eprintln!(
                    "complete: {name} ({}) in {}",
                    human_bytes(size),
                    args.output.display()
                );
            }
            if args.seed {
                if !quiet {
                    eprintln!("seeding until interrupted");
                }
                crate::signals::interrupted().await;
            }
            ExitCode::SUCCESS
        }
        Some(Err(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
        None => {
            eprintln!("interrupted: {}", progress::status_line(&handle.stats()));
            ExitCode::FAILURE
        }
    };
    session.shutdown().await;
    Ok(code)
}

/// Prints what the metadata fetch is waiting for whenever that changes, at most once
/// a second, until the fetch ends.
async fn show_fetch_status(mut status: tokio::sync::watch::Receiver<FetchStatus>) {
    let mut last = String::new();
    loop {
        let text = status.borrow_and_update().to_string();
        if text != last {
            eprintln!("metadata: {text}");
            last = text;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        if status.changed().await.is_err() {
            return;
        }
    }
}

/// The name and size to report: a private share's real name and content size from its
/// manifest, otherwise the torrent's.
fn shown_name(handle: &TorrentHandle) -> (String, u64) {
    match handle.private_layout() {
        Some(layout) => {
            let manifest = layout.manifest();
            (manifest.root_name.clone(), manifest.total_len())
        }
        None => {
            let s = handle.stats();
            (s.name, s.total_length)
        }
    }
}
