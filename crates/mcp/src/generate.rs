//! `generate_mock_api`: a self-contained mock project under the output root (configuration,
//! the spec, Dockerfile, compose file, README), optionally started in the background.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use crate::admin;
use crate::params::GenerateMockApi;
use crate::registry::KnownServer;
use crate::{Shared, ToolError, safety, specs};

/// How long a started mock may take to print its addresses and answer `/health`.
const START_DEADLINE: Duration = Duration::from_secs(60);

/// `mockloop.toml` of a generated project.
#[derive(Serialize)]
struct ProjectConfig<'a> {
    spec: &'a str,
    host: &'a str,
    port: u16,
    admin_host: &'a str,
    admin_port: u16,
    db: &'a str,
}

/// A directory name from an API title: lowercase letters, digits and dashes.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "mock-api".to_owned()
    } else {
        format!("{}-mock", &out[..out.len().min(60)].trim_end_matches('-'))
    }
}

pub async fn generate(shared: &Shared, p: GenerateMockApi) -> Result<Value, ToolError> {
    if p.storage_enabled == Some(false) {
        return Err(ToolError::new(
            "storage_enabled=false cannot be honoured: mockloop always keeps a request log \
             (omit the switch)",
        ));
    }
    if p.admin_ui_enabled == Some(false) {
        return Err(ToolError::new(
            "admin_ui_enabled=false cannot be honoured: the admin API is how the tools reach \
             the mock (omit the switch)",
        ));
    }
    let api = specs::load(shared, &p.spec_url_or_path).await?;
    let name = match &p.output_dir_name {
        Some(name) => safety::project_name(name)?.to_owned(),
        None => slug(&api.title),
    };
    let dir = shared.settings.output_root.join(&name);
    prepare_dir(&dir, p.overwrite)?;
    // An existing entry of that name could be a link out of the root.
    let real = std::fs::canonicalize(&dir)
        .map_err(|e| ToolError::new(format!("cannot use '{}': {e}", dir.display())))?;
    if !real.starts_with(&shared.settings.output_root) {
        return Err(ToolError::new(format!(
            "'{}' leads outside the output root; choose another output_dir_name",
            dir.display()
        )));
    }

    let spec_file = write_spec(shared, &p.spec_url_or_path, &api, &dir)?;
    let port = p.business_port.unwrap_or(8000);
    let admin_port = p.admin_port.unwrap_or(8001);
    if port == admin_port {
        return Err(ToolError::new(format!(
            "business_port and admin_port are both {port}: they must differ"
        )));
    }
    let config = toml::to_string(&ProjectConfig {
        spec: &spec_file,
        host: "127.0.0.1",
        port,
        admin_host: "127.0.0.1",
        admin_port,
        db: "mockloop.db",
    })
    .map_err(|e| ToolError::new(format!("cannot write mockloop.toml: {e}")))?;
    let header = format!(
        "# The '{}' mock. `mockloop serve` in this directory reads this file; flags and \
         MOCKLOOP_* variables win over it.\n",
        api.title.replace('\n', " ")
    );
    write(&dir, "mockloop.toml", &(header + &config))?;
    write(
        &dir,
        "Dockerfile",
        &dockerfile(&spec_file, port, admin_port),
    )?;
    write(
        &dir,
        "docker-compose.yml",
        &compose(&name, port, admin_port),
    )?;
    write(
        &dir,
        "README.md",
        &readme(&api, &spec_file, port, admin_port),
    )?;

    let mut not_applied = Vec::new();
    for (switch, value) in [
        ("auth_enabled", p.auth_enabled),
        ("webhooks_enabled", p.webhooks_enabled),
    ] {
        if value.is_some() {
            not_applied.push(switch);
        }
    }
    let mut result = json!({
        "project_dir": dir,
        "files": ["mockloop.toml", spec_file, "Dockerfile", "docker-compose.yml", "README.md"],
        "spec": { "title": api.title, "version": api.api_version,
                  "operations": api.operations.len(), "warnings": api.warnings.len() },
        "ports": { "business_port": port, "admin_port": admin_port },
        "run": format!("cd {} && mockloop serve", dir.display()),
    });
    if !not_applied.is_empty() {
        result["not_applied"] = json!(not_applied);
        result["note"] = json!(
            "these switches are accepted for compatibility but this build \
                                has no such feature to turn on or off"
        );
    }
    if p.start {
        let started = start(shared, &dir, &spec_file, p.business_port, p.admin_port).await?;
        result["server"] = serde_json::to_value(&started).unwrap_or_default();
        result["mock_url"] = json!(started.api_url);
        result["admin_url"] = json!(started.admin_url);
        result["resources"] = json!({ "spec": format!("mockloop://servers/{}/spec", started.id) });
    }
    Ok(result)
}

