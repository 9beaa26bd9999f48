//! The resource kinds brindle stores, and the names users may type for them.

use std::fmt;

/// A resource kind of the `projectcalico.org/v3` API that brindle understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Global or per-node BGP settings.
    BgpConfiguration,
    /// A BGP peering.
    BgpPeer,
    /// Import/export rules referenced by BGPPeers.
    BgpFilter,
    /// A host of the cluster.
    Node,
    /// A range pods get addresses from.
    IpPool,
    /// Global IPAM settings.
    IpamConfiguration,
    /// Dataplane settings (global or per node).
    FelixConfiguration,
    /// A pod's network interface.
    WorkloadEndpoint,
    /// An IPAM allocation block.
    IpamBlock,
    /// A node's claim on an IPAM block.
    BlockAffinity,
    /// The addresses one allocation handle holds.
    IpamHandle,
}

impl Kind {
    /// Every kind, in the order `get all`-style listings use.
    pub const ALL: [Kind; 11] = [
        Kind::BgpConfiguration,
        Kind::BgpPeer,
        Kind::BgpFilter,
        Kind::Node,
        Kind::IpPool,
        Kind::IpamConfiguration,
        Kind::FelixConfiguration,
        Kind::WorkloadEndpoint,
        Kind::IpamBlock,
        Kind::BlockAffinity,
        Kind::IpamHandle,
    ];

    /// The `kind:` value as written in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Kind::BgpConfiguration => "BGPConfiguration",
            Kind::BgpPeer => "BGPPeer",
            Kind::BgpFilter => "BGPFilter",
            Kind::Node => "Node",
            Kind::IpPool => "IPPool",
            Kind::IpamConfiguration => "IPAMConfiguration",
            Kind::FelixConfiguration => "FelixConfiguration",
            Kind::WorkloadEndpoint => "WorkloadEndpoint",
            Kind::IpamBlock => "IPAMBlock",
            Kind::BlockAffinity => "BlockAffinity",
            Kind::IpamHandle => "IPAMHandle",
        }
    }

    /// The lowercase plural used in datastore keys.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::BgpConfiguration => "bgpconfigurations",
            Kind::BgpPeer => "bgppeers",
            Kind::BgpFilter => "bgpfilters",
            Kind::Node => "nodes",
            Kind::IpPool => "ippools",
            Kind::IpamConfiguration => "ipamconfigurations",
            Kind::FelixConfiguration => "felixconfigurations",
            Kind::WorkloadEndpoint => "workloadendpoints",
            Kind::IpamBlock => "ipamblocks",
            Kind::BlockAffinity => "blockaffinities",
            Kind::IpamHandle => "ipamhandles",
        }
    }

    /// True for kinds whose names are scoped by a namespace.
    pub fn namespaced(self) -> bool {
        matches!(self, Kind::WorkloadEndpoint)
    }

    /// The names calicoctl accepts on its command line for this kind (lowercase).
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Kind::BgpConfiguration => &[
                "bgpconfiguration",
                "bgpconfigurations",
                "bgpconfig",
                "bgpconfigs",
                "bgpconf",
                "bgpconfs",
            ],
            Kind::BgpPeer => &["bgppeer", "bgppeers", "bgpp", "bgpps", "bp", "bps"],
            Kind::BgpFilter => &["bgpfilter", "bgpfilters", "bgpf", "bgpfs"],
            Kind::Node => &["node", "nodes", "no", "nos"],
            Kind::IpPool => &["ippool", "ippools", "ipp", "ipps", "pool", "pools"],
            Kind::IpamConfiguration => &[
                "ipamconfiguration",
                "ipamconfigurations",
                "ipamconfig",
                "ipamconfigs",
                "ipamc",
            ],
            Kind::FelixConfiguration => &[
                "felixconfiguration",
                "felixconfigurations",
                "felixconfig",
                "felixconfigs",
                "felixc",
            ],
            Kind::WorkloadEndpoint => &[
                "workloadendpoint",
                "workloadendpoints",
                "wep",
                "weps",
                "workloadep",
            ],
            Kind::IpamBlock => &["ipamblock", "ipamblocks", "block", "blocks"],
            Kind::BlockAffinity => &[
                "blockaffinity",
                "blockaffinities",
                "blockaffinitys",
                "affinity",
                "affinities",
            ],
            Kind::IpamHandle => &["ipamhandle", "ipamhandles", "handle", "handles"],
        }
    }

    /// Resolves a kind as typed on the command line: case-insensitive, singular, plural or
    /// short, optionally with a `.projectcalico.org` suffix.
    pub fn from_cli(s: &str) -> Option<Kind> {
        let lower = s.to_ascii_lowercase();
        let base = lower.strip_suffix(".projectcalico.org").unwrap_or(&lower);
        Kind::ALL.into_iter().find(|k| k.aliases().contains(&base))
    }

    /// Resolves the exact `kind:` value of a manifest.
    pub fn from_manifest(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_spellings() {
        for (s, k) in [
            ("nodes", Kind::Node),
            ("bgpPeer", Kind::BgpPeer),
            ("ippool", Kind::IpPool),
            ("bgpconfig", Kind::BgpConfiguration),
            ("IPPools", Kind::IpPool),
            ("wep", Kind::WorkloadEndpoint),
            ("bgppeers.projectcalico.org", Kind::BgpPeer),
            ("FelixConfiguration", Kind::FelixConfiguration),
        ] {
            assert_eq!(Kind::from_cli(s), Some(k), "{s}");
        }
        assert_eq!(Kind::from_cli("deployment"), None);
    }

    #[test]
    fn aliases_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for k in Kind::ALL {
            for a in k.aliases() {
                assert!(seen.insert(*a), "alias {a} used twice");
            }
            assert!(
                k.aliases()
                    .contains(&k.name().to_ascii_lowercase().as_str())
            );
        }
    }
}
