//! What each subcommand does. Every command returns its output, or a one-line error.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use brindle_api::{AsNumber, Kind, Resource, list_value, parse_resources};
use brindle_client::{Client, ClientError, WriteMode};
use brindle_store::StoreError;
use serde_json::Value;

use crate::cli::{Cli, Command, DatastoreFlags, Output};
use crate::columns::{Context, table};
use crate::config::{self, Settings};

/// A failed command: what it still prints on standard output, and the one-line error.
#[derive(Debug)]
pub struct Failure {
    /// Printed on standard output first (e.g. `brindle-node is not running.`).
    pub stdout: String,
    /// The error, for standard error.
    pub message: String,
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure {
            stdout: String::new(),
            message,
        }
    }
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<String, Failure> {
    match cli.command {
        Command::Node { what } => crate::node_status::run(&what),
        command => run_one(&cli.datastore, command).map_err(Failure::from),
    }
}

/// Runs a command whose failure is only an error message.
fn run_one(flags: &DatastoreFlags, command: Command) -> Result<String, String> {
    match command {
        Command::Node { what } => crate::node_status::run(&what).map_err(|f| f.message),
        Command::Version => Ok(format!(
            "Client Version:    v{}\n",
            env!("CARGO_PKG_VERSION")
        )),
        Command::Bgp { socket, what } => crate::bgp::run(&socket, &what),
        Command::Ipam { what } => crate::ipam::run(&connect(flags, false)?, &what),
        Command::Get {
            kind,
            names,
            output,
            namespace,
            all_namespaces,
        } => {
            let client = connect(flags, false)?;
            get(
                &client,
                &kind,
                &names,
                output,
                namespace.as_deref(),
                all_namespaces,
            )
        }
        Command::Create(f) => write(&connect(flags, true)?, WriteMode::Create, &f.filename),
        Command::Apply(f) => write(&connect(flags, true)?, WriteMode::Apply, &f.filename),
        Command::Replace(f) => write(&connect(flags, false)?, WriteMode::Replace, &f.filename),
        Command::Delete {
            kind,
            names,
            filename,
            namespace,
        } => {
            let client = connect(flags, false)?;
            delete(
                &client,
                kind.as_deref(),
                &names,
                filename.as_deref(),
                namespace.as_deref(),
            )
        }
        Command::Patch {
            kind,
            name,
            patch,
            namespace,
        } => patch_cmd(
            &connect(flags, false)?,
            &kind,
            &name,
            &patch,
            namespace.as_deref(),
        ),
        Command::Label {
            kind,
            name,
            label,
            overwrite,
            remove,
            namespace,
        } => {
            let client = connect(flags, false)?;
            label_cmd(
                &client,
                &kind,
                &name,
                &label,
                overwrite,
                remove,
                namespace.as_deref(),
            )
        }
    }
}

/// Opens the datastore. Commands that only read or change existing resources pass
/// `create: false`, so a mistyped SQLite path is an error instead of a new empty datastore.
pub(crate) fn connect(flags: &DatastoreFlags, create: bool) -> Result<Client, String> {
    let flag_settings = Settings {
        datastore_type: flags.datastore_type.clone(),
        datastore_path: flags.datastore_path.clone(),
        etcd_endpoints: flags.etcd_endpoints.clone(),
        etcd_ca_cert_file: flags.etcd_ca_cert_file.clone(),
        etcd_cert_file: flags.etcd_cert_file.clone(),
        etcd_key_file: flags.etcd_key_file.clone(),
        etcd_username: flags.etcd_username.clone(),
        etcd_password: flags.etcd_password.clone(),
    };
    let env = Settings::from_env(|k| std::env::var(k).ok());
    let settings = config::resolve(flags.config.as_deref(), env, flag_settings)?;
    let mut ds = settings.datastore()?;
    if let brindle_store::DatastoreConfig::Sqlite(c) = &mut ds {
        c.create = create;
    }
    let store = brindle_store::open(&ds).map_err(|e| e.to_string())?;
    Ok(Client::new(store))
}

