//! What the decoder decides about a message it cannot take as it is (RFC 4271 §6, RFC 7606 §2),
//! and why the encoder refuses a message.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use super::notification::{codes, update_subcode};
use crate::model::{Family, Nlri, Notification, Update};

/// A received message the codec cannot hand over as is. The variants follow RFC 7606 §2's
/// error-handling approaches, from strongest to weakest.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// "Session reset" (RFC 4271 §6): send `notification`, then close the connection.
    #[error("{detail} (NOTIFICATION {})", .notification.describe())]
    Fatal {
        /// The exact NOTIFICATION to send.
        notification: Notification,
        /// What was wrong, for the log.
        detail: String,
    },
    /// RFC 7606 §2 "treat-as-withdraw": the UPDATE could be parsed, but its attributes are
    /// malformed; every route it carried is to be withdrawn.
    #[error("UPDATE treated as withdraw of {} routes: {}", .withdrawn.len(), IssueList(.issues))]
    TreatAsWithdraw {
        /// The UPDATE's own withdrawn routes followed by every NLRI it announced (NLRI field and
        /// MP_REACH_NLRI, all families).
        withdrawn: Vec<(Family, Nlri)>,
        /// What was wrong (every problem found, not only the one that decided).
        issues: Vec<UpdateIssue>,
    },
    /// RFC 7606 §2 "attribute discard": the offending attributes were dropped and the rest of
    /// the UPDATE is to be processed as usual.
    #[error("UPDATE attributes discarded: {}", IssueList(.issues))]
    AttributeDiscard {
        /// The UPDATE without the discarded attributes.
        update: Update,
        /// What was dropped and why.
        issues: Vec<UpdateIssue>,
    },
    /// The message is to be ignored without any error toward the peer (e.g. a ROUTE-REFRESH for a
    /// family brindle does not speak, RFC 2918 §4; an unknown ROUTE-REFRESH subtype,
    /// RFC 7313 §5; an End-of-RIB for an unknown family).
    #[error("message ignored: {reason}")]
    Ignored {
        /// Why.
        reason: String,
    },
}

impl DecodeError {
    /// The NOTIFICATION to send when the error is fatal.
    pub fn notification(&self) -> Option<&Notification> {
        match self {
            DecodeError::Fatal { notification, .. } => Some(notification),
            _ => None,
        }
    }

    /// True when the session must be reset.
    pub fn is_fatal(&self) -> bool {
        matches!(self, DecodeError::Fatal { .. })
    }

    /// A fatal error with `code`/`subcode`/`data`.
    pub(crate) fn fatal(code: u8, subcode: u8, data: Vec<u8>, detail: impl Into<String>) -> Self {
        DecodeError::Fatal {
            notification: Notification {
                code,
                subcode,
                data,
            },
            detail: detail.into(),
        }
    }

    /// UPDATE Message Error with `subcode`.
    pub(crate) fn update(subcode: u8, data: Vec<u8>, detail: impl Into<String>) -> Self {
        DecodeError::fatal(codes::UPDATE_MESSAGE_ERROR, subcode, data, detail)
    }

    /// UPDATE Message Error / Malformed Attribute List, which carries no data.
    pub(crate) fn malformed_attribute_list(detail: impl Into<String>) -> Self {
        DecodeError::update(update_subcode::MALFORMED_ATTRIBUTE_LIST, Vec::new(), detail)
    }
}

