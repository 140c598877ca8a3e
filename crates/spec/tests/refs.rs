//! `$ref` resolution: local pointers, other files relative to the referring document, URLs,
//! references inside referenced documents, circular schemas and reference cycles.

mod common;

use std::path::{Component, Path};
use std::time::Duration;

use serde_json::json;
use spec::{Api, Method, ParamLocation};

use common::{
    TestServer, all_refs, line_of, load_path_err, load_path_ok, load_within, only, op, path_str,
    resolve, response_schema, write_files,
};

/// Long enough for a slow machine, short enough that a loop is noticed.
const LIMIT: Duration = Duration::from_secs(20);

/// Every `$ref` of the bundled document is local and points at something.
fn assert_all_refs_local(api: &Api) {
    for reference in all_refs(&api.root) {
        assert!(
            reference.starts_with('#'),
            "non-local $ref after loading: {reference}"
        );
        assert!(
            spec::resolve_ref(&api.root, &reference).is_some(),
            "dangling $ref after loading: {reference}"
        );
    }
}

const SPLIT_API: &str = r##"openapi: 3.0.3
info: {title: pets, version: "1"}
paths:
  /pets/{id}:
    get:
      responses:
        "200":
          description: one pet
          content:
            application/json:
              schema:
                $ref: "models.yaml#/components/schemas/Pet"
  /pets/{id}/raw:
    get:
      responses:
        "200":
          description: the whole file
          content:
            application/json:
              schema:
                $ref: pet-file.yaml
"##;

const SPLIT_MODELS: &str = r##"components:
  schemas:
    Pet:
      type: object
      required: [name]
      properties:
        name: {type: string, minLength: 2}
        owner:
          $ref: "#/components/schemas/Owner"
    Owner:
      type: object
      properties:
        email: {type: string, format: email}
"##;

const PET_FILE: &str = "type: object\nproperties:\n  id: {type: integer, format: int64}\n";

#[test]
fn a_ref_into_another_file_and_a_whole_file_ref_are_bundled() {
    let dir = write_files(&[
        ("api.yaml", SPLIT_API),
        ("models.yaml", SPLIT_MODELS),
        ("pet-file.yaml", PET_FILE),
    ]);
    let api = load_path_ok(&path_str(dir.path(), "api.yaml"));
    assert!(api.warnings.is_empty(), "{:?}", api.warnings);

    let one = op(&api, Method::Get, "/pets/{id}");
    let schema = response_schema(one, 200);
    let reference = schema["$ref"].as_str().expect("the schema stays a $ref");
    assert!(
        reference.starts_with("#/x-mockloop-bundled/"),
        "rewritten to a local pointer: {reference}"
    );
    let pet = resolve(&api, schema);
    assert_eq!(pet["required"], json!(["name"]));
    assert_eq!(
        pet["properties"]["name"],
        json!({"type": "string", "minLength": 2})
    );
    // A local ref inside models.yaml points into models.yaml, not into the root.
    let owner = resolve(&api, &pet["properties"]["owner"]);
    assert_eq!(owner["properties"]["email"]["format"], "email");

    let raw = op(&api, Method::Get, "/pets/{id}/raw");
    assert_eq!(
        resolve(&api, response_schema(raw, 200)),
        &json!({"type": "object", "properties": {"id": {"type": "integer", "format": "int64"}}})
    );
    assert_all_refs_local(&api);
}

/// `path` written relative to the working directory of the test process.
fn relative_to_cwd(path: &Path) -> String {
    let cwd = std::env::current_dir().expect("working directory");
    let ups = cwd
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count();
    let mut relative = "../".repeat(ups);
    relative.push_str(path.to_str().expect("utf-8 path").trim_start_matches('/'));
    relative
}

