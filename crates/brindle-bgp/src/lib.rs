//! brindle's BGP-4 speaker.
//!
//! The protocol lives in modules that do no I/O and are tested deterministically:
//! [`model`] (prefixes, attributes, messages), [`wire`] (the codec), [`fsm`] (the session state
//! machine), [`rib`] (Adj-RIB-In, decision process, Adj-RIB-Out, route reflection), [`policy`]
//! (import/export filters). A thin tokio driver runs sockets and timers around them.

pub mod fsm;
pub mod model;
pub mod policy;
pub mod rib;
pub mod speaker;
mod sys;
pub mod wire;
