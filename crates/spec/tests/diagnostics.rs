//! Descriptions that cannot be loaded give errors naming the file, the JSON pointer, the line
//! and the problem; problems that still allow serving are warnings.

mod common;

use serde_json::json;
use spec::{Method, SpecVersion};

use common::{TestServer, line_of, load_path_err, load_path_ok, only, op, path_str, write_files};

/// Writes `text` as `api.yaml` (plus `others`) and loads it, expecting failure; returns the
/// error and the root's path.
fn fails(text: &str, others: &[(&str, &str)]) -> (spec::LoadError, String, tempfile::TempDir) {
    let mut files = vec![("api.yaml", text)];
    files.extend_from_slice(others);
    let dir = write_files(&files);
    let source = path_str(dir.path(), "api.yaml");
    (load_path_err(&source), source, dir)
}

const DANGLING_LOCAL: &str = r##"openapi: 3.0.3
info: {title: dangling, version: "1"}
paths:
  /pets:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Missing"
components:
  schemas:
    Present: {type: string}
"##;

#[test]
fn a_dangling_local_ref_names_file_pointer_line_and_target() {
    let (err, source, _dir) = fails(DANGLING_LOCAL, &[]);
    let diag = only(&err);
    assert_eq!(diag.file, source);
    assert_eq!(
        diag.pointer,
        "/paths/~1pets/get/responses/200/content/application~1json/schema/$ref"
    );
    assert_eq!(diag.line, Some(12));
    assert_eq!(diag.column, Some(17));
    assert!(
        diag.message.contains("'#/components/schemas/Missing'"),
        "{}",
        diag.message
    );
    assert!(diag.message.contains("dangling"), "{}", diag.message);
    assert_eq!(
        err.to_string(),
        format!(
            "{source}:12:17 at \
                #/paths/~1pets/get/responses/200/content/application~1json/schema/$ref: {}",
            diag.message
        )
    );
}

#[test]
fn a_dangling_ref_in_json_gets_line_and_column() {
    let text = r##"{
  "openapi": "3.0.3",
  "info": {"title": "json", "version": "1"},
  "paths": {
    "/a": {
      "get": {
        "responses": {
          "200": {
            "description": "ok",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Nope"}}}
          }
        }
      }
    }
  }
}
"##;
    let dir = write_files(&[("api.json", text)]);
    let source = path_str(dir.path(), "api.json");
    let err = load_path_err(&source);
    let diag = only(&err);
    assert_eq!(diag.file, source);
    assert_eq!(diag.line, Some(10));
    let line = text.lines().nth(9).unwrap();
    let column = line.find("\"$ref\"").unwrap() + 1;
    assert_eq!(diag.column, Some(u32::try_from(column).unwrap()));
}

#[test]
fn a_dangling_pointer_into_another_file_names_that_file_and_pointer() {
    let text = r##"openapi: 3.0.3
info: {title: dangling, version: "1"}
paths:
  /pets:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "models.yaml#/components/schemas/Nope"}
"##;
    let (err, source, dir) = fails(
        text,
        &[(
            "models.yaml",
            "components:\n  schemas:\n    Pet: {type: object}\n",
        )],
    );
    let diag = only(&err);
    assert_eq!(diag.file, source, "the error is where the $ref is written");
    assert_eq!(diag.line, Some(11));
    let target = format!(
        "{}#/components/schemas/Nope",
        path_str(dir.path(), "models.yaml")
    );
    assert!(diag.message.contains(&target), "{}", diag.message);
}

#[test]
fn a_dangling_ref_inside_a_referenced_file_is_placed_in_that_file() {
    let text = r##"openapi: 3.0.3
info: {title: nested dangling, version: "1"}
paths:
  /pets:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "models.yaml#/Pet"}
