//! `shoal seed`: verify local data and serve it until interrupted.

use super::swarm;
use crate::args::SeedArgs;
use crate::progress::{human_bytes, status_line};
use shoal_engine::AddTorrentOptions;
use std::process::ExitCode;

pub async fn run(args: SeedArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let meta = swarm::load_torrent(&args.torrent)?;
    let peers = swarm::resolve_peers(&args.net.peers).await?;
    let session = swarm::start_session(&args.net).await?;
    let opts = AddTorrentOptions {
        download_dir: args.data_dir.clone(),
        peers,
        ..AddTorrentOptions::default()
    };
    let handle = session.add_torrent(meta, opts, |_| {}).await?;
    let stats = handle.stats();
    if !quiet {
        if stats.complete {
            eprintln!(
                "seeding {} ({})",
                stats.name,
                human_bytes(stats.total_length)
            );
        } else {
            eprintln!(
                "warning: only part of the data is present; seeding what we have: {}",
                status_line(&stats)
            );
        }
    }
    crate::signals::interrupted().await;
    if !quiet {
        eprintln!(
            "stopping: uploaded {}",
            human_bytes(handle.stats().uploaded)
        );
    }
    session.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
