//! Writes seed inputs for every fuzz target: `cargo run --example seeds -- <corpus dir>` creates
//! `<corpus dir>/<target>/seed-N` files.

use std::path::PathBuf;

const TARGETS: &[&str] = &[
    "frame_decoder",
    "decode_default",
    "decode_as4_addpath",
    "open",
    "update",
    "notification",
];

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "corpus".into()));
    for target in TARGETS {
        let d = dir.join(target);
        std::fs::create_dir_all(&d)?;
        for (i, seed) in brindle_bgp_fuzz::seeds(target).iter().enumerate() {
            std::fs::write(d.join(format!("seed-{i}")), seed)?;
        }
    }
    Ok(())
}
