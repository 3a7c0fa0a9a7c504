//! The responding (accepting) side of the handshake, "B" in the specification. It
//! learns which torrent the initiator wants by matching `HASH('req2', SKEY)`
//! against every info-hash it serves.

use std::mem;

use rand::{CryptoRng, RngCore};

use crate::dh::{Keypair, SharedSecret, PUBLIC_KEY_LEN};
use crate::keys::{obfuscated_info_hash, req1, req3, Rc4Streams, Role};
use crate::outcome::{Established, HandshakeParams};
use crate::policy::{EncryptionPolicy, CRYPTO_RC4};
use crate::sync::{discard, scan, take_array, take_vec, Scan};
use crate::{MseError, SyncMarker, MAX_PAD_LEN, VC};

/// What is known once the torrent and methods are settled.
struct Session {
    info_hash: [u8; 20],
    streams: Rc4Streams,
}

enum State {
    /// Waiting for the initiator's 96-byte public key.
    AwaitYa,
    /// Scanning PadA for `HASH('req1', S)`; `scan_from` is where to resume.
    AwaitReq1 {
        secret: SharedSecret,
        req1: [u8; 20],
        scan_from: usize,
    },
    /// Waiting for `HASH('req2', SKEY) xor HASH('req3', S)`.
    AwaitReq2 { secret: SharedSecret },
    /// Waiting for `ENCRYPT(VC, crypto_provide, len(PadC))`.
    AwaitProvide(Session),
    /// Waiting for `ENCRYPT(PadC, len(IA))`.
    AwaitPadC {
        session: Session,
        select: u32,
        pad_len: usize,
    },
    /// Waiting for `ENCRYPT(IA)`.
    AwaitIa {
        session: Session,
        select: u32,
        ia_len: usize,
    },
    /// Finished; the outcome until [`Responder::poll_outcome`] takes it.
    Done(Option<Established>),
    /// An error was returned; nothing more is accepted.
    Failed,
}

enum Step {
    Next(State),
    Wait(State),
}

/// The accepting side of an MSE handshake. See the crate docs for how to drive it.
pub struct Responder {
    /// `(HASH('req2', SKEY), SKEY)` for every torrent served.
    skeys: Vec<([u8; 20], [u8; 20])>,
    policy: EncryptionPolicy,
    keypair: Keypair,
    pad_b: Vec<u8>,
    pad_d: Vec<u8>,
    input: Vec<u8>,
    output: Vec<u8>,
    state: State,
    /// The torrent the initiator asked for, once `HASH('req2', SKEY)` matched.
    requested: Option<[u8; 20]>,
}

impl Responder {
    /// Prepares to answer an incoming MSE handshake for any of `skeys` (the
    /// info-hashes served). Nothing is sent until the initiator's key arrives.
    pub fn new<R: RngCore + CryptoRng>(
        skeys: impl IntoIterator<Item = [u8; 20]>,
        policy: EncryptionPolicy,
        rng: &mut R,
    ) -> Result<Self, MseError> {
        Self::with_params(skeys, policy, HandshakeParams::random(rng))
    }

    /// Like [`Responder::new`] with a fixed private key and pads (PadB, PadD).
    pub fn with_params(
        skeys: impl IntoIterator<Item = [u8; 20]>,
        policy: EncryptionPolicy,
        params: HandshakeParams,
    ) -> Result<Self, MseError> {
        params.validate()?;
        let keypair = Keypair::from_private(&params.private_key)?;
        Ok(Self {
            skeys: skeys
                .into_iter()
                .map(|k| (obfuscated_info_hash(&k), k))
                .collect(),
            policy,
            keypair,
            pad_b: params.pad,
            pad_d: params.encrypted_pad,
            input: Vec::new(),
            output: Vec::new(),
            state: State::AwaitYa,
            requested: None,
        })
    }

    /// Feeds bytes received from the peer, from the very first byte of the
    /// connection. After the handshake completes, further bytes are appended
    /// (decrypted) to the outcome's `initial_payload` until it is taken; after
    /// that, or after an error, this returns [`MseError::Finished`].
    pub fn handle_input(&mut self, bytes: &[u8]) -> Result<(), MseError> {
        match &mut self.state {
            State::Done(Some(est)) => {
                est.absorb(bytes);
                return Ok(());
            }
            State::Done(None) | State::Failed => return Err(MseError::Finished),
            _ => {}
        }
        self.input.extend_from_slice(bytes);
        loop {
            let state = mem::replace(&mut self.state, State::Failed);
            match self.step(state) {
                Ok(Step::Next(next)) => self.state = next,
                Ok(Step::Wait(next)) => {
                    self.state = next;
                    return Ok(());
                }
                Err(e) => {
                    self.input = Vec::new();
                    return Err(e);
                }
            }
        }
    }

