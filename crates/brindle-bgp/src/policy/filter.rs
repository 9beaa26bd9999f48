//! One filter: an ordered list of prefix rules per family, with Calico BGPFilter semantics.
//!
//! Calico renders a BGPFilter rule for BIRD as a test on the route's network (`net = cidr`,
//! `net ~ [ cidr{min,max} ]`, their negations) followed by `accept` or `reject`; the first rule
//! that matches decides and a filter without a matching rule falls through. The types here are
//! plain values so that the agent can convert brindle-api's `BGPFilter` into them.

use crate::model::{Community, Family, LargeCommunity, Prefix};

/// How a rule's `cidr` is compared with a route's prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOperator {
    /// The route's prefix is exactly `cidr`.
    Equal,
    /// The route's prefix is not exactly `cidr`.
    NotEqual,
    /// The route's prefix lies within `cidr` (equal included) and, when the rule has a
    /// [`PrefixLength`], its length is within those bounds (BIRD's `cidr{min,max}`).
    In,
    /// The negation of [`MatchOperator::In`], bounds included.
    NotIn,
}

/// Bounds on a route's prefix length, both inclusive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PrefixLength {
    /// Shortest length accepted; with `In`/`NotIn` it defaults to the cidr's length, otherwise 0.
    pub min: Option<u8>,
    /// Longest length accepted; defaults to the family's maximum (32 or 128).
    pub max: Option<u8>,
}

impl PrefixLength {
    /// True when `len` is within the bounds, `floor` being the default minimum.
    fn admits(&self, len: u8, floor: u8) -> bool {
        let min = self.min.unwrap_or(floor);
        let max = self.max.unwrap_or(u8::MAX);
        (min..=max).contains(&len)
    }
}

/// What a matching rule decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Take the route (import) or send it (export).
    Accept,
    /// Drop the route.
    Reject,
}

/// One rule. With neither `cidr` nor `prefix_length` it matches every route of its family.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    /// The prefix to compare with and how.
    pub cidr: Option<(Prefix, MatchOperator)>,
    /// Bounds on the route's length. With `In`/`NotIn` they are part of the set test (and so
    /// negated by `NotIn`); otherwise they are one more condition the route must meet.
    pub prefix_length: Option<PrefixLength>,
    /// What happens to a matching route.
    pub action: Action,
    /// Standard communities added to an accepted route (not repeated if already present).
    pub add_communities: Vec<Community>,
    /// Large communities added to an accepted route.
    pub add_large_communities: Vec<LargeCommunity>,
}

impl Rule {
    /// A rule with `action` for routes that `op` relates to `cidr`.
    pub fn new(cidr: Prefix, op: MatchOperator, action: Action) -> Rule {
        Rule {
            cidr: Some((cidr, op)),
            ..Rule::any(action)
        }
    }

    /// A rule with `action` for every route.
    pub fn any(action: Action) -> Rule {
        Rule {
            cidr: None,
            prefix_length: None,
            action,
            add_communities: Vec::new(),
            add_large_communities: Vec::new(),
        }
    }

    /// The rule with length bounds.
    pub fn with_length(mut self, min: Option<u8>, max: Option<u8>) -> Rule {
        self.prefix_length = Some(PrefixLength { min, max });
        self
    }

    /// True when the rule applies to `route`. A rule whose cidr belongs to the other address
    /// family never matches, not even through `NotEqual` or `NotIn`.
    pub fn matches(&self, route: &Prefix) -> bool {
        let bounds = self.prefix_length.unwrap_or_default();
        match self.cidr {
            None => self.prefix_length.is_none() || bounds.admits(route.len(), 0),
            Some((cidr, _)) if cidr.family() != route.family() => false,
            Some((cidr, MatchOperator::Equal)) => cidr == *route && bounds.admits(route.len(), 0),
            Some((cidr, MatchOperator::NotEqual)) => {
                cidr != *route && bounds.admits(route.len(), 0)
            }
            Some((cidr, MatchOperator::In)) => {
                cidr.contains(route) && bounds.admits(route.len(), cidr.len())
            }
            Some((cidr, MatchOperator::NotIn)) => {
                !(cidr.contains(route) && bounds.admits(route.len(), cidr.len()))
            }
        }
    }

    /// True when an accepting match changes the route's attributes.
    pub fn modifies(&self) -> bool {
        self.action == Action::Accept
            && !(self.add_communities.is_empty() && self.add_large_communities.is_empty())
    }
}

