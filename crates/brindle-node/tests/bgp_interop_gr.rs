//! Graceful restart (RFC 4724), brindle restarting: brindle is killed (SIGKILL, as a crash
//! would), the peer (BIRD, GoBGP) keeps its routes while it is away, and after brindle is back
//! (same config, `--restarting`: it holds its routes back until the peer's End-of-RIB) and has
//! sent End-of-RIB the peer still has them — and, sampled every 50 ms from
//! the kill until after re-convergence, never lost them in between. With BIRD the check goes
//! further than sampling can: the route BIRD uses is the very same object before and after, and
//! BIRD's trace shows no removal and helper mode ending on our End-of-RIB.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

mod support;

use brindle_lab::{
    BgpConfig, BgpDaemon, Bird, Family, Gobgp, Host, IpPrefix, Lab, Neighbor, is_root, wait_until,
};
use support::{Brindle, CONVERGE, ESTABLISH, peer_line, peer_line_v6};

const SAMPLE_EVERY: Duration = Duration::from_millis(50);
const OURS: [&str; 2] = ["10.77.0.0/24", "fd00:77::/64"];
const THEIRS: &str = "192.0.2.0/24";
const OTHER: &str = "198.51.100.0/24";

fn prefix(s: &str) -> IpPrefix {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

/// brindle with an IPv4 and an IPv6 session to `peer`, graceful restart on (the default, said
/// out loud), originating [`OURS`].
fn brindle_config(a: &Host, peer: &Host) -> String {
    let gr = "  gracefulRestart: true\n";
    format!(
        "routerId: {}\nasNumber: 64512\npeers:\n{}prefixes: [{}, \"{}\"]\n",
        a.ipv4(),
        peer_line(peer, 64512, gr) + &peer_line_v6(peer, 64512) + gr,
        OURS[0],
        OURS[1],
    )
}

fn peer_config(a: &Host, b: &Host) -> BgpConfig {
    BgpConfig::for_host(b, 64512)
        .neighbor(Neighbor::to_host(a, Family::V4, 64512).graceful_restart())
        .neighbor(Neighbor::to_host(a, Family::V6, 64512).graceful_restart())
        .route(THEIRS)
}

/// Waits until both sessions are up and the routes are everywhere.
fn converge(speaker: &Brindle, peer: &dyn BgpDaemon, ours: [IpAddr; 2], theirs: IpAddr) {
    for addr in ours {
        if let Err(e) = peer.wait_established(addr, ESTABLISH) {
            panic!("{e}\nbrindle log:\n{}", speaker.log());
        }
    }
    for p in OURS {
        peer.wait_route(prefix(p), CONVERGE)
            .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));
    }
    // Both sides negotiated graceful restart (brindle's status shows the peer's restart time).
    let p = support::wait_peer_state(speaker, theirs, "Established");
    assert_eq!(
        p.negotiated.as_ref().and_then(|n| n.peer_restart_time),
        Some(120),
        "{p:?}"
    );
    speaker.wait_route(THEIRS, true);
}

/// Stops the sampler when dropped, also when an assertion fails (or the scope would wait for it
/// forever).
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// One look at the peer's table.
struct Sample {
    at: Duration,
    present: [bool; 2],
}

