//! The mocks this MCP server knows: those it started (with their processes) and those it
//! found answering on loopback ports; each has a short id used in resource URIs.

use std::path::PathBuf;
use std::process::Child;
use std::sync::Mutex;

use serde::Serialize;

/// One known mock.
#[derive(Debug, Clone, Serialize)]
pub struct KnownServer {
    /// `m1`, `m2`, ... in the order they became known.
    pub id: String,
    /// Base URL of the mock API, when known.
    pub api_url: Option<String>,
    /// Base URL of the admin API.
    pub admin_url: String,
    /// `started` (by `generate_mock_api`) or `discovered`.
    pub origin: &'static str,
    /// The generated project, for mocks it started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_dir: Option<PathBuf>,
    /// The spec file in the project, for mocks it started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

#[derive(Default)]
struct Inner {
    servers: Vec<KnownServer>,
    children: Vec<(String, Child)>,
    next: u32,
}

/// Shared by every MCP session of one `mockloop mcp` process.
#[derive(Default)]
pub struct Registry {
    inner: Mutex<Inner>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a mock, or refreshes the one with the same admin URL; returns its entry.
    pub fn remember(&self, mut server: KnownServer, child: Option<Child>) -> KnownServer {
        let mut inner = self.lock();
        if let Some(known) = inner
            .servers
            .iter_mut()
            .find(|s| s.admin_url == server.admin_url)
        {
            if server.api_url.is_some() {
                known.api_url = server.api_url.clone();
            }
            if server.origin == "started" {
                known.origin = server.origin;
                known.project_dir = server.project_dir.clone();
                known.spec_file = server.spec_file.clone();
                known.pid = server.pid;
            }
            let known = known.clone();
            if let Some(child) = child {
                inner.children.push((known.id.clone(), child));
            }
            return known;
        }
        inner.next += 1;
        server.id = format!("m{}", inner.next);
        inner.servers.push(server.clone());
        if let Some(child) = child {
            inner.children.push((server.id.clone(), child));
        }
        server
    }

    pub fn all(&self) -> Vec<KnownServer> {
        let mut inner = self.lock();
        // Forget started mocks whose process has ended.
        let mut ended = Vec::new();
        inner
            .children
            .retain_mut(|(id, child)| match child.try_wait() {
                Ok(Some(_)) | Err(_) => {
                    ended.push(id.clone());
                    false
                }
                Ok(None) => true,
            });
        inner.servers.retain(|s| !ended.contains(&s.id));
        inner.servers.clone()
    }

    pub fn get(&self, id: &str) -> Option<KnownServer> {
        self.all().into_iter().find(|s| s.id == id)
    }

    /// The known mock whose API or admin URL is `url`.
    pub fn by_url(&self, url: &str) -> Option<KnownServer> {
        self.all()
            .into_iter()
            .find(|s| s.admin_url == url || s.api_url.as_deref() == Some(url))
    }

    /// Stops every mock this process started: SIGTERM (on which `serve` flushes its log),
    /// then SIGKILL if it has not exited within ten seconds.
    pub fn stop_started(&self) {
        let children: Vec<(String, Child)> = std::mem::take(&mut self.lock().children);
        for (id, mut child) in children {
            terminate(&mut child);
            tracing::info!(server = %id, "stopped the mock it started");
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop_started();
    }
}

/// SIGTERM, then up to ten seconds for the log to be flushed, then SIGKILL.
fn terminate(child: &mut Child) {
    #[cfg(unix)]
    {
        use nix::sys::signal::{Signal, kill};
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        if kill(pid, Signal::SIGTERM).is_ok() {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while std::time::Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}
