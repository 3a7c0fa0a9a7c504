//! `shoal send PATH`: hash a file or directory, seed it, and print a link that needs no
//! tracker (info-hash plus our addresses) with its QR code. Runs until Ctrl-C, or with
//! `--until-done N` until N peers have everything.

use super::swarm;
use crate::args::SendArgs;
use crate::link;
use crate::progress::human_bytes;
use anyhow::Context;
use shoal_engine::{AddTorrentOptions, TorrentHandle};
use shoal_metainfo::{create_torrent, CreateOptions};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

pub async fn run(args: SendArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let path = std::fs::canonicalize(&args.path)
        .with_context(|| format!("cannot share {}", args.path.display()))?;
    let data_dir = path
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_else(|| "/".into());
    if !quiet {
        eprintln!("hashing {}", path.display());
    }
    let opts = CreateOptions {
        piece_length: args.piece_size,
        ..CreateOptions::default()
    };
    let create_path = path.clone();
    let meta = tokio::task::spawn_blocking(move || create_torrent(&create_path, &opts))
        .await?
        .with_context(|| format!("cannot share {}", path.display()))?;
    let session = swarm::start_session(&args.net).await?;
    let magnet = link::magnet_with_peers(&meta, &link::reachable_addrs(session.local_addr()));
    let name = meta.info.name.clone();
    let size = meta.info.total_length;
    let opts = AddTorrentOptions {
        download_dir: data_dir,
        peers: swarm::resolve_peers(&args.net.peers).await?,
        skip_check: true,
    };
    let handle = session.add_torrent(meta, opts, |_| {}).await?;
    println!("{magnet}");
    let show_qr = args.qr || (!args.no_qr && std::io::stdout().is_terminal());
    if show_qr {
        match link::qr_text(&magnet.to_string()) {
            Some(qr) => println!("{qr}"),
            None => eprintln!("(the link is too long for a QR code)"),
        }
    }
    if !quiet {
        eprintln!(
            "sending {name} ({}); give the link above to the receiver: shoal get LINK",
            human_bytes(size)
        );
    }
    let finished = tokio::select! {
        _ = wait_for_receivers(&handle, args.until_done, quiet) => true,
        _ = crate::signals::interrupted() => false,
    };
    if !quiet {
        let s = handle.stats();
        let how = if finished { "done" } else { "stopping" };
        eprintln!(
            "{how}: uploaded {} to {} peer(s) that have everything",
            human_bytes(s.uploaded),
            s.complete_peers
        );
    }
    session.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Returns once `until_done` peers have the whole content (never without a target).
async fn wait_for_receivers(handle: &TorrentHandle, until_done: Option<usize>, quiet: bool) {
    let mut reported = 0;
    loop {
        let done = handle.stats().complete_peers;
        if done > reported {
            reported = done;
            if !quiet {
                eprintln!("{done} peer(s) have everything");
            }
        }
        if until_done.is_some_and(|n| done >= n) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
