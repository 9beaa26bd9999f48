//! OPEN bodies behind a valid header.
#![no_main]

use brindle_bgp::model::Message;
use brindle_bgp::wire::{CodecParams, check_peer_as, decode};
use brindle_bgp_fuzz::{check_round_trip, with_header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let params = CodecParams::default();
    let r = decode(&with_header(1, data), &params);
    if let Ok(Message::Open(o)) = &r {
        let _ = check_peer_as(o, o.asn());
    }
    check_round_trip(&r, &params);
});
