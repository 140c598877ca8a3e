//! Helpers shared by the integration tests: description files in a temporary folder and a
//! tiny HTTP server on 127.0.0.1:0.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use spec::{Api, Diagnostic, LoadError, LoadOptions, Method, Operation};

/// Writes `files` (relative path, content) under a fresh temporary folder.
pub fn write_files(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    for (name, content) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("a parent folder")).expect("folders");
        std::fs::write(&path, content).expect("write a description file");
    }
    dir
}

pub fn path_str(dir: &Path, name: &str) -> String {
    dir.join(name)
        .to_str()
        .expect("utf-8 temporary path")
        .to_owned()
}

pub fn load(source: &str) -> Result<Api, LoadError> {
    spec::load(source, &LoadOptions::default())
}

/// Loads `text` as a YAML or JSON description named `api.yaml` in a temporary folder.
pub fn load_text(text: &str) -> Result<Api, LoadError> {
    let dir = write_files(&[("api.yaml", text)]);
    load(&path_str(dir.path(), "api.yaml"))
}

pub fn load_ok(text: &str) -> Api {
    match load_text(text) {
        Ok(api) => api,
        Err(err) => panic!("expected the description to load, got:\n{err}"),
    }
}

pub fn load_err(text: &str) -> LoadError {
    match load_text(text) {
        Ok(api) => panic!(
            "expected a load error; loaded {} operations",
            api.operations.len()
        ),
        Err(err) => err,
    }
}

/// Loads `source` on another thread and fails the test if that takes longer than `limit`:
/// a loader that loops on a cycle would otherwise hang the whole test run.
pub fn load_within(source: &str, limit: Duration) -> Result<Api, LoadError> {
    let (send, receive) = std::sync::mpsc::channel();
    let owned = source.to_owned();
    std::thread::spawn(move || {
        let _ = send.send(load(&owned));
    });
    receive
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("loading {source} took longer than {limit:?}"))
}

/// Loads `source`, failing the test with the diagnostics when it does not load.
pub fn load_path_ok(source: &str) -> Api {
    match load(source) {
        Ok(api) => api,
        Err(err) => panic!("expected {source} to load, got:\n{err}"),
    }
}

/// Loads `source`, failing the test when it does load.
pub fn load_path_err(source: &str) -> LoadError {
    match load(source) {
        Ok(api) => panic!(
            "expected {source} not to load; it loaded {} operations",
            api.operations.len()
        ),
        Err(err) => err,
    }
}

/// The operation `method path`.
pub fn op<'a>(api: &'a Api, method: Method, path: &str) -> &'a Operation {
    api.operations
        .iter()
        .find(|o| o.method == method && o.path == path)
        .unwrap_or_else(|| {
            let known: Vec<String> = api
                .operations
                .iter()
                .map(|o| format!("{} {}", o.method.as_str(), o.path))
                .collect();
            panic!("no {} {path}; operations: {known:?}", method.as_str())
        })
}

/// `value` with `$ref`s followed through the bundled document (at most 32 steps).
pub fn resolve<'a>(api: &'a Api, value: &'a Value) -> &'a Value {
    let mut current = value;
    for _ in 0..32 {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
            return current;
        };
        assert!(
            reference.starts_with('#'),
            "a $ref left non-local after loading: {reference}"
        );
        current = spec::resolve_ref(&api.root, reference)
            .unwrap_or_else(|| panic!("the $ref '{reference}' dangles in the bundled document"));
    }
    panic!("$ref chain longer than 32 steps from {value}");
}

/// The schema of the first media type of response `status` of `op`.
pub fn response_schema(op: &Operation, status: u16) -> &Value {
    let response = op
        .responses
        .iter()
        .find(|r| r.status == spec::StatusKey::Code(status))
        .unwrap_or_else(|| panic!("{} has no {status} response", op.path));
    let media = response
        .content
        .first()
        .unwrap_or_else(|| panic!("{} {status} has no content", op.path));
    media
        .schema
        .as_ref()
        .unwrap_or_else(|| panic!("{} {status} has no schema", op.path))
}

/// The 1-based line of the first line of `text` that contains `needle`.
pub fn line_of(text: &str, needle: &str) -> u32 {
    let index = text
        .lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("'{needle}' is not in the text"));
    u32::try_from(index + 1).expect("a small line number")
}

/// The single diagnostic of `err`, failing the test when there are more or none.
pub fn only(err: &LoadError) -> &Diagnostic {
    assert_eq!(
        err.diagnostics.len(),
        1,
        "expected exactly one diagnostic, got:\n{err}"
    );
    &err.diagnostics[0]
}

/// Every `$ref` string in `value`, wherever it is.
pub fn all_refs(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![value];
    while let Some(node) = stack.pop() {
        match node {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    out.push(reference.clone());
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    out
}

/// The directory of the shared corpus of real descriptions.
pub fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("MOCKLOOP_CORPUS").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/corpus/specs"
            ))
        },
        PathBuf::from,
    );
    assert!(
        dir.is_dir(),
        "the corpus folder '{}' is missing: set MOCKLOOP_CORPUS to the folder holding the \
         shared corpus specs",
        dir.display()
    );
    dir
}

/// A tiny HTTP/1.1 server for tests: answers GET requests from a fixed table and counts how
/// often each path was asked for. Stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    connections: Arc<AtomicUsize>,
}

impl TestServer {
    /// Serves `routes` (path -> (status, body)); other paths get 404.
    pub fn start(routes: &[(&str, u16, &str)]) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let routes: HashMap<String, (u16, String)> = routes
            .iter()
            .map(|(path, status, body)| ((*path).to_owned(), (*status, (*body).to_owned())))
            .collect();
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let handle = {
            let (hits, stop, connections) = (hits.clone(), stop.clone(), connections.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    connections.fetch_add(1, Ordering::SeqCst);
                    if let Ok(stream) = stream {
                        answer(stream, &routes, &hits);
                    }
                }
            })
        };
        let server = TestServer {
            addr,
            hits,
            stop,
            handle: Some(handle),
            connections,
        };
        server.wait_ready(Duration::from_secs(5));
        server
    }

    /// Polls until the server has accepted a probe connection, failing after `limit`.
    fn wait_ready(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let probe = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
            if probe.is_ok() {
                drop(probe);
                while self.connections.load(Ordering::SeqCst) == 0 {
                    assert!(
                        Instant::now() < deadline,
                        "test server did not accept in time"
                    );
                    std::thread::yield_now();
                }
                return;
            }
            assert!(
                Instant::now() < deadline,
                "test server did not start in time"
            );
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .expect("hits lock")
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

fn answer(
    stream: TcpStream,
    routes: &HashMap<String, (u16, String)>,
    hits: &Mutex<HashMap<String, usize>>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return; // a readiness probe
    }
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    *hits
        .lock()
        .expect("hits lock")
        .entry(path.clone())
        .or_default() += 1;
    let (status, body) = routes
        .get(&path)
        .cloned()
        .unwrap_or((404, "not found".to_owned()));
    let reason = if status == 200 { "OK" } else { "Error" };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/yaml\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = stream;
    let _ = stream.write_all(response.as_bytes());
}
