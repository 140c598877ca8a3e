//! The `mockloop` command.

fn main() {}
