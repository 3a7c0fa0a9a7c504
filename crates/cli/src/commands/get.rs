//! `shoal get`: download a torrent, optionally keep seeding.

use super::swarm;
use crate::args::GetArgs;
use crate::progress::{self, human_bytes};
use anyhow::bail;
use shoal_engine::AddTorrentOptions;
use std::path::Path;
use std::process::ExitCode;

pub async fn run(args: GetArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    if args.source.starts_with("magnet:") {
        bail!("magnet links are not supported yet; pass a .torrent file");
    }
    let meta = swarm::load_torrent(Path::new(&args.source))?;
    let peers = swarm::resolve_peers(&args.net.peers).await?;
    let session = swarm::start_session(&args.net).await?;
    let opts = AddTorrentOptions {
        download_dir: args.output.clone(),
        peers,
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
