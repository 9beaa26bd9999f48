//! The stream decoder fed in chunks (the first byte picks the chunk size), then every frame it
//! yields decoded with default parameters and checked by the round-trip oracle.
#![no_main]

use brindle_bgp::wire::{CodecParams, FrameDecoder, decode};
use brindle_bgp_fuzz::check_round_trip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let params = CodecParams::default();
    let mut dec = FrameDecoder::new();
    let mut total = 0;
    for part in stream.chunks(usize::from(chunk).max(1)) {
        dec.feed(part);
        loop {
            match dec.next_frame() {
                Ok(Some(frame)) => {
                    total += frame.len();
                    let r = decode(frame, &params);
                    check_round_trip(&r, &params);
                }
                Ok(None) => break,
                Err(e) => {
                    assert!(e.is_fatal());
                    return;
                }
            }
        }
    }
    assert_eq!(total + dec.buffered(), stream.len());
});
