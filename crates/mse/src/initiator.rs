//! The initiating (connecting) side of the handshake, "A" in the specification:
//!
//! ```text
//! A->B: Ya, PadA
//! B->A: Yb, PadB
//! A->B: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
//!       ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
//! B->A: ENCRYPT(VC, crypto_select, len(PadD), PadD), ENCRYPT2(payload)
//! ```

use std::mem;

use rand::{CryptoRng, RngCore};

use crate::dh::{Keypair, PUBLIC_KEY_LEN};
use crate::keys::{obfuscated_info_hash, req1, req3, Rc4Streams, Role};
use crate::outcome::{Established, HandshakeParams};
use crate::policy::{EncryptionPolicy, CRYPTO_PLAINTEXT, CRYPTO_RC4};
use crate::sync::{discard, scan, take_array, take_vec, Scan};
use crate::{MseError, SyncMarker, MAX_PAD_LEN, VC};

enum State {
    /// Waiting for the responder's 96-byte public key.
    AwaitYb,
    /// Scanning PadB for `ENCRYPT(VC)`; `scan_from` is where to resume.
    AwaitVc {
        streams: Rc4Streams,
        expected: [u8; 8],
        scan_from: usize,
    },
    /// Waiting for `crypto_select` and `len(PadD)`.
    AwaitSelect { streams: Rc4Streams },
    /// Waiting for PadD.
    AwaitPadD {
        streams: Rc4Streams,
        select: u32,
        pad_len: usize,
    },
    /// Finished; the outcome until [`Initiator::poll_outcome`] takes it.
    Done(Option<Established>),
    /// An error was returned; nothing more is accepted.
    Failed,
}

enum Step {
    /// State changed and may be able to make more progress.
    Next(State),
    /// Needs more input.
    Wait(State),
}

/// The connecting side of an MSE handshake. See the crate docs for how to drive it.
pub struct Initiator {
    info_hash: [u8; 20],
    provide: u32,
    keypair: Keypair,
    ia: Vec<u8>,
    pad_c: Vec<u8>,
    input: Vec<u8>,
    output: Vec<u8>,
    state: State,
}

impl Initiator {
    /// Starts a handshake for `info_hash`, offering the methods `policy` allows and
    /// carrying `ia` (usually the 68-byte BitTorrent handshake; may be empty) inside
    /// the encrypted part. Ya and PadA are queued for [`Initiator::poll_transmit`].
    pub fn new<R: RngCore + CryptoRng>(
        info_hash: [u8; 20],
        policy: EncryptionPolicy,
        ia: Vec<u8>,
        rng: &mut R,
    ) -> Result<Self, MseError> {
        Self::with_params(info_hash, policy, ia, HandshakeParams::random(rng))
    }

    /// Like [`Initiator::new`] with a fixed private key and pads (PadA, PadC).
    pub fn with_params(
        info_hash: [u8; 20],
        policy: EncryptionPolicy,
        ia: Vec<u8>,
        params: HandshakeParams,
    ) -> Result<Self, MseError> {
        params.validate()?;
        if u16::try_from(ia.len()).is_err() {
            return Err(MseError::InitialPayloadTooLong { len: ia.len() });
        }
        let keypair = Keypair::from_private(&params.private_key)?;
        let mut output = Vec::with_capacity(PUBLIC_KEY_LEN + params.pad.len());
        output.extend_from_slice(keypair.public());
        output.extend_from_slice(&params.pad);
        Ok(Self {
            info_hash,
            provide: policy.crypto_provide(),
            keypair,
            ia,
            pad_c: params.encrypted_pad,
            input: Vec::new(),
            output,
            state: State::AwaitYb,
        })
    }

