//! The consistency checker (`brindlectl ipam check`) and its repair
//! (`brindlectl ipam release --from-report`).
//!
//! It reports, like Calico's `ipam check`:
//! - allocations nobody uses: no WorkloadEndpoint has the address (and, when the caller gives
//!   a set of live handles, the handle is not in it); tunnel addresses count as used while
//!   their node exists;
//! - handle records that disagree with the blocks (no allocations left, a missing record, or
//!   other counts);
//! - blocks and affinities of nodes that no longer exist;
//! - pending affinities (a claim that crashed between its steps).
//!
//! The lists are read one after the other, not at one revision: an allocation made while the
//! check runs (its WorkloadEndpoint not yet written) may show up as unused. Repair is safe
//! anyway: addresses are released only under the handle and sequence number the report saw.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use brindle_api::net::Cidr;
use brindle_api::resources::ipam_records::AffinityState;
use brindle_store::{Op, Revision};
use serde::{Deserialize, Serialize};

use crate::Ipam;
use crate::assign::ATTR_NODE;
use crate::error::Result;
use crate::records::{self, encode, get_block, get_handle, handle_key, new_handle};
use crate::release::{IpReleased, ReleaseIp};
use crate::tunnel::is_tunnel_attribute;

/// How the checker decides that an allocation is in use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckOptions {
    /// An allocation whose address a WorkloadEndpoint lists is in use.
    pub workload_endpoints: bool,
    /// An allocation whose handle is in this set is in use.
    pub live_handles: Option<BTreeSet<String>>,
}

impl Default for CheckOptions {
    /// Judge by WorkloadEndpoints only.
    fn default() -> Self {
        CheckOptions {
            workload_endpoints: true,
            live_handles: None,
        }
    }
}

/// An allocation nobody uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeakedAllocation {
    /// The address.
    pub ip: IpAddr,
    /// Its block.
    #[serde(with = "crate::addr::cidr_text")]
    pub block: Cidr,
    /// Its handle.
    pub handle: Option<String>,
    /// Its sequence number (releases only this allocation, not a later reuse).
    pub sequence: u64,
    /// The node it was assigned for.
    pub node: Option<String>,
    /// Its other attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// A handle record that disagrees with the blocks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandleProblem {
    /// The handle.
    pub handle: String,
    /// Addresses per block as the record says (empty when there is no record).
    pub recorded: BTreeMap<String, u32>,
    /// Addresses per block as the blocks say.
    pub actual: BTreeMap<String, u32>,
    /// The record's revision, `None` when the record is missing.
    pub revision: Option<Revision>,
}

impl HandleProblem {
    /// One-line description.
    pub fn describe(&self) -> String {
        match self.revision {
            None => format!(
                "handle {} holds addresses but has no IPAMHandle record",
                self.handle
            ),
            Some(_) if self.actual.is_empty() => {
                format!("handle {} has no allocations", self.handle)
            }
            Some(_) => format!(
                "handle {} records {:?} but the blocks hold {:?}",
                self.handle, self.recorded, self.actual
            ),
        }
    }
}

/// An affinity, or a block's affinity, that should not be there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StaleAffinity {
    /// The node.
    pub node: String,
    /// The block.
    #[serde(with = "crate::addr::cidr_text")]
    pub block: Cidr,
    /// The affinity's state (`None` for a block whose record names a node without an
    /// affinity record).
    pub state: Option<AffinityState>,
    /// Addresses in use in the block (0 when there is no block).
    pub in_use: u32,
    /// The affinity record's revision.
    pub revision: Option<Revision>,
}

/// What the checker found. Empty when everything is consistent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Allocations nobody uses.
    pub leaked_allocations: Vec<LeakedAllocation>,
    /// Handle records that disagree with the blocks.
    pub handle_problems: Vec<HandleProblem>,
    /// Blocks and affinities of nodes that no longer exist.
    pub deleted_node_blocks: Vec<StaleAffinity>,
    /// Pending affinities of existing nodes (an unfinished block claim).
    pub pending_affinities: Vec<StaleAffinity>,
}

