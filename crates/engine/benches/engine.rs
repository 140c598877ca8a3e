//! Micro-benchmarks of the request path inside the engine: route lookup, response selection
//! for a fixed example and for generated data, and schema-driven generation.
//!
//! `cargo bench -p engine`. The Stripe cases need the corpus (`$MOCKLOOP_CORPUS`, else
//! `../shared/corpus/specs`) and are skipped without it.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use engine::{Engine, EngineOptions, MockRequest};
use http::{HeaderMap, HeaderValue, Method};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn engine_for(path: &std::path::Path) -> Engine {
    let api = spec::load(
        path.to_str().expect("UTF-8 path"),
        &spec::LoadOptions::default(),
    )
    .unwrap_or_else(|err| panic!("cannot load '{}': {err:?}", path.display()));
    let engine = Engine::new(Arc::new(api), EngineOptions::default());
    engine.prewarm();
    engine
}

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("MOCKLOOP_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/corpus/specs"));
    dir.is_dir().then_some(dir)
}

fn respond(engine: &Engine, method: &Method, path: &str, headers: &HeaderMap) -> u16 {
    let response = engine.respond(&MockRequest {
        method,
        path,
        query: None,
        headers,
        body: b"",
        nonce: 0,
    });
    response.status.as_u16()
}

fn benches(c: &mut Criterion) {
    let bookshop = engine_for(&root().join("examples/bookshop.yaml"));
    let mut headers = HeaderMap::new();
    headers.insert("accept", HeaderValue::from_static("application/json"));
    let get = Method::GET;

    let mut group = c.benchmark_group("route lookup");
    group.bench_function("bookshop /v1/books/42", |b| {
        b.iter(|| {
            bookshop
                .router()
                .lookup(spec::Method::Get, black_box("/v1/books/42"))
        })
    });
    group.bench_function("bookshop unknown path", |b| {
        b.iter(|| {
            bookshop
                .router()
                .lookup(spec::Method::Get, black_box("/v1/nothing/here"))
        })
    });
    let stripe = corpus().map(|dir| engine_for(&dir.join("stripe-spec3.yaml")));
    if let Some(stripe) = &stripe {
        group.bench_function("stripe /v1/customers/{c}/sources/{id}", |b| {
            b.iter(|| {
                stripe.router().lookup(
                    spec::Method::Get,
                    black_box("/v1/customers/cus_1/sources/src_2"),
                )
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("respond");
    assert_eq!(respond(&bookshop, &get, "/v1/books", &headers), 200);
    group.bench_function("fixed example GET /v1/books", |b| {
        b.iter(|| respond(&bookshop, &get, black_box("/v1/books"), &headers))
    });
    assert_eq!(respond(&bookshop, &get, "/v1/books/42", &headers), 200);
    group.bench_function("generated body GET /v1/books/42", |b| {
        b.iter(|| respond(&bookshop, &get, black_box("/v1/books/42"), &headers))
    });
    if let Some(stripe) = &stripe {
        assert_eq!(respond(stripe, &get, "/v1/customers/cus_42", &headers), 200);
        group.bench_function("stripe generated GET /v1/customers/cus_42", |b| {
            b.iter(|| respond(stripe, &get, black_box("/v1/customers/cus_42"), &headers))
        });
    }
    group.finish();
}

criterion_group!(engine_benches, benches);
criterion_main!(engine_benches);
