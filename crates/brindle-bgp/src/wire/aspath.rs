//! AS_PATH and AS4_PATH (RFC 4271 §4.3, RFC 6793 §4, RFC 7606 §7.2, RFC 5065 §3).

use super::cursor::Reader;
use crate::model::{AS_TRANS, AsPath, AsSegment, SegmentKind};

/// Segment type codes: RFC 4271 §4.3 (1, 2) and RFC 5065 §3 (3, 4).
fn kind_from_code(code: u8) -> Option<SegmentKind> {
    Some(match code {
        1 => SegmentKind::Set,
        2 => SegmentKind::Sequence,
        3 => SegmentKind::ConfedSequence,
        4 => SegmentKind::ConfedSet,
        _ => return None,
    })
}

fn kind_code(kind: SegmentKind) -> u8 {
    match kind {
        SegmentKind::Set => 1,
        SegmentKind::Sequence => 2,
        SegmentKind::ConfedSequence => 3,
        SegmentKind::ConfedSet => 4,
    }
}

fn is_confed(kind: SegmentKind) -> bool {
    matches!(kind, SegmentKind::ConfedSequence | SegmentKind::ConfedSet)
}

/// Parses an AS_PATH (or AS4_PATH, with `four_octet`) value.
///
/// RFC 7606 §7.2: "An AS_PATH is considered malformed if an unrecognized segment type is
/// encountered or if it contains a malformed segment. A segment is considered malformed if any
/// of the following are true: o There is an overrun where the Path Segment Length field of the
/// last segment encountered would cause the Attribute Length to be exceeded. o There is an
/// underrun where after processing all but the last segment, there are octets remaining that
/// are insufficient to hold a Path Segment Type and Path Segment Length. o The Path Segment
/// Length field contains a value of 0."
pub(crate) fn decode_as_path(value: &[u8], four_octet: bool) -> Result<AsPath, &'static str> {
    let mut r = Reader::new(value);
    let mut segments = Vec::new();
    while !r.is_empty() {
        let (Ok(code), Ok(count)) = (r.u8(), r.u8()) else {
            return Err("segment header underrun");
        };
        let kind = kind_from_code(code).ok_or("unknown segment type")?;
        if count == 0 {
            return Err("zero-length segment");
        }
        let width = if four_octet { 4 } else { 2 };
        let bytes = r
            .take(usize::from(count) * width)
            .map_err(|_| "segment overruns the attribute")?;
        let asns = if four_octet {
            bytes
                .chunks_exact(4)
                .filter_map(|c| <[u8; 4]>::try_from(c).ok())
                .map(u32::from_be_bytes)
                .collect()
        } else {
            bytes
                .chunks_exact(2)
                .filter_map(|c| <[u8; 2]>::try_from(c).ok())
                .map(|c| u32::from(u16::from_be_bytes(c)))
                .collect()
        };
        segments.push(AsSegment { kind, asns });
    }
    Ok(AsPath { segments })
}

/// Encodes `path` as an AS_PATH value: four-octet ASNs, or two-octet ones with every ASN that
/// does not fit replaced by AS_TRANS (RFC 6793 §4.2.2). Segments longer than 255 ASNs are split;
/// empty segments are left out.
pub(crate) fn encode_as_path(path: &AsPath, four_octet: bool, out: &mut Vec<u8>) {
    for seg in &path.segments {
        write_segment(seg, four_octet, out);
    }
}

/// Encodes the AS4_PATH value for `path` (RFC 6793 §4.2.2): four-octet ASNs and no
/// confederation segments ("AS_CONFED_SEQUENCE and AS_CONFED_SET path segments ... MUST NOT be
/// carried in the AS4_PATH attribute").
pub(crate) fn encode_as4_path(path: &AsPath, out: &mut Vec<u8>) {
    for seg in path.segments.iter().filter(|s| !is_confed(s.kind)) {
        write_segment(seg, true, out);
    }
}

fn write_segment(seg: &AsSegment, four_octet: bool, out: &mut Vec<u8>) {
    for chunk in seg.asns.chunks(255) {
        out.push(kind_code(seg.kind));
        out.push(u8::try_from(chunk.len()).unwrap_or(u8::MAX));
        for asn in chunk {
            if four_octet {
                out.extend_from_slice(&asn.to_be_bytes());
            } else {
                let two = u16::try_from(*asn).unwrap_or(AS_TRANS);
                out.extend_from_slice(&two.to_be_bytes());
            }
        }
    }
}