#[test]
fn refs_inside_referenced_files_resolve_against_that_file_not_the_root_or_cwd() {
    let dir = write_files(&[
        (
            "api.yaml",
            r##"openapi: 3.0.3
info: {title: nested, version: "1"}
paths:
  /pets:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "schemas/pet.yaml#/Pet"}
"##,
        ),
        (
            "schemas/pet.yaml",
            r##"Pet:
  type: object
  properties:
    tag: {$ref: "common/tag.yaml#/Tag"}
"##,
        ),
        (
            "schemas/common/tag.yaml",
            "Tag: {type: string, enum: [from-schemas-common]}\n",
        ),
        // Decoys: where the ref would land if it were resolved against the root document.
        (
            "common/tag.yaml",
            "Tag: {type: string, enum: [wrong-folder]}\n",
        ),
    ]);
    let source = relative_to_cwd(&dir.path().join("api.yaml"));
    assert!(source.starts_with("../"), "{source}");
    let api = load_path_ok(&source);
    assert_eq!(api.source, source);
    let pet = resolve(&api, response_schema(op(&api, Method::Get, "/pets"), 200));
    let tag = resolve(&api, &pet["properties"]["tag"]);
    assert_eq!(tag["enum"], json!(["from-schemas-common"]));
    assert_all_refs_local(&api);
}

#[test]
fn path_items_parameters_and_responses_can_live_in_other_files() {
    let dir = write_files(&[
        (
            "api.yaml",
            "openapi: 3.1.0\ninfo: {title: split, version: '1'}\npaths:\n  /pets:\n    $ref: \
                paths/pets.yaml\n",
        ),
        (
            "paths/pets.yaml",
            r##"parameters:
  - $ref: "../parameters.yaml#/TraceId"
get:
  operationId: listPets
  parameters:
    - $ref: "../parameters.yaml#/Limit"
  responses:
    "200":
      $ref: "../responses.yaml#/PetList"
    "404":
      $ref: "../responses.yaml#/NotFound"
"##,
        ),
        (
            "parameters.yaml",
            r##"Limit: {name: limit, in: query, schema: {type: integer, maximum: 50}}
TraceId:
  name: X-Trace-Id
  in: header
  required: true
  schema: {type: string, format: uuid}
"##,
        ),
        (
            "responses.yaml",
            r##"PetList:
  description: the pets
  content:
    application/json:
      schema: {type: array, items: {$ref: "schemas.yaml#/Pet"}}
NotFound:
  description: nothing here
  content:
    application/problem+json:
      schema: {$ref: "#/Problem"}
Problem: {type: object, properties: {title: {type: string}}}
"##,
        ),
        (
            "schemas.yaml",
            "Pet: {type: object, properties: {name: {type: string}}}\n",
        ),
    ]);
    let api = load_path_ok(&path_str(dir.path(), "api.yaml"));
    assert!(api.warnings.is_empty(), "{:?}", api.warnings);
    let list = op(&api, Method::Get, "/pets");
    assert_eq!(list.operation_id.as_deref(), Some("listPets"));
    let params: Vec<(&str, ParamLocation, bool)> = list
        .parameters
        .iter()
        .map(|p| (p.name.as_str(), p.location, p.required))
        .collect();
    assert_eq!(
        params,
        [
            ("X-Trace-Id", ParamLocation::Header, true),
            ("limit", ParamLocation::Query, false)
        ]
    );
    assert_eq!(
        list.parameters[0].schema,
        Some(json!({"type": "string", "format": "uuid"}))
    );
    assert_eq!(list.parameters[1].schema.as_ref().unwrap()["maximum"], 50);

    let ok = &list.responses[0];
    assert_eq!(ok.description, "the pets");
    let items = resolve(&api, &response_schema(list, 200)["items"]);
    assert_eq!(items["properties"]["name"]["type"], "string");
    let missing = &list.responses[1];
    assert_eq!(missing.description, "nothing here");
    assert_eq!(missing.content[0].media_type, "application/problem+json");
    let problem = resolve(&api, missing.content[0].schema.as_ref().unwrap());
    assert_eq!(problem["properties"]["title"]["type"], "string");
    assert_all_refs_local(&api);
}

