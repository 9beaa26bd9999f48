//! Which IP pools may serve an allocation: family, `disabled`, `allowedUses`, `nodeSelector`,
//! `assignmentMode`, and the caller's explicit pool list (CNI `ipv4_pools`/`ipv6_pools`). Pure.
//!
//! As in Calico's `determinePools`, pools the caller names explicitly are used in the caller's
//! order even when their node selector does not pick the node or their assignment mode is
//! `Manual`; a named pool that does not exist, is disabled, is of the other family or does not
//! allow the use is an error. Without a list, every enabled pool of the family that allows the
//! use, is `Automatic` and selects the node is eligible, ordered by CIDR.

use std::collections::BTreeMap;

use brindle_api::Object;
use brindle_api::Selector;
use brindle_api::net::Cidr;
use brindle_api::resources::ip_pool::{AllowedUse, AssignmentMode, IpPoolSpec};

use crate::Family;
use crate::error::IpamError;

/// What an address is for (`allowedUses`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// A pod's address.
    Workload,
    /// A node's tunnel device address.
    Tunnel,
}

impl Use {
    fn allowed(self) -> AllowedUse {
        match self {
            Use::Workload => AllowedUse::Workload,
            Use::Tunnel => AllowedUse::Tunnel,
        }
    }
}

/// An IP pool as IPAM sees it.
#[derive(Clone, Debug)]
pub struct Pool {
    /// The IPPool's name.
    pub name: String,
    /// Its range.
    pub cidr: Cidr,
    /// Prefix length of its blocks.
    pub block_size: u8,
    /// No new allocations when set.
    pub disabled: bool,
    /// Uses it allows (default Workload and Tunnel).
    pub uses: Vec<AllowedUse>,
    /// Nodes it serves.
    pub selector: Selector,
    /// Only used when named explicitly.
    pub manual: bool,
}

impl Pool {
    /// Reads an IPPool resource; `Err` says what is wrong with it.
    pub fn from_object(o: &Object<IpPoolSpec>) -> Result<Pool, String> {
        let s = &o.spec;
        let cidr = s
            .network()
            .ok_or_else(|| format!("IPPool {:?}: bad spec.cidr {:?}", o.metadata.name, s.cidr))?;
        let bs = s.effective_block_size();
        let block_size = u8::try_from(bs)
            .ok()
            .filter(|b| *b >= cidr.prefix() && *b <= Family::of_cidr(&cidr).bits())
            .ok_or_else(|| format!("IPPool {:?}: bad spec.blockSize {bs}", o.metadata.name))?;
        let selector = match s.node_selector.as_deref() {
            None => Selector::all(),
            Some(text) => Selector::parse(text).map_err(|e| {
                format!(
                    "IPPool {:?}: spec.nodeSelector: {}",
                    o.metadata.name,
                    e.describe(text)
                )
            })?,
        };
        Ok(Pool {
            name: o.metadata.name.clone(),
            cidr,
            block_size,
            disabled: s.disabled.unwrap_or(false),
            uses: s
                .allowed_uses
                .clone()
                .unwrap_or_else(|| vec![AllowedUse::Workload, AllowedUse::Tunnel]),
            selector,
            manual: s.assignment_mode == Some(AssignmentMode::Manual),
        })
    }

    /// The pool's family.
    pub fn family(&self) -> Family {
        Family::of_cidr(&self.cidr)
    }

    /// Whether the pool allows `u`.
    pub fn allows(&self, u: Use) -> bool {
        self.uses.contains(&u.allowed())
    }

    /// Whether the pool names `wanted` (its name, or its CIDR in any spelling).
    pub fn is_named(&self, wanted: &str) -> bool {
        self.name == wanted || wanted.parse::<Cidr>().is_ok_and(|c| c == self.cidr)
    }
}

