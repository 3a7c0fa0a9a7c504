//! `shoal send PATH`: seed a file or directory and print a link that needs no tracker
//! (info-hash plus our addresses) with its QR code. By default the link is private: the
//! swarm carries an encrypted stream and the key travels in the link after `#`;
//! `--public` shares the files openly with a plain magnet link. Runs until Ctrl-C, or
//! with `--until-done N` until N peers have everything.

use super::private::build_share;
use super::swarm;
use crate::args::SendArgs;
use crate::link;
use crate::progress::human_bytes;
use anyhow::Context;
use shoal_engine::{AddTorrentOptions, Content, TorrentHandle};
use shoal_metainfo::{create_torrent, CreateOptions};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;
use zeroize::Zeroizing;

pub async fn run(args: SendArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let path = std::fs::canonicalize(&args.path)
        .with_context(|| format!("cannot share {}", args.path.display()))?;
    let data_dir = path
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_else(|| "/".into());
    if !quiet {
        let how = if args.public { "hashing" } else { "encrypting" };
        eprintln!("{how} {}", path.display());
    }
    let share_path = path.clone();
    let piece_size = args.piece_size;
    let (meta, content, key, name, size) = if args.public {
        let opts = CreateOptions {
            piece_length: piece_size,
            ..CreateOptions::default()
        };
        let meta = tokio::task::spawn_blocking(move || create_torrent(&share_path, &opts))
            .await?
            .with_context(|| format!("cannot share {}", path.display()))?;
        let (name, size) = (meta.info.name.clone(), meta.info.total_length);
        (meta, Content::Files, None, name, size)
    } else {
        let share =
            tokio::task::spawn_blocking(move || build_share(&share_path, piece_size, quiet))
                .await?
                .with_context(|| format!("cannot share {}", path.display()))?;
        let manifest = share.layout.manifest();
        let (name, size) = (manifest.root_name.clone(), manifest.total_len());
        let content = Content::PrivateSend(share.source);
        (share.meta, content, Some(share.key), name, size)
    };
    let session = swarm::start_session(&args.net).await?;
    let magnet =
        link::magnet_with_peers(&meta, &link::reachable_addrs(session.local_addr())).to_string();
    let shown: Zeroizing<String> = match &key {
        Some(key) => shoal_private::private_link(&magnet, key),
        None => Zeroizing::new(magnet),
    };
    let opts = AddTorrentOptions {
        download_dir: data_dir,
        peers: swarm::resolve_peers(&args.net.peers).await?,
        skip_check: true,
        content,
        ..Default::default()
    };
    let handle = session.add_torrent(meta, opts, |_| {}).await?;
    println!("{}", shown.as_str());
    let show_qr = args.qr || (!args.no_qr && std::io::stdout().is_terminal());
    if show_qr {
        match link::qr_text(&shown) {
            Some(qr) => println!("{qr}"),
            None => eprintln!("(the link is too long for a QR code)"),
        }
    }
    drop(shown);
    if !quiet {
        let how = if key.is_some() { " privately" } else { "" };
        eprintln!(
            "sending {name} ({}){how}; give the link above to the receiver: shoal get LINK",
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
