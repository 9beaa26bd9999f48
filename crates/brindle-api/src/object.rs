//! The typed envelope of one resource: `metadata`, `spec` and (for some kinds) `status`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::API_VERSION;
use crate::check::{Checker, resource_name};
use crate::error::FieldError;
use crate::meta::ObjectMeta;
use crate::resources::Spec;

/// One resource of kind `S::KIND`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    bound(serialize = "S: Spec", deserialize = "S: Spec")
)]
pub struct Object<S: Spec> {
    /// Name, labels and bookkeeping.
    pub metadata: ObjectMeta,
    /// The kind's settings.
    #[serde(default)]
    pub spec: S,
    /// Observed state, for kinds that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<S::Status>,
}

impl<S: Spec> Object<S> {
    /// A resource named `name` with the given spec.
    pub fn new(name: impl Into<String>, spec: S) -> Self {
        Object {
            metadata: ObjectMeta {
                name: name.into(),
                ..Default::default()
            },
            spec,
            status: None,
        }
    }

    /// Decodes `metadata`/`spec`/`status` from a JSON object whose `apiVersion` and `kind` were
    /// already checked and removed. Unknown fields and wrong types are errors with their path.
    pub fn decode(value: Value) -> Result<Self, FieldError> {
        serde_path_to_error::deserialize::<_, Self>(value).map_err(|e| {
            let path = e.path().to_string();
            describe_serde_error(
                if path == "." { "" } else { &path },
                &e.into_inner().to_string(),
            )
        })
    }

    /// Every problem with this resource: name, labels, spec rules.
    pub fn check(&self) -> Vec<FieldError> {
        let mut c = Checker::default();
        if let Err(e) = resource_name(&self.metadata.name) {
            c.err("metadata.name", e);
        }
        if S::KIND.namespaced() {
            if let Some(ns) = &self.metadata.namespace {
                c.check("metadata.namespace", resource_name(ns));
            }
        } else if self
            .metadata
            .namespace
            .as_deref()
            .is_some_and(|n| !n.is_empty())
        {
            c.err(
                "metadata.namespace",
                format!("{} is not namespaced", S::KIND),
            );
        }
        c.labels("metadata.labels", &self.metadata.labels);
        self.spec.validate(&self.metadata, &mut c);
        c.finish()
    }

    /// The full manifest form: `apiVersion`, `kind`, `metadata`, `spec`[, `status`].
    pub fn to_value(&self) -> Value {
        let mut map = match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        map.insert("apiVersion".into(), Value::String(API_VERSION.into()));
        map.insert("kind".into(), Value::String(S::KIND.name().into()));
        Value::Object(map)
    }
}

/// Turns a serde message at `path` into a field error that names the field itself.
fn describe_serde_error(path: &str, msg: &str) -> FieldError {
    // serde_path_to_error already ends the path with an unknown field's name, but not with a
    // missing one's.
    let join = |field: &str| {
        if path.is_empty() || path == field {
            field.to_string()
        } else if path.ends_with(&format!(".{field}")) {
            path.to_string()
        } else {
            format!("{path}.{field}")
        }
    };
    let quoted = |rest: &str| rest.split('`').next().unwrap_or("").to_string();
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let field = quoted(rest);
        let expected: Vec<String> = rest
            .split_once("expected ")
            .map(|(_, list)| {
                list.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let hint = suggest(&field, &expected)
            .map(|s| format!("; did you mean {s:?}?"))
            .unwrap_or_default();
        return FieldError::new(join(&field), format!("unknown field{hint}"));
    }
    if let Some(rest) = msg.strip_prefix("missing field `") {
        return FieldError::new(join(&quoted(rest)), "is required");
    }
    let msg = msg
        .replace("expected u8", "expected an integer 0..=255")
        .replace("expected u16", "expected an integer 0..=65535")
        .replace("expected u32", "expected a non-negative integer")
        .replace("expected u64", "expected a non-negative integer")
        .replace("expected i32", "expected an integer")
        .replace("expected i64", "expected an integer")
        .replace("expected a boolean", "expected true or false");
    FieldError::new(path, msg)
}

/// The expected field closest to `field` (case-insensitive equal, or at most two edits apart).
fn suggest<'a>(field: &str, expected: &'a [String]) -> Option<&'a str> {
    let lower = field.to_ascii_lowercase();
    expected
        .iter()
        .map(|e| (edit_distance(&lower, &e.to_ascii_lowercase()), e))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, e)| e.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_names_path_and_suggests() {
        let e = describe_serde_error(
            "spec.blocksize",
            "unknown field `blocksize`, expected one of `cidr`, `blockSize`, `natOutgoing`",
        );
        assert_eq!(e.path, "spec.blocksize");
        assert_eq!(e.message, "unknown field; did you mean \"blockSize\"?");
        let e = describe_serde_error("spec", "unknown field `zzz`, expected `cidr`");
        assert_eq!(e.message, "unknown field");
    }

    #[test]
    fn missing_field() {
        let e = describe_serde_error("spec.exportV4[0]", "missing field `action`");
        assert_eq!(e.to_string(), "spec.exportV4[0].action: is required");
    }
}
