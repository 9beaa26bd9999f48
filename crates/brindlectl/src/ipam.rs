//! `brindlectl ipam show|check|release`: calicoctl's `ipam` commands over brindle-ipam.
//!
//! Exit codes follow calicoctl: `show --ip` of an unassigned address and a `check` that finds
//! problems both succeed (the answer is in the output); bad input (an unparsable address, a
//! missing or malformed report) and `release --ip` of an address nobody holds fail with one
//! line on stderr and change nothing.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use brindle_client::Client;
use brindle_ipam::{
    ATTR_NODE, ATTR_TYPE, BlockUsage, Borrowed, CheckOptions, IpInfo, IpReleased, Ipam, PoolUsage,
    ReleaseIp, RepairSummary, Report,
};

use crate::cli::IpamCommand;
use crate::table::render_boxed;

/// Runs one `ipam` subcommand against the datastore behind `client`.
pub fn run(client: &Client, what: &IpamCommand) -> Result<String, String> {
    let ipam = Ipam::new(client.store().clone());
    let err = |e: brindle_ipam::IpamError| e.to_string();
    match what {
        IpamCommand::Show {
            show_blocks,
            show_borrowed,
            ip,
        } => {
            if let Some(ip) = ip {
                let ip = parse_ip(ip)?;
                return Ok(ip_text(&ipam.lookup(ip).map_err(err)?));
            }
            if *show_borrowed {
                let borrowed = ipam.borrowed().map_err(err)?;
                let mut infos = Vec::with_capacity(borrowed.len());
                for b in &borrowed {
                    infos.push(ipam.lookup(b.ip).map_err(err)?);
                }
                return Ok(borrowed_table(&borrowed, &infos));
            }
            let pools = ipam.pool_usage().map_err(err)?;
            let blocks = if *show_blocks {
                ipam.block_usage().map_err(err)?
            } else {
                Vec::new()
            };
            Ok(usage_table(&pools, &blocks))
        }
        IpamCommand::Check { output } => {
            // The check only reads, so a report that cannot be written changes nothing.
            let report = ipam.check(&CheckOptions::default()).map_err(err)?;
            let blocks = ipam.block_usage().map_err(err)?;
            let mut out = check_text(&report, &blocks);
            if let Some(path) = output {
                std::fs::write(path, report.to_json() + "\n")
                    .map_err(|e| format!("cannot write the report to {}: {e}", path.display()))?;
                out.push_str(&format!(
                    "Report written to {p}; release what it lists with: brindlectl ipam release --from-report {p}\n",
                    p = path.display()
                ));
            }
            Ok(out)
        }
        IpamCommand::Release { ip, from_report } => {
            if let Some(path) = from_report {
                let report = read_report(path)?;
                let summary = ipam.repair(&report).map_err(err)?;
                return Ok(repair_text(&summary));
            }
            let Some(ip) = ip else {
                return Err("ipam release needs --ip ADDR or --from-report FILE".into());
            };
            let ip = parse_ip(ip)?;
            match ipam.release_ips(&[ReleaseIp::any(ip)]) {
                Ok(r) => match r.first() {
                    Some(IpReleased::Released { handle }) => Ok(format!(
                        "Successfully released IP address {ip}{}\n",
                        handle
                            .as_deref()
                            .map(|h| format!(" (handle {h})"))
                            .unwrap_or_default()
                    )),
                    _ => Err(format!("IP address {ip} is not assigned")),
                },
                Err(brindle_ipam::IpamError::NoBlock(_)) => Err(format!(
                    "IP address {ip} is not assigned (it is in no IPAM block)"
                )),
                Err(e) => Err(e.to_string()),
            }
        }
    }
}

/// An address given on the command line.
fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("invalid IP address {s:?}"))
}

