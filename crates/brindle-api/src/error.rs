//! Errors that name the resource and the field at fault.

use std::fmt;

/// One problem with one field of one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path from the resource root, e.g. `spec.blockSize` or `spec.communities[1].value`.
    pub path: String,
    /// What is wrong, in words.
    pub message: String,
}

impl FieldError {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A resource that failed to decode or validate, e.g.
/// `IPPool "pool-a": spec.blockSize: 33 is outside 20..=32`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ResourceError {
    /// The kind as written (may be empty when the document had none).
    pub kind: String,
    /// The name as written (may be empty).
    pub name: String,
    /// The first problem found.
    pub error: FieldError,
    /// How many further problems were found.
    pub more: usize,
}

impl ResourceError {
    /// Wraps the field errors of one resource; `errors` must not be empty.
    pub fn new(kind: &str, name: &str, mut errors: Vec<FieldError>) -> Self {
        let error = if errors.is_empty() {
            FieldError::new("", "invalid resource")
        } else {
            errors.remove(0)
        };
        ResourceError {
            kind: kind.to_string(),
            name: name.to_string(),
            error,
            more: errors.len(),
        }
    }

    /// A single problem.
    pub fn single(kind: &str, name: &str, path: &str, message: impl Into<String>) -> Self {
        ResourceError::new(kind, name, vec![FieldError::new(path, message)])
    }
}

impl fmt::Display for ResourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind.is_empty(), self.name.is_empty()) {
            (false, false) => write!(f, "{} {:?}: ", self.kind, self.name)?,
            (false, true) => write!(f, "{}: ", self.kind)?,
            (true, false) => write!(f, "{:?}: ", self.name)?,
            (true, true) => {}
        }
        write!(f, "{}", self.error)?;
        if self.more > 0 {
            let s = if self.more == 1 { "" } else { "s" };
            write!(f, " (and {} more problem{s})", self.more)?;
        }
        Ok(())
    }
}