/// A named filter: rules for IPv4 routes and rules for IPv6 routes, each list evaluated in
/// order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Filter {
    /// The filter's name (for status and logs).
    pub name: String,
    /// Rules for IPv4 routes.
    pub v4: Vec<Rule>,
    /// Rules for IPv6 routes.
    pub v6: Vec<Rule>,
}

impl Filter {
    /// The rules that apply to routes of `family`.
    pub fn rules(&self, family: Family) -> &[Rule] {
        match family {
            Family::Ipv4Unicast => &self.v4,
            Family::Ipv6Unicast => &self.v6,
        }
    }

    /// The index of the first rule that matches `route`: that rule decides. `None` when no rule
    /// matches: the filter has no opinion.
    pub fn first_match(&self, route: &Prefix) -> Option<usize> {
        self.rules(route.family())
            .iter()
            .position(|r| r.matches(route))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().expect("prefix")
    }

    #[test]
    fn equal_and_not_equal() {
        let eq = Rule::new(p("10.0.0.0/8"), MatchOperator::Equal, Action::Accept);
        assert!(eq.matches(&p("10.0.0.0/8")));
        assert!(!eq.matches(&p("10.0.0.0/9")));
        assert!(!eq.matches(&p("11.0.0.0/8")));
        let ne = Rule::new(p("10.0.0.0/8"), MatchOperator::NotEqual, Action::Accept);
        assert!(!ne.matches(&p("10.0.0.0/8")));
        assert!(ne.matches(&p("10.0.0.0/9")));
        assert!(ne.matches(&p("192.168.0.0/16")));
    }

    #[test]
    fn in_and_not_in_with_bounds() {
        let r = Rule::new(p("10.0.0.0/8"), MatchOperator::In, Action::Accept);
        assert!(r.matches(&p("10.0.0.0/8")), "equal is within");
        assert!(r.matches(&p("10.1.2.3/32")));
        assert!(!r.matches(&p("10.0.0.0/7")));
        assert!(!r.matches(&p("11.0.0.0/24")));

        let r = r.with_length(Some(16), Some(24));
        assert!(!r.matches(&p("10.0.0.0/8")));
        assert!(r.matches(&p("10.1.0.0/16")));
        assert!(r.matches(&p("10.1.2.0/24")));
        assert!(!r.matches(&p("10.1.2.0/25")));

        // Only a maximum: the minimum is the cidr's length.
        let r = Rule::new(p("10.0.0.0/8"), MatchOperator::In, Action::Accept)
            .with_length(None, Some(16));
        assert!(r.matches(&p("10.0.0.0/8")));
        assert!(!r.matches(&p("10.1.2.0/24")));

        let n = Rule::new(p("10.0.0.0/8"), MatchOperator::NotIn, Action::Reject)
            .with_length(Some(16), Some(24));
        assert!(n.matches(&p("10.0.0.0/8")), "outside the length bounds");
        assert!(!n.matches(&p("10.1.0.0/16")));
        assert!(n.matches(&p("192.168.0.0/16")));
        assert!(n.matches(&p("10.1.2.3/32")));
    }

    #[test]
    fn length_only_and_catch_all() {
        let r = Rule::any(Action::Reject).with_length(Some(25), None);
        assert!(r.matches(&p("10.1.2.3/32")));
        assert!(!r.matches(&p("10.1.2.0/24")));
        assert!(Rule::any(Action::Accept).matches(&p("0.0.0.0/0")));
    }

    #[test]
    fn other_family_never_matches() {
        let r = Rule::new(p("10.0.0.0/8"), MatchOperator::NotIn, Action::Reject);
        assert!(!r.matches(&p("fd00::/64")));
        let r = Rule::new(p("fd00::/8"), MatchOperator::NotEqual, Action::Reject);
        assert!(!r.matches(&p("10.0.0.0/8")));
    }

    #[test]
    fn first_match_decides_per_family() {
        let f = Filter {
            name: "f".into(),
            v4: vec![
                Rule::new(p("10.1.0.0/16"), MatchOperator::In, Action::Reject),
                Rule::new(p("10.0.0.0/8"), MatchOperator::In, Action::Accept),
            ],
            v6: vec![Rule::any(Action::Reject)],
        };
        assert_eq!(f.first_match(&p("10.1.1.0/24")), Some(0));
        assert_eq!(f.first_match(&p("10.2.1.0/24")), Some(1));
        assert_eq!(f.first_match(&p("192.168.0.0/24")), None);
        assert_eq!(f.first_match(&p("fd00::/64")), Some(0));
    }
}