    /// Feeds bytes received from the peer. After the handshake completes, further
    /// bytes are appended (decrypted) to the outcome's `initial_payload` until it is
    /// taken; after that, or after an error, this returns [`MseError::Finished`].
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
            State::AwaitYb => match take_array::<PUBLIC_KEY_LEN>(&mut self.input) {
                Some(yb) => Step::Next(self.on_yb(&yb)?),
                None => Step::Wait(State::AwaitYb),
            },
            State::AwaitVc {
                streams,
                expected,
                scan_from,
            } => match scan(&self.input, &expected, scan_from, MAX_PAD_LEN) {
                Scan::Found(at) => {
                    discard(&mut self.input, at + VC.len());
                    Step::Next(State::AwaitSelect { streams })
                }
                Scan::Pending(scan_from) => Step::Wait(State::AwaitVc {
                    streams,
                    expected,
                    scan_from,
                }),
                Scan::Exhausted => return Err(MseError::SyncNotFound(SyncMarker::Vc)),
            },
            State::AwaitSelect { mut streams } => match take_array::<6>(&mut self.input) {
                Some(mut field) => {
                    streams.decrypt(&mut field);
                    let [s0, s1, s2, s3, p0, p1] = field;
                    let select = u32::from_be_bytes([s0, s1, s2, s3]);
                    if (select != CRYPTO_RC4 && select != CRYPTO_PLAINTEXT)
                        || select & self.provide == 0
                    {
                        return Err(MseError::BadCryptoSelect {
                            selected: select,
                            provided: self.provide,
                        });
                    }
                    let pad_len = usize::from(u16::from_be_bytes([p0, p1]));
                    if pad_len > MAX_PAD_LEN {
                        return Err(MseError::PadTooLong { len: pad_len });
                    }
                    Step::Next(State::AwaitPadD {
                        streams,
                        select,
                        pad_len,
                    })
                }
                None => Step::Wait(State::AwaitSelect { streams }),
            },
            State::AwaitPadD {
                mut streams,
                select,
                pad_len,
            } => match take_vec(&mut self.input, pad_len) {
                Some(mut pad) => {
                    // Only to keep the keystream in step.
                    streams.decrypt(&mut pad);
                    let cipher = (select == CRYPTO_RC4).then_some(streams);
                    let mut est = Established {
                        info_hash: self.info_hash,
                        cipher,
                        initial_payload: Vec::new(),
                    };
                    est.absorb(&mem::take(&mut self.input));
                    Step::Wait(State::Done(Some(est)))
                }
                None => Step::Wait(State::AwaitPadD {
                    streams,
                    select,
                    pad_len,
                }),
            },
            done @ State::Done(_) => Step::Wait(done),
            State::Failed => return Err(MseError::Finished),
        })
    }

    /// Got Yb: derive the keys, queue step three, and start looking for the VC.
    fn on_yb(&mut self, yb: &[u8; PUBLIC_KEY_LEN]) -> Result<State, MseError> {
        let secret = self.keypair.shared_secret(yb)?;
        let mut streams = Rc4Streams::new(Role::Initiator, &secret, &self.info_hash);

        self.output.extend_from_slice(&req1(&secret));
        let req2 = obfuscated_info_hash(&self.info_hash);
        let req3 = req3(&secret);
        self.output
            .extend(req2.iter().zip(req3.iter()).map(|(a, b)| a ^ b));

        let ia = mem::take(&mut self.ia);
        let pad_c = mem::take(&mut self.pad_c);
        let mut enc = Vec::with_capacity(VC.len() + 4 + 2 + pad_c.len() + 2 + ia.len());
        enc.extend_from_slice(&VC);
        enc.extend_from_slice(&self.provide.to_be_bytes());
        enc.extend_from_slice(&len_u16(pad_c.len())?.to_be_bytes());
        enc.extend_from_slice(&pad_c);
        enc.extend_from_slice(&len_u16(ia.len())?.to_be_bytes());
        enc.extend_from_slice(&ia);
        streams.encrypt(&mut enc);
        self.output.extend_from_slice(&enc);

        // ENCRYPT(VC) from B is B's first eight keystream bytes; producing them here
        // also moves our decryptor past the VC.
        let mut expected = VC;
        streams.decrypt(&mut expected);
        Ok(State::AwaitVc {
            streams,
            expected,
            scan_from: 0,
        })
    }
}

/// A length already validated to fit the u16 field.
fn len_u16(len: usize) -> Result<u16, MseError> {
    u16::try_from(len).map_err(|_| MseError::InvalidParams("length does not fit 16 bits"))
}

impl std::fmt::Debug for Initiator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Initiator")
            .field("done", &self.is_done())
            .field("buffered", &self.input.len())
            .finish_non_exhaustive()
    }
}
