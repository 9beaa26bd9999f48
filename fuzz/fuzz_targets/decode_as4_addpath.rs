//! Whole-message decode on a four-octet AS session with ADD-PATH on both families.
#![no_main]

use brindle_bgp::wire::decode;
use brindle_bgp_fuzz::{as4_add_path, check_round_trip};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let params = as4_add_path();
    let r = decode(data, &params);
    check_round_trip(&r, &params);
});
