//! Every description of the shared corpus loads, with the operation count its README gives
//! (less the operations dropped as duplicate routes, which the loader warns about).

mod common;

use spec::{Api, Method, ParamLocation, ParamStyle, SpecVersion, StatusKey};

use common::corpus_dir;

/// File, the README's Ops column, and how many of those share a route with an earlier
/// operation once `#fragment`s and `?query`s are cut from path keys.
const CORPUS: &[(&str, usize, usize)] = &[
    ("oai-petstore-expanded-v2.yaml", 4, 0),
    ("oai-uber-v2.json", 5, 0),
    ("oai-petstore-expanded.yaml", 4, 0),
    ("oai-callback-example.yaml", 1, 0),
    ("oai-link-example.yaml", 6, 0),
    ("oai-uspto.yaml", 3, 0),
    ("oai-api-with-examples.yaml", 2, 0),
    ("oai-webhook-example.yaml", 0, 0),
    ("swaggerapi-petstore3.yaml", 19, 0),
    ("redocly-museum.yaml", 8, 0),
    ("nytimes-books.yaml", 6, 0),
    ("docker-engine.yaml", 108, 0),
    ("slack-web-api.json", 174, 0),
    ("stripe-spec3.yaml", 444, 0),
    // 19 path keys carry a fragment; 18 of them repeat a method of another key's route.
    ("box-platform.json", 296, 18),
    ("twilio-api-v2010.json", 197, 0),
    // Seven operations under `...?beta=true` keys repeat the plain key's operations.
    ("openai-openapi.yaml", 288, 7),
    ("asana-oas.yaml", 247, 0),
    ("pagerduty-rest.json", 465, 0),
    ("spotify-web-api.yaml", 97, 0),
    ("discord-openapi.json", 242, 0),
    ("adyen-checkout-v71.json", 28, 0),
    ("adyen-configuration-webhooks-v2.yaml", 0, 0),
    ("atlassian-jira-platform.json", 468, 0),
    ("airflow-v1.yaml", 89, 0),
    ("plaid-2020-09-14.yaml", 329, 0),
];

fn load(name: &str) -> Api {
    let path = corpus_dir().join(name);
    match common::load(path.to_str().expect("utf-8 corpus path")) {
        Ok(api) => api,
        Err(err) => panic!("{name} did not load:\n{err}"),
    }
}

fn op<'a>(api: &'a Api, method: Method, path: &str) -> &'a spec::Operation {
    api.operations
        .iter()
        .find(|o| o.method == method && o.path == path)
        .unwrap_or_else(|| panic!("no {} {path}", method.as_str()))
}