"##;
    let models = "Pet:\n  type: object\n  properties:\n    tag:\n      $ref: \"#/Tag\"\n";
    let (err, _, dir) = fails(text, &[("models.yaml", models)]);
    let diag = only(&err);
    assert_eq!(diag.file, path_str(dir.path(), "models.yaml"));
    assert_eq!(diag.pointer, "/Pet/properties/tag/$ref");
    assert_eq!(diag.line, Some(5));
    assert!(diag.message.contains("'#/Tag'"), "{}", diag.message);
}

#[test]
fn a_missing_external_file_names_the_file_and_where_it_is_referenced() {
    let text = r##"openapi: 3.0.3
info: {title: missing file, version: "1"}
paths:
  /pets:
    get:
      parameters:
        - $ref: "shared/absent.yaml#/Limit"
      responses:
        "204": {description: none}
"##;
    let (err, source, dir) = fails(text, &[]);
    let diag = only(&err);
    assert_eq!(diag.file, source);
    assert_eq!(diag.pointer, "/paths/~1pets/get/parameters/0/$ref");
    assert_eq!(diag.line, Some(7));
    let absent = path_str(dir.path(), "shared/absent.yaml");
    assert!(diag.message.contains(&absent), "{}", diag.message);
    assert!(diag.message.contains("no such file"), "{}", diag.message);
}

#[test]
fn a_syntax_error_in_a_referenced_file_is_reported_in_that_file() {
    let text = r##"openapi: 3.0.3
info: {title: broken file, version: "1"}
paths:
  /pets:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "models.json#/Pet"}
"##;
    // A bracket where a brace belongs: neither JSON nor a YAML flow mapping.
    let models = "{\n  \"Pet\": {\"type\": \"object\"},\n  \"Tag\": {\"type\": \"string\"]\n}\n";
    let (err, _, dir) = fails(text, &[("models.json", models)]);
    let diag = only(&err);
    assert_eq!(diag.file, path_str(dir.path(), "models.json"));
    assert_eq!(diag.line, Some(3));
    assert!(diag.column.is_some());
    assert!(diag.message.starts_with("invalid json"), "{}", diag.message);
}

#[test]
fn a_wrong_type_names_what_was_expected_and_found() {
    let text = "openapi: 3.0.3\ninfo: {title: wrong, version: '1'}\npaths: []\n";
    let (err, source, _dir) = fails(text, &[]);
    let diag = only(&err);
    assert_eq!(diag.file, source);
    assert_eq!(diag.pointer, "/paths");
    assert_eq!(diag.line, Some(3));
    assert_eq!(diag.message, "'paths' must be an object, found an array");
}

#[test]
fn a_wrong_type_deep_in_an_operation_is_placed_there() {
    let text = r##"openapi: 3.0.3
info: {title: wrong, version: "1"}
paths:
  /pets:
    get:
      parameters:
        name: limit
        in: query
      responses:
        "200": {description: ok}
"##;
    let (err, _, _dir) = fails(text, &[]);
    let diag = only(&err);
    assert_eq!(diag.pointer, "/paths/~1pets/get/parameters");
    assert_eq!(diag.line, Some(6));
    assert_eq!(
        diag.message,
        "'parameters' must be an array, found an object"
    );
}

#[test]
fn a_yaml_syntax_error_in_the_root_gives_its_line() {
    let text = "openapi: 3.0.3\ninfo:\n  title: x\n  version: '1'\npaths:\n  /a: {get: [\n";
    let (err, source, _dir) = fails(text, &[]);
    let diag = only(&err);
    assert_eq!(diag.file, source);
    assert!(diag.message.starts_with("invalid yaml"), "{}", diag.message);
    assert!(diag.line.is_some_and(|l| l >= 6), "{diag:?}");
}

#[test]
fn a_mapping_without_openapi_or_swagger_is_not_a_description() {
    let (err, source, _dir) = fails("title: Shopping list\nitems: [milk, eggs]\n", &[]);
    let diag = only(&err);
    assert_eq!(diag.file, source);
    assert_eq!(diag.pointer, "");
    assert!(
        diag.message
            .contains("neither an 'openapi' nor a 'swagger' field"),
        "{}",
        diag.message
    );
}

