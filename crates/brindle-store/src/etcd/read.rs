//! Reads: one key, a paged prefix listing pinned to one revision, the current revision.

use etcd_client::{Client, GetOptions};

use super::connect::{Endpoints, is_compacted, map_error, send};
use super::txn::{convert, header_revision, prefix_range};
use crate::{KeyValue, ListResult, Result, Revision, StoreError};

/// Keys fetched per range request when listing; the pages are read at one revision.
const PAGE_SIZE: i64 = 1000;

/// How often a listing restarts when the revision it pinned gets compacted between pages.
const LIST_ATTEMPTS: usize = 5;

/// Reads one key.
pub(crate) async fn get(
    client: Client,
    endpoints: &Endpoints,
    key: &str,
) -> Result<Option<KeyValue>> {
    let resp = send(|| {
        let mut kv = client.kv_client();
        async move { kv.get(key, None).await }
    })
    .await
    .map_err(|e| map_error(endpoints, &format!("reading {key}"), e))?;
    resp.kvs().first().map(convert).transpose()
}

/// Lists `prefix` consistently: the first page fixes the revision, later pages read at it.
pub(crate) async fn list(
    client: Client,
    endpoints: &Endpoints,
    prefix: &str,
) -> Result<ListResult> {
    let mut last_error = None;
    for _ in 0..LIST_ATTEMPTS {
        match list_once(&client, endpoints, prefix).await {
            Err(Retry::Compacted(e)) => last_error = Some(e),
            Err(Retry::No(e)) => return Err(e),
            Ok(l) => return Ok(l),
        }
    }
    Err(last_error.unwrap_or_else(|| StoreError::Backend(format!("listing {prefix} failed"))))
}

enum Retry {
    Compacted(StoreError),
    No(StoreError),
}

async fn list_once(
    client: &Client,
    endpoints: &Endpoints,
    prefix: &str,
) -> Result<ListResult, Retry> {
    let (mut start, end) = prefix_range(prefix);
    let kv = client.kv_client().max_decoding_message_size(256 << 20);
    let mut kvs = Vec::new();
    let mut revision: Option<Revision> = None;
    loop {
        let mut options = GetOptions::new()
            .with_range(end.clone())
            .with_limit(PAGE_SIZE);
        if let Some(rev) = revision {
            options = options.with_revision(rev);
        }
        let page = || {
            let (mut kv, start, options) = (kv.clone(), start.clone(), options.clone());
            async move { kv.get(start, Some(options)).await }
        };
        let resp = send(page).await.map_err(|e| {
            let compacted = is_compacted(&e);
            let e = map_error(endpoints, &format!("listing {prefix}"), e);
            if compacted {
                Retry::Compacted(e)
            } else {
                Retry::No(e)
            }
        })?;
        let rev = *revision.get_or_insert(header_revision(resp.header()));
        for kv in resp.kvs() {
            kvs.push(convert(kv).map_err(Retry::No)?);
        }
        match (resp.more(), resp.kvs().last()) {
            (true, Some(last)) => {
                start = last.key().to_vec();
                start.push(0);
            }
            _ => return Ok(ListResult { kvs, revision: rev }),
        }
    }
}

/// The store's current revision, from the header of a range request for one (absent) key.
pub(crate) async fn revision(client: Client, endpoints: &Endpoints) -> Result<Revision> {
    let resp = send(|| {
        let mut kv = client.kv_client();
        async move {
            kv.get(vec![0u8], Some(GetOptions::new().with_count_only()))
                .await
        }
    })
    .await
    .map_err(|e| map_error(endpoints, "reading the revision", e))?;
    Ok(header_revision(resp.header()))
}
