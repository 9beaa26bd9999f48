//! The data every part of the speaker shares: address families, prefixes, path attributes and
//! BGP messages, as plain values. The `wire` module turns messages into bytes and back.

mod attrs;
mod family;
mod message;
mod prefix;

pub use attrs::{
    AsPath, AsSegment, Community, LargeCommunity, MpNextHop, Origin, PathAttributes, RawAttribute,
    SegmentKind,
};
pub use family::Family;
pub use message::{
    AddPathMode, Capability, GracefulRestartCap, Message, Notification, Open, RouteRefresh,
    RouteRefreshSubtype, Update,
};
pub use prefix::{Nlri, Prefix, PrefixError};

/// RFC 6793 §2: AS_TRANS, the two-octet AS number a four-octet speaker puts in OPEN's
/// "My Autonomous System" (and in AS_PATH toward old speakers) when its own AS does not fit.
pub const AS_TRANS: u16 = 23456;