impl Report {
    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.leaked_allocations.is_empty()
            && self.handle_problems.is_empty()
            && self.deleted_node_blocks.is_empty()
            && self.pending_affinities.is_empty()
    }

    /// The report as pretty JSON (the `-o report FILE` format).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }

    /// Reads a report written by [`Report::to_json`].
    pub fn from_json(text: &str) -> std::result::Result<Report, String> {
        serde_json::from_str(text).map_err(|e| format!("not an IPAM check report: {e}"))
    }

    /// One line per finding, for people.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for a in &self.leaked_allocations {
            out.push(format!(
                "{} in block {} (handle {}, node {}) has no workload",
                a.ip,
                a.block,
                a.handle.as_deref().unwrap_or("-"),
                a.node.as_deref().unwrap_or("-")
            ));
        }
        out.extend(self.handle_problems.iter().map(HandleProblem::describe));
        for s in &self.deleted_node_blocks {
            out.push(format!(
                "block {} is affine to node {}, which does not exist ({} addresses in use)",
                s.block, s.node, s.in_use
            ));
        }
        for s in &self.pending_affinities {
            out.push(format!(
                "node {} has a pending affinity for block {} (an unfinished claim)",
                s.node, s.block
            ));
        }
        out
    }
}

/// What [`Ipam::repair`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepairSummary {
    /// Addresses released.
    pub released: Vec<IpAddr>,
    /// Addresses left alone because they were released or reused since the check.
    pub skipped: Vec<IpAddr>,
    /// Handle records corrected or removed.
    pub handles_fixed: Vec<String>,
    /// Node blocks released (node gone) or pending claims finished or withdrawn.
    #[serde(with = "crate::addr::cidr_text_vec")]
    pub blocks_fixed: Vec<Cidr>,
}

