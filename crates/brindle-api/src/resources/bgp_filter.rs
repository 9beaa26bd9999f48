//! BGPFilter: ordered accept/reject rules on imported and exported routes.

use serde::{Deserialize, Serialize};

use super::Spec;
use super::common::NoStatus;
use crate::check::Checker;
use crate::kind::Kind;
use crate::meta::ObjectMeta;

/// `spec` of a BGPFilter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BgpFilterSpec {
    /// Rules for IPv4 routes sent to peers.
    #[serde(default, rename = "exportV4", skip_serializing_if = "Vec::is_empty")]
    pub export_v4: Vec<FilterRule>,
    /// Rules for IPv4 routes received from peers.
    #[serde(default, rename = "importV4", skip_serializing_if = "Vec::is_empty")]
    pub import_v4: Vec<FilterRule>,
    /// Rules for IPv6 routes sent to peers.
    #[serde(default, rename = "exportV6", skip_serializing_if = "Vec::is_empty")]
    pub export_v6: Vec<FilterRule>,
    /// Rules for IPv6 routes received from peers.
    #[serde(default, rename = "importV6", skip_serializing_if = "Vec::is_empty")]
    pub import_v6: Vec<FilterRule>,
}

/// One rule: when the route matches, take `action`; rules are evaluated in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FilterRule {
    /// The range the operator compares the route with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    /// Bounds on the route's prefix length (with `In`/`NotIn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_length: Option<PrefixLength>,
    /// `Equal`, `NotEqual`, `In` or `NotIn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_operator: Option<MatchOperator>,
    /// `RemotePeers`: only routes learned from peers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<RuleSource>,
    /// Only routes through this interface (glob).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// `Accept` or `Reject`.
    pub action: FilterAction,
}

/// Prefix length bounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixLength {
    /// Shortest prefix length matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u8>,
    /// Longest prefix length matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u8>,
}

/// How a rule's `cidr` is compared with a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MatchOperator {
    /// The route is exactly the cidr.
    Equal,
    /// The route is not the cidr.
    NotEqual,
    /// The route lies within the cidr.
    In,
    /// The route does not lie within the cidr.
    NotIn,
}

/// Where a route came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleSource {
    /// Learned from BGP peers.
    RemotePeers,
}

/// What a matching rule does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FilterAction {
    /// Let the route through.
    #[default]
    Accept,
    /// Drop the route.
    Reject,
}

impl Spec for BgpFilterSpec {
    const KIND: Kind = Kind::BgpFilter;
    type Status = NoStatus;

    fn validate(&self, _meta: &ObjectMeta, c: &mut Checker) {
        let lists = [
            ("exportV4", &self.export_v4, true),
            ("importV4", &self.import_v4, true),
            ("exportV6", &self.export_v6, false),
            ("importV6", &self.import_v6, false),
        ];
        for (field, rules, v4) in lists {
            for (i, r) in rules.iter().enumerate() {
                check_rule(&format!("spec.{field}[{i}]"), r, v4, c);
            }
        }
    }
}

fn check_rule(path: &str, r: &FilterRule, v4: bool, c: &mut Checker) {
    let max = if v4 { 32 } else { 128 };
    match (&r.cidr, &r.match_operator) {
        (Some(_), None) => c.err(&format!("{path}.matchOperator"), "is required with cidr"),
        (None, Some(_)) => c.err(&format!("{path}.cidr"), "is required with matchOperator"),
        _ => {}
    }
    if let Some(cidr) = &r.cidr
        && let Some(net) = c.cidr(&format!("{path}.cidr"), cidr)
        && net.is_ipv4() != v4
    {
        let fam = if v4 { "IPv4" } else { "IPv6" };
        c.err(
            &format!("{path}.cidr"),
            format!("{cidr:?} is not an {fam} range"),
        );
    }
    if let Some(pl) = &r.prefix_length {
        if r.cidr.is_none() {
            c.err(&format!("{path}.prefixLength"), "requires cidr");
        }
        for (f, v) in [("min", pl.min), ("max", pl.max)] {
            if let Some(v) = v {
                c.range(&format!("{path}.prefixLength.{f}"), v, 0, max);
            }
        }
        if let (Some(lo), Some(hi)) = (pl.min, pl.max)
            && lo > hi
        {
            c.err(
                &format!("{path}.prefixLength"),
                format!("min {lo} is above max {hi}"),
            );
        }
    }
}