/// Kills brindle, waits until the peer is `helping` (it noticed and keeps our routes), leaves
/// brindle down for about a second, restarts it, waits until the sessions are back and the peer
/// is `done` (End-of-RIB processed), watches half a second more; samples the peer's view of
/// [`OURS`] every 50 ms all along, and asserts that no sample missed one.
fn crash_and_restart(
    speaker: &mut Brindle,
    peer: &(dyn BgpDaemon + Sync),
    ours: [IpAddr; 2],
    helping: &dyn Fn() -> bool,
    done: &dyn Fn() -> bool,
) {
    let samples = Mutex::new(Vec::<Sample>::new());
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let present = OURS.map(|p| peer.route(prefix(p)).is_ok_and(|r| !r.is_empty()));
                samples.lock().unwrap().push(Sample {
                    at: start.elapsed(),
                    present,
                });
                std::thread::sleep(SAMPLE_EVERY);
            }
        });
        let guard = StopOnDrop(&stop);
        let count = || samples.lock().unwrap().len();

        speaker.kill();
        let killed_at = start.elapsed();
        assert!(
            wait_until(ESTABLISH, helping),
            "{} did not enter graceful-restart helper mode for brindle's sessions:\n{}",
            peer.describe(),
            peer.log_tail(40)
        );
        // brindle stays away for a while (at least 20 samples, about a second).
        let n = count();
        assert!(wait_until(CONVERGE, || count() >= n + 20));
        let down_for = start.elapsed() - killed_at;

        speaker.restart_restarting();
        for addr in ours {
            if let Err(e) = peer.wait_established(addr, ESTABLISH) {
                panic!("{e}\nbrindle log:\n{}", speaker.log());
            }
        }
        let back_at = start.elapsed();
        assert!(
            wait_until(CONVERGE, done),
            "{} stayed in graceful-restart helper mode (no End-of-RIB from brindle?)\n{}\nbrindle log:\n{}",
            peer.describe(),
            peer.log_tail(40),
            speaker.log()
        );
        // Keep watching a little longer: a late withdrawal must show up too.
        let n = count();
        assert!(wait_until(CONVERGE, || count() >= n + 10));
        drop(guard);
        eprintln!(
            "{}: brindle killed at {killed_at:?}, down for {down_for:?}, sessions back at \
             {back_at:?}; {} samples",
            peer.describe(),
            count()
        );
    });
    let samples = samples.into_inner().unwrap();
    let gaps: Vec<String> = samples
        .iter()
        .filter(|s| !s.present.iter().all(|p| *p))
        .map(|s| format!("{:?}: {:?}", s.at, s.present))
        .collect();
    assert!(
        gaps.is_empty(),
        "{} lost brindle's routes during the restart ({} of {} samples): {gaps:?}\n{}\nbrindle log:\n{}",
        peer.describe(),
        gaps.len(),
        samples.len(),
        peer.log_tail(40),
        speaker.log()
    );
}

/// BIRD's timestamp of the route it uses for `p` (`10.77.0.0/24 unicast [n0 12:00:01.234] *
/// (100) [i]`): it changes whenever the route is replaced, so an unchanged stamp means the route
/// was never withdrawn and learned again.
fn bird_stamp(bird: &Bird, p: &str) -> Option<String> {
    let out = bird.birdc(&["show", "route", "for", p]).ok()?;
    let line = out.lines().find(|l| l.contains('['))?;
    let inside = line.split('[').nth(1)?.split(']').next()?;
    inside.split_whitespace().nth(1).map(str::to_string)
}

/// Whether BIRD is in graceful-restart helper mode for its protocol `name`.
fn bird_gr_active(bird: &Bird, name: &str) -> bool {
    bird.birdc(&["show", "protocols", "all", name])
        .map(|o| o.contains("Neighbor graceful restart active"))
        .unwrap_or(false)
}

#[test]
fn bird_keeps_brindles_routes_across_a_crash_and_restart() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (a, b) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("bird").unwrap(),
    );
    let mut speaker = Brindle::start(&a, &brindle_config(&a, &b));
    let bird = Bird::start(&b, &peer_config(&a, &b)).unwrap();
    let ours = [IpAddr::V4(a.ipv4()), IpAddr::V6(a.ipv6())];
    let protocols: Vec<String> = ours
        .iter()
        .map(|ip| bird.protocol_name(*ip).unwrap())
        .collect();
    converge(&speaker, &bird, ours, IpAddr::V4(b.ipv4()));
    let before: Vec<Option<String>> = OURS.iter().map(|p| bird_stamp(&bird, p)).collect();
    assert!(before.iter().all(Option::is_some), "{before:?}");
    // BIRD traces its sessions and table changes from here on: the log says when it left
    // helper mode and whether it ever dropped a route of ours, however briefly.
    for n in &protocols {
        bird.birdc(&["debug", n, "all"]).unwrap();
    }
    let bird_log = bird.config_path().with_file_name("bird.log");
    let log_from = std::fs::metadata(&bird_log).map(|m| m.len()).unwrap_or(0);

    crash_and_restart(
        &mut speaker,
        &bird,
        ours,
        // BIRD noticed (the kernel closed the connections) and keeps our routes.
        &|| {
            protocols.iter().all(|n| {
                bird_gr_active(&bird, n) && bird.protocol_state(n).is_ok_and(|s| s != "Established")
            })
        },
        // End-of-RIB received: helper mode is over.
        &|| protocols.iter().all(|n| !bird_gr_active(&bird, n)),
    );

    let log = std::fs::read(&bird_log).unwrap();
    let log = String::from_utf8_lossy(&log[usize::try_from(log_from).unwrap()..]);
    // BIRD left helper mode because of our End-of-RIB, not because our new OPEN said that our
    // forwarding state was lost (which flushes the stale routes at once: RFC 4724 §4.2).
    for n in &protocols {
        let at = |what: &str| {
            log.lines()
                .position(|l| l.contains(&format!("{n}: {what}")))
                .unwrap_or_else(|| panic!("no \"{n}: {what}\" in BIRD's log:\n{log}"))
        };
        assert!(
            at("Got END-OF-RIB") < at("Neighbor graceful restart done"),
            "BIRD ended graceful restart for {n} before our End-of-RIB:\n{log}"
        );
        // brindle came back as a Restarting Speaker (RFC 4724 §4.1): it sent nothing before
        // BIRD's own End-of-RIB.
        assert!(
            at("Sending END-OF-RIB") < at("Got UPDATE"),
            "brindle advertised to {n} before BIRD's End-of-RIB:\n{log}"
        );
    }
    assert!(
        speaker
            .log()
            .contains("graceful restart: advertising routes now (every peer sent End-of-RIB)"),
        "brindle did not end its restart deferral on the peers' End-of-RIB:\n{}",
        speaker.log()
    );
    // Not even for less than a sample: no removal in BIRD's trace, and the route BIRD uses is
    // the one it had before the kill.
    for p in OURS {
        let dropped: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("> removed") && l.contains(&format!(" {p} ")))
            .collect();
        assert!(dropped.is_empty(), "BIRD dropped {p}: {dropped:?}\n{log}");
    }
    let after: Vec<Option<String>> = OURS.iter().map(|p| bird_stamp(&bird, p)).collect();
    assert_eq!(
        before,
        after,
        "BIRD replaced brindle's routes (withdrawn and learned again)\n{}",
        speaker.log()
    );
    // And brindle is whole again: it has BIRD's route, both sessions are up.
    speaker.wait_route(THEIRS, true);
    for addr in ours {
        assert_eq!(bird.session_state(addr).unwrap(), "Established");
    }
}

