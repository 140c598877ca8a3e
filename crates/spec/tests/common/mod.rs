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

use spec::{Api, LoadError, LoadOptions};

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