#[test]
fn prose_is_not_a_description() {
    let (err, source, _dir) = fails("This is a note about our API, not a description.\n", &[]);
    let diag = only(&err);
    assert_eq!(diag.file, source);
    assert!(
        diag.message
            .starts_with("not an openapi or swagger document: the top level is a string"),
        "{}",
        diag.message
    );
}

#[test]
fn an_html_page_from_a_url_is_not_a_description() {
    let server = TestServer::start(&[(
        "/docs",
        200,
        "<!doctype html>\n<html><body><h1>API docs</h1></body></html>\n",
    )]);
    let url = server.url("/docs");
    let err = load_path_err(&url);
    let diag = only(&err);
    assert_eq!(diag.file, url);
    assert!(
        diag.message.contains("not an openapi or swagger document"),
        "{}",
        diag.message
    );
}

#[test]
fn unsupported_versions_are_named() {
    let (err, _, _dir) = fails("openapi: 2.5.0\ninfo: {title: x, version: '1'}\n", &[]);
    let diag = only(&err);
    assert_eq!(diag.pointer, "/openapi");
    assert_eq!(diag.line, Some(1));
    assert!(diag.message.contains("'2.5.0'"), "{}", diag.message);

    let (err, _, _dir) = fails("info: {title: x, version: '1'}\nswagger: '1.2'\n", &[]);
    let diag = only(&err);
    assert_eq!(diag.pointer, "/swagger");
    assert_eq!(diag.line, Some(2));
    assert!(diag.message.contains("'1.2'"), "{}", diag.message);
}

#[test]
fn an_empty_file_says_it_is_empty() {
    for text in ["", "\n  \n", "# only a comment\n"] {
        let (err, source, _dir) = fails(text, &[]);
        let diag = only(&err);
        assert_eq!(diag.file, source);
        assert!(diag.message.contains("empty"), "{text:?}: {}", diag.message);
    }
}

#[test]
fn an_empty_referenced_file_says_it_is_empty() {
    let text = r##"openapi: 3.0.3
info: {title: empty ref, version: "1"}
paths:
  /pets:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "models.yaml#/Pet"}
"##;
    let (err, _, dir) = fails(text, &[("models.yaml", "")]);
    let diag = only(&err);
    assert_eq!(diag.file, path_str(dir.path(), "models.yaml"));
    assert!(diag.message.contains("empty"), "{}", diag.message);
}

#[test]
fn a_missing_root_file_names_it() {
    let dir = write_files(&[]);
    let source = path_str(dir.path(), "nowhere.yaml");
    let err = load_path_err(&source);
    let diag = only(&err);
    assert_eq!(diag.file, source);
    assert!(diag.message.contains("no such file"), "{}", diag.message);
}

#[test]
fn several_errors_are_all_reported_with_their_places() {
    let text = r##"openapi: 3.0.3
info: {title: many, version: "1"}
paths:
  /a:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/A"}
  /b:
    get:
      deprecated: "yes"
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/B"}
"##;
    let (err, _, _dir) = fails(text, &[]);
    let mut places: Vec<(String, Option<u32>)> = err
        .diagnostics
        .iter()
        .map(|d| (d.pointer.clone(), d.line))
        .collect();
    places.sort();
    assert_eq!(
        places,
        [
            (
                "/paths/~1a/get/responses/200/content/application~1json/schema/$ref".to_owned(),
                Some(11)
            ),
            (
                "/paths/~1b/get/deprecated".to_owned(),
                Some(line_of(text, "deprecated"))
            ),
            (
                "/paths/~1b/get/responses/200/content/application~1json/schema/$ref".to_owned(),
                Some(20)
            ),
        ]
    );
}