/// GoBGP's `stale` flag of its path for `p` (None: no path).
fn gobgp_stale(gobgp: &Gobgp, p: &str) -> Option<bool> {
    let family = prefix(p).family().word();
    let v = gobgp.cli_json(&["global", "rib", "-a", family]).ok()?;
    let paths = v.get(p)?.as_array()?;
    paths.first()?.get("stale")?.as_bool()
}

#[test]
fn gobgp_keeps_brindles_routes_across_a_crash_and_restart() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (a, b) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("gobgp").unwrap(),
    );
    let mut speaker = Brindle::start(&a, &brindle_config(&a, &b));
    let gobgp = Gobgp::start(&b, &peer_config(&a, &b)).unwrap();
    let ours = [IpAddr::V4(a.ipv4()), IpAddr::V6(a.ipv6())];
    converge(&speaker, &gobgp, ours, IpAddr::V4(b.ipv4()));
    assert_eq!(
        OURS.map(|p| gobgp_stale(&gobgp, p)),
        [Some(false), Some(false)]
    );
    crash_and_restart(
        &mut speaker,
        &gobgp,
        ours,
        &|| {
            ours.iter()
                .all(|ip| gobgp.session_state(*ip).is_ok_and(|s| s != "Established"))
                && OURS.iter().all(|p| gobgp_stale(&gobgp, p) == Some(true))
        },
        &|| OURS.iter().all(|p| gobgp_stale(&gobgp, p) == Some(false)),
    );
    speaker.wait_route(THEIRS, true);
    for addr in ours {
        assert_eq!(gobgp.session_state(addr).unwrap(), "Established");
    }
}

/// brindle's path for `p`: `Some(stale)` while it has one.
fn brindle_stale(speaker: &Brindle, p: &str) -> Option<bool> {
    let r = speaker.routes().into_iter().find(|r| r.prefix == p)?;
    r.paths.first().map(|p| p.stale)
}