fn kind_of(s: &str) -> Result<Kind, String> {
    Kind::from_cli(s).ok_or_else(|| {
        format!("resource type {s:?} is not supported (try nodes, bgpPeer, bgpConfig, bgpFilter, ipPool, ipamConfig, felixConfig, workloadEndpoint)")
    })
}

fn get(
    client: &Client,
    kind: &str,
    names: &[String],
    output: Output,
    namespace: Option<&str>,
    all_namespaces: bool,
) -> Result<String, String> {
    let kind = kind_of(kind)?;
    let ns = if all_namespaces {
        None
    } else {
        Some(namespace.unwrap_or(brindle_client::DEFAULT_NAMESPACE))
    };
    let (items, revision) = if names.is_empty() {
        client.list(kind, ns).map_err(|e| e.to_string())?
    } else {
        let mut items = Vec::new();
        for n in names {
            items.push(client.get(kind, ns, n).map_err(|e| e.to_string())?);
        }
        (items, client.store().revision().map_err(|e| e.to_string())?)
    };
    match output {
        Output::Yaml | Output::Json => {
            let value = if names.len() == 1 {
                items.first().map(Resource::to_value).unwrap_or(Value::Null)
            } else {
                list_value(kind, &items, Some(revision.to_string()))
            };
            if output == Output::Json {
                serde_json::to_string_pretty(&value)
                    .map(|s| s + "\n")
                    .map_err(|e| e.to_string())
            } else {
                serde_yaml_ng::to_string(&value).map_err(|e| e.to_string())
            }
        }
        Output::Ps | Output::Wide => {
            let ctx = Context {
                global_as: global_as(client)?,
            };
            let (header, rows) = table(kind, &items, output == Output::Wide, all_namespaces, &ctx);
            Ok(crate::table::render(&header, &rows))
        }
    }
}

fn global_as(client: &Client) -> Result<AsNumber, String> {
    match client
        .try_get(Kind::BgpConfiguration, None, "default")
        .map_err(|e| e.to_string())?
    {
        Some(Resource::BgpConfiguration(c)) => Ok(c.spec.as_number.unwrap_or(AsNumber::DEFAULT)),
        _ => Ok(AsNumber::DEFAULT),
    }
}

fn read_input(file: &str) -> Result<String, String> {
    if file == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(s);
    }
    std::fs::read_to_string(Path::new(file))
        .map_err(|e| format!("cannot read {file}: {}", io_reason(&e)))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn load(file: &str) -> Result<Vec<Resource>, String> {
    let text = read_input(file)?;
    let name = if file == "-" { "<stdin>" } else { file };
    parse_resources(&text).map_err(|e| format!("{name}: {e}"))
}

/// `Successfully applied 1 'BGPPeer' resource(s)` when one kind, else without the kind.
fn summary(verb: &str, items: &[Resource]) -> String {
    let kinds: BTreeSet<Kind> = items.iter().map(Resource::kind).collect();
    match kinds.iter().next() {
        Some(k) if kinds.len() == 1 => {
            format!("Successfully {verb} {} '{k}' resource(s)\n", items.len())
        }
        _ => format!("Successfully {verb} {} resource(s)\n", items.len()),
    }
}

fn write(client: &Client, mode: WriteMode, file: &str) -> Result<String, String> {
    let resources = load(file)?;
    let verb = match mode {
        WriteMode::Create => "created",
        WriteMode::Apply => "applied",
        WriteMode::Replace => "replaced",
    };
    let written = client
        .write_all(mode, resources)
        .map_err(|e| failure(verb, e))?;
    Ok(summary(verb, &written))
}

/// Words for a failed write: a refused write changed nothing; a datastore failure may have
/// happened after the write was applied, so say so instead of promising.
fn failure(verb: &str, e: ClientError) -> String {
    match e {
        // The datastore refused the request as such, before writing anything.
        ClientError::Store(e @ StoreError::Invalid(_)) => format!("nothing was {verb}: {e}"),
        // The message already says the outcome is unknown.
        ClientError::Store(e @ StoreError::Indeterminate(_)) => e.to_string(),
        ClientError::Store(e) => {
            format!("{e} (the change may or may not have been {verb}; check with `brindlectl get`)")
        }
        e @ (ClientError::Corrupt { .. } | ClientError::Retry(_)) => e.to_string(),
        e => format!("nothing was {verb}: {e}"),
    }
}

