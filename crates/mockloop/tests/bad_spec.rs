//! Descriptions that cannot be served: a non-zero exit and a message naming the place.

mod support;

use std::process::Command;

fn serve(dir: &tempfile::TempDir, name: &str, text: &str) -> (i32, String) {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let out = Command::new(support::bin())
        .current_dir(dir.path())
        .arg("serve")
        .arg(&path)
        .args(["--port", "0", "--admin-port", "0"])
        .output()
        .expect("run mockloop");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn broken_yaml_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = serve(
        &dir,
        "broken.yaml",
        "openapi: 3.0.0\ninfo:\n  title: x\n  version: '1'\npaths:\n  /a: [\n",
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("broken.yaml"), "{err}");
    assert!(
        err.contains(":6") || err.contains(":7"),
        "no line in: {err}"
    );
}

#[test]
fn dangling_ref_names_the_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let text = r##"openapi: 3.0.0
info: { title: x, version: "1" }
paths:
  /a:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Missing" }
"##;
    let (code, err) = serve(&dir, "dangling.yaml", text);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("dangling.yaml:11"), "no line in: {err}");
    assert!(err.contains("#/components/schemas/Missing"), "{err}");
}

#[test]
fn wrong_types_name_the_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = serve(
        &dir,
        "types.json",
        r#"{"openapi": "3.0.0", "info": {"title": "x", "version": "1"}, "paths": []}"#,
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("types.json"), "{err}");
    assert!(err.contains("/paths"), "{err}");
}

#[test]
fn missing_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(support::bin())
        .current_dir(dir.path())
        .args([
            "serve",
            "no-such-file.yaml",
            "--port",
            "0",
            "--admin-port",
            "0",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("no-such-file.yaml"), "{err}");
}

#[test]
fn port_in_use_is_a_runtime_failure_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(support::bin())
        .current_dir(dir.path())
        .arg("serve")
        .arg(support::example_spec())
        .args(["--port", &port, "--admin-port", "0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
}