#[test]
fn brindle_keeps_birds_routes_while_bird_restarts() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (a, b) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("bird").unwrap(),
    );
    let speaker = Brindle::start(&a, &brindle_config(&a, &b));
    let bird = Bird::start(&b, &peer_config(&a, &b)).unwrap();
    let ours = [IpAddr::V4(a.ipv4()), IpAddr::V6(a.ipv6())];
    let theirs = IpAddr::V4(b.ipv4());
    converge(&speaker, &bird, ours, theirs);
    assert_eq!(brindle_stale(&speaker, THEIRS), Some(false));

    // BIRD crashes: brindle keeps its route, marked stale, for as long as BIRD is away.
    bird.process().kill();
    assert!(
        wait_until(ESTABLISH, || brindle_stale(&speaker, THEIRS) == Some(true)),
        "brindle did not keep BIRD's route as stale: {:?}\n{}",
        speaker.routes(),
        speaker.log()
    );
    let info = speaker.peer(theirs).info;
    let since = Instant::now();
    let mut looks = 0;
    while since.elapsed() < Duration::from_secs(1) {
        assert_eq!(
            brindle_stale(&speaker, THEIRS),
            Some(true),
            "BIRD is down ({info}); {:?}",
            speaker.routes()
        );
        looks += 1;
        std::thread::sleep(SAMPLE_EVERY);
    }
    assert!(looks >= 10);

    // BIRD comes back with the same routes: the route is fresh again, and was there all along.
    let bird = Bird::start(&b, &peer_config(&a, &b)).unwrap();
    converge(&speaker, &bird, ours, theirs);
    assert!(
        wait_until(CONVERGE, || brindle_stale(&speaker, THEIRS) == Some(false)),
        "{:?}",
        speaker.routes()
    );

    // BIRD crashes again and comes back without graceful restart and without that route: the
    // stale route goes as soon as the session is back (RFC 4724 §4.2), not when the restart
    // time (120 s) runs out.
    bird.process().kill();
    assert!(wait_until(ESTABLISH, || {
        brindle_stale(&speaker, THEIRS) == Some(true)
    }));
    let plain = BgpConfig::for_host(&b, 64512)
        .neighbor(Neighbor::to_host(&a, Family::V4, 64512))
        .neighbor(Neighbor::to_host(&a, Family::V6, 64512))
        .route(OTHER);
    let bird = Bird::start(&b, &plain).unwrap();
    for addr in ours {
        if let Err(e) = bird.wait_established(addr, ESTABLISH) {
            panic!("{e}\nbrindle log:\n{}", speaker.log());
        }
    }
    speaker.wait_route(THEIRS, false);
    speaker.wait_route(OTHER, true);
    let p = speaker.peer(theirs);
    assert_eq!(p.negotiated.and_then(|n| n.peer_restart_time), None);

    // That BIRD (no graceful restart) crashes: nothing to wait for, its routes go at once.
    let down = Instant::now();
    bird.process().kill();
    speaker.wait_route(OTHER, false);
    assert!(
        down.elapsed() < Duration::from_secs(5),
        "{:?}",
        down.elapsed()
    );
}

/// RFC 4724 §4.1 (b): a Restarting Speaker waits for End-of-RIB from every graceful-restart
/// peer, but not forever: with one configured peer that never answers, BIRD gets brindle's
/// routes only when the Selection_Deferral_Timer (here 4 s) expires — not before.
#[test]
fn a_restarting_speaker_stops_waiting_for_a_silent_peer_at_the_deferral_timer() {
    require_root!();
    let lab = Lab::new().unwrap();
    let (a, b, silent) = (
        lab.add_host("brindle").unwrap(),
        lab.add_host("bird").unwrap(),
        lab.add_host("silent").unwrap(),
    );
    let bird = Bird::start(
        &b,
        &BgpConfig::for_host(&b, 64512)
            .neighbor(Neighbor::to_host(&a, Family::V4, 64512).graceful_restart())
            .route(THEIRS),
    )
    .unwrap();
    let config = format!(
        "routerId: {}\nasNumber: 64512\ngracefulRestart: {{selectionDeferral: 4}}\npeers:\n{}{}prefixes: [{}]\n",
        a.ipv4(),
        peer_line(&b, 64512, ""),
        peer_line(&silent, 64512, ""),
        OURS[0],
    );
    let started = Instant::now();
    let speaker = Brindle::start_with(&a, &config, &["--restarting"]);
    if let Err(e) = bird.wait_established(IpAddr::V4(a.ipv4()), ESTABLISH) {
        panic!("{e}\nbrindle log:\n{}", speaker.log());
    }
    // brindle learns BIRD's routes at once...
    speaker.wait_route(THEIRS, true);
    // ...but BIRD hears nothing from brindle while it waits for the silent peer.
    let early = wait_until(
        Duration::from_secs(4).saturating_sub(started.elapsed()),
        || bird.route(prefix(OURS[0])).is_ok_and(|r| !r.is_empty()),
    );
    assert!(
        !early,
        "BIRD got {} after {:?}, before the 4 s deferral ended:\n{}",
        OURS[0],
        started.elapsed(),
        speaker.log()
    );
    bird.wait_route(prefix(OURS[0]), CONVERGE)
        .unwrap_or_else(|e| panic!("{e}\n{}", speaker.log()));
    let at = started.elapsed();
    assert!(at >= Duration::from_secs(4), "advertised after {at:?}");
    let log = speaker.log();
    assert!(
        log.contains(&format!(
            "selection deferral time over, still without End-of-RIB from [{}]",
            silent.ipv4()
        )),
        "{log}"
    );
}
