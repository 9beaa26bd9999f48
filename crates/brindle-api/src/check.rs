//! Field checks shared by the resource validators: names, labels, durations, CIDRs.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::FieldError;
use crate::net::Cidr;
use crate::selector::Selector;

/// Collects the problems found while validating one resource.
#[derive(Default, Debug)]
pub struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    /// Records a problem at `path`.
    pub fn err(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(path, message));
    }

    /// Records `result`'s error, if any, at `path`.
    pub fn check<T>(&mut self, path: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.err(path, e);
                None
            }
        }
    }

    /// The problems found, in the order found.
    pub fn finish(self) -> Vec<FieldError> {
        self.errors
    }

    /// Checks an optional CIDR string, returning the parsed network.
    pub fn cidr(&mut self, path: &str, value: &str) -> Option<Cidr> {
        self.check(path, Cidr::parse_loose(value).map(|(c, _)| c))
    }

    /// Checks a selector expression.
    pub fn selector(&mut self, path: &str, value: &str) {
        if let Err(e) = Selector::parse(value) {
            self.err(path, format!("{value:?} is not a valid selector: {e}"));
        }
    }

    /// Checks a Go-style duration such as `120s` or `1m30s`.
    pub fn duration(&mut self, path: &str, value: &str) {
        self.check(path, parse_duration(value));
    }

    /// Checks label keys and values.
    pub fn labels(&mut self, path: &str, labels: &BTreeMap<String, String>) {
        for (k, v) in labels {
            if let Err(e) = label_key(k) {
                self.err(&format!("{path}.{k}"), e);
            }
            if let Err(e) = label_value(v) {
                self.err(&format!("{path}.{k}"), e);
            }
        }
    }

    /// Checks that `value` lies in `lo..=hi`.
    pub fn range<T: PartialOrd + std::fmt::Display>(&mut self, path: &str, value: T, lo: T, hi: T) {
        if value < lo || value > hi {
            self.err(path, format!("{value} is outside {lo}..={hi}"));
        }
    }
}

/// Checks a resource name: a DNS-1123 subdomain (as Calico and Kubernetes require) — lowercase
/// labels of letters, digits and `-`, each starting and ending with a letter or digit, joined by
/// `.`; at most 253 characters.
pub fn resource_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is required".into());
    }
    if name.len() > 253 {
        return Err(format!("{name:?} is longer than 253 characters"));
    }
    if !name.split('.').all(dns_label) {
        return Err(format!(
            "{name:?} is not a valid name: use lowercase letters, digits, '-' and '.', \
             each part starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

/// RFC 1123 label: 1–63 of `[a-z0-9-]`, not starting or ending with `-`.
fn dns_label(s: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| alnum(c) || c == '-')
        && s.chars().next().is_some_and(alnum)
        && s.chars().last().is_some_and(alnum)
}

fn qualified_name_part(s: &str) -> bool {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| alnum(c) || "-_.".contains(c))
        && s.chars().next().is_some_and(alnum)
        && s.chars().last().is_some_and(alnum)
}

/// Checks a label key: `[prefix/]name` as Kubernetes defines it.
pub fn label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| p.len() <= 253 && p.split('.').all(dns_label));
    if !prefix_ok || !qualified_name_part(name) {
        return Err(format!(
            "label key {key:?} is not valid ([prefix/]name, name ≤ 63 characters)"
        ));
    }
    Ok(())
}

/// Checks a label value: empty, or ≤ 63 alphanumerics with `-_.` inside.
pub fn label_value(value: &str) -> Result<(), String> {
    if value.is_empty() || qualified_name_part(value) {
        Ok(())
    } else {
        Err(format!(
            "label value {value:?} is not valid (≤ 63 characters: letters, digits, -_.)"
        ))
    }
}

/// Parses a Go-style duration: a sequence of decimal numbers with units `ns`, `us`, `µs`, `ms`,
/// `s`, `m`, `h` (`90s`, `1m30s`, `1.5h`); a lone `0` is zero.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration (e.g. 90s, 1m30s, 500ms)");
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(resource_name("kube-worker02").is_ok());
        assert!(resource_name("node.kube-worker02").is_ok());
        assert!(resource_name("default-ipv4-ippool").is_ok());
        assert!(resource_name("").is_err());
        assert!(resource_name("Upper").is_err());
        assert!(resource_name("-lead").is_err());
        assert!(resource_name("trail.").is_err());
        assert!(resource_name("sp ace").is_err());
        assert!(resource_name("under_score").is_err());
        assert!(resource_name("a..b").is_err());
        assert!(resource_name("a.-b").is_err());
        assert!(resource_name(&"a".repeat(254)).is_err());
    }

    #[test]
    fn labels() {
        assert!(label_key("rack").is_ok());
        assert!(label_key("kubernetes.io/hostname").is_ok());
        assert!(label_key("node-role.kubernetes.io/node").is_ok());
        assert!(label_key("/x").is_err());
        assert!(label_key("Example.COM/x").is_err());
        assert!(label_key("a b").is_err());
        assert!(label_key(&"k".repeat(64)).is_err());
        assert!(label_value("").is_ok());
        assert!(label_value("rack-3").is_ok());
        assert!(label_value("-bad").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        for bad in ["", "s", "10", "10x", "1m-3s", "..s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
