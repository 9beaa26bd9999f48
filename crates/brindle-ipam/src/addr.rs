//! Address arithmetic on both families as 128-bit integers: block ranges inside a pool,
//! ordinals inside a block, and the names IPAM records get from their CIDR.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use brindle_api::net::Cidr;
use serde::{Deserialize, Serialize};

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Family {
    /// IPv4.
    #[serde(rename = "IPv4")]
    V4,
    /// IPv6.
    #[serde(rename = "IPv6")]
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(ip: IpAddr) -> Family {
        if ip.is_ipv4() { Family::V4 } else { Family::V6 }
    }

    /// The family of a network.
    pub fn of_cidr(c: &Cidr) -> Family {
        Family::of(c.addr())
    }

    /// Address length in bits: 32 or 128.
    pub fn bits(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        })
    }
}

/// The address as an integer (IPv4 in the low 32 bits).
pub fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The address `v` of `family` (IPv4 takes the low 32 bits).
pub fn from_u128(v: u128, family: Family) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(v as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(v)),
    }
}

/// Number of addresses in `c`, saturating at `u128::MAX` (only `::/0` saturates).
pub fn size(c: &Cidr) -> u128 {
    let host_bits = u32::from(Family::of_cidr(c).bits() - c.prefix());
    1u128.checked_shl(host_bits).unwrap_or(u128::MAX)
}

/// How many blocks of prefix length `block_size` fit in `pool` (saturating), or 0 when the pool
/// is smaller than one block.
pub fn block_count(pool: &Cidr, block_size: u8) -> u128 {
    if block_size < pool.prefix() || block_size > Family::of_cidr(pool).bits() {
        return 0;
    }
    1u128
        .checked_shl(u32::from(block_size - pool.prefix()))
        .unwrap_or(u128::MAX)
}

/// The `n`th block (from 0) of prefix length `block_size` in `pool`, if there is one.
pub fn nth_block(pool: &Cidr, block_size: u8, n: u128) -> Option<Cidr> {
    if n >= block_count(pool, block_size) {
        return None;
    }
    let family = Family::of_cidr(pool);
    let shift = u32::from(family.bits() - block_size);
    let offset = n.checked_shl(shift)?;
    let base = to_u128(pool.addr()).checked_add(offset)?;
    Cidr::new(from_u128(base, family), block_size)
}

/// The block of prefix length `block_size` that holds `ip`.
pub fn block_of(ip: IpAddr, block_size: u8) -> Option<Cidr> {
    Cidr::new(ip, block_size)
}

/// The `ordinal`th address of `block`, if inside it.
pub fn nth_addr(block: &Cidr, ordinal: u128) -> Option<IpAddr> {
    if ordinal >= size(block) {
        return None;
    }
    let family = Family::of_cidr(block);
    Some(from_u128(to_u128(block.addr()) + ordinal, family))
}

/// The position of `ip` inside `block`, if it lies there.
pub fn ordinal_of(block: &Cidr, ip: IpAddr) -> Option<u128> {
    block
        .contains(ip)
        .then(|| to_u128(ip) - to_u128(block.addr()))
}

/// The name of a block's records, as Calico derives it: the CIDR with `.`, `:` and `/` turned
/// into `-` (`10.0.0.64/26` → `10-0-0-64-26`).
pub fn block_name(block: &Cidr) -> String {
    block
        .to_string()
        .chars()
        .map(|c| if matches!(c, '.' | ':' | '/') { '-' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().expect("cidr")
    }

    #[test]
    fn blocks_of_a_pool() {
        let pool = c("10.0.0.0/24");
        assert_eq!(block_count(&pool, 26), 4);
        assert_eq!(nth_block(&pool, 26, 0), Some(c("10.0.0.0/26")));
        assert_eq!(nth_block(&pool, 26, 3), Some(c("10.0.0.192/26")));
        assert_eq!(nth_block(&pool, 26, 4), None);
        assert_eq!(block_count(&pool, 23), 0);
        let v6 = c("fd00::/48");
        assert_eq!(block_count(&v6, 122), 1u128 << 74);
        assert_eq!(nth_block(&v6, 122, 1), Some(c("fd00::40/122")));
        assert_eq!(size(&c("::/0")), u128::MAX);
    }

    #[test]
    fn ordinals_and_names() {
        let b = c("10.0.0.64/26");
        let ip: IpAddr = "10.0.0.70".parse().expect("ip");
        assert_eq!(ordinal_of(&b, ip), Some(6));
        assert_eq!(nth_addr(&b, 6), Some(ip));
        assert_eq!(nth_addr(&b, 64), None);
        assert_eq!(ordinal_of(&b, "10.0.0.1".parse().expect("ip")), None);
        assert_eq!(block_name(&b), "10-0-0-64-26");
        assert_eq!(block_name(&c("fd00:1::40/122")), "fd00-1--40-122");
        assert_eq!(block_of(ip, 26), Some(b));
    }
}

/// Serde for a [`Cidr`] field as its text (`#[serde(with = "crate::addr::cidr_text")]`).
pub mod cidr_text {
    use brindle_api::net::Cidr;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the CIDR as text.
    pub fn serialize<S: Serializer>(c: &Cidr, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(c)
    }

    /// Reads the CIDR from text.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Cidr, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Serde for an `Option<Cidr>` field as text or null.
pub mod cidr_text_opt {
    use brindle_api::net::Cidr;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the CIDR as text, or null.
    pub fn serialize<S: Serializer>(c: &Option<Cidr>, s: S) -> Result<S::Ok, S::Error> {
        match c {
            Some(c) => s.collect_str(c),
            None => s.serialize_none(),
        }
    }

    /// Reads the CIDR from text or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cidr>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| t.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Serde for a `Vec<Cidr>` field as a list of texts.
pub mod cidr_text_vec {
    use brindle_api::net::Cidr;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the CIDRs as texts.
    pub fn serialize<S: Serializer>(v: &[Cidr], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|c| c.to_string()))
    }

    /// Reads the CIDRs from texts.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Cidr>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|t| t.parse().map_err(serde::de::Error::custom))
            .collect()
    }
}
