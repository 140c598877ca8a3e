//! The mock's brain: route table, response selection, data generation and request
//! validation. Pure: no I/O, no clock, no global state.

pub mod generate;
pub mod media;
pub mod sample;
pub mod schema;
pub mod validate;