#[test]
fn every_corpus_description_loads_with_its_operation_count() {
    let mut listed: Vec<&str> = CORPUS.iter().map(|(name, _, _)| *name).collect();
    listed.sort_unstable();
    let mut present: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("read the corpus folder")
        .map(|entry| {
            entry
                .expect("corpus entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".json") || name.ends_with(".yaml"))
        .collect();
    present.sort_unstable();
    assert_eq!(
        listed, present,
        "the corpus folder and this test's table differ"
    );

    let mut failures = Vec::new();
    for (name, ops, duplicates) in CORPUS {
        let api = load(name);
        let dropped = api
            .warnings
            .iter()
            .filter(|w| w.message.starts_with("dropped "))
            .count();
        if api.operations.len() != ops - duplicates || dropped != *duplicates {
            failures.push(format!(
                "{name}: {} operations and {dropped} dropped, expected {} and {duplicates}",
                api.operations.len(),
                ops - duplicates
            ));
        }
        for op in &api.operations {
            assert!(
                op.path.starts_with('/') && !op.path.contains(['#', '?']),
                "{name}: {}",
                op.path
            );
            assert!(
                spec::resolve_ref(&api.root, &format!("#{}", op.pointer))
                    .is_some_and(|v| v.is_object()),
                "{name}: operation pointer {} does not resolve",
                op.pointer
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn webhooks_are_kept_apart_from_routes() {
    let museum = load("redocly-museum.yaml");
    let hooks = spec::webhooks(&museum);
    assert_eq!(hooks.len(), 1);
    assert_eq!(
        (hooks[0].method, hooks[0].path.as_str()),
        (Method::Post, "publishNewEvent")
    );
    assert_eq!(
        spec::webhooks(&load("adyen-configuration-webhooks-v2.yaml")).len(),
        26
    );
    assert_eq!(spec::webhooks(&load("openai-openapi.yaml")).len(), 16);
    assert!(spec::webhooks(&load("oai-petstore-expanded.yaml")).is_empty());
}

#[test]
fn base_paths_come_from_servers_and_base_path() {
    let cases: &[(&str, &[&str])] = &[
        ("docker-engine.yaml", &["/v1.56"]),
        ("airflow-v1.yaml", &["/api/v1"]),
        ("oai-uspto.yaml", &["/ds-api"]),
        ("oai-petstore-expanded-v2.yaml", &["/api"]),
        ("plaid-2020-09-14.yaml", &[]),
        ("oai-callback-example.yaml", &[]),
        ("box-platform.json", &["/2.0"]),
    ];
    for (name, expected) in cases {
        assert_eq!(load(name).base_paths, *expected, "{name}");
    }
}

#[test]
fn operation_servers_override_the_document_prefix() {
    let box_api = load("box-platform.json");
    let upload = op(&box_api, Method::Post, "/files/content");
    assert_eq!(box_api.operation_base_paths(upload), ["/api/2.0"]);
    let list = op(&box_api, Method::Get, "/folders/{folder_id}");
    assert_eq!(box_api.operation_base_paths(list), ["/2.0"]);
}

#[test]
fn known_defects_become_warnings() {
    let airflow = load("airflow-v1.yaml");
    assert!(
        airflow.warnings.iter().any(
            |w| w.pointer == "/security/1/GoogleOpenID" && w.message.contains("'GoogleOpenID'")
        ),
        "{:#?}",
        airflow.warnings
    );
    let plaid = load("plaid-2020-09-14.yaml");
    let stray = plaid
        .warnings
        .iter()
        .find(|w| w.message.contains("'examples' is not a media type"))
        .expect("a warning about the stray content entry");
    assert_eq!(
        stray.pointer,
        "/paths/~1transfer~1originator~1get/post/requestBody/content/examples"
    );
    let body = op(&plaid, Method::Post, "/transfer/originator/get")
        .request_body
        .as_ref()
        .unwrap();
    assert_eq!(body.content.len(), 1);
}

#[test]
fn swagger2_form_data_becomes_a_form_body() {
    let slack = load("slack-web-api.json");
    assert_eq!(slack.version, SpecVersion::Swagger2);
    let post = op(&slack, Method::Post, "/chat.postMessage");
    let body = post.request_body.as_ref().expect("a form body");
    assert_eq!(
        body.content[0].media_type,
        "application/x-www-form-urlencoded"
    );
    let schema = body.content[0].schema.as_ref().unwrap();
    assert_eq!(schema["type"], "object");
    assert!(schema["properties"]["channel"].is_object());
    assert!(
        post.parameters
            .iter()
            .all(|p| p.location == ParamLocation::Header),
        "{:?}",
        post.parameters
    );
}

#[test]
fn swagger2_collection_formats_map_to_styles() {
    let petstore = load("oai-petstore-expanded-v2.yaml");
    let tags = &op(&petstore, Method::Get, "/pets").parameters[0];
    assert_eq!(
        (tags.name.as_str(), tags.style, tags.explode),
        ("tags", ParamStyle::Form, false)
    );
    let docker = load("docker-engine.yaml");
    let multi = docker
        .operations
        .iter()
        .flat_map(|o| &o.parameters)
        .find(|p| p.schema.as_ref().is_some_and(|s| s["type"] == "array") && p.explode)
        .expect("a collectionFormat: multi parameter");
    assert_eq!(multi.style, ParamStyle::Form);
}

#[test]
fn swagger2_response_examples_are_keyed_by_media_type() {
    let books = load("nytimes-books.yaml");
    let overview = op(&books, Method::Get, "/lists/overview.json");
    let ok = &overview.responses[0];
    assert_eq!(ok.status, StatusKey::Code(200));
    assert_eq!(ok.content[0].media_type, "application/json");
    assert_eq!(ok.content[0].example.as_ref().unwrap()["status"], "OK");
}

#[test]
fn unquoted_integer_status_keys_keep_declaration_order() {
    let asana = load("asana-oas.yaml");
    let statuses: Vec<StatusKey> = op(&asana, Method::Get, "/attachments/{attachment_gid}")
        .responses
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses[0], StatusKey::Code(200));
    assert!(statuses.contains(&StatusKey::Code(404)), "{statuses:?}");
    let discord = load("discord-openapi.json");
    assert!(
        discord
            .operations
            .iter()
            .flat_map(|o| &o.responses)
            .any(|r| r.status == StatusKey::Range(4))
    );
}

#[test]
fn named_examples_and_callbacks_are_resolved() {
    let pagerduty = load("pagerduty-rest.json");
    let extensions = op(&pagerduty, Method::Post, "/extensions");
    assert_eq!(extensions.callbacks.len(), 2);
    let with_examples = pagerduty
        .operations
        .iter()
        .flat_map(|o| &o.responses)
        .flat_map(|r| &r.content)
        .filter(|m| !m.examples.is_empty())
        .count();
    assert!(with_examples > 100, "{with_examples}");
    let callback = load("oai-callback-example.yaml");
    assert_eq!(
        callback.operations[0].callbacks[0].expression,
        "{$request.query.callbackUrl}/data"
    );
}

#[test]
fn security_schemes_and_requirements_are_read() {
    let plaid = load("plaid-2020-09-14.yaml");
    assert_eq!(plaid.security.len(), 1);
    assert_eq!(plaid.security[0].schemes.len(), 3);
    let stripe = load("stripe-spec3.yaml");
    assert_eq!(stripe.security.len(), 2);
    assert!(
        stripe
            .security_schemes
            .iter()
            .any(|(_, s)| matches!(s, spec::SecurityScheme::Http { scheme } if scheme == "bearer"))
    );
}
