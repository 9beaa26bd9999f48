//! brindle's resource model: the `projectcalico.org/v3` kinds users apply, their defaults and
//! validation, and Calico's label selector language. No I/O.

pub mod selector;
