//! NOTIFICATION (and ROUTE-REFRESH) bodies behind a valid header, and `describe` /
//! Shutdown Communication on whatever decodes.
#![no_main]

use brindle_bgp::model::Message;
use brindle_bgp::wire::notification::read_shutdown_communication;
use brindle_bgp::wire::{CodecParams, decode, describe};
use brindle_bgp_fuzz::{check_round_trip, with_header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let params = CodecParams::default();
    if let [code, subcode, rest @ ..] = data {
        let text = describe(*code, *subcode, rest);
        assert!(!text.is_empty());
        let _ = read_shutdown_communication(rest);
    }
    let r = decode(&with_header(3, data), &params);
    if let Ok(Message::Notification(n)) = &r {
        assert!(!n.describe().is_empty());
        if let Some(Ok(msg)) = n.shutdown_communication() {
            assert!(msg.len() <= 255);
        }
    }
    check_round_trip(&r, &params);
    let rr = decode(&with_header(5, data), &params);
    check_round_trip(&rr, &params);
});
