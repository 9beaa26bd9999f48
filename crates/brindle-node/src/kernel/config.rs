//! The `kernel:` section of the standalone speaker's configuration: whether learned routes go
//! to the kernel, into which table and under which route protocol number.

use brindle_netlink::{RT_TABLE_MAIN, RTPROT_BRINDLE};
use serde::Deserialize;

/// Kernel route installation settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelConfig {
    /// Whether best paths are installed (off by default).
    pub enabled: bool,
    /// The routing table (default 254, `main`).
    pub table: u32,
    /// The route protocol number the routes are filed under (default 81, brindle's); every
    /// route of this protocol in the table is brindle's to replace and delete.
    pub protocol: u8,
}

impl Default for KernelConfig {
    fn default() -> KernelConfig {
        KernelConfig {
            enabled: false,
            table: RT_TABLE_MAIN,
            protocol: RTPROT_BRINDLE,
        }
    }
}

/// The section as written.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct KernelEntry {
    #[serde(default)]
    enabled: bool,
    #[serde(default)]
    table: Option<u32>,
    #[serde(default)]
    protocol: Option<u8>,
}

/// The kernel's own and the administrator's route protocols (unspec, redirect, kernel, boot,
/// static): brindle deletes every route of its protocol, so it must not take one of these.
const RESERVED_PROTOCOLS: u8 = 4;
/// The kernel's `local` table (addresses of this host).
const RT_TABLE_LOCAL: u32 = 255;

impl KernelEntry {
    /// The settings, or a one-line error naming the field.
    pub(crate) fn validate(entry: Option<KernelEntry>) -> Result<KernelConfig, String> {
        let Some(e) = entry else {
            return Ok(KernelConfig::default());
        };
        let mut c = KernelConfig {
            enabled: e.enabled,
            ..KernelConfig::default()
        };
        if let Some(t) = e.table {
            if t == 0 || t == RT_TABLE_LOCAL {
                return Err(format!(
                    "kernel.table: {t} is not a table for routes (0 is unspecified, 255 the \
                     kernel's local table)"
                ));
            }
            c.table = t;
        }
        if let Some(p) = e.protocol {
            if p <= RESERVED_PROTOCOLS {
                return Err(format!(
                    "kernel.protocol: {p} belongs to the kernel or the administrator (0-4: \
                     unspec, redirect, kernel, boot, static), and brindle deletes the routes of \
                     its protocol"
                ));
            }
            c.protocol = p;
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp_config::parse;

    const HEAD: &str = "routerId: 10.0.0.1\nasNumber: 64512\n";

    #[test]
    fn off_unless_enabled() {
        let c = parse(HEAD).expect("valid");
        assert_eq!(c.kernel, KernelConfig::default());
        assert!(!c.kernel.enabled);
        let c = parse(&format!("{HEAD}kernel: {{enabled: true}}\n")).expect("valid");
        assert_eq!(
            c.kernel,
            KernelConfig {
                enabled: true,
                table: 254,
                protocol: 81
            }
        );
    }

    #[test]
    fn table_and_protocol() {
        let c = parse(&format!(
            "{HEAD}kernel:\n  enabled: true\n  table: 1000\n  protocol: 200\n"
        ))
        .expect("valid");
        assert_eq!((c.kernel.table, c.kernel.protocol), (1000, 200));
    }

    /// The README's example shows the section with its defaults spelled out.
    #[test]
    fn readme_example_enables_kernel_routes() {
        let readme = include_str!("../../../../README.md");
        let yaml = readme
            .split("## Running the BGP speaker on its own")
            .nth(1)
            .and_then(|s| s.split("```yaml\n").nth(1))
            .and_then(|s| s.split("```").next())
            .expect("the example");
        let c = parse(yaml).unwrap_or_else(|e| panic!("README example: {e}"));
        assert_eq!(
            c.kernel,
            KernelConfig {
                enabled: true,
                ..KernelConfig::default()
            }
        );
    }

    #[test]
    fn errors_name_the_field() {
        for (section, want) in [
            ("{enabled: true, table: 255}", "kernel.table"),
            ("{enabled: true, table: 0}", "kernel.table"),
            ("{enabled: true, protocol: 4}", "kernel.protocol: 4 belongs"),
            ("{enabled: true, protocol: 300}", "protocol"),
            ("{enabled: true, tabel: 7}", "tabel"),
        ] {
            let e = parse(&format!("{HEAD}kernel: {section}\n")).expect_err(section);
            assert!(e.contains(want), "{e} should mention {want}");
        }
    }
}
