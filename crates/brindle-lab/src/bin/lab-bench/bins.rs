//! The release binaries the benchmark runs.

use std::path::{Path, PathBuf};

use crate::Res;

/// Paths of `brindle-node`, the CNI plugin `brindle` and `brindlectl`, all in one directory
/// (which is also the CNI plugins' `CNI_PATH`).
pub struct Bins {
    /// The directory holding them.
    pub dir: PathBuf,
    /// The node agent.
    pub node: PathBuf,
    /// The CNI plugin.
    pub cni: PathBuf,
    /// The CLI.
    pub ctl: PathBuf,
}

impl Bins {
    /// The binaries in `dir`; an error names the first one missing.
    pub fn in_dir(dir: &Path) -> Res<Bins> {
        let dir = dir
            .canonicalize()
            .map_err(|e| format!("binary directory {}: {e}", dir.display()))?;
        let find = |name: &str| {
            let p = dir.join(name);
            if p.is_file() {
                Ok(p)
            } else {
                Err(format!(
                    "{} is missing (build it: make bench-lab)",
                    p.display()
                ))
            }
        };
        Ok(Bins {
            node: find("brindle-node")?,
            cni: find("brindle")?,
            ctl: find("brindlectl")?,
            dir,
        })
    }

    /// A path as a string argument.
    pub fn arg(p: &Path) -> String {
        p.display().to_string()
    }
}
