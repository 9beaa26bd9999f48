//! The lab network itself: hosts reach each other over the bridge, the machine's own namespace
//! is untouched, and everything is gone after drop (also after a panic or a crash).

use std::net::IpAddr;
use std::time::Duration;

use brindle_lab::{Family, Lab, Result, cleanup_stale, is_root, list_namespaces, wait_until};

/// Tests need root for network namespaces; without it they say so and pass.
macro_rules! require_root {
    () => {
        if !is_root() {
            eprintln!("skipped: needs root (network namespaces)");
            return Ok(());
        }
    };
}

fn root_ns_addresses() -> String {
    let out = std::process::Command::new("ip").args(["addr"]).output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn root_links() -> Vec<String> {
    std::fs::read_dir("/sys/class/net")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn lab_namespaces(lab_name: &str) -> Vec<String> {
    list_namespaces()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.starts_with(lab_name))
        .collect()
}

#[test]
fn hosts_ping_each_other_over_the_bridge_without_touching_the_root_namespace() -> Result<()> {
    require_root!();
    let root_links_before = root_links();
    let lab = Lab::new()?;
    let a = lab.add_host("a")?;
    let b = lab.add_host("b")?;
    assert_ne!(a.ipv4(), b.ipv4());
    assert!(a.netns_path().exists());
    assert!(a.ping(IpAddr::V4(b.ipv4())), "IPv4 ping a -> b");
    assert!(b.ping(IpAddr::V4(a.ipv4())), "IPv4 ping b -> a");
    assert!(a.ping(IpAddr::V6(b.ipv6())), "IPv6 ping a -> b");
    assert!(b.ping(IpAddr::V6(a.ipv6())), "IPv6 ping b -> a");

    // A VIP on b's loopback, reached through a static route in a.
    b.add_loopback_addr("192.0.2.10/32")?;
    a.run(
        "ip",
        &[
            "route",
            "add",
            "192.0.2.10/32",
            "via",
            &b.ipv4().to_string(),
        ],
    )?;
    assert!(a.ping("192.0.2.10".parse().map_err(|_| unreachable_err())?));
    let routes = a.routes(Family::V4)?;
    let vip = routes
        .iter()
        .find(|r| r.dst.to_string() == "192.0.2.10/32")
        .unwrap_or_else(|| panic!("no VIP route in {routes:?}"));
    assert_eq!(vip.gateways, [IpAddr::V4(b.ipv4())]);
    assert!(a.routes(Family::V6)?.iter().any(|r| r.dst.len() == 64));

    // Nothing of the lab is visible in the machine's own namespace.
    let addrs = root_ns_addresses();
    for host in [&a, &b] {
        assert!(!addrs.contains(&host.ipv4().to_string()), "{addrs}");
        assert!(!addrs.contains(&host.ipv6().to_string()), "{addrs}");
    }
    assert!(!addrs.contains("192.0.2.10"), "{addrs}");
    // No link of the lab (bridge, switch ports, eth0s) appeared in the root namespace; other
    // programs on the machine may add links of their own meanwhile, so only ours are checked.
    let added: Vec<String> = root_links()
        .into_iter()
        .filter(|l| !root_links_before.contains(l))
        .collect();
    for ours in ["br0", "p-a", "p-b", "eth0"] {
        assert!(
            !added.iter().any(|l| l == ours),
            "{ours} appeared in the root namespace"
        );
    }

    let name = lab.name().to_string();
    assert_eq!(lab_namespaces(&name).len(), 3);
    drop(lab);
    assert!(lab_namespaces(&name).is_empty());
    Ok(())
}

fn unreachable_err() -> brindle_lab::Error {
    brindle_lab::Error::Invalid {
        what: "literal".into(),
        detail: "does not parse".into(),
    }
}

#[test]
fn labs_running_at_once_get_distinct_names_and_subnets() -> Result<()> {
    require_root!();
    let labs: Vec<Lab> = (0..3).map(|_| Lab::new()).collect::<Result<_>>()?;
    for (i, l) in labs.iter().enumerate() {
        for m in &labs[i + 1..] {
            assert_ne!(l.name(), m.name());
            assert_ne!(l.ipv4_subnet(), m.ipv4_subnet());
            assert_ne!(l.ipv6_subnet(), m.ipv6_subnet());
        }
    }
    Ok(())
}

#[test]
fn a_panicking_test_still_removes_its_lab() -> Result<()> {
    require_root!();
    let (tx, rx) = std::sync::mpsc::channel();
    let joined = std::thread::spawn(move || {
        let lab = Lab::new().unwrap_or_else(|e| panic!("{e}"));
        let host = lab.add_host("a").unwrap_or_else(|e| panic!("{e}"));
        let sleeper = host
            .spawn("sleep", &["300"], "sleep.log")
            .unwrap_or_else(|e| panic!("{e}"));
        let _ = tx.send((
            lab.name().to_string(),
            sleeper.pid(),
            lab.dir().to_path_buf(),
        ));
        std::mem::forget(sleeper); // only the lab itself is left to clean up
        panic!("test failure inside a lab");
    })
    .join();
    assert!(joined.is_err(), "the thread should have panicked");
    let Ok((name, pid, dir)) = rx.recv() else {
        panic!("no lab was made")
    };
    assert!(lab_namespaces(&name).is_empty());
    assert!(!dir.exists());
    assert!(wait_until(Duration::from_secs(2), || {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
    }));
    Ok(())
}

const CRASH_PREFIX: &str = "brlc";

/// Not a test by itself: run by `stale_labs_of_a_killed_process_are_cleaned_up` in a child
/// process, which makes a lab, starts a process in it and aborts (no destructors run).
#[test]
#[ignore = "helper, run by stale_labs_of_a_killed_process_are_cleaned_up"]
fn crash_helper() {
    if std::env::var_os("BRINDLE_LAB_CRASH_HELPER").is_none() {
        return;
    }
    // A prefix family of its own, so no other test's Lab::new cleans it up first.
    let lab = Lab::with_prefix(CRASH_PREFIX).unwrap_or_else(|e| panic!("{e}"));
    let host = lab.add_host("a").unwrap_or_else(|e| panic!("{e}"));
    let sleeper = host
        .spawn("sleep", &["300"], "sleep.log")
        .unwrap_or_else(|e| panic!("{e}"));
    println!("LAB {} {}", lab.name(), sleeper.pid());
    std::process::abort();
}

#[test]
fn stale_labs_of_a_killed_process_are_cleaned_up() -> Result<()> {
    require_root!();
    let exe = std::env::current_exe().map_err(|e| brindle_lab::Error::Io {
        context: "current_exe".into(),
        source: e,
    })?;
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "crash_helper",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("BRINDLE_LAB_CRASH_HELPER", "1")
        .output()
        .map_err(|e| brindle_lab::Error::Io {
            context: "running crash_helper".into(),
            source: e,
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some((name, pid)) = stdout.lines().find_map(|l| {
        let mut it = l.split_once("LAB ")?.1.split_whitespace();
        Some((it.next()?.to_string(), it.next()?.parse::<u32>().ok()?))
    }) else {
        panic!(
            "crash_helper printed no lab: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    };
    assert!(!out.status.success(), "the helper should have aborted");
    // The crashed run left its namespaces and its process behind...
    assert_eq!(lab_namespaces(&name).len(), 2);
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    // ...until the stale cleanup runs (also done by every Lab::new).
    let report = cleanup_stale(CRASH_PREFIX)?;
    assert!(report.labs.contains(&name), "{report}");
    assert!(report.processes.contains(&pid), "{report}");
    assert!(lab_namespaces(&name).is_empty());
    assert!(wait_until(Duration::from_secs(2), || {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
    }));
    Ok(())
}
