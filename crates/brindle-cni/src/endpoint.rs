//! The WorkloadEndpoint that records a pod's interface in the datastore, named as Calico
//! names it: `<node>-k8s-<pod>-<interface>` (Kubernetes) or `<node>-cni-<containerID>-<interface>`
//! (plain CNI), with every `-` inside a segment doubled so that the name splits back
//! unambiguously.

use std::net::IpAddr;

use brindle_api::resources::workload_endpoint::WorkloadEndpointSpec;
use brindle_api::{Kind, Object};
use brindle_client::{Client, ClientError, DEFAULT_NAMESPACE};

use crate::spec::{CniEnv, CniError, ERR_CHECK, ERR_TRY_AGAIN};
use crate::store::LazyStore;

/// brindle's error code for a WorkloadEndpoint that could not be written or deleted (other
/// than the datastore being unreachable, which is 11).
pub const ERR_ENDPOINT: u32 = 103;

/// Who runs the workload: Kubernetes (pod name and namespace in `CNI_ARGS`) or a plain CNI
/// runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// `k8s` or `cni`.
    pub orchestrator: &'static str,
    /// The namespace (`K8S_POD_NAMESPACE`, else `default`).
    pub namespace: String,
    /// The pod name (Kubernetes only).
    pub pod: Option<String>,
    /// The endpoint's name.
    pub name: String,
}

/// Doubles every `-` (Calico's escaping of a name segment).
fn escape(segment: &str) -> String {
    segment.replace('-', "--")
}

impl Identity {
    /// The identity of the attachment `env` describes, on `node`.
    pub fn of(env: &CniEnv, node: &str) -> Identity {
        let ns = env.arg("K8S_POD_NAMESPACE");
        match (ns, env.arg("K8S_POD_NAME")) {
            (Some(ns), Some(pod)) => Identity {
                orchestrator: "k8s",
                namespace: ns.to_string(),
                pod: Some(pod.to_string()),
                name: format!(
                    "{}-k8s-{}-{}",
                    escape(node),
                    escape(pod),
                    escape(&env.ifname)
                ),
            },
            _ => Identity {
                orchestrator: "cni",
                namespace: ns.unwrap_or(DEFAULT_NAMESPACE).to_string(),
                pod: None,
                name: format!(
                    "{}-cni-{}-{}",
                    escape(node),
                    escape(&env.container_id),
                    escape(&env.ifname)
                ),
            },
        }
    }
}

/// What the endpoint says about the pod's interface.
pub struct Endpoint<'a> {
    /// Its identity.
    pub id: &'a Identity,
    /// The node.
    pub node: &'a str,
    /// The container (sandbox) ID.
    pub container_id: &'a str,
    /// The interface name in the pod (`CNI_IFNAME`).
    pub ifname: &'a str,
    /// The host end of the veth.
    pub host_veth: &'a str,
    /// The pod interface's MAC address.
    pub mac: Option<String>,
    /// The pod's addresses.
    pub ips: &'a [IpAddr],
}

fn client_error(store: &LazyStore, what: &str, e: ClientError) -> CniError {
    match e {
        ClientError::Store(s) => store.error(what, &s, ERR_ENDPOINT),
        ClientError::Retry(_) => CniError::new(ERR_TRY_AGAIN, format!("{what}: {e}")),
        other => CniError::new(ERR_ENDPOINT, format!("{what}: {other}")),
    }
}

