//! Unit tests: Calico's documented scenarios under our own names, each Calico rule on its own,
//! the conversions from API objects, and property tests over shuffled inputs.

mod convert;
mod fields;
mod fixtures;
mod mesh;
mod peers;
mod props;
mod reflectors;
