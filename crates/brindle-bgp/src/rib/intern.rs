//! Hash-consing of path attribute sets: every distinct `PathAttributes` value in the RIB exists
//! once, behind one `Arc`, so a million routes from one UPDATE stream cost one attribute set,
//! and "same attributes" is a pointer comparison.

use std::collections::HashSet;
use std::sync::Arc;

use crate::model::PathAttributes;

/// The table of canonical attribute sets. It holds one strong reference to each; entries that
/// nothing else refers to any more are dropped by an amortised sweep.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    set: HashSet<Arc<PathAttributes>>,
    sweep_at: usize,
}

/// Below this many entries the table is never swept.
const MIN_SWEEP: usize = 256;

impl Interner {
    /// The canonical `Arc` equal to `attrs` (`attrs` itself when new).
    pub(crate) fn intern(&mut self, attrs: &Arc<PathAttributes>) -> Arc<PathAttributes> {
        if let Some(found) = self.set.get(&**attrs) {
            return found.clone();
        }
        self.set.insert(attrs.clone());
        attrs.clone()
    }

    /// The canonical `Arc` for the value `attrs`.
    pub(crate) fn intern_value(&mut self, attrs: PathAttributes) -> Arc<PathAttributes> {
        if let Some(found) = self.set.get(&attrs) {
            return found.clone();
        }
        let a = Arc::new(attrs);
        self.set.insert(a.clone());
        a
    }

    /// Drops entries only the table refers to, when the table has doubled since the last sweep.
    /// Returns true when it swept.
    pub(crate) fn maybe_sweep(&mut self) -> bool {
        if self.set.len() < self.sweep_at.max(MIN_SWEEP) {
            return false;
        }
        self.set.retain(|a| Arc::strong_count(a) > 1);
        self.sweep_at = self.set.len() * 2;
        true
    }

    /// Number of distinct attribute sets held.
    pub(crate) fn len(&self) -> usize {
        self.set.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_sets_share_one_arc_and_unused_ones_go() {
        let mut i = Interner::default();
        let a = i.intern_value(PathAttributes {
            med: Some(1),
            ..PathAttributes::default()
        });
        let b = i.intern(&Arc::new(PathAttributes {
            med: Some(1),
            ..PathAttributes::default()
        }));
        assert!(Arc::ptr_eq(&a, &b));
        for m in 2..(MIN_SWEEP as u32 + 2) {
            i.intern_value(PathAttributes {
                med: Some(m),
                ..PathAttributes::default()
            });
        }
        assert!(i.maybe_sweep());
        assert_eq!(i.len(), 1, "only the set still referred to stays");
    }
}