/// True when the path holds an AS number that does not fit in two octets, so a two-octet peer
/// must also get AS4_PATH. RFC 6793 §4.2.2: "The NEW speaker MUST also send the AS path
/// information in the AS4_PATH attribute ..., except for the case where the entire AS path
/// information is composed of 2-octet AS numbers only. In this case, the NEW speaker SHOULD
/// NOT send the AS4_PATH attribute."
pub(crate) fn needs_as4_path(path: &AsPath) -> bool {
    path.segments
        .iter()
        .filter(|s| !is_confed(s.kind))
        .flat_map(|s| &s.asns)
        .any(|a| *a > u32::from(u16::MAX))
}

/// True when `path` holds a confederation segment (RFC 6793 §6 forbids them in AS4_PATH).
pub(crate) fn has_confed(path: &AsPath) -> bool {
    path.segments.iter().any(|s| is_confed(s.kind))
}

/// Rebuilds the four-octet path from AS_PATH and AS4_PATH received from a two-octet speaker.
///
/// RFC 6793 §4.2.3: "Whenever the number of AS numbers contained in the AS_PATH attribute is
/// less than the number of AS numbers contained in the AS4_PATH attribute, then the AS4_PATH
/// attribute SHALL be ignored, and the AS_PATH attribute SHALL be taken as the AS path
/// information. ... If the number of AS numbers in the AS_PATH attribute is larger than or
/// equal to the number of AS numbers in the AS4_PATH attribute, then the AS path information
/// SHALL be constructed by taking as many AS numbers and path segments as necessary from the
/// leading part of the AS_PATH attribute, and then prepending them to the AS4_PATH attribute so
/// that the AS path information has a number of AS numbers identical to that of the AS_PATH
/// attribute." AS numbers are counted as in RFC 4271 §9.1.2.2 (an AS_SET counts one,
/// confederation segments none). Confederation segments that lead AS_PATH (the only place
/// RFC 5065 §5 puts them) are kept, since AS4_PATH cannot carry them; any that follow an
/// ordinary segment are dropped with the rest of the two-octet path.
pub(crate) fn merge_as4_path(as_path: AsPath, as4_path: AsPath) -> AsPath {
    let total = as_path.decision_len();
    let tail = as4_path.decision_len();
    if total < tail {
        return as_path;
    }
    let mut needed = total - tail;
    let mut segments: Vec<AsSegment> = Vec::with_capacity(as_path.segments.len());
    let mut leading = true;
    for seg in as_path.segments {
        if is_confed(seg.kind) {
            if leading {
                segments.push(seg);
            }
            continue;
        }
        leading = false;
        if needed == 0 {
            break;
        }
        match seg.kind {
            SegmentKind::Sequence if seg.asns.len() > needed => {
                let mut asns = seg.asns;
                asns.truncate(needed);
                segments.push(AsSegment {
                    kind: SegmentKind::Sequence,
                    asns,
                });
                needed = 0;
            }
            SegmentKind::Sequence => {
                needed -= seg.asns.len();
                segments.push(seg);
            }
            _ => {
                needed -= 1;
                segments.push(seg);
            }
        }
    }
    let mut rest = as4_path.segments.into_iter();
    // Prepending a sequence to a sequence yields one sequence (while it fits one segment).
    if let (Some(last), Some(first)) = (segments.last_mut(), rest.as_slice().first())
        && last.kind == SegmentKind::Sequence
        && first.kind == SegmentKind::Sequence
        && last.asns.len() + first.asns.len() <= 255
        && let Some(first) = rest.next()
    {
        last.asns.extend(first.asns);
    }
    segments.extend(rest);
    AsPath { segments }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(asns: &[u32]) -> AsSegment {
        AsSegment {
            kind: SegmentKind::Sequence,
            asns: asns.to_vec(),
        }
    }

    fn set(asns: &[u32]) -> AsSegment {
        AsSegment {
            kind: SegmentKind::Set,
            asns: asns.to_vec(),
        }
    }

    fn path(segments: Vec<AsSegment>) -> AsPath {
        AsPath { segments }
    }

    #[test]
    fn two_and_four_octet_round_trip() {
        let p = path(vec![seq(&[65001, 65002]), set(&[1, 2])]);
        for four in [false, true] {
            let mut out = Vec::new();
            encode_as_path(&p, four, &mut out);
            assert_eq!(decode_as_path(&out, four), Ok(p.clone()));
        }
        let mut out = Vec::new();
        encode_as_path(&p, false, &mut out);
        assert_eq!(out, [2, 2, 0xfd, 0xe9, 0xfd, 0xea, 1, 2, 0, 1, 0, 2]);
    }

    #[test]
    fn as_trans_for_big_asns_and_long_segments_split() {
        let p = path(vec![seq(&[4_200_000_000, 65001])]);
        let mut out = Vec::new();
        encode_as_path(&p, false, &mut out);
        assert_eq!(out, [2, 2, 0x5b, 0xa0, 0xfd, 0xe9]);
        assert!(needs_as4_path(&p));
        assert!(!needs_as4_path(&path(vec![seq(&[65535])])));
        let long = path(vec![seq(&(0..300).collect::<Vec<_>>())]);
        let mut out = Vec::new();
        encode_as_path(&long, true, &mut out);
        let back = decode_as_path(&out, true).expect("valid");
        assert_eq!(back.segments.len(), 2);
        assert_eq!(back.decision_len(), 300);
    }

    #[test]
    fn malformed_paths() {
        assert_eq!(
            decode_as_path(&[5, 1, 0, 1], false),
            Err("unknown segment type")
        );
        assert_eq!(decode_as_path(&[2, 0], false), Err("zero-length segment"));
        assert_eq!(
            decode_as_path(&[2, 2, 0, 1], false),
            Err("segment overruns the attribute")
        );
        assert_eq!(
            decode_as_path(&[2, 1, 0, 1, 2], false),
            Err("segment header underrun")
        );
        assert_eq!(decode_as_path(&[], true), Ok(AsPath::default()));
    }

    #[test]
    fn merge_per_rfc6793() {
        // AS_PATH 65001 AS_TRANS AS_TRANS, AS4_PATH 4200000000 4200000001.
        let merged = merge_as4_path(
            path(vec![seq(&[65001, 23456, 23456])]),
            path(vec![seq(&[4_200_000_000, 4_200_000_001])]),
        );
        assert_eq!(
            merged,
            path(vec![seq(&[65001, 4_200_000_000, 4_200_000_001])])
        );
        // AS4_PATH longer than AS_PATH: ignored.
        let as_path = path(vec![seq(&[1])]);
        assert_eq!(
            merge_as4_path(as_path.clone(), path(vec![seq(&[2, 3])])),
            as_path
        );
        // A set counts one; leading confederation segments survive.
        let merged = merge_as4_path(
            path(vec![
                AsSegment {
                    kind: SegmentKind::ConfedSequence,
                    asns: vec![64512],
                },
                set(&[1, 2]),
                seq(&[23456]),
            ]),
            path(vec![seq(&[70000])]),
        );
        assert_eq!(merged.segments.len(), 3);
        assert_eq!(merged.segments[2], seq(&[70000]));
        assert!(has_confed(&merged));
    }

    #[test]
    fn merge_keeps_only_leading_confederation_segments() {
        let confed = AsSegment {
            kind: SegmentKind::ConfedSet,
            asns: vec![1, 2],
        };
        let merged = merge_as4_path(
            path(vec![seq(&[65001, 23456]), confed.clone(), seq(&[7])]),
            path(vec![seq(&[70000, 7])]),
        );
        assert_eq!(merged, path(vec![seq(&[65001, 70000, 7])]));
        let merged = merge_as4_path(
            path(vec![confed.clone(), seq(&[23456])]),
            path(vec![seq(&[70000])]),
        );
        assert_eq!(merged, path(vec![confed, seq(&[70000])]));
    }

    #[test]
    fn as4_path_drops_confederation_segments() {
        let p = path(vec![
            AsSegment {
                kind: SegmentKind::ConfedSet,
                asns: vec![64512],
            },
            seq(&[70000]),
        ]);
        let mut out = Vec::new();
        encode_as4_path(&p, &mut out);
        assert_eq!(decode_as_path(&out, true), Ok(path(vec![seq(&[70000])])));
    }
}
