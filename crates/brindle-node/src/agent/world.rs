//! The agent's copy of the datastore: every resource under brindle's key root, kept current by
//! one watch (see [`crate::agent::watch`]), with typed views for the calculations.

use std::collections::BTreeMap;

use brindle_api::resources::bgp_configuration::BgpConfigurationSpec;
use brindle_api::resources::bgp_filter::BgpFilterSpec;
use brindle_api::resources::bgp_peer::BgpPeerSpec;
use brindle_api::resources::ip_pool::IpPoolSpec;
use brindle_api::resources::ipam_records::{BlockAffinitySpec, IpamBlockSpec};
use brindle_api::resources::node::NodeSpec;
use brindle_api::resources::workload_endpoint::WorkloadEndpointSpec;
use brindle_api::{Object, Resource};
use brindle_store::{Event, KeyValue, WatchMessage};

/// Resources by datastore key.
#[derive(Default)]
pub struct World {
    items: BTreeMap<String, Resource>,
    /// Revision of the last change applied.
    pub revision: i64,
}

/// Keys under the root that hold no resource (bookkeeping such as the pool guard).
const META_PREFIX: &str = "/brindle/v3/meta/";

fn decode(kv: &KeyValue) -> Option<Resource> {
    if kv.key.starts_with(META_PREFIX) {
        return None;
    }
    match brindle_client::decode(kv) {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("node: ignoring {}: {e}", kv.key);
            None
        }
    }
}

impl World {
    /// Replaces everything with a listing at `revision`.
    pub fn load(&mut self, kvs: &[KeyValue], revision: i64) {
        self.items = kvs
            .iter()
            .filter_map(|kv| Some((kv.key.clone(), decode(kv)?)))
            .collect();
        self.revision = revision;
    }

    /// Applies one watch message.
    pub fn apply(&mut self, msg: WatchMessage) {
        match msg {
            WatchMessage::Resync { kvs, revision } => self.load(&kvs, revision),
            WatchMessage::Events(events) => {
                for e in events {
                    match e {
                        Event::Put { kv } => {
                            self.revision = self.revision.max(kv.mod_revision);
                            match decode(&kv) {
                                Some(r) => {
                                    self.items.insert(kv.key, r);
                                }
                                None => {
                                    self.items.remove(&kv.key);
                                }
                            }
                        }
                        Event::Delete { key, revision, .. } => {
                            self.revision = self.revision.max(revision);
                            self.items.remove(&key);
                        }
                    }
                }
            }
        }
    }

    fn each<'a, T: 'a>(&'a self, pick: impl Fn(&'a Resource) -> Option<T> + 'a) -> Vec<T> {
        self.items.values().filter_map(pick).collect()
    }

    /// Every Node.
    pub fn nodes(&self) -> Vec<&Object<NodeSpec>> {
        self.each(|r| match r {
            Resource::Node(n) => Some(n),
            _ => None,
        })
    }

    /// Every BGPPeer.
    pub fn bgp_peers(&self) -> Vec<&Object<BgpPeerSpec>> {
        self.each(|r| match r {
            Resource::BgpPeer(p) => Some(p),
            _ => None,
        })
    }

    /// Every WorkloadEndpoint.
    pub fn workload_endpoints(&self) -> Vec<&Object<WorkloadEndpointSpec>> {
        self.each(|r| match r {
            Resource::WorkloadEndpoint(w) => Some(w),
            _ => None,
        })
    }

    /// Every BGPFilter.
    pub fn bgp_filters(&self) -> Vec<&Object<BgpFilterSpec>> {
        self.each(|r| match r {
            Resource::BgpFilter(f) => Some(f),
            _ => None,
        })
    }

    /// The BGPConfiguration named `name`.
    pub fn bgp_configuration(&self, name: &str) -> Option<&BgpConfigurationSpec> {
        self.items.values().find_map(|r| match r {
            Resource::BgpConfiguration(c) if c.metadata.name == name => Some(&c.spec),
            _ => None,
        })
    }

    /// Every IPPool's spec.
    pub fn pools(&self) -> Vec<IpPoolSpec> {
        self.each(|r| match r {
            Resource::IpPool(p) => Some(p.spec.clone()),
            _ => None,
        })
    }

    /// Every IPAM block.
    pub fn blocks(&self) -> Vec<IpamBlockSpec> {
        self.each(|r| match r {
            Resource::IpamBlock(b) => Some(b.spec.clone()),
            _ => None,
        })
    }

    /// Every block affinity.
    pub fn affinities(&self) -> Vec<BlockAffinitySpec> {
        self.each(|r| match r {
            Resource::BlockAffinity(a) => Some(a.spec.clone()),
            _ => None,
        })
    }
}
