//! Writes of several resources as one datastore transaction.

use std::collections::BTreeSet;

use brindle_api::net::Cidr;
use brindle_api::{Kind, Resource, ResourceError};
use brindle_store::{KeyValue, Op, StoreError};

use crate::keys::POOL_GUARD_KEY;
use crate::stamp::{new_uid, now_rfc3339};
use crate::{Client, ClientError, Result, decode, key_for};

/// What a write expects of the stored state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// The resource must not exist.
    Create,
    /// The resource must exist.
    Replace,
    /// Create when absent, replace when present.
    Apply,
}

/// One resource's planned write.
struct Planned {
    key: String,
    resource: Resource,
    op: Op,
}

pub(crate) fn write_all(
    client: &Client,
    mode: WriteMode,
    resources: Vec<Resource>,
) -> Result<Vec<Resource>> {
    let mut keys = BTreeSet::new();
    let mut plan = Vec::with_capacity(resources.len());
    for mut r in resources {
        r.validate()?;
        if r.kind().namespaced() && r.metadata().namespace.as_deref().unwrap_or("").is_empty() {
            r.metadata_mut().namespace = Some(crate::DEFAULT_NAMESPACE.to_string());
        }
        let key = key_for(r.kind(), r.metadata().namespace.as_deref(), r.name());
        if !keys.insert(key.clone()) {
            let msg = "appears twice in the input";
            return Err(
                ResourceError::single(r.kind().name(), r.name(), "metadata.name", msg).into(),
            );
        }
        let existing = client.store.get(&key)?;
        plan.push(plan_one(mode, key, r, existing)?);
    }
    let guard = check_pool_overlaps(client, &plan)?;
    let mut ops: Vec<Op> = plan.iter().map(|p| p.op.clone()).collect();
    ops.extend(guard);
    let written = client.store.txn(&ops).map_err(|e| store_error(e, &plan))?;
    plan.into_iter()
        .zip(written)
        .map(|(mut p, kv)| {
            p.resource.metadata_mut().resource_version = Some(kv.mod_revision.to_string());
            Ok(p.resource)
        })
        .collect()
}

fn plan_one(
    mode: WriteMode,
    key: String,
    mut r: Resource,
    existing: Option<KeyValue>,
) -> Result<Planned> {
    let (kind, name) = (r.kind(), r.name().to_string());
    r.apply_defaults();
    match (mode, existing) {
        (WriteMode::Create, Some(_)) => Err(ClientError::AlreadyExists { kind, name }),
        (WriteMode::Replace, None) => Err(ClientError::NotFound { kind, name }),
        (WriteMode::Create | WriteMode::Apply, None) => {
            let m = r.metadata_mut();
            m.resource_version = None;
            m.uid = Some(new_uid());
            m.creation_timestamp = Some(now_rfc3339());
            let op = Op::Create {
                key: key.clone(),
                value: encode(&r)?,
            };
            Ok(Planned {
                key,
                resource: r,
                op,
            })
        }
        (WriteMode::Replace | WriteMode::Apply, Some(kv)) => {
            let old = decode(&kv)?;
            let current = kv.mod_revision.to_string();
            if let Some(given) = r.metadata().resource_version.clone()
                && given != current
            {
                return Err(ClientError::Conflict {
                    kind,
                    name,
                    given,
                    current,
                });
            }
            r.validate_update(&old)?;
            let m = r.metadata_mut();
            m.resource_version = None;
            m.uid = old.metadata().uid.clone();
            m.creation_timestamp = old.metadata().creation_timestamp.clone();
            let op = Op::Update {
                key: key.clone(),
                value: encode(&r)?,
                expected: kv.mod_revision,
            };
            Ok(Planned {
                key,
                resource: r,
                op,
            })
        }
    }
}