#[test]
fn discriminator_mappings_into_other_files_are_rewritten() {
    let dir = write_files(&[
        (
            "api.yaml",
            r##"openapi: 3.0.3
info: {title: zoo, version: "1"}
paths:
  /pet:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                oneOf:
                  - $ref: "animals.yaml#/Cat"
                  - $ref: "animals.yaml#/Dog"
                discriminator:
                  propertyName: kind
                  mapping:
                    cat: "animals.yaml#/Cat"
                    dog: "animals.yaml#/Dog"
"##,
        ),
        (
            "animals.yaml",
            r##"Cat: {type: object, properties: {kind: {type: string, enum: [cat]}}}
Dog: {type: object, properties: {kind: {type: string, enum: [dog]}}}
"##,
        ),
    ]);
    let api = load_path_ok(&path_str(dir.path(), "api.yaml"));
    let schema = response_schema(op(&api, Method::Get, "/pet"), 200);
    let mapping = &schema["discriminator"]["mapping"];
    for (name, kind) in [("cat", "cat"), ("dog", "dog")] {
        let target = mapping[name].as_str().expect("a mapping value");
        assert!(target.starts_with("#/"), "rewritten mapping: {target}");
        let animal = spec::resolve_ref(&api.root, target).expect("the mapping resolves");
        assert_eq!(animal["properties"]["kind"]["enum"], json!([kind]));
    }
    assert_eq!(
        resolve(&api, &schema["oneOf"][1])["properties"]["kind"]["enum"],
        json!(["dog"])
    );
}

#[test]
fn ref_like_data_in_referenced_example_files_is_left_alone() {
    let dir = write_files(&[
        (
            "api.yaml",
            r##"openapi: 3.0.3
info: {title: examples, version: "1"}
paths:
  /files:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object}
              examples:
                stored:
                  $ref: examples/stored.yaml
                listed:
                  $ref: "examples/all.yaml#/second"
"##,
        ),
        (
            "examples/stored.yaml",
            r##"summary: a stored record whose data looks like a reference
value:
  $ref: "not a reference, just data"
  format: pdf
"##,
        ),
        (
            "examples/all.yaml",
            r##"first: {value: 1}
second:
  value: {$ref: "data too", default: 3}
"##,
        ),
    ]);
    let api = load_path_ok(&path_str(dir.path(), "api.yaml"));
    assert!(api.warnings.is_empty(), "{:?}", api.warnings);
    let media = &op(&api, Method::Get, "/files").responses[0].content[0];
    assert_eq!(
        media.examples,
        [
            (
                "stored".to_owned(),
                json!({"$ref": "not a reference, just data", "format": "pdf"})
            ),
            (
                "listed".to_owned(),
                json!({"$ref": "data too", "default": 3})
            ),
        ]
    );
}

#[test]
fn bare_schema_files_may_name_schemas_like_keywords() {
    // A file of named schemas whose names are also keywords elsewhere ("default",
    // "example", "x-..."): the names are names, and refs inside them are refs.
    let dir = write_files(&[
        (
            "api.yaml",
            r##"openapi: 3.0.3
info: {title: names, version: "1"}
paths:
  /settings:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "names.yaml#/default"}
"##,
        ),
        (
            "names.yaml",
            r##"default:
  type: object
  properties:
    theme: {$ref: "#/example"}
example: {type: string, enum: [dark, light]}
"##,
        ),
    ]);
    let api = load_path_ok(&path_str(dir.path(), "api.yaml"));
    let settings = resolve(
        &api,
        response_schema(op(&api, Method::Get, "/settings"), 200),
    );
    let theme = resolve(&api, &settings["properties"]["theme"]);
    assert_eq!(theme["enum"], json!(["dark", "light"]));
    assert_all_refs_local(&api);
}

const SERVED_ROOT: &str = r##"openapi: 3.0.3
info: {title: served, version: "1"}
paths:
  /pets:
    get:
      parameters:
        - $ref: "../shared/params.yaml#/Limit"
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "models/pet.yaml#/PetList"}
  /pets/{id}:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "models/pet.yaml#/Pet"}
"##;

const SERVED_PET: &str = r##"Pet:
  type: object
  properties:
    tag: {$ref: "tag.json#/Tag"}
PetList: {type: array, items: {$ref: "#/Pet"}}
"##;

const SERVED_TAG: &str = r#"{"Tag": {"type": "string", "maxLength": 8}}"#;

const SERVED_PARAMS: &str = "Limit: {name: limit, in: query, schema: {type: integer}}\n";

