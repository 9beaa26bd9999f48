//! Reading manifest files: YAML (several documents separated by `---`) or JSON (one or more
//! values), each document one resource or a `List` of them.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use crate::error::ResourceError;
use crate::resource::Resource;

/// Why a manifest text could not be read. Displayed on one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// The text is not valid YAML/JSON.
    Syntax {
        /// 1-based line, when known.
        line: Option<usize>,
        /// 1-based column, when known.
        column: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// Document `index` (1-based) holds an invalid resource.
    Resource {
        /// 1-based document number in the file.
        index: usize,
        /// The problem.
        error: ResourceError,
    },
    /// The text holds no resource at all.
    Empty,
}

impl fmt::Display for DocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocumentError::Syntax {
                line: Some(l),
                column: Some(c),
                message,
            } => {
                write!(f, "syntax error at line {l}, column {c}: {message}")
            }
            DocumentError::Syntax { message, .. } => write!(f, "syntax error: {message}"),
            DocumentError::Resource { index, error } => write!(f, "document {index}: {error}"),
            DocumentError::Empty => write!(f, "no resources found"),
        }
    }
}

/// Parses every document of `text` into validated resources, in order. `List` kinds
/// (`List`, `BGPPeerList`…) contribute their `items`. Nothing is returned unless every document
/// is valid.
pub fn parse_resources(text: &str) -> Result<Vec<Resource>, DocumentError> {
    let docs = parse_values(text)?;
    let mut out = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        let index = i + 1;
        for item in expand_list(doc).map_err(|error| DocumentError::Resource { index, error })? {
            let r = Resource::from_value(item)
                .map_err(|error| DocumentError::Resource { index, error })?;
            out.push(r);
        }
    }
    if out.is_empty() {
        return Err(DocumentError::Empty);
    }
    Ok(out)
}

/// Splits `text` into its documents as JSON values, skipping empty YAML documents.
pub fn parse_values(text: &str) -> Result<Vec<Value>, DocumentError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        // JSON has quoted keys; YAML in flow style (`{apiVersion: …}`) usually does not. Quoted
        // keys get JSON's errors (with JSON's line and column); otherwise YAML reads it.
        let first = trimmed.trim_start_matches(|c: char| c == '{' || c == '[' || c.is_whitespace());
        if first.is_empty() || first.starts_with(['"', '}', ']']) {
            return parse_json(text);
        }
    }
    parse_yaml(text)
}

fn split_array(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        v => vec![v],
    }
}

fn parse_json(text: &str) -> Result<Vec<Value>, DocumentError> {
    let mut out = Vec::new();
    for v in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
        let v = v.map_err(|e| DocumentError::Syntax {
            line: Some(e.line()),
            column: Some(e.column()),
            message: strip_location(&e.to_string()),
        })?;
        out.extend(split_array(v));
    }
    Ok(out)
}

fn parse_yaml(text: &str) -> Result<Vec<Value>, DocumentError> {
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let v = Value::deserialize(doc).map_err(|e| {
            let loc = e.location();
            DocumentError::Syntax {
                line: loc.as_ref().map(|l| l.line()),
                column: loc.as_ref().map(|l| l.column()),
                message: strip_location(&e.to_string()),
            }
        })?;
        if !v.is_null() {
            out.extend(split_array(v));
        }
    }
    Ok(out)
}

fn strip_location(msg: &str) -> String {
    let base = msg.split(" at line ").next().unwrap_or(msg);
    base.trim().to_string()
}

/// The items of a `List` document, or the document itself.
fn expand_list(doc: Value) -> Result<Vec<Value>, ResourceError> {
    let is_list = doc
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"));
    if !is_list {
        return Ok(vec![doc]);
    }
    let kind = doc
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("List")
        .to_string();
    match doc.get("items") {
        Some(Value::Array(items)) => Ok(items.clone()),
        Some(Value::Null) | None => Ok(Vec::new()),
        Some(_) => Err(ResourceError::single(&kind, "", "items", "must be a list")),
    }
}
