//! Every schema the server generates or validates bodies with, in every corpus description:
//! each operation's request-body, response and response-header schemas (and those of 3.1
//! `webhooks`), read through `spec::load`. Values generated for a few seeds must validate
//! against their schema, and a seed must always give the same value. A description that
//! does not load fails the test.
//!
//! Each named schema (`components/schemas`, Swagger `definitions`) is also checked on its
//! own, in both directions, with one seed: inside a body an optional property whose value
//! came out invalid is left out, so a generator bug there would go unnoticed.
//!
//! The corpus is read from `$MOCKLOOP_CORPUS` when set (a folder of descriptions, or of
//! links to some of them, to iterate quickly), else from the shared folder beside the
//! repository.

mod common;

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use engine::generate::{GenCache, Generator};
use engine::schema::{Direction, SchemaCache, SchemaContext, SchemaValidator};
use serde_json::Value;

const SEEDS: [u64; 3] = [0, 1, 0x5eed];

/// One schema to check, with where it came from.
struct Case<'a> {
    label: String,
    schema: Cow<'a, Value>,
    direction: Direction,
    seeds: &'static [u64],
}

/// The request-body, response and response-header schemas of `operations`.
fn operation_cases(operations: &[spec::Operation]) -> Vec<Case<'_>> {
    let mut cases = Vec::new();
    for op in operations {
        let at = format!("{} {}", op.method.as_str(), op.path);
        if let Some(body) = &op.request_body {
            for media in &body.content {
                if let Some(schema) = &media.schema {
                    cases.push(Case {
                        label: format!("{at} request {}", media.media_type),
                        schema: Cow::Borrowed(schema),
                        direction: Direction::Request,
                        seeds: &SEEDS,
                    });
                }
            }
        }
        for response in &op.responses {
            for media in &response.content {
                if let Some(schema) = &media.schema {
                    cases.push(Case {
                        label: format!("{at} {} {}", response.status, media.media_type),
                        schema: Cow::Borrowed(schema),
                        direction: Direction::Response,
                        seeds: &SEEDS,
                    });
                }
            }
            for header in &response.headers {
                if let Some(schema) = &header.schema {
                    cases.push(Case {
                        label: format!("{at} {} header {}", response.status, header.name),
                        schema: Cow::Borrowed(schema),
                        direction: Direction::Response,
                        seeds: &SEEDS,
                    });
                }
            }
        }
    }
    cases
}

/// Each named schema of `components/schemas` (or Swagger `definitions`), once per
/// direction, referenced rather than copied so that cycles are exercised as in use.
fn component_cases(root: &Value) -> Vec<Case<'static>> {
    let (base, schemas) = match (root.pointer("/components/schemas"), root.get("definitions")) {
        (Some(Value::Object(s)), _) => ("#/components/schemas/", s),
        (_, Some(Value::Object(s))) => ("#/definitions/", s),
        _ => return Vec::new(),
    };
    let mut cases = Vec::new();
    for name in schemas.keys() {
        let escaped = name.replace('~', "~0").replace('/', "~1");
        for direction in [Direction::Response, Direction::Request] {
            cases.push(Case {
                label: format!("schema {name} ({direction:?})"),
                schema: Cow::Owned(serde_json::json!({ "$ref": format!("{base}{escaped}") })),
                direction,
                seeds: &SEEDS[..1],
            });
        }
    }
    cases
}

#[derive(Default)]
struct Tally {
    schemas: usize,
    values: usize,
    failures: Vec<String>,
}

fn check_document(path: &Path) -> Tally {
    let mut tally = Tally::default();
    let api = match spec::load(&path.to_string_lossy(), &spec::LoadOptions::default()) {
        Ok(api) => api,
        Err(err) => {
            tally.failures.push(format!("spec::load failed: {err}"));
            return tally;
        }
    };
    let webhooks = spec::webhooks(&api);
    let mut cases = operation_cases(&api.operations);
    cases.extend(operation_cases(&webhooks));
    cases.extend(component_cases(&api.root));
    let legacy = api.version.is_legacy_schema_dialect();
    let cache = GenCache::new();
    let schemas = SchemaCache::new();
    let mut seen = HashSet::new();
    for case in &cases {
        if !seen.insert((case.schema.to_string(), case.direction)) {
            continue;
        }
        tally.schemas += 1;
        let ctx = SchemaContext {
            root: &api.root,
            legacy,
            direction: case.direction,
        };
        let validator = match SchemaValidator::compile_with(&case.schema, ctx, &schemas) {
            Ok(v) => v,
            Err(err) => {
                tally
                    .failures
                    .push(format!("{}: does not compile: {err}", case.label));
                continue;
            }
        };
        let generator = Generator::with_cache(ctx, &cache);
        for &seed in case.seeds {
            let value = generator.generate(&case.schema, seed);
            tally.values += 1;
            if !validator.is_valid(&value) {
                let violations = validator.validate(&value);
                let first = violations
                    .first()
                    .map_or_else(|| "none listed".to_owned(), ToString::to_string);
                let mut shown = value.to_string();
                shown.truncate(300);
                tally.failures.push(format!(
                    "{} seed {seed}: {} violation(s), first {first}; value {shown}",
                    case.label,
                    violations.len()
                ));
                break;
            }
            // Determinism does not depend on the seed: checking one keeps the test quick.
            if seed == SEEDS[0] && generator.generate(&case.schema, seed) != value {
                tally
                    .failures
                    .push(format!("{} seed {seed}: not deterministic", case.label));
                break;
            }
        }
    }
    tally
}

#[test]
fn generated_values_validate_across_the_corpus() {
    let files = common::corpus_files();
    assert!(!files.is_empty(), "the corpus folder holds no descriptions");
    let queue = Mutex::new(files.iter());
    let results: Mutex<Vec<(String, Tally, Duration)>> = Mutex::new(Vec::new());
    // Two workers: the machine has two cores and big documents dominate.
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().expect("queue lock").next();
                    let Some(path) = next else { break };
                    let started = Instant::now();
                    let tally = check_document(path);
                    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                    let entry = (name.unwrap_or_default(), tally, started.elapsed());
                    results.lock().expect("results lock").push(entry);
                }
            });
        }
    });
    let mut results = results.into_inner().expect("results lock");
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let (mut schemas, mut values, mut failures) = (0, 0, Vec::new());
    for (name, tally, elapsed) in &results {
        eprintln!(
            "{name:45} {:6} schemas {:6} values {:4} failing {:7.1}s",
            tally.schemas,
            tally.values,
            tally.failures.len(),
            elapsed.as_secs_f64(),
        );
        schemas += tally.schemas;
        values += tally.values;
        failures.extend(tally.failures.iter().map(|f| format!("{name}: {f}")));
    }
    eprintln!(
        "{} schemas checked, {values} values generated, {} failures",
        schemas,
        failures.len()
    );
    for failure in &failures {
        eprintln!("FAIL {failure}");
    }
    assert!(
        failures.is_empty(),
        "{} failures (listed above)",
        failures.len()
    );
}