#[test]
fn a_root_loaded_from_a_url_resolves_relative_refs_against_that_url() {
    let server = TestServer::start(&[
        ("/specs/api.yaml", 200, SERVED_ROOT),
        ("/specs/models/pet.yaml", 200, SERVED_PET),
        ("/specs/models/tag.json", 200, SERVED_TAG),
        ("/shared/params.yaml", 200, SERVED_PARAMS),
    ]);
    let url = server.url("/specs/api.yaml");
    let api = load_within(&url, LIMIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(api.source, url);
    assert!(api.warnings.is_empty(), "{:?}", api.warnings);

    let list = op(&api, Method::Get, "/pets");
    assert_eq!(list.parameters.len(), 1);
    assert_eq!(list.parameters[0].name, "limit");
    assert_eq!(list.parameters[0].schema, Some(json!({"type": "integer"})));
    let items = resolve(&api, &resolve(&api, response_schema(list, 200))["items"]);
    let tag = resolve(&api, &items["properties"]["tag"]);
    assert_eq!(tag, &json!({"type": "string", "maxLength": 8}));

    // pet.yaml is referenced three times (twice from the root, once from itself) but read
    // once; every document is fetched exactly once.
    for path in [
        "/specs/api.yaml",
        "/specs/models/pet.yaml",
        "/specs/models/tag.json",
        "/shared/params.yaml",
    ] {
        assert_eq!(server.hits(path), 1, "fetches of {path}");
    }
    assert_all_refs_local(&api);
}

#[test]
fn a_file_root_can_reference_documents_by_url() {
    let server = TestServer::start(&[
        (
            "/defs/pet.yaml",
            200,
            "Pet: {type: object, properties: {owner: {$ref: \"owner.yaml#/Owner\"}}}\n",
        ),
        (
            "/defs/owner.yaml",
            200,
            "Owner: {type: object, required: [login]}\n",
        ),
    ]);
    let root = format!(
        r##"openapi: 3.0.3
info: {{title: remote refs, version: "1"}}
paths:
  /pets:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {{$ref: "{}#/Pet"}}
"##,
        server.url("/defs/pet.yaml")
    );
    let dir = write_files(&[("api.yaml", &root)]);
    let api =
        load_within(&path_str(dir.path(), "api.yaml"), LIMIT).unwrap_or_else(|e| panic!("{e}"));
    let pet = resolve(&api, response_schema(op(&api, Method::Get, "/pets"), 200));
    let owner = resolve(&api, &pet["properties"]["owner"]);
    assert_eq!(owner["required"], json!(["login"]));
    assert_eq!(server.hits("/defs/owner.yaml"), 1);
}

#[test]
fn a_missing_url_is_an_error_naming_the_url_and_the_referring_place() {
    let server = TestServer::start(&[]);
    let gone = server.url("/gone.yaml");
    let root = format!(
        r##"openapi: 3.0.3
info: {{title: broken remote ref, version: "1"}}
paths:
  /pets:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                $ref: "{gone}#/Pet"
"##
    );
    let dir = write_files(&[("api.yaml", &root)]);
    let source = path_str(dir.path(), "api.yaml");
    let err = load_path_err(&source);
    let diag = only(&err);
    assert_eq!(diag.file, source);
    assert_eq!(
        diag.pointer,
        "/paths/~1pets/get/responses/200/content/application~1json/schema/$ref"
    );
    assert_eq!(diag.line, Some(line_of(&root, "$ref:")));
    assert!(diag.message.contains(&gone), "{}", diag.message);
    assert!(diag.message.contains("404"), "{}", diag.message);
    assert_eq!(server.hits("/gone.yaml"), 1);
}

#[test]
fn a_missing_root_url_is_an_error_naming_the_url() {
    let server = TestServer::start(&[]);
    let url = server.url("/specs/openapi.yaml");
    let err = load_path_err(&url);
    let diag = only(&err);
    assert_eq!(diag.file, url);
    assert!(diag.message.contains("404"), "{}", diag.message);
    assert!(err.to_string().starts_with(&url), "{err}");
}

#[test]
fn a_missing_sibling_of_a_url_document_names_the_resolved_url() {
    let root = r##"openapi: 3.0.3
info: {title: served, version: "1"}
paths:
  /pets:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "models/missing.yaml#/Pet"}
"##;
    let server = TestServer::start(&[("/specs/api.yaml", 200, root)]);
    let url = server.url("/specs/api.yaml");
    let err = load_path_err(&url);
    let diag = only(&err);
    assert_eq!(diag.file, url);
    assert_eq!(diag.line, Some(line_of(root, "missing.yaml")));
    let missing = server.url("/specs/models/missing.yaml");
    assert!(diag.message.contains(&missing), "{}", diag.message);
}

