//! The kinds of description the loader reads: Swagger 2.0, OpenAPI 3.0 and 3.1, JSON and
//! YAML (with anchors, aliases and merge keys); path- and operation-level parameters; OAS 3
//! `servers` and Swagger `basePath` as path prefixes.

mod common;

use serde_json::json;
use spec::{Method, ParamLocation, ParamStyle, SpecVersion, StatusKey};

use common::{
    TestServer, load_ok, load_path_ok, op, path_str, resolve, response_schema, write_files,
};

const SWAGGER: &str = r##"swagger: 2.0
info: {title: store, version: "1.0"}
basePath: /api/v2/
consumes: [application/json]
produces: [application/json, application/xml]
parameters:
  PageSize: {name: pageSize, in: query, type: integer, maximum: 100, default: 20}
responses:
  Conflict:
    description: already there
    schema: {type: object, properties: {reason: {type: string}}}
    examples: {application/json: {reason: duplicate name}}
definitions:
  Pet:
    type: object
    required: [name]
    properties:
      name: {type: string}
      tags: {type: array, items: {$ref: "#/definitions/Tag"}}
  Tag: {type: string, maxLength: 12}
paths:
  /pets:
    parameters:
      - $ref: "#/parameters/PageSize"
      - {name: X-Request-Id, in: header, type: string}
    get:
      parameters:
        - {name: pageSize, in: query, type: integer, maximum: 10}
        - {name: tags, in: query, type: array, items: {type: string}, collectionFormat: pipes}
      responses:
        "200":
          description: pets
          schema: {type: array, items: {$ref: "#/definitions/Pet"}}
          examples:
            application/json: [{name: Rex}]
            text/csv: "name\nRex"
    post:
      consumes: [application/json, text/json]
      parameters:
        - {name: pet, in: body, required: true, schema: {$ref: "#/definitions/Pet"}}
      responses:
        "201": {description: created, schema: {$ref: "#/definitions/Pet"}}
        "409": {$ref: "#/responses/Conflict"}
  /pets/{id}/photo:
    post:
      consumes: [multipart/form-data]
      produces: [text/plain]
      parameters:
        - {name: id, in: path, type: integer}
        - {name: file, in: formData, type: file, required: true}
        - {name: caption, in: formData, type: string}
      responses:
        "200": {description: stored, schema: {type: string}}
  /pets/{id}/name:
    put:
      parameters:
        - {name: id, in: path, type: integer}
        - {name: name, in: formData, type: string, required: true}
      responses:
        "204": {description: renamed}
"##;

