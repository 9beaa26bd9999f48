//! Calico's label selector language, as used by `projectcalico.org/v3` resources
//! (`BGPPeer.spec.nodeSelector`/`peerSelector`, `IPPool.spec.nodeSelector`, ...).
//!
//! A selector is parsed once into a [`Selector`] and then evaluated against label maps
//! with [`Selector::matches`] or [`Selector::matches_fn`].
//!
//! | syntax                         | true when                                      |
//! |--------------------------------|------------------------------------------------|
//! | `all()`, `global()`, empty     | always                                         |
//! | `has(k)`                       | label `k` is present                           |
//! | `k == "v"`                     | `k` is present with value `v`                  |
//! | `k != "v"`                     | `k` is absent or has another value             |
//! | `k in {"a", "b"}`              | `k` is present with one of the values          |
//! | `k not in {"a", "b"}`          | `k` is absent or has none of the values        |
//! | `k contains "s"`               | `k` is present and its value contains `s`      |
//! | `k starts with "s"`            | `k` is present and its value starts with `s`   |
//! | `k ends with "s"`              | `k` is present and its value ends with `s`     |
//! | `!e`, `a && b`, `a \|\| b`, `(e)` | negation, conjunction, disjunction, grouping |
//!
//! `!` binds tightest, then `&&`, then `||`. Strings use single or double quotes and have
//! no escapes. Label keys are Kubernetes-style (`[A-Za-z0-9._/-]`, starting with a letter
//! or digit), e.g. `kubernetes.io/hostname`.

mod ast;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use ast::Expr;

/// A parsed selector.
///
/// Equality and hashing compare the parsed form, not the text: `a=="1"` equals
/// `a == '1'`. [`Display`](fmt::Display) gives the canonical text; [`Selector::source`]
/// the text as given. Serialized as the source text.
#[derive(Clone, Debug)]
pub struct Selector {
    expr: Expr,
    source: String,
}

/// Why selector text failed to parse: where (1-based character column) and what was
/// expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct SelectorError {
    /// 1-based column, counted in characters, where the problem is; one past the last
    /// character when the selector ended too early.
    pub column: usize,
    /// What is wrong, e.g. `expected a quoted string after "=="`.
    pub message: String,
}

impl SelectorError {
    /// One-line description naming the selector too, e.g.
    /// `selector "rack == ": column 9: expected a quoted string after "=="`.
    pub fn describe(&self, source: &str) -> String {
        format!("selector {source:?}: {self}")
    }
}

impl Selector {
    /// Parses selector text. Empty or whitespace-only text means `all()`.
    pub fn parse(s: &str) -> Result<Selector, SelectorError> {
        Ok(Selector {
            expr: parser::parse(s)?,
            source: s.to_owned(),
        })
    }

    /// The selector `all()`, which matches every label set.
    pub fn all() -> Selector {
        Selector {
            expr: Expr::All,
            source: "all()".to_owned(),
        }
    }

    /// Whether a label set matches.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_fn(|key| labels.get(key).map(String::as_str))
    }

    /// Whether the labels seen through `get` (label key to value, `None` when absent)
    /// match.
    pub fn matches_fn<'l>(&self, get: impl Fn(&str) -> Option<&'l str>) -> bool {
        self.expr.eval(&get)
    }

    /// True for `all()` and empty selectors, which match everything without looking at
    /// labels. (`global()` also matches everything but is kept distinct.)
    pub fn is_all(&self) -> bool {
        self.expr == Expr::All
    }

    /// The text this selector was parsed from, exactly as given (`all()` for
    /// [`Selector::all`]).
    pub fn source(&self) -> &str {
        &self.source
    }

    #[cfg(test)]
    fn from_expr(expr: Expr) -> Selector {
        let source = expr.to_string();
        Selector { expr, source }
    }
}

impl Default for Selector {
    /// `all()`.
    fn default() -> Self {
        Selector::all()
    }
}

impl PartialEq for Selector {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}

impl Eq for Selector {}

impl Hash for Selector {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.expr.hash(state);
    }
}

impl fmt::Display for Selector {
    /// Canonical form, e.g. `rack == "rack-3" && has(x)`; parsing it gives an equal
    /// selector.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)
    }
}

impl FromStr for Selector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Selector::parse(s)
    }
}

impl TryFrom<&str> for Selector {
    type Error = SelectorError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Selector::parse(s)
    }
}

impl serde::Serialize for Selector {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> serde::Deserialize<'de> for Selector {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = Selector;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a label selector string")
            }

            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Selector, E> {
                Selector::parse(s).map_err(|e| E::custom(e.describe(s)))
            }
        }

        deserializer.deserialize_str(Visitor)
    }
}