#[test]
fn a_document_read_over_http_cannot_pull_in_local_files() {
    let dir = write_files(&[(
        "secret.yaml",
        "Secret: {type: string, enum: [local-data]}\n",
    )]);
    let secret = url_of_file(&dir.path().join("secret.yaml"));
    let root = format!(
        r##"openapi: 3.0.3
info: {{title: served, version: "1"}}
paths:
  /leak:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {{$ref: "{secret}#/Secret"}}
"##
    );
    let server = TestServer::start(&[("/api.yaml", 200, &root)]);
    let url = server.url("/api.yaml");
    let err = load_path_err(&url);
    let diag = only(&err);
    assert_eq!(diag.file, url);
    assert_eq!(
        diag.pointer,
        "/paths/~1leak/get/responses/200/content/application~1json/schema/$ref"
    );
    assert!(diag.message.contains("local file"), "{}", diag.message);
}

fn url_of_file(path: &Path) -> String {
    format!("file://{}", path.to_str().expect("utf-8 path"))
}

#[test]
fn a_self_recursive_schema_loads() {
    let text = r##"openapi: 3.0.3
info: {title: tree, version: "1"}
paths:
  /tree:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Node"}
components:
  schemas:
    Node:
      type: object
      properties:
        value: {type: integer}
        children:
          type: array
          items: {$ref: "#/components/schemas/Node"}
"##;
    let dir = write_files(&[("api.yaml", text)]);
    let api =
        load_within(&path_str(dir.path(), "api.yaml"), LIMIT).unwrap_or_else(|e| panic!("{e}"));
    assert!(api.warnings.is_empty(), "{:?}", api.warnings);
    let node = resolve(&api, response_schema(op(&api, Method::Get, "/tree"), 200));
    let child = resolve(&api, &node["properties"]["children"]["items"]);
    assert!(std::ptr::eq(node, child), "the items are the node itself");
}

#[test]
fn mutually_recursive_schemas_across_files_load() {
    let dir = write_files(&[
        (
            "api.yaml",
            r##"openapi: 3.0.3
info: {title: people, version: "1"}
paths:
  /people/{id}:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Person"}
components:
  schemas:
    Person:
      type: object
      properties:
        employer: {$ref: "org.yaml#/Company"}
"##,
        ),
        (
            "org.yaml",
            r##"Company:
  type: object
  properties:
    staff:
      type: array
      items: {$ref: "api.yaml#/components/schemas/Person"}
    parent: {$ref: "#/Company"}
"##,
        ),
    ]);
    let api =
        load_within(&path_str(dir.path(), "api.yaml"), LIMIT).unwrap_or_else(|e| panic!("{e}"));
    let person = resolve(
        &api,
        response_schema(op(&api, Method::Get, "/people/{id}"), 200),
    );
    let company = resolve(&api, &person["properties"]["employer"]);
    let staff = &company["properties"]["staff"]["items"];
    // The way back into the root document is a plain root pointer.
    assert_eq!(staff["$ref"], "#/components/schemas/Person");
    assert!(std::ptr::eq(resolve(&api, staff), person));
    let parent = resolve(&api, &company["properties"]["parent"]);
    assert!(std::ptr::eq(parent, company));
}

#[test]
fn a_ref_cycle_that_never_reaches_a_value_is_an_error() {
    let text = r##"openapi: 3.0.3
info: {title: loop, version: "1"}
paths:
  /loop:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/a"}
components:
  schemas:
    a: {$ref: "#/components/schemas/b"}
    b: {$ref: "#/components/schemas/a"}
"##;
    let dir = write_files(&[("api.yaml", text)]);
    let source = path_str(dir.path(), "api.yaml");
    let err = load_within(&source, LIMIT).expect_err("a cycle of refs is not a schema");
    let diag = only(&err);
    assert_eq!(diag.file, source);
    assert_eq!(diag.pointer, "/components/schemas/a/$ref");
    assert_eq!(diag.line, Some(line_of(text, "    a: {$ref")));
    assert!(diag.message.contains("cycle"), "{}", diag.message);
    assert!(
        diag.message.contains("#/components/schemas/a")
            && diag.message.contains("#/components/schemas/b"),
        "{}",
        diag.message
    );
}

