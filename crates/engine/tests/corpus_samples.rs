//! Every operation of every corpus description: requests built by `sample_request` are
//! routed by the engine's router and accepted by `OperationValidator`.
//!
//! The corpus is read from `$MOCKLOOP_CORPUS` when set, else from the shared folder beside
//! the repository.

mod common;

use engine::router::{RouteMatch, Router};
use engine::sample::{SampleRequest, sample_request};
use engine::schema::{Direction, SchemaContext};
use engine::validate::{OperationValidator, RequestParts, Verdict};
use http::{HeaderMap, HeaderName, HeaderValue};
use spec::{Api, LoadOptions};

const SEEDS: [u64; 3] = [0, 1, 2];

/// Sends `sample` through routing and validation as the server would; the error says why
/// it was not accepted.
fn check(
    api: &Api,
    router: &Router,
    index: usize,
    validator: &OperationValidator,
    sample: &SampleRequest,
) -> Result<(), String> {
    let (path, query) = match sample.path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (sample.path_and_query.as_str(), None),
    };
    if sample
        .path_and_query
        .parse::<http::uri::PathAndQuery>()
        .is_err()
    {
        return Err(format!(
            "'{}' is not a valid request target",
            sample.path_and_query
        ));
    }
    let op = &api.operations[index];
    let params = match router.lookup(op.method, path) {
        RouteMatch::Found { op: found, params } => {
            let shadowed = router
                .shadowed()
                .iter()
                .any(|&(s, kept)| s == index && kept == found);
            if found != index && !shadowed {
                let other = &api.operations[found];
                return Err(format!(
                    "'{path}' routes to {} {}",
                    other.method.as_str(),
                    other.path
                ));
            }
            params
        }
        other => return Err(format!("'{path}' does not route: {other:?}")),
    };
    let named: Vec<(&str, String)> = params
        .iter()
        .map(|(n, v)| (n.as_str(), v.clone()))
        .collect();
    let mut headers = HeaderMap::new();
    for (name, value) in &sample.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| format!("header name '{name}': {e}"))?;
        let value =
            HeaderValue::from_str(value).map_err(|e| format!("header value '{value}': {e}"))?;
        headers.append(name, value);
    }
    let body: &[u8] = match &sample.body {
        Some((content_type, bytes)) => {
            let value = HeaderValue::from_str(content_type)
                .map_err(|e| format!("content-type '{content_type}': {e}"))?;
            headers.insert(http::header::CONTENT_TYPE, value);
            bytes
        }
        None => &[],
    };
    match validator.validate(RequestParts {
        path_params: &named,
        query,
        headers: &headers,
        body,
    }) {
        Verdict::Valid => Ok(()),
        verdict => {
            let listed: Vec<String> = verdict
                .violations()
                .iter()
                .map(|v| format!("{} '{}': {}", v.location, v.name, v.message))
                .collect();
            Err(format!("{:?} {}", verdict.status(), listed.join("; ")))
        }
    }
}

#[test]
fn sampled_requests_validate_for_every_corpus_operation() {
    let files = common::corpus_files();
    assert!(
        !files.is_empty(),
        "no descriptions in {}",
        common::corpus_dir().display()
    );
    let mut failures = Vec::new();
    let mut checked = 0usize;
    let mut operations = 0usize;
    for file in &files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let api = match spec::load(&file.to_string_lossy(), &LoadOptions::default()) {
            Ok(api) => api,
            Err(e) => {
                failures.push(format!("{name}: does not load: {e}"));
                continue;
            }
        };
        let routes = api
            .operations
            .iter()
            .enumerate()
            .map(|(i, op)| (i, op.method, op.path.as_str()));
        let router = Router::new(routes, &api.base_paths);
        let ctx = SchemaContext {
            root: &api.root,
            legacy: api.version.is_legacy_schema_dialect(),
            direction: Direction::Request,
        };
        let before = failures.len();
        for (index, op) in api.operations.iter().enumerate() {
            operations += 1;
            let validator = OperationValidator::new(op, ctx);
            for seed in SEEDS {
                checked += 1;
                let sample = sample_request(&api, op, seed);
                if let Err(why) = check(&api, &router, index, &validator, &sample) {
                    let request = format!("{} {}", sample.method, sample.path_and_query);
                    failures.push(format!(
                        "{name} {} {} seed {seed}: {why}\n    request: {request}",
                        op.method.as_str(),
                        op.path
                    ));
                }
            }
        }
        eprintln!(
            "{name}: {} operations, {} failed checks",
            api.operations.len(),
            failures.len() - before
        );
    }
    eprintln!(
        "{operations} operations, {checked} requests checked, {} failed",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