#[test]
fn swagger2_definitions_media_types_base_path_and_parameters() {
    let api = load_ok(SWAGGER);
    assert_eq!(api.version, SpecVersion::Swagger2);
    assert_eq!(api.base_paths, ["/api/v2"]);
    assert!(api.warnings.is_empty(), "{:?}", api.warnings);

    let list = op(&api, Method::Get, "/pets");
    let params: Vec<(&str, ParamLocation)> = list
        .parameters
        .iter()
        .map(|p| (p.name.as_str(), p.location))
        .collect();
    assert_eq!(
        params,
        [
            ("pageSize", ParamLocation::Query),
            ("X-Request-Id", ParamLocation::Header),
            ("tags", ParamLocation::Query)
        ]
    );
    // The operation's pageSize replaces the path-level one from #/parameters.
    assert_eq!(
        list.parameters[0].schema,
        Some(json!({"type": "integer", "maximum": 10}))
    );
    assert_eq!(list.parameters[2].style, ParamStyle::PipeDelimited);
    let ok = &list.responses[0];
    let types: Vec<&str> = ok.content.iter().map(|m| m.media_type.as_str()).collect();
    assert_eq!(types, ["application/json", "application/xml", "text/csv"]);
    assert_eq!(ok.content[0].example, Some(json!([{"name": "Rex"}])));
    assert_eq!(ok.content[1].example, None);
    assert_eq!(ok.content[2].example, Some(json!("name\nRex")));
    let pet = resolve(&api, &response_schema(list, 200)["items"]);
    assert_eq!(pet["required"], json!(["name"]));
    assert_eq!(
        resolve(&api, &pet["properties"]["tags"]["items"]),
        &json!({"type": "string", "maxLength": 12})
    );

    let create = op(&api, Method::Post, "/pets");
    // The path-level parameters apply to every operation of the path; the body parameter
    // becomes the request body.
    let params: Vec<(&str, Option<serde_json::Value>)> = create
        .parameters
        .iter()
        .map(|p| (p.name.as_str(), p.schema.clone()))
        .collect();
    assert_eq!(
        params,
        [
            (
                "pageSize",
                Some(json!({"type": "integer", "maximum": 100, "default": 20}))
            ),
            ("X-Request-Id", Some(json!({"type": "string"}))),
        ]
    );
    let body = create.request_body.as_ref().expect("the body parameter");
    assert!(body.required);
    let types: Vec<&str> = body.content.iter().map(|m| m.media_type.as_str()).collect();
    assert_eq!(types, ["application/json", "text/json"]);
    assert_eq!(
        resolve(&api, body.content[0].schema.as_ref().unwrap())["required"],
        json!(["name"])
    );
    let created = &create.responses[0];
    assert_eq!(created.status, StatusKey::Code(201));
    assert_eq!(created.content.len(), 2, "the document-wide produces");
    let conflict = &create.responses[1];
    assert_eq!(conflict.status, StatusKey::Code(409));
    assert_eq!(conflict.description, "already there");
    assert_eq!(
        conflict.content[0].example,
        Some(json!({"reason": "duplicate name"}))
    );
    assert_eq!(
        conflict.content[1].schema,
        Some(json!({"type": "object", "properties": {"reason": {"type": "string"}}}))
    );

    let photo = op(&api, Method::Post, "/pets/{id}/photo");
    assert_eq!(photo.parameters.len(), 1);
    assert!(photo.parameters[0].required, "path parameters are required");
    let upload = photo.request_body.as_ref().expect("the form");
    assert_eq!(upload.content.len(), 1);
    assert_eq!(upload.content[0].media_type, "multipart/form-data");
    assert_eq!(
        upload.content[0].schema,
        Some(json!({
            "type": "object",
            "properties": {
                "file": {"type": "string", "format": "binary"},
                "caption": {"type": "string"}
            },
            "required": ["file"]
        }))
    );
    assert_eq!(photo.responses[0].content[0].media_type, "text/plain");

    let rename = op(&api, Method::Put, "/pets/{id}/name");
    let form = rename.request_body.as_ref().expect("the form");
    assert_eq!(
        form.content[0].media_type,
        "application/x-www-form-urlencoded"
    );
    assert!(form.required);
    assert!(rename.responses[0].content.is_empty(), "no schema, no body");
}

#[test]
fn swagger2_json_with_definitions_in_another_file() {
    let root = r##"{
  "swagger": "2.0",
  "info": {"title": "json store", "version": "1"},
  "basePath": "/",
  "paths": {
    "/orders/{id}": {
      "get": {
        "produces": ["application/json"],
        "parameters": [{"name": "id", "in": "path", "type": "string", "format": "uuid"}],
        "responses": {
          "200": {"description": "an order", "schema": {"$ref": "definitions.json#/Order"}},
          "404": {"description": "no such order"}
        }
      }
    }
  }
}"##;
    let definitions = r##"{
  "Order": {"type": "object", "properties": {"lines": {"type": "array",
      "items": {"$ref": "#/Line"}}}},
  "Line": {"type": "object", "properties": {"sku": {"type": "string"}}}
}"##;
    let dir = write_files(&[("api.json", root), ("definitions.json", definitions)]);
    let api = load_path_ok(&path_str(dir.path(), "api.json"));
    assert_eq!(api.version, SpecVersion::Swagger2);
    assert!(api.base_paths.is_empty(), "a basePath of / is no prefix");
    let get = op(&api, Method::Get, "/orders/{id}");
    assert_eq!(
        get.parameters[0].schema,
        Some(json!({"type": "string", "format": "uuid"}))
    );
    let order = resolve(&api, response_schema(get, 200));
    let line = resolve(&api, &order["properties"]["lines"]["items"]);
    assert_eq!(line["properties"]["sku"]["type"], "string");
    assert_eq!(get.responses[1].status, StatusKey::Code(404));
    assert!(get.responses[1].content.is_empty());
}