/// Reads a report written by `ipam check -o FILE`.
fn read_report(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the report {}: {e}", path.display()))?;
    Report::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// `n (p%)` with `p` rounded to whole percent of `total`, as calicoctl prints usage.
fn with_percent(n: u128, total: u128) -> String {
    if total == 0 {
        return format!("{n}");
    }
    // f64 is exact enough for a percentage even of an IPv6 pool.
    let pct = n as f64 * 100.0 / total as f64;
    format!("{n} ({pct:.0}%)")
}

/// The `ipam show` table: a row per pool (GROUPING `IP Pool`), each followed by its blocks'
/// rows (GROUPING `Block`) when `blocks` is not empty; blocks of deleted pools come last.
pub fn usage_table(pools: &[PoolUsage], blocks: &[BlockUsage]) -> String {
    let block_row = |b: &BlockUsage| {
        let (total, used, free) = (
            u128::from(b.total),
            u128::from(b.in_use),
            u128::from(b.free),
        );
        vec![
            "Block".to_string(),
            b.cidr.to_string(),
            total.to_string(),
            with_percent(used, total),
            with_percent(free, total),
        ]
    };
    let mut rows = Vec::new();
    for p in pools {
        rows.push(vec![
            "IP Pool".to_string(),
            p.cidr.to_string(),
            p.total.to_string(),
            with_percent(p.in_use, p.total),
            with_percent(p.free, p.total),
        ]);
        rows.extend(
            blocks
                .iter()
                .filter(|b| b.pool.as_deref() == Some(p.name.as_str()))
                .map(block_row),
        );
    }
    rows.extend(
        blocks
            .iter()
            .filter(|b| !pools.iter().any(|p| b.pool.as_deref() == Some(&p.name)))
            .map(block_row),
    );
    render_boxed(
        &["GROUPING", "CIDR", "IPS TOTAL", "IPS IN USE", "IPS FREE"],
        &rows,
    )
}

/// What an allocation is for: its `type` attribute (tunnel addresses), else `pod` when it
/// names a pod, else `-`.
fn allocation_type(attrs: &BTreeMap<String, String>) -> String {
    if let Some(t) = attrs.get(ATTR_TYPE) {
        return t.clone();
    }
    if attrs.contains_key("pod") {
        return "pod".into();
    }
    "-".into()
}

/// Who holds an allocation: `namespace/pod` for a pod, else its node for a node address,
/// else its handle.
fn allocated_to(attrs: &BTreeMap<String, String>, handle: Option<&str>) -> String {
    match (attrs.get("namespace"), attrs.get("pod")) {
        (Some(ns), Some(pod)) => format!("{ns}/{pod}"),
        (None, Some(pod)) => pod.clone(),
        _ if attrs.contains_key(ATTR_TYPE) => {
            attrs.get(ATTR_NODE).cloned().unwrap_or_else(|| "-".into())
        }
        _ => handle.unwrap_or("-").to_string(),
    }
}

/// The `--show-borrowed` table; `infos[i]` is the lookup of `borrowed[i]`.
pub fn borrowed_table(borrowed: &[Borrowed], infos: &[IpInfo]) -> String {
    if borrowed.is_empty() {
        return "No borrowed IP addresses.\n".into();
    }
    let empty = BTreeMap::new();
    let rows: Vec<Vec<String>> = borrowed
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let attrs = infos.get(i).map(|x| &x.attributes).unwrap_or(&empty);
            vec![
                b.ip.to_string(),
                b.node.clone().unwrap_or_else(|| "-".into()),
                b.block.to_string(),
                b.block_affinity.clone().unwrap_or_else(|| "-".into()),
                allocation_type(attrs),
                allocated_to(attrs, b.handle.as_deref()),
            ]
        })
        .collect();
    render_boxed(
        &[
            "IP",
            "BORROWING-NODE",
            "BLOCK",
            "BLOCK OWNER",
            "TYPE",
            "ALLOCATED-TO",
        ],
        &rows,
    )
}