pub(crate) fn delete_all(
    client: &Client,
    targets: &[(Kind, Option<String>, String, Option<String>)],
) -> Result<Vec<Resource>> {
    let mut plan: Vec<Planned> = Vec::with_capacity(targets.len());
    for (kind, ns, name, rv) in targets {
        let key = key_for(*kind, ns.as_deref(), name);
        if plan.iter().any(|p| p.key == key) {
            let msg = "appears twice in the input";
            return Err(ResourceError::single(kind.name(), name, "metadata.name", msg).into());
        }
        let Some(kv) = client.store.get(&key)? else {
            return Err(ClientError::NotFound {
                kind: *kind,
                name: name.clone(),
            });
        };
        let current = kv.mod_revision.to_string();
        if let Some(given) = rv.clone()
            && given != current
        {
            return Err(ClientError::Conflict {
                kind: *kind,
                name: name.clone(),
                given,
                current,
            });
        }
        let resource = decode(&kv)?;
        let op = Op::Delete {
            key: key.clone(),
            expected: Some(kv.mod_revision),
        };
        plan.push(Planned { key, resource, op });
    }
    let ops: Vec<Op> = plan.iter().map(|p| p.op.clone()).collect();
    client.store.txn(&ops).map_err(|e| store_error(e, &plan))?;
    Ok(plan.into_iter().map(|p| p.resource).collect())
}

/// The manifest form without `resourceVersion` (the datastore revision is the version).
fn encode(r: &Resource) -> Result<Vec<u8>> {
    let mut r = r.clone();
    r.metadata_mut().resource_version = None;
    serde_json::to_vec(&r.to_value()).map_err(|e| {
        ClientError::Store(StoreError::Backend(format!(
            "cannot encode {} {:?}: {e}",
            r.kind(),
            r.name()
        )))
    })
}

/// Translates a transaction failure back to the resource it concerns. A failure on the pool
/// guard key means another writer changed the pools meanwhile.
fn store_error(e: StoreError, plan: &[Planned]) -> ClientError {
    let guard_hit = matches!(&e,
        StoreError::AlreadyExists { key } | StoreError::NotFound { key } | StoreError::Conflict { key, .. }
            if key == POOL_GUARD_KEY);
    if guard_hit {
        return ClientError::Retry(
            "IP pools were changed by another writer while this write checked them for overlaps"
                .into(),
        );
    }
    let find = |key: &str| {
        plan.iter()
            .find(|p| p.key == key)
            .map(|p| (p.resource.kind(), p.resource.name().to_string()))
    };
    match &e {
        StoreError::AlreadyExists { key } => match find(key) {
            Some((kind, name)) => ClientError::AlreadyExists { kind, name },
            None => e.into(),
        },
        StoreError::NotFound { key } => match find(key) {
            Some((kind, name)) => ClientError::NotFound { kind, name },
            None => e.into(),
        },
        StoreError::Conflict {
            key,
            expected,
            actual,
        } => match find(key) {
            Some((kind, name)) => ClientError::Conflict {
                kind,
                name,
                given: expected.to_string(),
                current: actual.to_string(),
            },
            None => e.into(),
        },
        _ => e.into(),
    }
}

/// IP pools may not overlap each other (Calico rejects an overlapping pool on create).
///
/// The check reads the stored pools and then writes in a separate transaction; so that two
/// concurrent writers of overlapping pools cannot both pass it, every pool write also bumps a
/// guard key at the revision read before the check (returned as an extra operation): the second
/// writer's transaction then fails as a conflict.
fn check_pool_overlaps(client: &Client, plan: &[Planned]) -> Result<Option<Op>> {
    let incoming: Vec<(String, Cidr)> = plan
        .iter()
        .filter_map(|p| match &p.resource {
            Resource::IpPool(o) => o.spec.network().map(|n| (o.metadata.name.clone(), n)),
            _ => None,
        })
        .collect();
    if incoming.is_empty() {
        return Ok(None);
    }
    let guard = match client.store.get(POOL_GUARD_KEY)? {
        Some(kv) => Op::Update {
            key: POOL_GUARD_KEY.into(),
            value: b"ippools".to_vec(),
            expected: kv.mod_revision,
        },
        None => Op::Create {
            key: POOL_GUARD_KEY.into(),
            value: b"ippools".to_vec(),
        },
    };
    let (stored, _) = client.list(Kind::IpPool, None)?;
    let mut all: Vec<(String, Cidr)> = stored
        .iter()
        .filter_map(|r| match r {
            Resource::IpPool(o) => o.spec.network().map(|n| (o.metadata.name.clone(), n)),
            _ => None,
        })
        .filter(|(name, _)| !incoming.iter().any(|(n, _)| n == name))
        .collect();
    for (name, net) in incoming {
        if let Some((other, other_net)) = all.iter().find(|(_, o)| o.overlaps(&net)) {
            let msg = format!("{net} overlaps IPPool {other:?} ({other_net})");
            return Err(ResourceError::single("IPPool", &name, "spec.cidr", msg).into());
        }
        all.push((name, net));
    }
    Ok(Some(guard))
}
