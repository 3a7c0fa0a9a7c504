//! A data connection as the driver sees it: [`PeerLogic`] as a [`Role`], with the
//! download limits and the disk pool's back-pressure deciding when the socket is read.

use super::driver::{Role, READ_CHUNK};
use super::logic::{Exit, Mail, PeerLogic};
use crate::torrent::{DisconnectReason, PeerCommand, Torrent};
use crate::transport::PeerStream;
use bytes::BytesMut;
use std::time::{Duration, Instant};

/// Smallest read size under a download limit (one block plus its header).
const MIN_LIMITED_READ: usize = 16 * 1024 + 13;

/// How long a peer task waits before re-checking a congested disk queue.
const DISK_BACKOFF: Duration = Duration::from_millis(2);

impl Role for PeerLogic {
    type Mail = Mail;

    /// Serve queued requests, request more, publish statistics, and end the
    /// connection once both sides are seeds.
    fn after_io(&mut self) -> Result<(), Exit> {
        self.serve()?;
        self.request_more();
        self.publish();
        if !self.counted_seed && self.conn.peer_is_seed() {
            self.count_as_complete();
        }
        if self.t.is_complete() && self.conn.peer_is_seed() {
            return Err(Exit::Local(DisconnectReason::BothSeeds));
        }
        Ok(())
    }

    fn poll_timeout(&self) -> Instant {
        let mut at = self.conn.poll_timeout();
        if let Some(pex) = self.pex_due(crate::clock::now()) {
            at = at.min(pex);
        }
        if let Some(serve) = self.serve_wait {
            at = at.min(serve);
        }
        at
    }

    fn handle_timeout(&mut self) -> Result<(), Exit> {
        let now = crate::clock::now();
        if self.serve_wait.is_some_and(|at| at <= now) {
            // The upload limits have room again: `after_io` serves.
            self.serve_wait = None;
        }
        self.conn.handle_timeout(now)?;
        self.send_pex_if_due(now);
        self.drain_events()
    }

    fn read_pause(&self) -> Option<Duration> {
        // While the disk workers are behind, stop reading so TCP slows the sender.
        if self.t.ctx().disk().is_congested() {
            return Some(DISK_BACKOFF);
        }
        download_delay(&self.t)
    }

    fn read_cap(&self) -> usize {
        read_cap(&self.t)
    }

    fn handle_input(&mut self, buf: &mut BytesMut, fresh: usize) -> Result<(), Exit> {
        charge_download(&self.t, fresh);
        self.conn.handle_input(buf, crate::clock::now())?;
        let result = self.drain_events();
        // Everything accepted from this read goes to the disk workers in one batch.
        if !self.to_disk.is_empty() {
            let target = self.t.disk_target();
            self.t.ctx().disk().submit(&target, &mut self.to_disk);
        }
        result
    }

    fn has_output(&self) -> bool {
        self.conn.has_output() || !self.outbox.is_empty()
    }

    /// Writes queued output (buffered messages and file-backed blocks).
    fn write_ready(&mut self, stream: &dyn PeerStream) -> Result<(), Exit> {
        self.outbox
            .write_ready(stream, self.conn.output())
            .map_err(Exit::Io)
    }

    async fn next_mail(&mut self) -> Mail {
        tokio::select! {
            Some(read) = self.reads_rx.recv() => Mail::Read(read),
            cmd = self.commands.recv() => Mail::Command(cmd),
            _ = self.shutdown.changed() => Mail::Shutdown,
        }
    }

    fn handle_mail(&mut self, mail: Mail) -> Result<(), Exit> {
        match mail {
            Mail::Read(read) => {
                self.on_block_read(read);
                Ok(())
            }
            Mail::Command(Some(cmd)) => self.on_command(cmd),
            Mail::Command(None) => Err(Exit::Local(DisconnectReason::TorrentRemoved)),
            Mail::Shutdown => Err(Exit::Local(DisconnectReason::ShuttingDown)),
        }
    }

    /// Passes on the HAVEs queued for this peer (the torrent may have completed and
    /// stopped right after its last piece): the peer should learn that we have
    /// everything, e.g. a sender counting who got the whole content.
    fn closing(&mut self) {
        while let Ok(cmd) = self.commands.try_recv() {
            if matches!(cmd, PeerCommand::Have(_)) {
                let _ = self.on_command(cmd);
            }
        }
    }
}

/// How long to wait before reading again under the download limits, if at all.
///
/// The wait is stretched by a random part of up to half of it: peers sharing a bucket
/// would otherwise all wake at the same instant, and the one the runtime happens to
/// poll first would read every time while the others find the bucket in debt again
/// (paused-time tests showed a peer starved for 6 s out of 6).
fn download_delay(t: &Torrent) -> Option<Duration> {
    let now = crate::clock::now();
    let session = t.ctx().download_limiter().delay(now);
    let torrent = t.limiter().download.delay(now);
    let wait = session.max(torrent)?;
    Some(wait + wait.mul_f64(rand::random::<f64>() * 0.5))
}

/// Most bytes one read may take. Under a download limit a read takes about an eighth
/// of a second's worth: peers sharing a bucket all wake when it is out of debt and each
/// reads once, so a full-size read each would put the bucket n × 256 KiB into debt and
/// leave every peer unread for that long (request and idle timeouts at low rates).
fn read_cap(t: &Torrent) -> usize {
    let rate = [
        t.ctx().download_limiter().rate(),
        t.limiter().download.rate(),
    ]
    .into_iter()
    .flatten()
    .min();
    match rate {
        None => READ_CHUNK,
        Some(r) => usize::try_from(r / 8)
            .unwrap_or(READ_CHUNK)
            .clamp(MIN_LIMITED_READ, READ_CHUNK),
    }
}

/// Counts `n` bytes read against the download limits.
fn charge_download(t: &Torrent, n: usize) {
    let now = crate::clock::now();
    t.ctx().download_limiter().charge(n as u64, now);
    t.limiter().download.charge(n as u64, now);
}
