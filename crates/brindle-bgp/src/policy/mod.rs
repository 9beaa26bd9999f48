//! Import and export policy: ordered filters of prefix rules (Calico's BGPFilter semantics).
//!
//! A [`Policy`] is a list of [`Filter`]s applied in order. Within a filter the first matching
//! [`Rule`] decides (accept or reject); a filter with no matching rule has no opinion and the
//! next filter is asked; when no filter has an opinion the route is accepted (Calico: "import
//! everything", export what the agent originates). An accepting rule may add standard or large
//! communities to the route.
//!
//! Nothing here knows brindle-api: the agent converts its `BGPFilter` resources into these
//! plain values.

mod filter;

pub use filter::{Action, Filter, MatchOperator, PrefixLength, Rule};

use std::sync::Arc;

use crate::model::{Family, PathAttributes, Prefix};

/// Filters applied in order; shared between peers through `Arc`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Policy {
    /// The filters, first first.
    pub filters: Vec<Arc<Filter>>,
}

/// Which rule accepted a route, when that rule changes attributes: `(filter, rule)` indices
/// into the policy (the family is the route's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleRef {
    /// Index of the filter in [`Policy::filters`].
    pub filter: u32,
    /// Index of the rule in the filter's list for the route's family.
    pub rule: u32,
}

/// The outcome of a policy for one route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Take the route; `Some` names the rule whose community additions apply.
    Accept(Option<RuleRef>),
    /// Drop the route.
    Reject,
}

impl Verdict {
    /// True for [`Verdict::Accept`].
    pub fn accepted(self) -> bool {
        matches!(self, Verdict::Accept(_))
    }
}

impl Policy {
    /// A policy of the given filters.
    pub fn new(filters: Vec<Arc<Filter>>) -> Policy {
        Policy { filters }
    }

    /// True when the policy accepts every route unchanged.
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// Decides `route`: the first filter with an opinion decides; none → accept.
    pub fn evaluate(&self, route: &Prefix) -> Verdict {
        for (fi, filter) in self.filters.iter().enumerate() {
            let Some(ri) = filter.first_match(route) else {
                continue;
            };
            let rule = &filter.rules(route.family())[ri];
            return match rule.action {
                Action::Reject => Verdict::Reject,
                Action::Accept if rule.modifies() => Verdict::Accept(Some(RuleRef {
                    filter: index_u32(fi),
                    rule: index_u32(ri),
                })),
                Action::Accept => Verdict::Accept(None),
            };
        }
        Verdict::Accept(None)
    }

    /// Adds to `attrs` what the rule `r` (from [`Policy::evaluate`] on a route of `family`)
    /// adds. Communities already present are not repeated.
    pub fn apply(&self, r: RuleRef, family: Family, attrs: &mut PathAttributes) {
        let Some(rule) = self
            .filters
            .get(r.filter as usize)
            .and_then(|f| f.rules(family).get(r.rule as usize))
        else {
            return;
        };
        for c in &rule.add_communities {
            if !attrs.communities.contains(c) {
                attrs.communities.push(*c);
            }
        }
        for c in &rule.add_large_communities {
            if !attrs.large_communities.contains(c) {
                attrs.large_communities.push(*c);
            }
        }
    }
}

fn index_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Community, LargeCommunity};

    fn p(s: &str) -> Prefix {
        s.parse().expect("prefix")
    }

    fn filter(rules: Vec<Rule>) -> Arc<Filter> {
        Arc::new(Filter {
            name: "t".into(),
            v4: rules,
            v6: Vec::new(),
        })
    }

    #[test]
    fn filters_fall_through_then_default_accept() {
        let pol = Policy::new(vec![
            filter(vec![Rule::new(
                p("10.0.0.0/8"),
                MatchOperator::Equal,
                Action::Reject,
            )]),
            filter(vec![Rule::new(
                p("192.168.0.0/16"),
                MatchOperator::In,
                Action::Reject,
            )]),
        ]);
        assert_eq!(pol.evaluate(&p("10.0.0.0/8")), Verdict::Reject);
        assert_eq!(pol.evaluate(&p("192.168.1.0/24")), Verdict::Reject);
        assert_eq!(pol.evaluate(&p("172.16.0.0/12")), Verdict::Accept(None));
        assert_eq!(pol.evaluate(&p("fd00::/8")), Verdict::Accept(None));
        assert_eq!(
            Policy::default().evaluate(&p("1.0.0.0/8")),
            Verdict::Accept(None)
        );
    }

    #[test]
    fn first_filter_with_opinion_wins() {
        let pol = Policy::new(vec![
            filter(vec![Rule::new(
                p("10.0.0.0/8"),
                MatchOperator::In,
                Action::Accept,
            )]),
            filter(vec![Rule::any(Action::Reject)]),
        ]);
        assert!(pol.evaluate(&p("10.9.0.0/16")).accepted());
        assert_eq!(pol.evaluate(&p("11.0.0.0/8")), Verdict::Reject);
    }

    #[test]
    fn accepting_rule_adds_communities_once() {
        let mut rule = Rule::any(Action::Accept);
        rule.add_communities = vec![Community(0xfde8_0001)];
        rule.add_large_communities = vec![LargeCommunity(64512, 1, 2)];
        let pol = Policy::new(vec![filter(vec![rule])]);
        let route = p("10.0.0.0/24");
        let Verdict::Accept(Some(r)) = pol.evaluate(&route) else {
            panic!("expected an accepting rule with additions");
        };
        let mut attrs = PathAttributes {
            communities: vec![Community(0xfde8_0001)],
            ..PathAttributes::default()
        };
        pol.apply(r, route.family(), &mut attrs);
        assert_eq!(attrs.communities, vec![Community(0xfde8_0001)]);
        assert_eq!(attrs.large_communities, vec![LargeCommunity(64512, 1, 2)]);
    }
}
