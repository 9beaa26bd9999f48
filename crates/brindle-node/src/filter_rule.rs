//! One BGPFilter rule (Calico's semantics) as a speaker policy rule: an optional `cidr` with its
//! match operator, optional prefix-length bounds, and the action. Shared by the standalone
//! speaker's YAML filters and the agent's BGPFilter resources.

use brindle_api::resources::bgp_filter::{FilterAction, MatchOperator as ApiOp, PrefixLength};
use brindle_bgp::model::{Family, Prefix};
use brindle_bgp::policy::{Action, MatchOperator, Rule};

/// The rule for `family`'s list; errors name the field under `at` (e.g. `spec.exportV4[0]`).
pub fn build(
    cidr: Option<&str>,
    op: Option<ApiOp>,
    length: Option<PrefixLength>,
    action: FilterAction,
    family: Family,
    at: &str,
) -> Result<Rule, String> {
    let action = match action {
        FilterAction::Accept => Action::Accept,
        FilterAction::Reject => Action::Reject,
    };
    let rule = match (cidr, op) {
        (Some(c), Some(op)) => {
            let cidr: Prefix = c.parse().map_err(|err| format!("{at}.cidr: {err}"))?;
            if cidr.family() != family {
                return Err(format!(
                    "{at}.cidr: {c} is not of this list's address family"
                ));
            }
            let op = match op {
                ApiOp::Equal => MatchOperator::Equal,
                ApiOp::NotEqual => MatchOperator::NotEqual,
                ApiOp::In => MatchOperator::In,
                ApiOp::NotIn => MatchOperator::NotIn,
            };
            Rule::new(cidr, op, action)
        }
        (None, None) => Rule::any(action),
        (Some(_), None) => return Err(format!("{at}.matchOperator: is required with cidr")),
        (None, Some(_)) => return Err(format!("{at}.cidr: is required with matchOperator")),
    };
    let Some(l) = length else {
        return Ok(rule);
    };
    let max = if family == Family::Ipv4Unicast {
        32
    } else {
        128
    };
    if let Some(v) = [l.min, l.max].into_iter().flatten().find(|v| *v > max) {
        return Err(format!("{at}.prefixLength: {v} is outside 0..={max}"));
    }
    Ok(rule.with_length(l.min, l.max))
}
