//! BGPFilter resources as the speaker's import and export policies. A BGPPeer's `filters`
//! name BGPFilters; their rules apply in order, the first match deciding (Calico's semantics,
//! see `brindle_bgp::policy`). Rules with `source` or `interface` (route-origin matches the
//! speaker cannot evaluate) are skipped with a problem reported, so a filter is never applied
//! half-understood without a word.

use std::collections::BTreeMap;
use std::sync::Arc;

use brindle_api::Object;
use brindle_api::resources::bgp_filter::{BgpFilterSpec, FilterRule};
use brindle_bgp::model::Family;
use brindle_bgp::policy::{Filter, Policy, Rule};
use brindle_bgp::speaker::PeerConfig;

/// One direction of every BGPFilter, converted.
struct Converted {
    import: Arc<Filter>,
    export: Arc<Filter>,
}

fn rule(r: &FilterRule, family: Family, at: &str) -> Result<Rule, String> {
    if r.source.is_some() || r.interface.is_some() {
        return Err(format!(
            "{at}: source and interface matches are not supported; rule skipped"
        ));
    }
    crate::filter_rule::build(
        r.cidr.as_deref(),
        r.match_operator,
        r.prefix_length,
        r.action,
        family,
        at,
    )
}

fn rules(
    name: &str,
    list: &[FilterRule],
    field: &str,
    family: Family,
    problems: &mut Vec<String>,
) -> Vec<Rule> {
    list.iter()
        .enumerate()
        .filter_map(|(i, r)| {
            rule(
                r,
                family,
                &format!("BGPFilter \"{name}\": spec.{field}[{i}]"),
            )
            .map_err(|e| problems.push(e))
            .ok()
        })
        .collect()
}

fn convert(name: &str, spec: &BgpFilterSpec, problems: &mut Vec<String>) -> Converted {
    let v4 = Family::Ipv4Unicast;
    let v6 = Family::Ipv6Unicast;
    Converted {
        import: Arc::new(Filter {
            name: name.to_string(),
            v4: rules(name, &spec.import_v4, "importV4", v4, problems),
            v6: rules(name, &spec.import_v6, "importV6", v6, problems),
        }),
        export: Arc::new(Filter {
            name: name.to_string(),
            v4: rules(name, &spec.export_v4, "exportV4", v4, problems),
            v6: rules(name, &spec.export_v6, "exportV6", v6, problems),
        }),
    }
}

/// Sets each peer's import and export policy from the BGPFilters its BGPPeer names
/// (`names` by peer address); returns the problems met (unknown filter names, unsupported
/// rules).
pub fn apply(
    peers: &mut [PeerConfig],
    names: &BTreeMap<std::net::IpAddr, Vec<String>>,
    filters: &[&Object<BgpFilterSpec>],
) -> Vec<String> {
    let mut problems = Vec::new();
    let by_name: BTreeMap<&str, Converted> = filters
        .iter()
        .map(|f| {
            let name = f.metadata.name.as_str();
            (name, convert(name, &f.spec, &mut problems))
        })
        .collect();
    for p in peers.iter_mut() {
        let Some(wanted) = names.get(&p.address) else {
            continue;
        };
        let mut import = Vec::new();
        let mut export = Vec::new();
        for n in wanted {
            match by_name.get(n.as_str()) {
                Some(c) => {
                    import.push(c.import.clone());
                    export.push(c.export.clone());
                }
                None => problems.push(format!(
                    "peer {}: BGPFilter \"{n}\" does not exist; the peer gets the others",
                    p.address
                )),
            }
        }
        p.import = Policy::new(import);
        p.export = Policy::new(export);
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use brindle_api::resources::bgp_filter::{FilterAction, MatchOperator as ApiOp, PrefixLength};

    fn filter(name: &str, export_v4: Vec<FilterRule>) -> Object<BgpFilterSpec> {
        Object::new(
            name,
            BgpFilterSpec {
                export_v4,
                ..Default::default()
            },
        )
    }

    fn r(cidr: &str, op: ApiOp, action: FilterAction) -> FilterRule {
        FilterRule {
            cidr: Some(cidr.into()),
            match_operator: Some(op),
            action,
            ..Default::default()
        }
    }

    #[test]
    fn named_filters_become_policies_in_order() {
        let f1 = filter(
            "no-24s",
            vec![FilterRule {
                prefix_length: Some(PrefixLength {
                    min: Some(24),
                    max: Some(24),
                }),
                ..r("10.0.0.0/8", ApiOp::In, FilterAction::Reject)
            }],
        );
        let f2 = filter(
            "only-tens",
            vec![r("10.0.0.0/8", ApiOp::NotIn, FilterAction::Reject)],
        );
        let addr: std::net::IpAddr = "192.0.2.1".parse().expect("ip");
        let mut peers = vec![PeerConfig::new(addr, 64513)];
        let names = BTreeMap::from([(
            addr,
            vec![
                "no-24s".to_string(),
                "only-tens".to_string(),
                "gone".to_string(),
            ],
        )]);
        let problems = apply(&mut peers, &names, &[&f1, &f2]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("\"gone\" does not exist"));
        let export = &peers[0].export;
        let verdict = |p: &str| export.evaluate(&p.parse().expect("prefix")).accepted();
        assert!(!verdict("10.1.2.0/24"), "first filter rejects /24s in 10/8");
        assert!(verdict("10.1.0.0/16"));
        assert!(
            !verdict("192.168.0.0/16"),
            "second filter rejects outside 10/8"
        );
        assert!(
            peers[0]
                .import
                .evaluate(&"192.168.0.0/16".parse().expect("p"))
                .accepted()
        );
    }

    #[test]
    fn unsupported_rules_are_reported_not_applied() {
        let f = filter(
            "by-source",
            vec![FilterRule {
                source: Some(brindle_api::resources::bgp_filter::RuleSource::RemotePeers),
                ..r("10.0.0.0/8", ApiOp::In, FilterAction::Reject)
            }],
        );
        let addr: std::net::IpAddr = "192.0.2.1".parse().expect("ip");
        let mut peers = vec![PeerConfig::new(addr, 64513)];
        let names = BTreeMap::from([(addr, vec!["by-source".to_string()])]);
        let problems = apply(&mut peers, &names, &[&f]);
        assert!(problems[0].contains("spec.exportV4[0]"), "{problems:?}");
        assert!(
            peers[0]
                .export
                .evaluate(&"10.0.0.0/8".parse().expect("p"))
                .accepted()
        );
    }
}
