//! UPDATE bodies behind a valid header; the first byte picks the session parameters
//! (four-octet AS, ADD-PATH per family, eBGP).
#![no_main]

use brindle_bgp::wire::decode;
use brindle_bgp_fuzz::{check_round_trip, params_from_byte, with_header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&b, body)) = data.split_first() else {
        return;
    };
    let params = params_from_byte(b);
    let r = decode(&with_header(2, body), &params);
    check_round_trip(&r, &params);
});