#[test]
fn a_schema_that_is_only_a_ref_to_itself_is_an_error() {
    let text = r##"openapi: 3.1.0
info: {title: loop, version: "1"}
paths: {}
components:
  schemas:
    Me: {$ref: "#/components/schemas/Me"}
"##;
    let dir = write_files(&[("api.yaml", text)]);
    let err = load_within(&path_str(dir.path(), "api.yaml"), LIMIT).expect_err("a self cycle");
    let diag = only(&err);
    assert_eq!(diag.pointer, "/components/schemas/Me/$ref");
    assert_eq!(diag.line, Some(6));
    assert!(diag.message.contains("cycle"), "{}", diag.message);
}

#[test]
fn a_ref_cycle_across_files_is_an_error_in_the_file_that_holds_it() {
    let dir = write_files(&[
        (
            "api.yaml",
            r##"openapi: 3.0.3
info: {title: loop, version: "1"}
paths:
  /loop:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "a.yaml#/A"}
"##,
        ),
        ("a.yaml", "# first\nA: {$ref: \"b.yaml#/B\"}\n"),
        ("b.yaml", "B:\n  $ref: \"a.yaml#/A\"\n"),
    ]);
    let err = load_within(&path_str(dir.path(), "api.yaml"), LIMIT).expect_err("a cycle");
    let diag = only(&err);
    assert_eq!(diag.file, path_str(dir.path(), "a.yaml"));
    assert_eq!(diag.pointer, "/A/$ref");
    assert_eq!(diag.line, Some(2));
    assert!(diag.message.contains("b.yaml#/B"), "{}", diag.message);
}

#[test]
fn a_parameter_ref_cycle_is_one_error_not_a_hang() {
    let text = r##"openapi: 3.0.3
info: {title: loop, version: "1"}
paths:
  /items:
    get:
      parameters:
        - $ref: "#/components/parameters/first"
      responses:
        "204": {description: none}
components:
  parameters:
    first: {$ref: "#/components/parameters/second"}
    second: {$ref: "#/components/parameters/first"}
"##;
    let dir = write_files(&[("api.yaml", text)]);
    let err = load_within(&path_str(dir.path(), "api.yaml"), LIMIT).expect_err("a cycle");
    let diag = only(&err);
    assert_eq!(diag.pointer, "/components/parameters/first/$ref");
    assert_eq!(diag.line, Some(line_of(text, "first: {$ref")));
    assert!(diag.message.contains("cycle"), "{}", diag.message);
}

#[test]
fn an_example_ref_cycle_is_a_warning_and_the_example_is_left_out() {
    let text = r##"openapi: 3.0.3
info: {title: loop, version: "1"}
paths:
  /things:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: string}
              examples:
                good: {value: fine}
                looping: {$ref: "#/components/examples/ping"}
components:
  examples:
    ping: {$ref: "#/components/examples/pong"}
    pong: {$ref: "#/components/examples/ping"}
"##;
    let dir = write_files(&[("api.yaml", text)]);
    let api = load_within(&path_str(dir.path(), "api.yaml"), LIMIT)
        .unwrap_or_else(|e| panic!("an example loop still allows serving: {e}"));
    let media = &op(&api, Method::Get, "/things").responses[0].content[0];
    assert_eq!(media.examples, [("good".to_owned(), json!("fine"))]);
    assert_eq!(api.warnings.len(), 1, "{:?}", api.warnings);
    let warning = &api.warnings[0];
    assert_eq!(warning.pointer, "/components/examples/ping/$ref");
    assert!(warning.message.contains("cycle"), "{}", warning.message);
}

#[test]
fn long_chains_of_refs_to_refs_resolve() {
    let mut text = String::from(
        "openapi: 3.0.3\ninfo: {title: chain, version: '1'}\npaths:\n  /chain:\n    get:\n      \
         parameters:\n        - $ref: '#/components/parameters/p0'\n      responses:\n        \
         '200':\n          description: ok\n          content:\n            application/json:\n\
         \x20             schema: {$ref: '#/components/schemas/s0'}\ncomponents:\n  schemas:\n",
    );
    for i in 0..10 {
        text.push_str(&format!(
            "    s{i}: {{$ref: '#/components/schemas/s{}'}}\n",
            i + 1
        ));
    }
    text.push_str("    s10: {type: string, const: end}\n  parameters:\n");
    for i in 0..10 {
        text.push_str(&format!(
            "    p{i}: {{$ref: '#/components/parameters/p{}'}}\n",
            i + 1
        ));
    }
    text.push_str("    p10: {name: q, in: query, schema: {type: string}}\n");
    let dir = write_files(&[("api.yaml", &text)]);
    let api =
        load_within(&path_str(dir.path(), "api.yaml"), LIMIT).unwrap_or_else(|e| panic!("{e}"));
    let chain = op(&api, Method::Get, "/chain");
    assert_eq!(resolve(&api, response_schema(chain, 200))["const"], "end");
    assert_eq!(chain.parameters.len(), 1);
    assert_eq!(chain.parameters[0].name, "q");
}

