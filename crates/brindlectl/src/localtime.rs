//! Local time for status output, from the system's zone file (TZif, RFC 8536), the way Go's
//! `time.Local` (and so calicoctl) finds it: `$TZ` (a zone name, `:name`, a file path, or a
//! fixed POSIX zone such as `CST-8`), else `/etc/localtime`; UTC when none can be read.

use std::path::Path;

/// A time zone: UTC offsets (seconds east) and the instants they start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Zone {
    /// `(starts at, offset)`, sorted by instant.
    transitions: Vec<(i64, i32)>,
    /// The offset before the first transition (RFC 8536 §3.2: time type 0).
    first: i32,
    /// The offset after the last transition, when the footer names a zone without DST.
    after: Option<i32>,
}

impl Zone {
    /// UTC.
    pub fn utc() -> Zone {
        Zone::default()
    }

    /// A zone with one offset.
    pub fn fixed(offset: i32) -> Zone {
        Zone {
            first: offset,
            ..Zone::default()
        }
    }

    /// The local zone of this process (UTC when unknown).
    pub fn local() -> Zone {
        let read = |p: &Path| std::fs::read(p).ok().and_then(|b| parse_tzif(&b));
        match std::env::var("TZ") {
            Err(_) => read(Path::new("/etc/localtime")).unwrap_or_default(),
            Ok(tz) => {
                let name = tz.strip_prefix(':').unwrap_or(&tz);
                if name.is_empty() || name == "UTC" {
                    return Zone::utc();
                }
                if name.starts_with('/') {
                    return read(Path::new(name)).unwrap_or_default();
                }
                let file = Path::new("/usr/share/zoneinfo").join(name);
                let safe = !name.split('/').any(|part| part == "..");
                safe.then(|| read(&file))
                    .flatten()
                    .or_else(|| posix_fixed(name).map(Zone::fixed))
                    .unwrap_or_default()
            }
        }
    }

    /// Seconds east of UTC in effect at `t` (Unix seconds).
    pub fn offset_at(&self, t: i64) -> i32 {
        let i = self.transitions.partition_point(|(at, _)| *at <= t);
        match (i.checked_sub(1), self.after) {
            (None, _) => self.first,
            (Some(_), Some(after)) if i == self.transitions.len() => after,
            (Some(j), _) => self.transitions.get(j).map_or(self.first, |(_, off)| *off),
        }
    }

    /// `t` (Unix seconds) shifted to local wall-clock seconds.
    pub fn local_secs(&self, t: u64) -> u64 {
        let t = i64::try_from(t).unwrap_or(i64::MAX);
        u64::try_from(t.saturating_add(i64::from(self.offset_at(t)))).unwrap_or(0)
    }
}

fn be32(b: &[u8], at: usize) -> Option<i64> {
    let bytes: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(i64::from(i32::from_be_bytes(bytes)))
}

fn be64(b: &[u8], at: usize) -> Option<i64> {
    let bytes: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
    Some(i64::from_be_bytes(bytes))
}

/// Reads a TZif file: the 64-bit block when there is one (version 2+), else the 32-bit one.
pub fn parse_tzif(b: &[u8]) -> Option<Zone> {
    let header = |at: usize| -> Option<[usize; 6]> {
        if b.get(at..at + 4)? != b"TZif" {
            return None;
        }
        let mut counts = [0usize; 6];
        for (i, c) in counts.iter_mut().enumerate() {
            *c = usize::try_from(be32(b, at + 20 + 4 * i)?).ok()?;
        }
        Some(counts)
    };
    let block_len = |c: [usize; 6], time: usize| {
        let [isut, isstd, leap, time_n, type_n, chars] = c;
        time_n * time + time_n + type_n * 6 + chars + leap * (time + 4) + isstd + isut
    };
    let v1 = header(0)?;
    let (at, counts, time) = if *b.get(4)? >= b'2' {
        let second = 44 + block_len(v1, 4);
        (second + 44, header(second)?, 8)
    } else {
        (44, v1, 4)
    };
    let [_, _, _, time_n, type_n, _] = counts;
    let types_at = at + time_n * time + time_n;
    let offset_of = |ty: usize| -> Option<i32> {
        (ty < type_n).then_some(())?;
        i32::try_from(be32(b, types_at + ty * 6)?).ok()
    };
    let mut transitions = Vec::with_capacity(time_n);
    for i in 0..time_n {
        let instant = if time == 8 {
            be64(b, at + i * 8)?
        } else {
            be32(b, at + i * 4)?
        };
        let ty = usize::from(*b.get(at + time_n * time + i)?);
        transitions.push((instant, offset_of(ty)?));
    }
    let after = if time == 8 {
        let footer = b.get(at + block_len(counts, 8)..)?;
        std::str::from_utf8(footer)
            .ok()
            .and_then(|f| f.trim_matches('\n').lines().next().and_then(posix_fixed))
    } else {
        None
    };
    Some(Zone {
        transitions,
        first: offset_of(0).unwrap_or(0),
        after,
    })
}

