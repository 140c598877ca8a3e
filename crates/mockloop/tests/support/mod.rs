//! Starting the real `mockloop` binary on free ports and talking to it over loopback.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Generous: a debug build loads the largest descriptions in a few seconds.
pub const START_DEADLINE: Duration = Duration::from_secs(120);

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mockloop")
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

pub fn example_spec() -> PathBuf {
    workspace_root().join("examples/bookshop.yaml")
}

/// The corpus of real descriptions (`$MOCKLOOP_CORPUS`, else `../shared/corpus/specs`).
pub fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("MOCKLOOP_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/corpus/specs"));
    assert!(
        dir.is_dir(),
        "corpus folder '{}' is missing (set MOCKLOOP_CORPUS)",
        dir.display()
    );
    dir
}

/// A running `mockloop serve`.
pub struct Mock {
    child: Option<Child>,
    pub api: String,
    pub admin: String,
    pub db: PathBuf,
    pub stderr: PathBuf,
    pub dir: tempfile::TempDir,
    agent: ureq::Agent,
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        // A mock's 3xx is an answer to check, not a hop to take.
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

impl Mock {
    /// Starts `mockloop serve SPEC --port 0 --admin-port 0 --db <temp>` plus `extra` flags.
    pub fn start(spec: &Path, extra: &[&str]) -> Mock {
        let dir = tempfile::tempdir().expect("temp dir");
        Mock::start_in(dir, spec, extra)
    }

    pub fn start_in(dir: tempfile::TempDir, spec: &Path, extra: &[&str]) -> Mock {
        let db = dir.path().join("requests.db");
        let stderr = dir.path().join("stderr.log");
        let mut child = Command::new(bin())
            .current_dir(dir.path())
            .args(["serve"])
            .arg(spec)
            .args(["--port", "0", "--admin-port", "0", "--db"])
            .arg(&db)
            .args(extra)
            .env_remove("MOCKLOOP_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("start mockloop");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + START_DEADLINE;
        let (mut api, mut admin) = (None, None);
        while api.is_none() || admin.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.trim().strip_prefix("api:") {
                        api = Some(url.trim().to_owned());
                    } else if let Some(url) = line.trim().strip_prefix("admin:") {
                        admin = Some(url.trim().to_owned());
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "mockloop did not report its addresses for '{}': {}",
                        spec.display(),
                        std::fs::read_to_string(&stderr).unwrap_or_default()
                    );
                }
            }
        }
        Mock {
            child: Some(child),
            api: api.unwrap(),
            admin: admin.unwrap(),
            db,
            stderr,
            dir,
            agent: agent(),
        }
    }

    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// GET on the admin API, parsed as JSON.
    pub fn admin_json(&self, path_and_query: &str) -> serde_json::Value {
        let mut resp = self
            .agent
            .get(&format!("{}{}", self.admin, path_and_query))
            .call()
            .unwrap_or_else(|err| {
                panic!(
                    "admin request {path_and_query}: {err}; server stderr:\n{}",
                    self.stderr_text()
                )
            });
        let text = resp.body_mut().read_to_string().expect("admin body");
        serde_json::from_str(&text).expect("admin JSON")
    }

    /// A call to the admin API with an optional JSON body: status and JSON answer (null
    /// when the answer is not JSON).
    pub fn admin_call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{}", self.admin, path))
            .header("content-type", "application/json")
            .body(body.map(|b| b.to_string()).unwrap_or_default())
            .expect("request");
        let mut resp = self
            .agent
            .run(request)
            .unwrap_or_else(|err| panic!("admin {method} {path}: {err}\n{}", self.stderr_text()));
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().expect("admin body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// Runs `mockloop ARGS --admin <this mock>`: exit code, stdout and stderr.
    pub fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(bin())
            .args(args)
            .args(["--admin", &self.admin])
            .output()
            .expect("run mockloop");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Polls the admin API until the log holds `expected` rows, or the deadline passes;
    /// returns the last count seen.
    pub fn wait_for_logged(&self, expected: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let total = self.admin_json("/api/requests?limit=1")["total"]
                .as_u64()
                .unwrap_or(0);
            if total >= expected || Instant::now() > deadline {
                return total;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("mockloop did not exit within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