impl Ipam {
    /// Checks the IPAM records against each other, the Nodes and the workloads.
    pub fn check(&self, opts: &CheckOptions) -> Result<Report> {
        let store = self.ds();
        let nodes = records::node_names(store)?;
        let used_ips: BTreeSet<IpAddr> = if opts.workload_endpoints {
            records::workload_endpoints(store)?
                .iter()
                .flat_map(|w| w.spec.ip_networks.iter())
                .filter_map(|n| n.parse::<Cidr>().ok().map(|c| c.addr()))
                .collect()
        } else {
            BTreeSet::new()
        };
        let judging = opts.workload_endpoints || opts.live_handles.is_some();
        let handles = records::list::<brindle_api::resources::ipam_records::IpamHandleSpec>(store)?;
        let blocks = records::list_blocks(store)?;
        let affinities = records::list_affinities(store)?;
        let mut report = Report::default();
        let mut actual: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
        for sb in &blocks {
            for a in sb.block.allocations() {
                if let Some(h) = &a.attribute.handle_id {
                    *actual
                        .entry(h.clone())
                        .or_default()
                        .entry(sb.block.cidr().to_string())
                        .or_insert(0) += 1;
                }
                let node = a.attribute.secondary.get(ATTR_NODE).cloned();
                let live = !judging
                    || used_ips.contains(&a.ip)
                    || a.attribute
                        .handle_id
                        .as_ref()
                        .is_some_and(|h| opts.live_handles.as_ref().is_some_and(|l| l.contains(h)))
                    || (is_tunnel_attribute(&a.attribute.secondary)
                        && node.as_ref().is_some_and(|n| nodes.contains(n)));
                if !live {
                    let mut attributes = a.attribute.secondary.clone();
                    attributes.remove(ATTR_NODE);
                    report.leaked_allocations.push(LeakedAllocation {
                        ip: a.ip,
                        block: sb.block.cidr(),
                        handle: a.attribute.handle_id.clone(),
                        sequence: a.sequence,
                        node,
                        attributes,
                    });
                }
            }
        }
        let mut seen = BTreeSet::new();
        for h in &handles {
            let id = h.obj.spec.handle_id.clone();
            let real = actual.get(&id).cloned().unwrap_or_default();
            if real != h.obj.spec.block {
                report.handle_problems.push(HandleProblem {
                    handle: id.clone(),
                    recorded: h.obj.spec.block.clone(),
                    actual: real,
                    revision: Some(h.revision),
                });
            }
            seen.insert(id);
        }
        for (id, real) in &actual {
            if !seen.contains(id) {
                report.handle_problems.push(HandleProblem {
                    handle: id.clone(),
                    recorded: BTreeMap::new(),
                    actual: real.clone(),
                    revision: None,
                });
            }
        }
        let in_use = |c: &Cidr| {
            blocks
                .iter()
                .find(|b| b.block.cidr() == *c)
                .map(|b| b.block.in_use())
                .unwrap_or(0)
        };
        let mut affine_pairs = BTreeSet::new();
        for a in &affinities {
            let spec = a.spec();
            affine_pairs.insert((spec.node.clone(), a.cidr));
            let entry = StaleAffinity {
                node: spec.node.clone(),
                block: a.cidr,
                state: Some(spec.state),
                in_use: in_use(&a.cidr),
                revision: Some(a.stored.revision),
            };
            if !nodes.contains(&spec.node) {
                report.deleted_node_blocks.push(entry);
            } else if spec.state == AffinityState::Pending {
                report.pending_affinities.push(entry);
            }
        }
        for sb in &blocks {
            if let Some(n) = sb.block.affinity_node()
                && !nodes.contains(n)
                && !affine_pairs.contains(&(n.to_string(), sb.block.cidr()))
            {
                report.deleted_node_blocks.push(StaleAffinity {
                    node: n.to_string(),
                    block: sb.block.cidr(),
                    state: None,
                    in_use: sb.block.in_use(),
                    revision: None,
                });
            }
        }
        Ok(report)
    }

    /// Repairs what `report` lists: releases the unused allocations (each only if it is still
    /// the allocation the report saw), corrects or removes handle records, releases the blocks
    /// of deleted nodes, and finishes or withdraws pending claims.
    pub fn repair(&self, report: &Report) -> Result<RepairSummary> {
        let store = self.ds();
        let mut out = RepairSummary::default();
        let reqs: Vec<ReleaseIp> = report
            .leaked_allocations
            .iter()
            .map(|a| ReleaseIp {
                ip: a.ip,
                handle: a.handle.clone(),
                sequence: Some(a.sequence),
            })
            .collect();
        for req in &reqs {
            match self.release_ips(std::slice::from_ref(req)) {
                Ok(done) if matches!(done.first(), Some(IpReleased::Released { .. })) => {
                    out.released.push(req.ip)
                }
                // Released since the check (its block may even be gone): nothing to do.
                Ok(_) | Err(crate::IpamError::NoBlock(_)) => out.skipped.push(req.ip),
                Err(e) => return Err(e),
            }
        }
        for p in &report.handle_problems {
            if self.fix_handle(&p.handle)? {
                out.handles_fixed.push(p.handle.clone());
            }
        }
        let nodes = records::node_names(store)?;
        let gone: BTreeSet<&String> = report
            .deleted_node_blocks
            .iter()
            .map(|s| &s.node)
            .filter(|n| !nodes.contains(*n))
            .collect();
        for node in gone {
            let r = self.release_node_blocks(node, true)?;
            out.blocks_fixed.extend(r.deleted_blocks);
            out.blocks_fixed.extend(r.dropped_affinities);
            out.blocks_fixed.extend(r.non_empty_blocks);
            // Blocks naming the node without an affinity record.
            for s in report
                .deleted_node_blocks
                .iter()
                .filter(|s| &s.node == node && s.state.is_none())
            {
                if self.unaffine_block(&s.block, node)? {
                    out.blocks_fixed.push(s.block);
                }
            }
        }
        for s in &report.pending_affinities {
            if self.settle_pending(s)? {
                out.blocks_fixed.push(s.block);
            }
        }
        Ok(out)
    }

