//! The parsed form of a selector, its evaluation and its canonical text.

use std::collections::BTreeSet;
use std::fmt;

/// A string comparison between a label's value and a literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum CmpOp {
    /// `k == "v"`: the label is present with exactly this value.
    Eq,
    /// `k != "v"`: the label is absent or has another value.
    Ne,
    /// `k contains "s"`: the label is present and its value contains `s`.
    Contains,
    /// `k starts with "s"`
    StartsWith,
    /// `k ends with "s"`
    EndsWith,
}

impl CmpOp {
    /// The operator as written in selector text.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Contains => "contains",
            CmpOp::StartsWith => "starts with",
            CmpOp::EndsWith => "ends with",
        }
    }
}

/// A selector expression.
///
/// Invariants kept by [`Expr::and`] and [`Expr::or`], the only way the parser builds
/// them: `And`/`Or` have at least two operands, and no operand of an `And` is an `And`
/// (likewise for `Or`). Values never contain both kinds of quote.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Expr {
    /// `all()`
    All,
    /// `global()`
    Global,
    /// `has(k)`
    Has(String),
    /// `k <op> "v"`
    Cmp(String, CmpOp, String),
    /// `k in {...}` (`negated == false`) or `k not in {...}` (`negated == true`).
    In {
        key: String,
        values: BTreeSet<String>,
        negated: bool,
    },
    /// `!e`
    Not(Box<Expr>),
    /// `a && b && ...`
    And(Vec<Expr>),
    /// `a || b || ...`
    Or(Vec<Expr>),
}

impl Expr {
    /// Conjunction of `operands`, flattening nested conjunctions.
    pub(super) fn and(operands: Vec<Expr>) -> Expr {
        Self::flatten(operands, Expr::And, |e| match e {
            Expr::And(v) => Ok(v),
            other => Err(other),
        })
    }

    /// Disjunction of `operands`, flattening nested disjunctions.
    pub(super) fn or(operands: Vec<Expr>) -> Expr {
        Self::flatten(operands, Expr::Or, |e| match e {
            Expr::Or(v) => Ok(v),
            other => Err(other),
        })
    }

    fn flatten(
        operands: Vec<Expr>,
        build: fn(Vec<Expr>) -> Expr,
        split: fn(Expr) -> Result<Vec<Expr>, Expr>,
    ) -> Expr {
        let mut flat = Vec::with_capacity(operands.len());
        for operand in operands {
            match split(operand) {
                Ok(inner) => flat.extend(inner),
                Err(single) => flat.push(single),
            }
        }
        if flat.len() == 1
            && let Some(single) = flat.pop()
        {
            return single;
        }
        build(flat)
    }

    /// Evaluates the expression with `get` looking up label values by key.
    pub(super) fn eval<'l, F>(&self, get: &F) -> bool
    where
        F: Fn(&str) -> Option<&'l str>,
    {
        match self {
            Expr::All | Expr::Global => true,
            Expr::Has(key) => get(key).is_some(),
            Expr::Cmp(key, op, value) => {
                let actual = get(key);
                match op {
                    CmpOp::Eq => actual == Some(value.as_str()),
                    CmpOp::Ne => actual != Some(value.as_str()),
                    CmpOp::Contains => actual.is_some_and(|a| a.contains(value.as_str())),
                    CmpOp::StartsWith => actual.is_some_and(|a| a.starts_with(value.as_str())),
                    CmpOp::EndsWith => actual.is_some_and(|a| a.ends_with(value.as_str())),
                }
            }
            Expr::In {
                key,
                values,
                negated,
            } => get(key).is_some_and(|a| values.contains(a)) != *negated,
            Expr::Not(inner) => !inner.eval(get),
            Expr::And(operands) => operands.iter().all(|e| e.eval(get)),
            Expr::Or(operands) => operands.iter().any(|e| e.eval(get)),
        }
    }

    /// Binding strength: `||` < `&&` < everything else.
    fn precedence(&self) -> u8 {
        match self {
            Expr::Or(_) => 1,
            Expr::And(_) => 2,
            _ => 3,
        }
    }

    /// Writes `self` as an operand of an operator with precedence `parent`.
    fn fmt_operand(&self, f: &mut fmt::Formatter<'_>, parent: u8) -> fmt::Result {
        if self.precedence() <= parent {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }

    fn fmt_joined(
        f: &mut fmt::Formatter<'_>,
        operands: &[Expr],
        sep: &str,
        prec: u8,
    ) -> fmt::Result {
        for (i, operand) in operands.iter().enumerate() {
            if i > 0 {
                f.write_str(sep)?;
            }
            operand.fmt_operand(f, prec)?;
        }
        Ok(())
    }
}

/// Writes `value` as a string literal, in double quotes unless it contains one.
fn write_quoted(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    if value.contains('"') {
        write!(f, "'{value}'")
    } else {
        write!(f, "\"{value}\"")
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::All => f.write_str("all()"),
            Expr::Global => f.write_str("global()"),
            Expr::Has(key) => write!(f, "has({key})"),
            Expr::Cmp(key, op, value) => {
                write!(f, "{key} {} ", op.as_str())?;
                write_quoted(f, value)
            }
            Expr::In {
                key,
                values,
                negated,
            } => {
                let op = if *negated { "not in" } else { "in" };
                write!(f, "{key} {op} {{")?;
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_quoted(f, value)?;
                }
                f.write_str("}")
            }
            Expr::Not(inner) => {
                f.write_str("!")?;
                inner.fmt_operand(f, 2)
            }
            Expr::And(operands) => Self::fmt_joined(f, operands, " && ", 2),
            Expr::Or(operands) => Self::fmt_joined(f, operands, " || ", 1),
        }
    }
}