fn delete(
    client: &Client,
    kind: Option<&str>,
    names: &[String],
    file: Option<&str>,
    namespace: Option<&str>,
) -> Result<String, String> {
    let targets: Vec<(Kind, Option<String>, String, Option<String>)> = match (kind, file) {
        (_, Some(f)) => load(f)?
            .iter()
            .map(|r| {
                (
                    r.kind(),
                    r.metadata().namespace.clone(),
                    r.name().to_string(),
                    None,
                )
            })
            .collect(),
        (Some(k), None) => {
            let kind = kind_of(k)?;
            if names.is_empty() {
                return Err(format!(
                    "delete {k}: give the name(s) of the resource(s) to delete"
                ));
            }
            names
                .iter()
                .map(|n| (kind, namespace.map(String::from), n.clone(), None))
                .collect()
        }
        (None, None) => return Err("delete: give KIND NAME or -f FILE".into()),
    };
    let deleted = client
        .delete_all(&targets)
        .map_err(|e| failure("deleted", e))?;
    Ok(summary("deleted", &deleted))
}

/// RFC 7386 §2: objects merge recursively, `null` removes a member, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

fn patch_cmd(
    client: &Client,
    kind: &str,
    name: &str,
    patch: &str,
    ns: Option<&str>,
) -> Result<String, String> {
    let kind = kind_of(kind)?;
    let patch: Value =
        serde_json::from_str(patch).map_err(|e| format!("patch is not valid JSON: {e}"))?;
    if !patch.is_object() {
        return Err(
            "patch must be a JSON object, e.g. '{\"spec\":{\"natOutgoing\":false}}'".into(),
        );
    }
    let current = client.get(kind, ns, name).map_err(|e| e.to_string())?;
    let mut value = current.to_value();
    merge_patch(&mut value, &patch);
    let patched = Resource::from_value(value).map_err(|e| e.to_string())?;
    if patched.name() != name || patched.kind() != kind {
        return Err(format!(
            "patch may not change the kind or the name of {kind} {name:?}"
        ));
    }
    client.replace(patched).map_err(|e| e.to_string())?;
    Ok(format!("Successfully patched 1 '{kind}' resource\n"))
}

fn label_cmd(
    client: &Client,
    kind: &str,
    name: &str,
    label: &str,
    overwrite: bool,
    remove: bool,
    ns: Option<&str>,
) -> Result<String, String> {
    let kind = kind_of(kind)?;
    let mut r = client.get(kind, ns, name).map_err(|e| e.to_string())?;
    let labels = &mut r.metadata_mut().labels;
    let msg = if remove {
        if label.contains('=') {
            return Err(format!("--remove takes a label key, not {label:?}"));
        }
        if labels.remove(label).is_none() {
            return Err(format!("{kind} {name:?} has no label {label:?}"));
        }
        format!("Successfully removed label {label} from {kind} {name}\n")
    } else {
        let (k, v) = label
            .split_once('=')
            .ok_or_else(|| format!("label {label:?} must be key=value (or use --remove)"))?;
        if let Some(old) = labels.get(k)
            && old != v
            && !overwrite
        {
            return Err(format!(
                "{kind} {name:?} already has label {k}={old}; use --overwrite to change it"
            ));
        }
        labels.insert(k.to_string(), v.to_string());
        format!("Successfully set label {k} on {kind} {name}\n")
    };
    client.replace(r).map_err(|e| e.to_string())?;
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_rfc7386_examples() {
        let mut t = serde_json::json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut t, &serde_json::json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, serde_json::json!({"a": "z", "c": {"d": "e"}}));
        let mut t = serde_json::json!({"a": [1]});
        merge_patch(&mut t, &serde_json::json!({"a": {"b": "c"}}));
        assert_eq!(t, serde_json::json!({"a": {"b": "c"}}));
        let mut t = serde_json::json!({"e": null});
        merge_patch(&mut t, &serde_json::json!({"a": 1}));
        assert_eq!(t, serde_json::json!({"e": null, "a": 1}));
    }
}