/// One problem found in an UPDATE that did not reset the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateIssue {
    /// RFC 7606 §3 (c): the Optional or Transitive flag conflicts with the attribute type.
    AttributeFlags {
        /// Attribute type code.
        code: u8,
        /// Flags received.
        flags: u8,
    },
    /// The attribute's length or value is malformed (RFC 7606 §7).
    Malformed {
        /// Attribute type code.
        code: u8,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// RFC 7606 §3 (d): a well-known mandatory attribute is missing although NLRI is present.
    MissingWellKnown {
        /// The missing attribute's type code.
        code: u8,
    },
    /// RFC 7606 §3 (g): the attribute appeared more than once; all but the first were dropped.
    Duplicate {
        /// Attribute type code.
        code: u8,
    },
    /// RFC 7606 §4: the attributes overran the Total Path Attribute Length.
    AttributeListOverrun,
    /// RFC 4271 §6.3 / RFC 7606 §7.3: the next hop is not a usable unicast address.
    InvalidNextHop(IpAddr),
    /// RFC 7606 §7.5: LOCAL_PREF from an external peer, discarded.
    LocalPrefFromExternal,
    /// RFC 5065 §5: confederation segments in an AS_PATH from an external peer.
    ConfedSegmentFromExternal,
    /// RFC 6793 §6: AS4_PATH or AS4_AGGREGATOR received on a four-octet session, discarded.
    As4OnFourOctetSession {
        /// Attribute type code.
        code: u8,
    },
    /// MP_REACH_NLRI / MP_UNREACH_NLRI for an AFI/SAFI brindle does not speak, ignored.
    UnsupportedFamily {
        /// AFI.
        afi: u16,
        /// SAFI.
        safi: u8,
    },
    /// IPv4 NLRI came both in the NLRI field and in MP_REACH_NLRI with different next hops; one
    /// attribute set cannot describe both, so the routes are withdrawn.
    ConflictingIpv4NextHops {
        /// NEXT_HOP.
        next_hop: Ipv4Addr,
        /// MP_REACH_NLRI's next hop.
        mp_next_hop: IpAddr,
    },
}

impl fmt::Display for UpdateIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpdateIssue::AttributeFlags { code, flags } => {
                write!(
                    f,
                    "attribute {code}: flags {flags:#04x} conflict with its type"
                )
            }
            UpdateIssue::Malformed { code, reason } => write!(f, "attribute {code}: {reason}"),
            UpdateIssue::MissingWellKnown { code } => {
                write!(f, "well-known mandatory attribute {code} missing")
            }
            UpdateIssue::Duplicate { code } => write!(f, "attribute {code} repeated"),
            UpdateIssue::AttributeListOverrun => {
                f.write_str("path attributes overrun the total attribute length")
            }
            UpdateIssue::InvalidNextHop(a) => write!(f, "invalid next hop {a}"),
            UpdateIssue::LocalPrefFromExternal => f.write_str("LOCAL_PREF from an external peer"),
            UpdateIssue::ConfedSegmentFromExternal => {
                f.write_str("AS_PATH confederation segment from an external peer")
            }
            UpdateIssue::As4OnFourOctetSession { code } => {
                write!(f, "attribute {code} (AS4_*) on a four-octet AS session")
            }
            UpdateIssue::UnsupportedFamily { afi, safi } => {
                write!(
                    f,
                    "multiprotocol attribute for unsupported AFI {afi} SAFI {safi}"
                )
            }
            UpdateIssue::ConflictingIpv4NextHops {
                next_hop,
                mp_next_hop,
            } => write!(
                f,
                "IPv4 NLRI with NEXT_HOP {next_hop} and MP_REACH_NLRI next hop {mp_next_hop}"
            ),
        }
    }
}

struct IssueList<'a>(&'a [UpdateIssue]);

impl fmt::Display for IssueList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

/// Why a message could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The message would exceed 4096 octets (RFC 4271 §4.1).
    #[error("message of {len} octets exceeds the 4096-octet maximum")]
    TooLong {
        /// The length it would have had.
        len: usize,
    },
    /// Routes are announced but the UPDATE has no path attributes.
    #[error("announced routes need path attributes")]
    MissingAttributes,
    /// Routes of `0` are announced but the attributes have no next hop for that family.
    #[error("no next hop for {0} routes")]
    MissingNextHop(Family),
    /// IPv4 routes without NEXT_HOP and IPv6 routes would both need MP_REACH_NLRI, which may
    /// appear only once per UPDATE (RFC 7606 §3 g).
    #[error("IPv4 and IPv6 routes would both need MP_REACH_NLRI in one UPDATE")]
    TwoMpReachFamilies,
    /// An NLRI is listed under a family other than its prefix's.
    #[error("NLRI {0} listed under the wrong family")]
    FamilyMismatch(crate::model::Prefix),
    /// An End-of-RIB marker that also carries routes or attributes.
    #[error("End-of-RIB marker with content")]
    EndOfRibNotEmpty,
    /// A field is longer than its length field can express.
    #[error("{what} is {len} octets, longer than its length field allows")]
    FieldTooLong {
        /// Which field.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// The path attributes alone leave no room for even one NLRI in a 4096-octet UPDATE.
    #[error("path attributes of {len} octets leave no room for NLRI")]
    AttributesTooLarge {
        /// Encoded attribute length.
        len: usize,
    },
}
