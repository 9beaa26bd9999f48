//! The node-to-node mesh.

use crate::MESH;
use crate::candidate::{Candidate, Found, Origin, Target};
use crate::context::{Ctx, Fam, addr_of};

/// Offers a mesh session to every other node, per family.
///
/// Calico's rules (confd's `bird.cfg` template):
/// - mesh off (`nodeToNodeMeshEnabled: false` in `default`) → "Node-to-node mesh disabled";
/// - a route reflector takes no part: "This node ... is configured as a route reflector with
///   cluster ID ...; ignore node-to-node mesh setting", and on the other nodes "Skipping ... as
///   it is a route reflector";
/// - a node peers over IPv4 with the nodes that have an IPv4 address, over IPv6 with those that
///   have an IPv6 one; "Skipping ourselves" when the address is ours;
/// - the remote AS is the other node's (`as_num`, else the global one), the port its listen
///   port, and the side with the greater address is passive ("Mesh is unidirectional").
pub(crate) fn offer<'a>(ctx: &Ctx<'a>, found: &mut Found<'a>) {
    if !ctx.mesh_enabled || ctx.cluster_id().is_some() {
        return;
    }
    for node in ctx.nodes.iter().copied() {
        if ctx.is_local(node) || node.rr_cluster_id.is_some() {
            continue;
        }
        for fam in Fam::BOTH {
            let Some(address) = addr_of(node, fam) else {
                continue;
            };
            found.offer(
                ctx,
                Candidate {
                    address,
                    port: ctx.node_port(node),
                    remote_as: ctx.node_asn(node),
                    kind: MESH,
                    target: Target::Node { cluster_id: None },
                    origin: Origin::Mesh,
                    passive_if_greater: true,
                },
            );
        }
    }
}
