//! Every real description in the corpus, served by the real binary: every operation gets a
//! declared status and a body that validates against the declared schema, and the log holds
//! exactly one row per request.

mod support;

use std::path::Path;

use engine::schema::{Direction, SchemaContext, SchemaValidator};
use spec::{Api, Operation, StatusKey};
use support::{Mock, corpus_dir};

/// What went wrong for one operation.
struct Failure {
    op: String,
    what: String,
}

/// The declared response covering `status`: an exact code, then a range, then `default`.
fn declared_response(op: &Operation, status: u16) -> Option<&spec::Response> {
    let exact = op
        .responses
        .iter()
        .find(|r| r.status == StatusKey::Code(status));
    exact
        .or_else(|| {
            op.responses
                .iter()
                .find(|r| r.status == StatusKey::Range((status / 100) as u8))
        })
        .or_else(|| op.responses.iter().find(|r| r.status == StatusKey::Default))
}

/// The schema's own `example`, following `$ref`s at the top.
fn schema_example<'a>(
    root: &'a serde_json::Value,
    mut schema: &'a serde_json::Value,
) -> Option<&'a serde_json::Value> {
    for _ in 0..16 {
        if let Some(example) = schema.get("example") {
            return Some(example);
        }
        schema = spec::resolve_ref(root, schema.get("$ref")?.as_str()?)?;
    }
    None
}

fn check_operation(mock: &Mock, api: &Api, index: usize, failures: &mut Vec<Failure>) {
    let op = &api.operations[index];
    let name = format!("{} {}", op.method.as_str(), op.path);
    let sample = engine::sample::sample_request(api, op, index as u64);
    let mut builder = ureq::http::Request::builder()
        .method(sample.method)
        .uri(format!("{}{}", mock.api, sample.path_and_query));
    for (k, v) in &sample.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let body = match &sample.body {
        Some((content_type, bytes)) => {
            builder = builder.header("content-type", content_type.as_str());
            bytes.clone()
        }
        None => Vec::new(),
    };
    let request = builder.body(body).expect("request");
    let mut resp = match mock.agent().run(request) {
        Ok(resp) => resp,
        Err(err) => {
            failures.push(Failure {
                op: name,
                what: format!("request failed: {err}"),
            });
            return;
        }
    };
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .unwrap_or_default();
    let Some(declared) = declared_response(op, status) else {
        failures.push(Failure {
            op: name,
            what: format!(
                "status {status} is not declared: {}",
                String::from_utf8_lossy(&bytes)
            ),
        });
        return;
    };
    let no_content = matches!(status, 204 | 205 | 304);
    if no_content && !bytes.is_empty() {
        failures.push(Failure {
            op: name,
            what: format!("status {status} carries a body"),
        });
        return;
    }
    if no_content || op.method == spec::Method::Head || !engine::media::is_json(&content_type) {
        return;
    }
    let essence = engine::negotiate::essence(&content_type);
    let media = declared
        .content
        .iter()
        .find(|m| engine::negotiate::essence(&m.media_type) == essence)
        .or_else(|| declared.content.first());
    let Some(schema) = media.and_then(|m| m.schema.as_ref()) else {
        return;
    };
    let instance: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(err) => {
            failures.push(Failure {
                op: name,
                what: format!("body is not JSON: {err}"),
            });
            return;
        }
    };
    // Examples written in the description are sent as written; only what mockloop makes
    // itself must follow the schema.
    let media = media.expect("media");
    let is_declared_example = media.example.as_ref() == Some(&instance)
        || media.examples.iter().any(|(_, v)| *v == instance)
        || schema_example(&api.root, schema) == Some(&instance);
    if is_declared_example {
        return;
    }
    let ctx = SchemaContext {
        root: &api.root,
        legacy: api.version.is_legacy_schema_dialect(),
        direction: Direction::Response,
    };
    let validator = match SchemaValidator::compile(schema, ctx) {
        Ok(v) => v,
        Err(err) => {
            failures.push(Failure {
                op: name,
                what: format!("schema does not compile: {err}"),
            });
            return;
        }
    };
    let violations = validator.validate(&instance);
    if !violations.is_empty() {
        failures.push(Failure {
            op: name,
            what: format!(
                "status {status} body breaks its schema: {}",
                violations
                    .iter()
                    .take(3)
                    .map(|v| format!("{}: {}", v.instance_path, v.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        });
    }
}

/// Serves one description and checks all its operations; returns the failures.
fn check_spec(path: &Path) -> Vec<String> {
    let source = path.to_str().expect("utf-8 path");
    let api = spec::load(source, &spec::LoadOptions::default())
        .unwrap_or_else(|err| panic!("'{source}' does not load: {err}"));
    let engine = engine::Engine::new(std::sync::Arc::new(api.clone()), Default::default());
    let shadowed: Vec<usize> = engine.shadowed().iter().map(|(s, _)| *s).collect();
    let mut mock = Mock::start(path, &[]);
    let mut failures = Vec::new();
    let mut sent = 0u64;
    for index in 0..api.operations.len() {
        if shadowed.contains(&index) {
            continue;
        }
        sent += 1;
        check_operation(&mock, &api, index, &mut failures);
    }
    let logged = mock.wait_for_logged(sent);
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut report: Vec<String> = failures
        .into_iter()
        .map(|f| format!("{name}: {}: {}", f.op, f.what))
        .collect();
    if logged != sent {
        report.push(format!("{name}: {sent} requests sent but {logged} logged"));
    }
    let status = mock.stop();
    if !status.success() {
        let stderr = mock.stderr_text();
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        report.push(format!(
            "{name}: exit status {status:?} after SIGTERM; stderr ends:\n{}",
            tail.join("\n")
        ));
    }
    report
}

#[test]
fn every_corpus_operation_gets_a_declared_status_and_a_valid_body() {
    let mut specs: Vec<_> = std::fs::read_dir(corpus_dir())
        .expect("read corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "json" || e == "yaml" || e == "yml")
        })
        .collect();
    specs.sort();
    assert!(
        specs.len() >= 20,
        "only {} descriptions in the corpus",
        specs.len()
    );
    // Two workers: the machine has two cores and each spec also runs a server.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let report = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(path) = specs.get(i) else { break };
                    let failures = check_spec(path);
                    report.lock().unwrap().extend(failures);
                }
            });
        }
    });
    let report = report.into_inner().unwrap();
    assert!(
        report.is_empty(),
        "{} failures:\n{}",
        report.len(),
        report.join("\n")
    );
}