/// The offset of a POSIX TZ string without DST (`CST-8` is UTC+8, `<+0530>-5:30`, `UTC0`);
/// `None` for anything else (zones with DST rules are read from their transitions).
fn posix_fixed(tz: &str) -> Option<i32> {
    let rest = if let Some(quoted) = tz.strip_prefix('<') {
        quoted.split_once('>')?.1
    } else {
        let name_len = tz.find(|c: char| !c.is_ascii_alphabetic())?;
        (name_len >= 3).then_some(())?;
        tz.get(name_len..)?
    };
    let (sign, digits) = match rest.as_bytes().first()? {
        b'-' => (1, rest.get(1..)?),
        b'+' => (-1, rest.get(1..)?),
        _ => (-1, rest),
    };
    let mut secs = 0i32;
    for (i, part) in digits.split(':').enumerate() {
        let n: i32 = part.parse().ok()?;
        let unit = [3600, 60, 1].get(i)?;
        secs += n * unit;
    }
    Some(sign * secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-2 TZif file with the given 64-bit transitions and types, and a footer.
    fn tzif(trans: &[(i64, u8)], types: &[i32], footer: &str) -> Vec<u8> {
        let header = |n_trans: usize| {
            let mut h = b"TZif2".to_vec();
            h.extend([0u8; 15]);
            for c in [0, 0, 0, n_trans, types.len(), 4] {
                h.extend(u32::try_from(c).expect("count").to_be_bytes());
            }
            h
        };
        let mut b = header(0);
        for off in types {
            b.extend(off.to_be_bytes());
            b.extend([0, 0]);
        }
        b.extend(b"UTC\0");
        b.extend(header(trans.len()));
        for (t, _) in trans {
            b.extend(t.to_be_bytes());
        }
        b.extend(trans.iter().map(|(_, ty)| *ty));
        for off in types {
            b.extend(off.to_be_bytes());
            b.extend([0, 0]);
        }
        b.extend(b"UTC\0");
        b.extend(format!("\n{footer}\n").as_bytes());
        b
    }

    #[test]
    fn reads_transitions_and_the_footer() {
        let z = parse_tzif(&tzif(&[(1000, 1), (2000, 0)], &[3600, 7200], "XYZ-5")).expect("tzif");
        assert_eq!(z.offset_at(0), 3600);
        assert_eq!(z.offset_at(1000), 7200);
        assert_eq!(z.offset_at(1999), 7200);
        assert_eq!(z.offset_at(5000), 5 * 3600);
        let dst = parse_tzif(&tzif(
            &[(1000, 1)],
            &[0, 7200],
            "CET-1CEST,M3.5.0,M10.5.0/3",
        ));
        assert_eq!(dst.expect("tzif").offset_at(5000), 7200);
        assert_eq!(parse_tzif(b"TZif2"), None);
        assert_eq!(parse_tzif(b"not a zone file"), None);
    }

    #[test]
    fn posix_zones_without_dst() {
        assert_eq!(posix_fixed("CST-8"), Some(8 * 3600));
        assert_eq!(posix_fixed("UTC0"), Some(0));
        assert_eq!(posix_fixed("<+0530>-5:30"), Some(5 * 3600 + 1800));
        assert_eq!(posix_fixed("EST5"), Some(-5 * 3600));
        assert_eq!(posix_fixed("CET-1CEST,M3.5.0,M10.5.0/3"), None);
        assert_eq!(posix_fixed("X1"), None);
        assert_eq!(Zone::fixed(3600).local_secs(0), 3600);
    }

    #[test]
    fn a_system_zone_file_is_read_when_present() {
        let Ok(b) = std::fs::read("/usr/share/zoneinfo/Asia/Shanghai") else {
            return;
        };
        let z = parse_tzif(&b).expect("tzif");
        assert_eq!(z.offset_at(1_700_000_000), 8 * 3600);
    }
}
