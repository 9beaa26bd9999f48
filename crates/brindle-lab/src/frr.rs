//! FRR (placeholder)
