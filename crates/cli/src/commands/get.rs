//! `shoal get`: download a torrent (from a .torrent file, or a magnet link whose
//! metadata is fetched from peers first), optionally keep seeding.

use super::swarm;
use crate::args::GetArgs;
use crate::progress::{self, human_bytes};
use anyhow::Context;
use shoal_engine::AddTorrentOptions;
use shoal_metainfo::Magnet;
use std::time::Duration;

/// How long `get MAGNET` looks for peers that send the torrent's metadata.
const METADATA_TIMEOUT: Duration = Duration::from_secs(300);
use std::path::Path;
use std::process::ExitCode;

pub async fn run(args: GetArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let mut peers = swarm::resolve_peers(&args.net.peers).await?;
    let magnet = if args.source.starts_with("magnet:") {
        let magnet = Magnet::parse(&args.source).context("invalid magnet link")?;
        // x.pe addresses that do not resolve are skipped, not fatal.
        for peer in &magnet.peers {
            match swarm::resolve_peers(std::slice::from_ref(peer)).await {
                Ok(addrs) => peers.extend(addrs),
                Err(e) => tracing::warn!("skipping x.pe peer: {e:#}"),
            }
        }
        Some(magnet)
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
            session
                .fetch_metadata(magnet, peers.clone(), METADATA_TIMEOUT)
                .await?
        }
        None => swarm::load_torrent(Path::new(&args.source))?,
    };
    let opts = AddTorrentOptions {
        download_dir: args.output.clone(),
        peers,
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
            let s = handle.stats();
            if !quiet {
                eprintln!(
                    "complete: {} ({}) in {}",
                    s.name,
                    human_bytes(s.total_length),
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