#[test]
fn ref_values_that_are_not_strings_are_errors() {
    let text = r##"openapi: 3.0.3
info: {title: bad ref, version: "1"}
paths:
  /x:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                $ref: [not, a, string]
"##;
    let dir = write_files(&[("api.yaml", text)]);
    let err = load_path_err(&path_str(dir.path(), "api.yaml"));
    let diag = only(&err);
    assert_eq!(
        diag.pointer,
        "/paths/~1x/get/responses/200/content/application~1json/schema/$ref"
    );
    assert_eq!(diag.line, Some(12));
    assert!(
        diag.message.contains("must be a string"),
        "{}",
        diag.message
    );
}

#[test]
fn unsupported_fragments_are_one_error_each() {
    let text = r##"openapi: 3.1.0
info: {title: anchors, version: "1"}
paths:
  /x:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#Pet"}
components:
  schemas:
    Pet: {$anchor: Pet, type: object}
"##;
    let dir = write_files(&[("api.yaml", text)]);
    let err = load_path_err(&path_str(dir.path(), "api.yaml"));
    let diag = only(&err);
    assert_eq!(diag.line, Some(11));
    assert!(
        diag.message.contains("only json pointer fragments"),
        "{}",
        diag.message
    );
}

#[test]
fn the_bundled_document_keeps_each_external_document_once() {
    let dir = write_files(&[
        (
            "api.yaml",
            r##"openapi: 3.0.3
info: {title: once, version: "1"}
paths:
  /a:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "./models.yaml#/A"}
  /b:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "sub/../models.yaml#/B"}
"##,
        ),
        ("models.yaml", "A: {type: string}\nB: {type: integer}\n"),
    ]);
    let api = load_path_ok(&path_str(dir.path(), "api.yaml"));
    let bundled = api.root["x-mockloop-bundled"]
        .as_object()
        .expect("external documents are bundled");
    assert_eq!(bundled.len(), 1, "one models.yaml, however it is spelled");
    let a = response_schema(op(&api, Method::Get, "/a"), 200);
    let b = response_schema(op(&api, Method::Get, "/b"), 200);
    assert_eq!(a["$ref"], "#/x-mockloop-bundled/1/A");
    assert_eq!(b["$ref"], "#/x-mockloop-bundled/1/B");
    assert_eq!(resolve(&api, b), &json!({"type": "integer"}));
    assert_eq!(resolve(&api, a), &json!({"type": "string"}));
}

#[test]
fn file_names_with_spaces_hashes_and_non_ascii_letters_resolve() {
    let dir = write_files(&[
        (
            "specs #1/api.yaml",
            r##"openapi: 3.0.3
info: {title: odd names, version: "1"}
paths:
  /a:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "my models/pet.yaml#/Pet"}
  /b:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "my%20models/caf%C3%A9.yaml#/Cafe"}
"##,
        ),
        (
            "specs #1/my models/pet.yaml",
            "Pet: {type: object, properties: {menu: {$ref: \"café.yaml#/Cafe\"}}}\n",
        ),
        (
            "specs #1/my models/café.yaml",
            "Cafe: {type: string, enum: [espresso]}\n",
        ),
    ]);
    let api = load_path_ok(&path_str(dir.path(), "specs #1/api.yaml"));
    let pet = resolve(&api, response_schema(op(&api, Method::Get, "/a"), 200));
    let menu = resolve(&api, &pet["properties"]["menu"]);
    assert_eq!(menu["enum"], json!(["espresso"]));
    let cafe = resolve(&api, response_schema(op(&api, Method::Get, "/b"), 200));
    assert!(
        std::ptr::eq(cafe, menu),
        "one café.yaml, however it is spelled"
    );
    assert_eq!(api.root["x-mockloop-bundled"].as_object().unwrap().len(), 2);
}