    /// Rewrites `handle`'s record to what the blocks hold (removing it when they hold
    /// nothing, creating it when it is missing). Returns whether anything changed.
    fn fix_handle(&self, handle: &str) -> Result<bool> {
        let store = self.ds();
        crate::retry::with_retries(
            || format!("correcting handle {handle}"),
            || {
                let h = get_handle(store, handle)?;
                let mut actual: BTreeMap<String, u32> = BTreeMap::new();
                for sb in records::list_blocks(store)? {
                    let n = sb.block.count_for_handle(handle);
                    if n > 0 {
                        actual.insert(sb.block.cidr().to_string(), n);
                    }
                }
                let op = match (&h, actual.is_empty()) {
                    (None, true) => return Ok(false),
                    (Some(h), _) if h.obj.spec.block == actual => return Ok(false),
                    (Some(h), true) => Op::Delete {
                        key: h.key.clone(),
                        expected: Some(h.revision),
                    },
                    (Some(h), false) => {
                        let mut obj = h.obj.clone();
                        obj.spec.block = actual;
                        Op::Update {
                            key: h.key.clone(),
                            value: encode(&obj)?,
                            expected: h.revision,
                        }
                    }
                    (None, false) => Op::Create {
                        key: handle_key(handle),
                        value: encode(&new_handle(handle, actual))?,
                    },
                };
                store.txn(&[op])?;
                Ok(true)
            },
        )
    }

    /// Clears a block's affinity to `node` (a node that no longer exists); deletes the block
    /// when it is empty.
    fn unaffine_block(&self, cidr: &Cidr, node: &str) -> Result<bool> {
        let store = self.ds();
        crate::retry::with_retries(
            || format!("releasing block {cidr} of deleted node {node}"),
            || {
                let Some(sb) = get_block(store, cidr)? else {
                    return Ok(false);
                };
                if sb.block.affinity_node() != Some(node) {
                    return Ok(false);
                }
                let op = if sb.block.is_empty() {
                    Op::Delete {
                        key: sb.key.clone(),
                        expected: Some(sb.revision),
                    }
                } else {
                    let mut b = sb.block.clone();
                    b.set_affinity(None);
                    let mut obj = sb.to_object();
                    obj.spec = b.into_spec();
                    Op::Update {
                        key: sb.key.clone(),
                        value: encode(&obj)?,
                        expected: sb.revision,
                    }
                };
                store.txn(&[op])?;
                Ok(true)
            },
        )
    }

    /// Finishes a pending claim whose block exists affine to the node, or withdraws it when
    /// the block does not exist or is someone else's. Only if the affinity is unchanged since
    /// the report.
    fn settle_pending(&self, s: &StaleAffinity) -> Result<bool> {
        let store = self.ds();
        let Some(aff) = records::get_affinity(store, &s.node, &s.block)? else {
            return Ok(false);
        };
        if Some(aff.revision) != s.revision || aff.obj.spec.state != AffinityState::Pending {
            return Ok(false);
        }
        let ours = get_block(store, &s.block)?
            .is_some_and(|b| b.block.affinity_node() == Some(s.node.as_str()));
        let op = if ours {
            let mut obj = aff.obj.clone();
            obj.spec.state = AffinityState::Confirmed;
            Op::Update {
                key: aff.key.clone(),
                value: encode(&obj)?,
                expected: aff.revision,
            }
        } else {
            Op::Delete {
                key: aff.key.clone(),
                expected: Some(aff.revision),
            }
        };
        match store.txn(&[op]) {
            Ok(_) => Ok(true),
            Err(e) if crate::IpamError::from(e.clone()).is_conflict() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
