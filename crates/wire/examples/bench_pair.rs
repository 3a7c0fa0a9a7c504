use bytes::BytesMut;
use shoal_wire::*;
use std::time::Instant;

fn main() {
    let piece = 256 * 1024u32;
    let n = 4096u32; // 1 GiB
    let total = u64::from(piece) * u64::from(n);
    let mut c = ConnectionConfig::new(n, piece, total);
    c.fast = true;
    let t0 = Instant::now();
    let mut seed = PeerConnection::new(c.clone(), t0);
    let mut leech = PeerConnection::new(c, t0);
    seed.send_bitfield(&Bitfield::full(n as usize));
    leech.send_bitfield(&Bitfield::new(n as usize));
    leech.set_interested(true);
    seed.unchoke();
    let mut next = 0u64;
    let mut got = 0u64;
    let mut pipe_a = BytesMut::with_capacity(1 << 20);
    let mut pipe_b = BytesMut::with_capacity(1 << 20);
    let mut max_depth = 0;
    while got < total {
        let now = Instant::now();
        let out = seed.output().split();
        pipe_a.extend_from_slice(&out);
        leech.handle_input(&mut pipe_a, now).unwrap();
        let out = leech.output().split();
        pipe_b.extend_from_slice(&out);
        seed.handle_input(&mut pipe_b, now).unwrap();
        while let Some(ev) = seed.poll_event() {
            if let PeerEvent::Request(b) = ev {
                seed.send_block(b, |buf| { buf.fill(1); Ok(()) }).unwrap();
            }
        }
        while let Some(ev) = leech.poll_event() {
            if let PeerEvent::Block { data, .. } = ev {
                got += data.len() as u64;
            }
        }
        for _ in 0..leech.request_capacity() {
            if next >= total { break; }
            let b = BlockRef { piece: (next / u64::from(piece)) as u32, begin: (next % u64::from(piece)) as u32, length: BLOCK_SIZE };
            leech.request(b, now);
            next += u64::from(BLOCK_SIZE);
        }
        max_depth = max_depth.max(leech.request_depth());
    }
    let el = t0.elapsed();
    println!("1 GiB in {:?} = {:.0} MB/s, max depth {max_depth}, rate {}", el, total as f64 / el.as_secs_f64() / 1e6, leech.download_rate());
}
