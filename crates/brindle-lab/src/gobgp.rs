//! GoBGP (placeholder)