#[test]
fn a_root_named_with_dot_dot_is_not_read_twice_when_referenced_back() {
    let dir = write_files(&[
        (
            "specs/api.yaml",
            r##"openapi: 3.0.3
info: {title: back refs, version: "1"}
paths:
  /a:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "models.yaml#/Wrapper"}
components:
  schemas:
    Id: {type: string, format: uuid}
"##,
        ),
        (
            "specs/models.yaml",
            "Wrapper: {type: object, properties: {id: {$ref: \
                \"api.yaml#/components/schemas/Id\"}}}\n",
        ),
        ("other/placeholder.txt", ""),
    ]);
    let source = format!("{}/other/../specs/./api.yaml", dir.path().display());
    let api = load_path_ok(&source);
    assert_eq!(api.source, source);
    let wrapper = resolve(&api, response_schema(op(&api, Method::Get, "/a"), 200));
    assert_eq!(
        wrapper["properties"]["id"]["$ref"], "#/components/schemas/Id",
        "a reference back to the root is a root pointer"
    );
    assert_eq!(api.root["x-mockloop-bundled"].as_object().unwrap().len(), 1);
}

#[test]
fn a_server_that_never_answers_gives_up_within_the_fetch_timeout() {
    // Connections are queued by the kernel but never accepted or answered.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let url = format!("http://{}/api.yaml", listener.local_addr().unwrap());
    let options = spec::LoadOptions {
        fetch_timeout: Duration::from_millis(300),
        ..spec::LoadOptions::default()
    };
    let started = std::time::Instant::now();
    let err = spec::load(&url, &options).expect_err("no answer, no description");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let diag = only(&err);
    assert_eq!(diag.file, url);
    assert!(diag.message.contains("no answer"), "{}", diag.message);
    drop(listener);
}

#[test]
fn a_referenced_url_larger_than_the_limit_is_refused() {
    let big = format!("Pet:\n  description: \"{}\"\n", "x".repeat(4096));
    let root = r##"openapi: 3.0.3
info: {title: big ref, version: "1"}
paths:
  /a:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "big.yaml#/Pet"}
"##;
    let server = TestServer::start(&[("/api.yaml", 200, root), ("/big.yaml", 200, &big)]);
    let options = spec::LoadOptions {
        max_document_bytes: 2048,
        ..spec::LoadOptions::default()
    };
    let url = server.url("/api.yaml");
    let err = spec::load(&url, &options).expect_err("over the limit");
    let diag = only(&err);
    assert_eq!(diag.file, url);
    assert_eq!(diag.line, Some(11));
    assert!(
        diag.message.contains(&server.url("/big.yaml")),
        "{}",
        diag.message
    );
    assert!(
        diag.message.contains("limit of 2048 bytes"),
        "{}",
        diag.message
    );
}

#[test]
fn external_examples_of_a_url_document_are_fetched_but_never_from_local_files() {
    let dir = write_files(&[("secret.json", "{\"password\": \"hunter2\"}")]);
    let secret = url_of_file(&dir.path().join("secret.json"));
    let root = format!(
        r##"openapi: 3.0.3
info: {{title: served examples, version: "1"}}
paths:
  /a:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {{type: object}}
              examples:
                remote: {{externalValue: "examples/remote.json"}}
                local: {{externalValue: "{secret}"}}
"##
    );
    let server = TestServer::start(&[
        ("/specs/api.yaml", 200, &root),
        ("/specs/examples/remote.json", 200, "{\"id\": 7}"),
    ]);
    let api = load_path_ok(&server.url("/specs/api.yaml"));
    let media = &op(&api, Method::Get, "/a").responses[0].content[0];
    assert_eq!(media.examples, [("remote".to_owned(), json!({"id": 7}))]);
    assert_eq!(api.warnings.len(), 1, "{:?}", api.warnings);
    let warning = &api.warnings[0];
    assert!(
        warning.pointer.ends_with("/examples/local"),
        "{}",
        warning.pointer
    );
    assert!(
        warning.message.contains("local file"),
        "{}",
        warning.message
    );
    assert!(!warning.message.contains("hunter2"));
}
