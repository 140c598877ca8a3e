//! The request log: what the mock served, stored and queried.