    /// Bytes to send to the peer, if any. Send them before anything encrypted with
    /// the outcome's cipher.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        (!self.output.is_empty()).then(|| mem::take(&mut self.output))
    }

    /// The info-hash the initiator asked for, once known: also after a later failure
    /// (such as [`MseError::NoCommonMethod`]), so the caller can tell which torrent a
    /// refused peer wanted.
    pub fn info_hash(&self) -> Option<[u8; 20]> {
        self.requested
    }

    /// Whether the handshake has completed successfully.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done(_))
    }

    /// The outcome, once, after the handshake completes.
    pub fn poll_outcome(&mut self) -> Option<Established> {
        match &mut self.state {
            State::Done(est) => est.take(),
            _ => None,
        }
    }

    fn step(&mut self, state: State) -> Result<Step, MseError> {
        Ok(match state {
            State::AwaitYa => match take_array::<PUBLIC_KEY_LEN>(&mut self.input) {
                Some(ya) => {
                    let secret = self.keypair.shared_secret(&ya)?;
                    self.output.extend_from_slice(self.keypair.public());
                    self.output.extend_from_slice(&mem::take(&mut self.pad_b));
                    Step::Next(State::AwaitReq1 {
                        secret,
                        req1: req1(&secret),
                        scan_from: 0,
                    })
                }
                None => Step::Wait(State::AwaitYa),
            },
            State::AwaitReq1 {
                secret,
                req1,
                scan_from,
            } => match scan(&self.input, &req1, scan_from, MAX_PAD_LEN) {
                Scan::Found(at) => {
                    discard(&mut self.input, at + req1.len());
                    Step::Next(State::AwaitReq2 { secret })
                }
                Scan::Pending(scan_from) => Step::Wait(State::AwaitReq1 {
                    secret,
                    req1,
                    scan_from,
                }),
                Scan::Exhausted => return Err(MseError::SyncNotFound(SyncMarker::Req1)),
            },
            State::AwaitReq2 { secret } => match take_array::<20>(&mut self.input) {
                Some(masked) => {
                    let req3 = req3(&secret);
                    let mut req2 = [0u8; 20];
                    for (out, (m, r)) in req2.iter_mut().zip(masked.iter().zip(req3.iter())) {
                        *out = m ^ r;
                    }
                    let info_hash = self
                        .skeys
                        .iter()
                        .find(|(h, _)| *h == req2)
                        .map(|(_, k)| *k)
                        .ok_or(MseError::UnknownInfoHash)?;
                    self.requested = Some(info_hash);
                    let streams = Rc4Streams::new(Role::Responder, &secret, &info_hash);
                    Step::Next(State::AwaitProvide(Session { info_hash, streams }))
                }
                None => Step::Wait(State::AwaitReq2 { secret }),
            },
            State::AwaitProvide(mut session) => match take_array::<14>(&mut self.input) {
                Some(mut field) => {
                    session.streams.decrypt(&mut field);
                    let [v0, v1, v2, v3, v4, v5, v6, v7, c0, c1, c2, c3, p0, p1] = field;
                    if [v0, v1, v2, v3, v4, v5, v6, v7] != VC {
                        return Err(MseError::BadVc);
                    }
                    let provided = u32::from_be_bytes([c0, c1, c2, c3]);
                    let select = self
                        .policy
                        .select(provided)
                        .ok_or(MseError::NoCommonMethod {
                            provided,
                            allowed: self.policy.crypto_provide(),
                        })?;
                    let pad_len = usize::from(u16::from_be_bytes([p0, p1]));
                    if pad_len > MAX_PAD_LEN {
                        return Err(MseError::PadTooLong { len: pad_len });
                    }
                    Step::Next(State::AwaitPadC {
                        session,
                        select,
                        pad_len,
                    })
                }
                None => Step::Wait(State::AwaitProvide(session)),
            },
            State::AwaitPadC {
                mut session,
                select,
                pad_len,
            } => match take_vec(&mut self.input, pad_len + 2) {
                Some(mut field) => {
                    session.streams.decrypt(&mut field);
                    let ia_len = match field.get(pad_len..) {
                        Some(&[hi, lo]) => usize::from(u16::from_be_bytes([hi, lo])),
                        _ => return Err(MseError::InvalidParams("internal length mismatch")),
                    };
                    Step::Next(State::AwaitIa {
                        session,
                        select,
                        ia_len,
                    })
                }
                None => Step::Wait(State::AwaitPadC {
                    session,
                    select,
                    pad_len,
                }),
            },
            State::AwaitIa {
                session,
                select,
                ia_len,
            } => match take_vec(&mut self.input, ia_len) {
                Some(ia) => Step::Wait(State::Done(Some(self.finish(session, select, ia)?))),
                None => Step::Wait(State::AwaitIa {
                    session,
                    select,
                    ia_len,
                }),
            },
            done @ State::Done(_) => Step::Wait(done),
            State::Failed => return Err(MseError::Finished),
        })
    }

    /// Got the whole IA: queue `ENCRYPT(VC, crypto_select, len(PadD), PadD)` and
    /// build the outcome.
    fn finish(
        &mut self,
        mut session: Session,
        select: u32,
        mut ia: Vec<u8>,
    ) -> Result<Established, MseError> {
        // IA is always RC4-encrypted, whatever method is selected for what follows.
        session.streams.decrypt(&mut ia);

        let pad_d = mem::take(&mut self.pad_d);
        let pad_len = u16::try_from(pad_d.len())
            .map_err(|_| MseError::InvalidParams("pad longer than 512 bytes"))?;
        let mut reply = Vec::with_capacity(VC.len() + 4 + 2 + pad_d.len());
        reply.extend_from_slice(&VC);
        reply.extend_from_slice(&select.to_be_bytes());
        reply.extend_from_slice(&pad_len.to_be_bytes());
        reply.extend_from_slice(&pad_d);
        session.streams.encrypt(&mut reply);
        self.output.extend_from_slice(&reply);

        let mut est = Established {
            info_hash: session.info_hash,
            cipher: (select == CRYPTO_RC4).then_some(session.streams),
            initial_payload: ia,
        };
        est.absorb(&mem::take(&mut self.input));
        Ok(est)
    }
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("policy", &self.policy)
            .field("torrents", &self.skeys.len())
            .field("done", &self.is_done())
            .field("buffered", &self.input.len())
            .finish_non_exhaustive()
    }
}