#[test]
fn openapi31_json_with_servers_as_path_prefixes() {
    let text = r##"{
  "openapi": "3.1.0",
  "info": {"title": "json 3.1", "version": "2"},
  "servers": [
    {"url": "https://api.example.com/v3/"},
    {"url": "/v3"},
    {"url": "{scheme}://example.com/{version}", "variables": {
      "scheme": {"default": "https"}, "version": {"default": "v4"}}},
    {"url": "https://example.com"}
  ],
  "paths": {
    "/items": {
      "get": {
        "responses": {
          "200": {"description": "ok", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Item"}}}}
        }
      }
    }
  },
  "components": {"schemas": {"Item": {"type": ["string", "null"]}}}
}"##;
    let api = load_ok(text);
    assert_eq!(api.version, SpecVersion::OpenApi31);
    assert_eq!(api.title, "json 3.1");
    assert_eq!(api.api_version, "2");
    assert_eq!(api.base_paths, ["/v3", "/v4"]);
    let items = op(&api, Method::Get, "/items");
    assert_eq!(
        resolve(&api, response_schema(items, 200)),
        &json!({"type": ["string", "null"]})
    );
    assert_eq!(api.operation_base_paths(items), ["/v3", "/v4"]);
}

#[test]
fn relative_servers_of_a_url_document_resolve_against_its_url() {
    let text = r##"openapi: 3.0.3
info: {title: served, version: "1"}
servers: [{url: v1}]
paths:
  /ping:
    get:
      responses: {"204": {description: pong}}
"##;
    let server = TestServer::start(&[("/specs/api.yaml", 200, text)]);
    let api = load_path_ok(&server.url("/specs/api.yaml"));
    assert_eq!(api.base_paths, ["/specs/v1"]);
}

