//! Addresses of blocks: the 16 KiB units that peers request and send.

/// The block size every client uses for requests (BEP 3 recommends 16 KiB; most peers
/// refuse larger requests).
pub const BLOCK_SIZE: u32 = 16 * 1024;

/// The largest request length we serve to a peer (some clients ask for more than 16 KiB).
pub const MAX_REQUEST_LEN: u32 = 128 * 1024;

/// One block of a piece: `length` bytes starting at byte `begin` of piece `piece`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockRef {
    /// Index of the piece.
    pub piece: u32,
    /// Offset of the block within the piece.
    pub begin: u32,
    /// Length of the block in bytes.
    pub length: u32,
}
