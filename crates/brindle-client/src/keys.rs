//! Where each kind lives in the datastore's key space:
//! `/brindle/v3/<plural>/<name>`, and `/brindle/v3/<plural>/<namespace>/<name>` for namespaced
//! kinds.

use brindle_api::Kind;

use crate::DEFAULT_NAMESPACE;

/// Prefix of every brindle key.
pub const KEY_ROOT: &str = "/brindle/v3/";

/// A key every IPPool write bumps, so that concurrent overlap checks conflict (see `write`).
/// `meta` is no kind's plural, so it never shows up in a listing.
pub const POOL_GUARD_KEY: &str = "/brindle/v3/meta/ippool-guard";

/// The key of one resource. Namespaced kinds without a namespace use `default`.
pub fn key_for(kind: Kind, namespace: Option<&str>, name: &str) -> String {
    if kind.namespaced() {
        let ns = namespace
            .filter(|n| !n.is_empty())
            .unwrap_or(DEFAULT_NAMESPACE);
        format!("{KEY_ROOT}{}/{ns}/{name}", kind.plural())
    } else {
        format!("{KEY_ROOT}{}/{name}", kind.plural())
    }
}

/// The prefix of all resources of a kind, or of one namespace of a namespaced kind.
pub fn kind_prefix(kind: Kind, namespace: Option<&str>) -> String {
    match namespace.filter(|_| kind.namespaced()) {
        Some(ns) => format!("{KEY_ROOT}{}/{ns}/", kind.plural()),
        None => format!("{KEY_ROOT}{}/", kind.plural()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        assert_eq!(key_for(Kind::IpPool, None, "p"), "/brindle/v3/ippools/p");
        assert_eq!(
            key_for(Kind::IpPool, Some("x"), "p"),
            "/brindle/v3/ippools/p"
        );
        assert_eq!(
            key_for(Kind::WorkloadEndpoint, None, "w"),
            "/brindle/v3/workloadendpoints/default/w"
        );
        assert_eq!(
            kind_prefix(Kind::WorkloadEndpoint, Some("kube-system")),
            "/brindle/v3/workloadendpoints/kube-system/"
        );
        assert_eq!(kind_prefix(Kind::Node, Some("x")), "/brindle/v3/nodes/");
        // A kind's prefix never matches another kind's keys.
        for a in Kind::ALL {
            for b in Kind::ALL {
                if a != b {
                    assert!(!key_for(b, None, "n").starts_with(&kind_prefix(a, None)));
                }
            }
        }
    }
}