impl Endpoint<'_> {
    /// The resource.
    pub fn object(&self) -> Object<WorkloadEndpointSpec> {
        let spec = WorkloadEndpointSpec {
            orchestrator: Some(self.id.orchestrator.to_string()),
            workload: self.id.pod.is_none().then(|| self.container_id.to_string()),
            node: Some(self.node.to_string()),
            container_id: Some(self.container_id.to_string()),
            pod: self.id.pod.clone(),
            endpoint: Some(self.ifname.to_string()),
            ip_networks: self
                .ips
                .iter()
                .map(|ip| format!("{ip}/{}", if ip.is_ipv4() { 32 } else { 128 }))
                .collect(),
            interface_name: Some(self.host_veth.to_string()),
            mac: self.mac.clone(),
            ..Default::default()
        };
        let mut o = Object::new(self.id.name.clone(), spec);
        o.metadata.namespace = Some(self.id.namespace.clone());
        o
    }

    /// Writes it (replacing an endpoint of the same name left by an earlier ADD).
    pub fn write(&self, store: &LazyStore) -> Result<(), CniError> {
        let what = format!(
            "writing WorkloadEndpoint {}/{}",
            self.id.namespace, self.id.name
        );
        let client = Client::new(store.get()?);
        client
            .apply(self.object().into())
            .map(drop)
            .map_err(|e| client_error(store, &what, e))
    }
}

/// Deletes the endpoint; succeeds when it does not exist.
pub fn delete(store: &LazyStore, id: &Identity) -> Result<(), CniError> {
    let what = format!("deleting WorkloadEndpoint {}/{}", id.namespace, id.name);
    let client = Client::new(store.get()?);
    match client.delete(Kind::WorkloadEndpoint, Some(&id.namespace), &id.name) {
        Ok(_) | Err(ClientError::NotFound { .. }) => Ok(()),
        Err(ClientError::Store(brindle_store::StoreError::NotFound { .. })) => Ok(()),
        Err(e) => Err(client_error(store, &what, e)),
    }
}

/// Checks that the endpoint exists (CHECK).
pub fn check(store: &LazyStore, id: &Identity) -> Result<(), CniError> {
    let what = format!("reading WorkloadEndpoint {}/{}", id.namespace, id.name);
    let client = Client::new(store.get()?);
    match client.try_get(Kind::WorkloadEndpoint, Some(&id.namespace), &id.name) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(CniError::new(
            ERR_CHECK,
            format!("WorkloadEndpoint {}/{} is missing", id.namespace, id.name),
        )),
        Err(e) => Err(client_error(store, &what, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(args: &str) -> CniEnv {
        let vars = [
            ("CNI_COMMAND", "ADD"),
            ("CNI_CONTAINERID", "abc-123"),
            ("CNI_NETNS", "/run/netns/x"),
            ("CNI_IFNAME", "eth0"),
            ("CNI_ARGS", args),
        ];
        CniEnv::from_vars(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
        .expect("env")
    }

    #[test]
    fn calico_names_with_dashes_doubled() {
        let id = Identity::of(
            &env("K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=core-dns-5d"),
            "node-1",
        );
        assert_eq!(id.name, "node--1-k8s-core--dns--5d-eth0");
        assert_eq!(id.namespace, "kube-system");
        assert_eq!(id.orchestrator, "k8s");
        let id = Identity::of(&env(""), "n1");
        assert_eq!(id.name, "n1-cni-abc--123-eth0");
        assert_eq!(id.namespace, "default");
        assert_eq!(id.orchestrator, "cni");
    }

    #[test]
    fn the_spec_validates() {
        let id = Identity::of(&env("K8S_POD_NAMESPACE=default;K8S_POD_NAME=web"), "n1");
        let ips = ["10.0.0.1".parse().expect("ip")];
        let ep = Endpoint {
            id: &id,
            node: "n1",
            container_id: "abc-123",
            ifname: "eth0",
            host_veth: "cali0123456789a",
            mac: Some("0a:58:0a:00:00:01".into()),
            ips: &ips,
        };
        let o = ep.object();
        assert!(o.check().is_empty(), "{:?}", o.check());
        assert_eq!(o.spec.ip_networks, ["10.0.0.1/32"]);
        assert_eq!(o.spec.pod.as_deref(), Some("web"));
        assert_eq!(o.spec.workload, None);
    }
}