/// The pools that may serve an allocation of `family` for `use_` on a node with `labels`, in
/// the order they are tried.
pub fn eligible(
    pools: &[Pool],
    family: Family,
    use_: Use,
    labels: &BTreeMap<String, String>,
    explicit: Option<&[String]>,
    node: &str,
) -> Result<Vec<Pool>, IpamError> {
    if let Some(names) = explicit.filter(|n| !n.is_empty()) {
        let mut out: Vec<Pool> = Vec::new();
        for wanted in names {
            let reject = |reason: String| IpamError::Pool {
                pool: wanted.clone(),
                reason,
            };
            let p = pools
                .iter()
                .find(|p| p.is_named(wanted))
                .ok_or_else(|| reject("does not exist".into()))?;
            if p.family() != family {
                return Err(reject(format!("is not an {family} pool ({})", p.cidr)));
            }
            if p.disabled {
                return Err(reject(format!("({}) is disabled", p.cidr)));
            }
            if !p.allows(use_) {
                return Err(reject(format!(
                    "({}) does not allow {use_:?} addresses",
                    p.cidr
                )));
            }
            if !out.iter().any(|o| o.name == p.name) {
                out.push(p.clone());
            }
        }
        return Ok(out);
    }
    let mut out: Vec<Pool> = pools
        .iter()
        .filter(|p| {
            p.family() == family
                && !p.disabled
                && !p.manual
                && p.allows(use_)
                && p.selector.matches(labels)
        })
        .cloned()
        .collect();
    out.sort_by_key(|p| p.cidr);
    if out.is_empty() {
        let mut of_family: Vec<&Pool> = pools.iter().filter(|p| p.family() == family).collect();
        of_family.sort_by_key(|p| p.cidr);
        let detail = if of_family.is_empty() {
            format!("there is no {family} pool")
        } else {
            let why: Vec<String> = of_family
                .iter()
                .map(|p| {
                    let reason = if p.disabled {
                        "disabled".to_string()
                    } else if p.manual {
                        "assignmentMode Manual".to_string()
                    } else if !p.allows(use_) {
                        format!("allowedUses excludes {use_:?}")
                    } else {
                        format!(
                            "nodeSelector {:?} does not select {node}",
                            p.selector.source()
                        )
                    };
                    format!("{} ({reason})", p.cidr)
                })
                .collect();
            format!("pools {}", why.join(", "))
        };
        return Err(IpamError::NoPool {
            family,
            node: node.to_string(),
            detail,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(name: &str, cidr: &str, tweak: impl FnOnce(&mut IpPoolSpec)) -> Pool {
        let mut spec = IpPoolSpec {
            cidr: cidr.into(),
            ..Default::default()
        };
        tweak(&mut spec);
        Pool::from_object(&Object::new(name, spec)).expect("pool")
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn automatic_selection_filters_and_orders_by_cidr() {
        let pools = vec![
            pool("b", "10.1.0.0/16", |_| {}),
            pool("a", "10.0.0.0/16", |_| {}),
            pool("off", "10.2.0.0/16", |s| s.disabled = Some(true)),
            pool("rack2", "10.3.0.0/16", |s| {
                s.node_selector = Some("rack == \"2\"".into())
            }),
            pool("tun", "10.4.0.0/16", |s| {
                s.allowed_uses = Some(vec![AllowedUse::Tunnel])
            }),
            pool("man", "10.5.0.0/16", |s| {
                s.assignment_mode = Some(AssignmentMode::Manual)
            }),
            pool("v6", "fd00::/48", |_| {}),
        ];
        let got = eligible(
            &pools,
            Family::V4,
            Use::Workload,
            &labels(&[("rack", "1")]),
            None,
            "n1",
        )
        .expect("pools");
        let names: Vec<&str> = got.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        let got = eligible(
            &pools,
            Family::V4,
            Use::Workload,
            &labels(&[("rack", "2")]),
            None,
            "n1",
        )
        .expect("pools");
        assert_eq!(got.len(), 3);
        let got =
            eligible(&pools, Family::V4, Use::Tunnel, &labels(&[]), None, "n1").expect("pools");
        assert_eq!(got.len(), 3);
        let got =
            eligible(&pools, Family::V6, Use::Workload, &labels(&[]), None, "n1").expect("pools");
        assert_eq!(got[0].name, "v6");
    }

    #[test]
    fn explicit_lists_by_name_or_cidr() {
        let pools = vec![
            pool("a", "10.0.0.0/16", |_| {}),
            pool("man", "10.5.0.0/16", |s| {
                s.assignment_mode = Some(AssignmentMode::Manual)
            }),
            pool("off", "10.2.0.0/16", |s| s.disabled = Some(true)),
        ];
        let list = vec!["10.5.0.0/16".to_string(), "a".to_string()];
        let got = eligible(
            &pools,
            Family::V4,
            Use::Workload,
            &labels(&[]),
            Some(&list),
            "n1",
        )
        .expect("pools");
        assert_eq!(got[0].name, "man");
        assert_eq!(got[1].name, "a");
        let err = eligible(
            &pools,
            Family::V4,
            Use::Workload,
            &labels(&[]),
            Some(&["off".into()]),
            "n1",
        )
        .expect_err("disabled");
        assert_eq!(
            err.to_string(),
            "IP pool \"off\": (10.2.0.0/16) is disabled"
        );
        let err = eligible(
            &pools,
            Family::V4,
            Use::Workload,
            &labels(&[]),
            Some(&["x".into()]),
            "n1",
        )
        .expect_err("missing");
        assert_eq!(err.to_string(), "IP pool \"x\": does not exist");
    }

    #[test]
    fn no_pool_names_the_reasons() {
        let pools = vec![pool("off", "10.2.0.0/16", |s| s.disabled = Some(true))];
        let err = eligible(
            &pools,
            Family::V4,
            Use::Workload,
            &labels(&[]),
            None,
            "node1",
        )
        .expect_err("none");
        assert_eq!(
            err.to_string(),
            "no IP pool for IPv4 on node node1: pools 10.2.0.0/16 (disabled)"
        );
        let err = eligible(
            &pools,
            Family::V6,
            Use::Workload,
            &labels(&[]),
            None,
            "node1",
        )
        .expect_err("none");
        assert_eq!(
            err.to_string(),
            "no IP pool for IPv6 on node node1: there is no IPv6 pool"
        );
    }
}