/// `show --ip`: whether the address is in use, its handle and attributes, or why not.
pub fn ip_text(info: &IpInfo) -> String {
    let ip = info.ip;
    let place = match (&info.block, &info.pool) {
        (Some(b), Some(p)) => format!("block {b} of IP pool {p}"),
        (Some(b), None) => format!("block {b} (its IP pool was deleted)"),
        (None, Some(p)) => format!("IP pool {p}"),
        (None, None) => String::new(),
    };
    if !info.allocated {
        return if info.block.is_none() {
            format!("IP {ip} is not assigned in any block\n")
        } else {
            format!("IP {ip} is not assigned ({place})\n")
        };
    }
    let mut out = format!("IP {ip} is in use\n");
    out.push_str(&format!(
        "Handle ID: {}\n",
        info.handle.as_deref().unwrap_or("-")
    ));
    if info.attributes.is_empty() {
        out.push_str("No attributes defined\n");
    } else {
        out.push_str("Attributes:\n");
        for (k, v) in &info.attributes {
            out.push_str(&format!("  {k}: {v}\n"));
        }
    }
    let owner = info
        .block_affinity
        .as_deref()
        .map(|n| format!(", affine to node {n}"))
        .unwrap_or_default();
    out.push_str(&format!("In {place}{owner}\n"));
    out
}

/// `n thing` / `n things`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The human summary of `ipam check`.
pub fn check_text(report: &Report, blocks: &[BlockUsage]) -> String {
    let in_use: u64 = blocks.iter().map(|b| u64::from(b.in_use)).sum();
    let mut out = String::from("Checking IPAM for inconsistencies...\n");
    out.push_str(&format!(
        "Found {} holding {}.\n",
        count(blocks.len(), "IPAM block", "IPAM blocks"),
        count(
            usize::try_from(in_use).unwrap_or(usize::MAX),
            "allocated address",
            "allocated addresses"
        )
    ));
    let lines = report.lines();
    let sections = [
        (
            report.leaked_allocations.len(),
            "allocation without a workload",
            "allocations without a workload",
        ),
        (
            report.handle_problems.len(),
            "handle that disagrees with the blocks",
            "handles that disagree with the blocks",
        ),
        (
            report.deleted_node_blocks.len(),
            "block or affinity of a deleted node",
            "blocks or affinities of deleted nodes",
        ),
        (
            report.pending_affinities.len(),
            "pending affinity",
            "pending affinities",
        ),
    ];
    // `Report::lines` lists the findings in the same order as the sections.
    let mut next = lines.iter();
    let mut problems = 0;
    for (n, one, many) in sections {
        problems += n;
        out.push_str(&format!("Found {}.\n", count(n, one, many)));
        for line in next.by_ref().take(n) {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out.push_str(&format!(
        "Check complete; found {}.\n",
        count(problems, "problem", "problems")
    ));
    out
}

/// What `release --from-report` did.
pub fn repair_text(s: &RepairSummary) -> String {
    let ips = |v: &[IpAddr]| {
        v.iter()
            .map(IpAddr::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = format!(
        "Released {}",
        count(s.released.len(), "IP address", "IP addresses")
    );
    if !s.released.is_empty() {
        out.push_str(&format!(": {}", ips(&s.released)));
    }
    out.push('\n');
    if !s.skipped.is_empty() {
        out.push_str(&format!(
            "Skipped {} (released or reused since the check): {}\n",
            count(s.skipped.len(), "IP address", "IP addresses"),
            ips(&s.skipped)
        ));
    }
    out.push_str(&format!(
        "Fixed {}\n",
        count(s.handles_fixed.len(), "handle record", "handle records")
    ));
    out.push_str(&format!(
        "Fixed {}\n",
        count(
            s.blocks_fixed.len(),
            "block or affinity",
            "blocks or affinities"
        )
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_like_calicoctl() {
        assert_eq!(with_percent(4, 64), "4 (6%)");
        assert_eq!(with_percent(60, 64), "60 (94%)");
        assert_eq!(with_percent(0, 65536), "0 (0%)");
        assert_eq!(with_percent(0, 0), "0");
    }

    #[test]
    fn bad_addresses_are_named() {
        assert_eq!(
            parse_ip("10.0.0.300").expect_err("300 is not an octet"),
            "invalid IP address \"10.0.0.300\""
        );
        assert!(parse_ip("fd00::1").is_ok());
    }

    #[test]
    fn an_empty_check_has_no_problems() {
        let t = check_text(&Report::default(), &[]);
        assert!(t.ends_with("Check complete; found 0 problems.\n"), "{t}");
    }
}
