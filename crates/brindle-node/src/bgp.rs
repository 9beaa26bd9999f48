//! `brindle-node bgp --config FILE`: the speaker on its own (a dedicated route reflector, or a
//! test peer). SIGHUP re-reads the file and applies the difference: unchanged sessions stay up.
//! SIGTERM/SIGINT stop it without NOTIFICATIONs, so peers with graceful restart keep its routes.
//! With `kernel: {enabled: true}` its best paths are installed as kernel routes (see
//! [`crate::kernel`]), removed again on SIGTERM/SIGINT.

use std::collections::BTreeSet;
use std::path::Path;

use brindle_bgp::speaker::Speaker;
use tokio::signal::unix::{SignalKind, signal};

use crate::bgp_config::{BgpConfig, parse};
use crate::kernel::Kernel;

fn load(path: &Path) -> Result<BgpConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs the speaker until SIGTERM or SIGINT; `restarting`: as a Restarting Speaker (RFC 4724
/// §4.1).
pub async fn run(path: &Path, restarting: bool) -> Result<(), String> {
    let mut cfg = load(path)?;
    let mut speaker_cfg = cfg.speaker.clone();
    speaker_cfg.restarting = restarting;
    let speaker = Speaker::start(speaker_cfg)
        .await
        .map_err(|e| e.to_string())?;
    let kernel = match cfg.kernel.enabled {
        true => Some(Kernel::start(&speaker, cfg.kernel)?),
        false => None,
    };
    let _socket =
        crate::control::serve(&cfg.control_socket, speaker.clone()).map_err(|e| e.to_string())?;
    for p in &cfg.peers {
        speaker.add_peer(p.clone());
    }
    for p in &cfg.prefixes {
        speaker.originate(*p);
    }
    eprintln!(
        "bgp: AS {} router id {} with {} peer(s); control socket {}",
        cfg.speaker.asn,
        cfg.speaker.router_id,
        cfg.peers.len(),
        cfg.control_socket.display()
    );
    let sig = |k| signal(k).map_err(|e| format!("cannot install signal handler: {e}"));
    let (mut hup, mut term, mut int) = (
        sig(SignalKind::hangup())?,
        sig(SignalKind::terminate())?,
        sig(SignalKind::interrupt())?,
    );
    loop {
        tokio::select! {
            _ = hup.recv() => match load(path) {
                Err(e) => eprintln!("bgp: reload refused, keeping the running configuration: {e}"),
                Ok(new) if new.speaker != cfg.speaker || new.control_socket != cfg.control_socket || new.kernel != cfg.kernel => {
                    eprintln!("bgp: reload refused: routerId, asNumber, listen, clusterId, multipath, gracefulRestart, controlSocket and kernel need a restart");
                }
                Ok(new) => {
                    reload(&speaker, &cfg, &new);
                    cfg = new;
                    eprintln!("bgp: configuration reloaded");
                }
            },
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    speaker.shutdown(None).await;
    if let Some(k) = kernel {
        k.stop().await;
    }
    Ok(())
}

/// Applies the difference between two configurations.
fn reload(speaker: &Speaker, old: &BgpConfig, new: &BgpConfig) {
    let new_addrs: BTreeSet<_> = new.peers.iter().map(|p| p.address).collect();
    for p in &old.peers {
        if !new_addrs.contains(&p.address) {
            speaker.remove_peer(p.address);
        }
    }
    for p in &new.peers {
        if old.peers.iter().find(|o| o.address == p.address) != Some(p) {
            speaker.add_peer(p.clone());
        }
    }
    for p in old.prefixes.iter().filter(|p| !new.prefixes.contains(p)) {
        speaker.withdraw(*p);
    }
    for p in new.prefixes.iter().filter(|p| !old.prefixes.contains(p)) {
        speaker.originate(*p);
    }
}