fn prepare_dir(dir: &Path, overwrite: bool) -> Result<(), ToolError> {
    let occupied = std::fs::read_dir(dir).is_ok_and(|mut e| e.next().is_some());
    if occupied && !overwrite {
        return Err(ToolError::new(format!(
            "'{}' exists and is not empty: choose another output_dir_name or pass overwrite=true",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| ToolError::new(format!("cannot create '{}': {e}", dir.display())))
}

fn write(dir: &Path, name: &str, text: &str) -> Result<(), ToolError> {
    let path = dir.join(name);
    std::fs::write(&path, text)
        .map_err(|e| ToolError::new(format!("cannot write '{}': {e}", path.display())))
}

/// Copies the description into the project: the file as written when it stands alone,
/// else (a URL, or a file with external references) the bundled document as JSON, whose
/// references are all local. Returns the file's name in the project.
fn write_spec(
    shared: &Shared,
    source: &str,
    api: &spec::Api,
    dir: &Path,
) -> Result<String, ToolError> {
    let bundled = api.root.get("x-mockloop-bundled").is_some();
    if !specs::is_url(source) && !bundled {
        let path = PathBuf::from(specs::checked_source(shared, source)?);
        let ext = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => "json",
            Some("yml") => "yml",
            _ => "yaml",
        };
        let name = format!("openapi.{ext}");
        std::fs::copy(&path, dir.join(&name)).map_err(|e| {
            ToolError::new(format!(
                "cannot copy '{}' into the project: {e}",
                path.display()
            ))
        })?;
        return Ok(name);
    }
    let text = serde_json::to_string_pretty(&*api.root)
        .map_err(|e| ToolError::new(format!("cannot write the bundled spec: {e}")))?;
    write(dir, "openapi.json", &text)?;
    Ok("openapi.json".to_owned())
}

fn dockerfile(spec_file: &str, port: u16, admin_port: u16) -> String {
    format!(
        "# Runs this mock in a container. mockloop is a single static binary: copy a Linux \
         build\n# next to this file first, e.g. cp \"$(command -v mockloop)\" .\n\
         FROM debian:bookworm-slim\n\
         WORKDIR /mock\n\
         COPY mockloop /usr/local/bin/mockloop\n\
         COPY mockloop.toml {spec_file} ./\n\
         EXPOSE {port} {admin_port}\n\
         # Inside the container both APIs listen on every interface; the compose file \
         publishes\n# them on the host's loopback only.\n\
         CMD [\"mockloop\", \"serve\", \"--host\", \"0.0.0.0\", \"--admin-host\", \"0.0.0.0\"]\n"
    )
}

fn compose(name: &str, port: u16, admin_port: u16) -> String {
    format!(
        "services:\n  {service}:\n    build: .\n    ports:\n      \
         - \"127.0.0.1:{port}:{port}\"\n      - \"127.0.0.1:{admin_port}:{admin_port}\"\n    \
         restart: unless-stopped\n",
        service = name.replace('.', "-")
    )
}

fn readme(api: &spec::Api, spec_file: &str, port: u16, admin_port: u16) -> String {
    let mut ops = String::new();
    for op in api.operations.iter().take(50) {
        ops.push_str(&format!("- `{} {}`\n", op.method.as_str(), op.path));
    }
    if api.operations.len() > 50 {
        ops.push_str(&format!("- ... and {} more\n", api.operations.len() - 50));
    }
    format!(
        "# {title} mock\n\nA mock of {title} {version} served by mockloop from `{spec_file}`; \
         every request is logged to `mockloop.db`.\n\n## Run\n\n```sh\nmockloop serve          \
         # reads mockloop.toml\n```\n\nor in a container (copy a Linux `mockloop` binary here \
         first):\n\n```sh\ncp \"$(command -v mockloop)\" .\ndocker compose up --build\n```\n\n\
         - mock API: http://127.0.0.1:{port}\n- admin API: http://127.0.0.1:{admin_port} \
         (`/health`, `/api/requests`, `/api/logs/analyze`, `/api/metrics`, `/api/scenarios`, \
         `/api/overrides`)\n\n## Operations\n\n{ops}",
        title = api.title,
        version = api.api_version,
    )
}

/// Starts `mockloop serve` in `dir` and waits for its addresses and `/health`.
async fn start(
    shared: &Shared,
    dir: &Path,
    spec_file: &str,
    port: Option<u16>,
    admin_port: Option<u16>,
) -> Result<KnownServer, ToolError> {
    let exe = shared.settings.executable.clone();
    let project_dir = dir.to_path_buf();
    let dir = dir.to_path_buf();
    let (mut child, api_url, admin_url) = tokio::task::spawn_blocking(move || {
        spawn_serve(&exe, &dir, port.unwrap_or(0), admin_port.unwrap_or(0))
    })
    .await
    .map_err(|e| ToolError::new(format!("start task failed: {e}")))??;
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        if admin::health(&admin_url, admin::PROBE_TIMEOUT)
            .await
            .is_some()
        {
            break;
        }
        if Instant::now() > deadline {
            // Not left running unknown: nothing could find or stop it later.
            let _ = child.kill();
            let _ = child.wait();
            return Err(ToolError::new(format!(
                "the mock started but {admin_url}/health did not answer within {}s",
                START_DEADLINE.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = child.id();
    let known = KnownServer {
        id: String::new(),
        api_url: Some(api_url),
        admin_url,
        origin: "started",
        spec_file: Some(project_dir.join(spec_file)),
        project_dir: Some(project_dir),
        pid: Some(pid),
    };
    Ok(shared.registry.remember(known, Some(child)))
}

/// Spawns `serve` and reads the `api:` and `admin:` lines of its banner.
fn spawn_serve(
    exe: &Path,
    dir: &Path,
    port: u16,
    admin_port: u16,
) -> Result<(std::process::Child, String, String), ToolError> {
    let stderr_path = dir.join("mockloop.stderr.log");
    let stderr = std::fs::File::create(&stderr_path)
        .map_err(|e| ToolError::new(format!("cannot create '{}': {e}", stderr_path.display())))?;
    let mut child = Command::new(exe)
        .current_dir(dir)
        .args(["serve", "--port", &port.to_string(), "--admin-port"])
        .arg(admin_port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|e| ToolError::new(format!("cannot start '{} serve': {e}", exe.display())))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
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
                let line = line.trim();
                if let Some(url) = line.strip_prefix("api:") {
                    api = Some(url.trim().to_owned());
                } else if let Some(url) = line.strip_prefix("admin:") {
                    admin = Some(url.trim().to_owned());
                }
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                return Err(ToolError::new(format!(
                    "the mock did not start: {}",
                    log.lines().last().unwrap_or("it exited without a message")
                )));
            }
        }
    }
    Ok((child, api.unwrap_or_default(), admin.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_become_directory_names() {
        assert_eq!(slug("Swagger Petstore"), "swagger-petstore-mock");
        assert_eq!(slug("  "), "mock-api");
        assert_eq!(slug("Ünïcode API v2!"), "n-code-api-v2-mock");
    }
}