#[test]
fn operation_and_path_item_servers_override_the_root_servers() {
    let text = r##"openapi: 3.0.3
info: {title: servers, version: "1"}
servers: [{url: /api}]
paths:
  /files:
    servers: [{url: https://files.example.com/storage}]
    get:
      responses: {"204": {description: listed}}
    post:
      servers: [{url: /uploads}]
      responses: {"204": {description: stored}}
  /ping:
    get:
      responses: {"204": {description: pong}}
"##;
    let api = load_ok(text);
    assert_eq!(api.base_paths, ["/api"]);
    let list = op(&api, Method::Get, "/files");
    assert_eq!(api.operation_base_paths(list), ["/storage"]);
    let upload = op(&api, Method::Post, "/files");
    assert_eq!(api.operation_base_paths(upload), ["/uploads"]);
    let ping = op(&api, Method::Get, "/ping");
    assert_eq!(api.operation_base_paths(ping), ["/api"]);
}

const PARAMETERS: &str = r##"openapi: 3.0.3
info: {title: parameters, version: "1"}
paths:
  /orders/{id}:
    parameters:
      - $ref: "#/components/parameters/OrderId"
      - $ref: "#/components/parameters/Limit"
      - {name: limit, in: header, schema: {type: string}}
    get:
      parameters:
        - {name: limit, in: query, schema: {type: integer, maximum: 5}}
        - $ref: "#/components/parameters/Verbose"
      responses: {"204": {description: none}}
    delete:
      parameters:
        - $ref: "#/components/parameters/LegacyId"
      responses: {"204": {description: none}}
components:
  parameters:
    OrderId: {name: id, in: path, required: true, schema: {type: string, format: uuid}}
    LegacyId: {name: id, in: path, required: true, schema: {type: integer}}
    Limit: {name: limit, in: query, schema: {type: integer, maximum: 100}}
    Verbose:
      name: verbose
      in: query
      style: form
      explode: false
      schema: {type: array, items: {type: string}}
"##;

#[test]
fn operation_parameters_override_path_parameters_by_name_and_location() {
    let api = load_ok(PARAMETERS);
    let summary = |method| {
        op(&api, method, "/orders/{id}")
            .parameters
            .iter()
            .map(|p| (p.name.clone(), p.location, p.schema.clone().unwrap()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        summary(Method::Get),
        [
            (
                "id".to_owned(),
                ParamLocation::Path,
                json!({"type": "string", "format": "uuid"})
            ),
            (
                "limit".to_owned(),
                ParamLocation::Query,
                json!({"type": "integer", "maximum": 5})
            ),
            (
                "limit".to_owned(),
                ParamLocation::Header,
                json!({"type": "string"})
            ),
            (
                "verbose".to_owned(),
                ParamLocation::Query,
                json!({"type": "array", "items": {"type": "string"}})
            ),
        ]
    );
    let get = op(&api, Method::Get, "/orders/{id}");
    assert_eq!(get.parameters[3].style, ParamStyle::Form);
    assert!(!get.parameters[3].explode);
    assert!(get.parameters[1].explode, "form explodes by default");
    assert_eq!(
        summary(Method::Delete),
        [
            (
                "id".to_owned(),
                ParamLocation::Path,
                json!({"type": "integer"})
            ),
            (
                "limit".to_owned(),
                ParamLocation::Query,
                json!({"type": "integer", "maximum": 100})
            ),
            (
                "limit".to_owned(),
                ParamLocation::Header,
                json!({"type": "string"})
            ),
        ]
    );
}

#[test]
fn header_parameters_override_without_regard_to_case() {
    let text = r##"openapi: 3.0.3
info: {title: headers, version: "1"}
paths:
  /a:
    parameters:
      - {name: X-Tenant, in: header, schema: {type: string}}
    get:
      parameters:
        - {name: x-tenant, in: header, required: true, schema: {type: string, maxLength: 3}}
      responses: {"204": {description: none}}
"##;
    let api = load_ok(text);
    let params = &op(&api, Method::Get, "/a").parameters;
    assert_eq!(params.len(), 1);
    assert_eq!(params[0].name, "x-tenant");
    assert!(params[0].required);
}

const ANCHORS: &str = r##"openapi: 3.0.3
info: {title: anchors, version: "1"}
x-defs:
  error-response: &error
    description: something went wrong
    content:
      application/json:
        schema: {$ref: "#/components/schemas/Error"}
  paging: &paging
    - {name: page, in: query, schema: {type: integer, minimum: 1}}
    - {name: size, in: query, schema: {type: integer, maximum: 50}}
  base-pet: &basePet
    type: object
    required: [name]
    properties:
      name: {type: string}
paths:
  /dogs:
    get:
      parameters: *paging
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Dog"}
        "500": *error
  /cats:
    get:
      parameters: *paging
      responses:
        default:
          <<: *error
          description: overridden description
components:
  schemas:
    Error: {type: object, properties: {message: {type: string}}}
    Dog:
      <<: *basePet
      properties:
        name: {type: string}
        barks: {type: boolean}
"##;

#[test]
fn yaml_anchors_aliases_and_merge_keys_are_resolved_before_reading() {
    let api = load_ok(ANCHORS);
    assert!(api.warnings.is_empty(), "{:?}", api.warnings);
    for path in ["/dogs", "/cats"] {
        let names: Vec<&str> = op(&api, Method::Get, path)
            .parameters
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, ["page", "size"], "{path}");
    }
    let dogs = op(&api, Method::Get, "/dogs");
    let failure = &dogs.responses[1];
    assert_eq!(failure.status, StatusKey::Code(500));
    assert_eq!(failure.description, "something went wrong");
    let error = resolve(&api, failure.content[0].schema.as_ref().unwrap());
    assert_eq!(error["properties"]["message"]["type"], "string");

    let dog = resolve(&api, response_schema(dogs, 200));
    assert_eq!(dog["type"], "object", "merged from the anchor");
    assert_eq!(dog["required"], json!(["name"]), "merged from the anchor");
    let properties: Vec<&String> = dog["properties"].as_object().unwrap().keys().collect();
    assert_eq!(
        properties,
        ["name", "barks"],
        "the mapping's own entry wins"
    );

    let cats = op(&api, Method::Get, "/cats");
    let fallback = &cats.responses[0];
    assert_eq!(fallback.status, StatusKey::Default);
    assert_eq!(fallback.description, "overridden description");
    assert_eq!(
        resolve(&api, fallback.content[0].schema.as_ref().unwrap())["type"],
        "object"
    );
    assert!(
        !api.root.to_string().contains("<<"),
        "no merge key is left in the document"
    );
}

#[test]
fn yaml_anchors_work_in_referenced_files_too() {
    let root = r##"openapi: 3.0.3
info: {title: anchors across files, version: "1"}
paths:
  /a:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "models.yaml#/Extended"}
"##;
    let models = r##"Base: &base
  type: object
  properties:
    id: {type: integer}
Extended:
  <<: *base
  required: [id]
"##;
    let dir = write_files(&[("api.yaml", root), ("models.yaml", models)]);
    let api = load_path_ok(&path_str(dir.path(), "api.yaml"));
    let extended = resolve(&api, response_schema(op(&api, Method::Get, "/a"), 200));
    assert_eq!(
        extended,
        &json!({"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]})
    );
}

#[test]
fn openapi30_yaml_request_bodies_and_responses_by_ref() {
    let text = r##"openapi: 3.0.3
info: {title: bodies, version: "1"}
paths:
  /notes:
    post:
      requestBody: {$ref: "#/components/requestBodies/Note"}
      responses:
        "201": {$ref: "#/components/responses/Created"}
        4XX: {$ref: "#/components/responses/Problem"}
components:
  schemas:
    Note: {type: object, properties: {text: {type: string, maxLength: 140}}}
  requestBodies:
    Note:
      required: true
      content:
        application/json:
          schema: {$ref: "#/components/schemas/Note"}
          example: {text: hello}
  responses:
    Created:
      description: created
      headers:
        Location: {$ref: "#/components/headers/Location"}
      content:
        application/json:
          schema: {$ref: "#/components/schemas/Note"}
    Problem:
      description: a problem
  headers:
    Location: {required: true, schema: {type: string, format: uri}}
"##;
    let api = load_ok(text);
    assert_eq!(api.version, SpecVersion::OpenApi30);
    let create = op(&api, Method::Post, "/notes");
    let body = create.request_body.as_ref().expect("a request body");
    assert!(body.required);
    assert_eq!(body.content[0].example, Some(json!({"text": "hello"})));
    assert_eq!(
        resolve(&api, body.content[0].schema.as_ref().unwrap())["properties"]["text"]["maxLength"],
        140
    );
    let created = &create.responses[0];
    assert_eq!(created.description, "created");
    assert_eq!(created.headers.len(), 1);
    assert_eq!(created.headers[0].name, "Location");
    assert!(created.headers[0].required);
    assert_eq!(
        created.headers[0].schema,
        Some(json!({"type": "string", "format": "uri"}))
    );
    assert_eq!(create.responses[1].status, StatusKey::Range(4));
    assert_eq!(create.responses[1].description, "a problem");
}

#[test]
fn yaml_local_tags_are_ignored_and_core_tags_applied() {
    let text = r##"openapi: 3.0.3
info: {title: tags, version: !!str 1.0}
paths:
  /a:
    get:
      summary: !summary listed things
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: !schema {type: integer, maximum: !!int "7"}
"##;
    let api = load_ok(text);
    assert_eq!(api.api_version, "1.0");
    let get = op(&api, Method::Get, "/a");
    assert_eq!(get.summary.as_deref(), Some("listed things"));
    assert_eq!(
        response_schema(get, 200),
        &json!({"type": "integer", "maximum": 7})
    );
}
