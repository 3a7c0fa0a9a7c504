//! `shoal create`: hash a file or directory into a .torrent and print its magnet link.

use crate::args::CreateArgs;
use anyhow::Context;
use shoal_metainfo::{create_torrent, CreateOptions};
use std::process::ExitCode;

pub fn run(args: CreateArgs) -> anyhow::Result<ExitCode> {
    let opts = CreateOptions {
        trackers: args.trackers,
        piece_length: args.piece_size,
        private: args.private,
        comment: args.comment,
        ..CreateOptions::default()
    };
    let meta = create_torrent(&args.path, &opts)
        .with_context(|| format!("cannot create a torrent of {}", args.path.display()))?;
    let out = args
        .output
        .unwrap_or_else(|| format!("{}.torrent", meta.info.name).into());
    std::fs::write(&out, meta.to_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "created {} ({} pieces of {} bytes, info-hash {})",
        out.display(),
        meta.info.num_pieces(),
        meta.info.piece_length,
        meta.info_hash
    );
    println!("{}", meta.magnet());
    Ok(ExitCode::SUCCESS)
}