#[test]
fn an_unresolvable_external_example_is_a_warning_and_the_rest_is_kept() {
    let text = r##"openapi: 3.0.3
info: {title: examples, version: "1"}
paths:
  /pets:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object}
              examples:
                inline: {value: {id: 1}}
                fromFile: {externalValue: "examples/ok.json"}
                missing: {externalValue: "examples/absent.json"}
"##;
    let dir = write_files(&[("api.yaml", text), ("examples/ok.json", "{\"id\": 2}")]);
    let source = path_str(dir.path(), "api.yaml");
    let api = load_path_ok(&source);
    let media = &op(&api, Method::Get, "/pets").responses[0].content[0];
    assert_eq!(
        media.examples,
        [
            ("inline".to_owned(), json!({"id": 1})),
            ("fromFile".to_owned(), json!({"id": 2})),
        ]
    );
    assert_eq!(api.warnings.len(), 1, "{:?}", api.warnings);
    let warning = &api.warnings[0];
    assert_eq!(warning.file, source);
    assert_eq!(
        warning.pointer,
        "/paths/~1pets/get/responses/200/content/application~1json/examples/missing"
    );
    assert!(
        warning.message.contains("'examples/absent.json'"),
        "{}",
        warning.message
    );
    assert!(
        warning.message.contains("no such file"),
        "{}",
        warning.message
    );
}

#[test]
fn a_dangling_example_ref_is_a_warning() {
    let text = r##"openapi: 3.0.3
info: {title: examples, version: "1"}
paths:
  /pets:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: string}
              examples:
                gone: {$ref: "#/components/examples/Gone"}
"##;
    let dir = write_files(&[("api.yaml", text)]);
    let api = load_path_ok(&path_str(dir.path(), "api.yaml"));
    assert!(
        op(&api, Method::Get, "/pets").responses[0].content[0]
            .examples
            .is_empty()
    );
    assert_eq!(api.warnings.len(), 1, "{:?}", api.warnings);
    assert_eq!(
        api.warnings[0].pointer,
        "/paths/~1pets/get/responses/200/content/application~1json/examples/gone/$ref"
    );
}

#[test]
fn unknown_formats_are_warnings_with_the_first_place_and_a_count() {
    let text = r##"openapi: 3.1.0
info: {title: formats, version: "1"}
paths:
  /paint:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Paint"}
components:
  schemas:
    Paint:
      type: object
      properties:
        colour: {type: string, format: colour}
        trim: {type: string, format: colour}
        contact: {type: string, format: email}
"##;
    let dir = write_files(&[("api.yaml", text)]);
    let source = path_str(dir.path(), "api.yaml");
    let api = load_path_ok(&source);
    assert_eq!(api.version, SpecVersion::OpenApi31);
    assert_eq!(api.warnings.len(), 1, "{:?}", api.warnings);
    let warning = &api.warnings[0];
    assert_eq!(warning.file, source);
    assert_eq!(
        warning.pointer,
        "/components/schemas/Paint/properties/colour/format"
    );
    assert!(
        warning.message.contains("unknown format 'colour'") && warning.message.contains("2 times"),
        "{}",
        warning.message
    );
}

#[test]
fn unknown_formats_in_referenced_files_are_placed_in_those_files() {
    let text = r##"openapi: 3.0.3
info: {title: formats, version: "1"}
paths:
  /paint:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "paint.yaml#/Paint"}
"##;
    let paint = "Paint:\n  type: string\n  format: pantone\n";
    let dir = write_files(&[("api.yaml", text), ("paint.yaml", paint)]);
    let api = load_path_ok(&path_str(dir.path(), "api.yaml"));
    assert_eq!(api.warnings.len(), 1, "{:?}", api.warnings);
    assert_eq!(api.warnings[0].file, path_str(dir.path(), "paint.yaml"));
    assert_eq!(api.warnings[0].pointer, "/Paint/format");
    assert!(api.warnings[0].message.contains("'pantone'"));
}
