//! BGP AS numbers in plain (`64512`) and dotted (`1.10`, RFC 5396 asdot) notation.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A four-octet AS number. Serialized as a plain integer; accepted as an integer or as a string in
/// plain or dotted notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AsNumber(pub u32);

impl AsNumber {
    /// Calico's default AS number.
    pub const DEFAULT: AsNumber = AsNumber(64512);
}

impl fmt::Display for AsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for AsNumber {
    type Err = String;

    /// RFC 5396 §1: asdot represents an AS number of 65536 or more as two 16-bit values
    /// joined by a period (`<high>.<low>`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not an AS number (use 1..4294967295 or dotted 1.10)");
        let s = s.trim();
        if let Some((hi, lo)) = s.split_once('.') {
            let hi: u16 = hi.parse().map_err(|_| bad())?;
            let lo: u16 = lo.parse().map_err(|_| bad())?;
            return Ok(AsNumber((u32::from(hi) << 16) | u32::from(lo)));
        }
        s.parse::<u32>().map(AsNumber).map_err(|_| bad())
    }
}

impl Serialize for AsNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for AsNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AsnVisitor)
    }
}

struct AsnVisitor;

impl Visitor<'_> for AsnVisitor {
    type Value = AsNumber;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an AS number (integer, or a string such as \"64512\" or \"1.10\")")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<AsNumber, E> {
        u32::try_from(v)
            .map(AsNumber)
            .map_err(|_| E::custom(format!("{v} is not an AS number (at most 4294967295)")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<AsNumber, E> {
        u64::try_from(v)
            .map_err(|_| E::custom(format!("{v} is not an AS number (must be positive)")))
            .and_then(|v| self.visit_u64(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<AsNumber, E> {
        Err(E::custom(format!(
            "{v} is not an AS number; write dotted AS numbers as quoted strings, e.g. \"1.10\""
        )))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<AsNumber, E> {
        v.parse().map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_dotted() {
        assert_eq!("64512".parse::<AsNumber>(), Ok(AsNumber(64512)));
        assert_eq!("1.10".parse::<AsNumber>(), Ok(AsNumber(65546)));
        assert_eq!("0.0".parse::<AsNumber>(), Ok(AsNumber(0)));
        assert_eq!("65535.65535".parse::<AsNumber>(), Ok(AsNumber(u32::MAX)));
        assert!("65536.1".parse::<AsNumber>().is_err());
        assert!("1.".parse::<AsNumber>().is_err());
        assert!("x".parse::<AsNumber>().is_err());
        assert!("4294967296".parse::<AsNumber>().is_err());
    }

    #[test]
    fn serde_forms() {
        let a: AsNumber = serde_json::from_str("63400").expect("int");
        assert_eq!(a, AsNumber(63400));
        let a: AsNumber = serde_json::from_str("\"1.10\"").expect("dotted");
        assert_eq!(a, AsNumber(65546));
        assert!(serde_json::from_str::<AsNumber>("1.1").is_err());
        assert!(serde_json::from_str::<AsNumber>("-1").is_err());
        assert_eq!(
            serde_json::to_string(&AsNumber(65546)).expect("ser"),
            "65546"
        );
    }
}
