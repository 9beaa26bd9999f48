//! Whole-message decode before the OPEN exchange (two-octet AS, no ADD-PATH).
#![no_main]

use brindle_bgp::wire::{CodecParams, decode};
use brindle_bgp_fuzz::check_round_trip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let params = CodecParams::default();
    let r = decode(data, &params);
    check_round_trip(&r, &params);
});
