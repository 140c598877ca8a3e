//! Starting servers, timing start-up, loading them with `mockloop bench`, reading memory.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// How long a server may take to answer its first request.
const START_DEADLINE: Duration = Duration::from_secs(60);

pub struct Binaries {
    mockloop: PathBuf,
    limit: PathBuf,
}

impl Binaries {
    pub fn locate(root: &Path) -> Result<Binaries> {
        let release = root.join("target/release");
        let bins = Binaries {
            mockloop: release.join("mockloop"),
            limit: release.join("examples/limit"),
        };
        for bin in [&bins.mockloop, &bins.limit] {
            if !bin.is_file() {
                bail!("'{}' is missing: build without --no-build", bin.display());
            }
        }
        Ok(bins)
    }
}

/// Which cores the server and the load generator run on.
pub struct Pinning {
    /// `taskset -c` lists, or none when pinning is not possible here.
    cores: Option<(String, String)>,
    /// Worker threads of the server's runtime.
    pub server_threads: usize,
    pub cpus: usize,
}

impl Pinning {
    /// Half of the cores (at least one) for the server, the rest for the load generator.
    pub fn detect() -> Pinning {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let taskset = Command::new("taskset")
            .arg("-V")
            .output()
            .is_ok_and(|out| out.status.success());
        if cpus < 2 || !taskset {
            return Pinning {
                cores: None,
                server_threads: cpus,
                cpus,
            };
        }
        let server = cpus / 2;
        let list = |from: usize, to: usize| {
            (from..to)
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        Pinning {
            cores: Some((list(0, server), list(server, cpus))),
            server_threads: server,
            cpus,
        }
    }

    pub fn describe(&self) -> String {
        match &self.cores {
            Some((server, load)) => format!(
                "server on core(s) {server} with {} worker thread(s), load generator on \
                 core(s) {load}",
                self.server_threads
            ),
            None => "not pinned (needs taskset and two cores): figures are rougher".to_owned(),
        }
    }

    fn command(&self, program: &Path, server: bool) -> Command {
        match &self.cores {
            Some((server_cores, load_cores)) => {
                let mut cmd = Command::new("taskset");
                cmd.arg("-c")
                    .arg(if server { server_cores } else { load_cores })
                    .arg(program);
                cmd
            }
            None => Command::new(program),
        }
    }

    fn server(&self, program: &Path) -> Command {
        let mut cmd = self.command(program, true);
        cmd.env("TOKIO_WORKER_THREADS", self.server_threads.to_string());
        cmd
    }
}

/// The load of one measurement.
pub struct Load {
    pub duration_secs: u64,
    pub connections: u32,
}

/// One description and the route that is loaded.
pub struct Case {
    pub name: String,
    spec: PathBuf,
    path: String,
}

impl Case {
    pub fn all(root: &Path, corpus: Option<&Path>) -> Vec<Case> {
        let example = root.join("examples/bookshop.yaml");
        let mut cases = vec![
            Case {
                name: "example, fixed example (GET /v1/books)".into(),
                spec: example.clone(),
                path: "/v1/books".into(),
            },
            Case {
                name: "example, generated body (GET /v1/books/42)".into(),
                spec: example,
                path: "/v1/books/42".into(),
            },
        ];
        if let Some(corpus) = corpus {
            cases.push(Case {
                name: "petstore3 (GET /api/v3/pet/7)".into(),
                spec: corpus.join("swaggerapi-petstore3.yaml"),
                path: "/api/v3/pet/7".into(),
            });
            cases.push(Case {
                name: "stripe, largest (GET /v1/customers/cus_42)".into(),
                spec: corpus.join("stripe-spec3.yaml"),
                path: "/v1/customers/cus_42".into(),
            });
        }
        cases
    }
}

/// What `mockloop bench --json` reported.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Responses received, whatever their status.
    pub responses: u64,
    pub errors: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Figures {
    fn from_report(report: &Value) -> Result<Figures> {
        let number = |pointer: &str| {
            report
                .pointer(pointer)
                .and_then(Value::as_f64)
                .with_context(|| format!("the load report has no number at '{pointer}'"))
        };
        Ok(Figures {
            responses: number("/responses")? as u64,
            errors: number("/errors")? as u64,
            rps: number("/rps")?,
            p50_ms: number("/latency_us/p50")? / 1000.0,
            p99_ms: number("/latency_us/p99")? / 1000.0,
        })
    }
}

pub struct CaseResult {
    pub case: String,
    pub mock: Figures,
    pub limit: Figures,
    pub startup_ms: f64,
    pub peak_rss_kib: u64,
    /// Requests the mock answered: the load's responses plus the start-up probes.
    pub served: u64,
    pub rows: u64,
}

impl CaseResult {
    pub fn log_complete(&self) -> bool {
        self.rows == self.served
    }
}

pub fn run_case(
    bins: &Binaries,
    pinning: &Pinning,
    work: &Path,
    case: &Case,
    load: &Load,
) -> Result<CaseResult> {
    let slug: String = case
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let db = work.join(format!("{slug}.db"));
    let mut mock = MockProcess::start(bins, pinning, work, &slug, &case.spec, &db)?;
    let first = mock.wait_first_200(&case.path)?;
    let figures = run_load(bins, pinning, &mock.url(&case.path), load)?;
    let peak_rss_kib = proc_status_kib(mock.child.id(), "VmHWM")?;
    mock.stop()?;
    let rows = log_rows(bins, &db)?;

    let body_file = work.join(format!("{slug}.body"));
    std::fs::write(&body_file, &first.body)?;
    let mut limit = pinning
        .server(&bins.limit)
        .args([
            "--port",
            "0",
            "--content-type",
            &first.content_type,
            "--body-file",
        ])
        .arg(&body_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start the limit server")?;
    let addr = read_listening(&mut limit)?;
    let limit_figures = run_load(bins, pinning, &format!("http://{addr}{}", case.path), load);
    let _ = limit.kill();
    let _ = limit.wait();

    Ok(CaseResult {
        case: case.name.clone(),
        served: figures.responses + first.probes,
        mock: figures,
        limit: limit_figures?,
        startup_ms: first.elapsed.as_secs_f64() * 1000.0,
        peak_rss_kib,
        rows,
    })
}

pub struct Soak {
    pub samples: Vec<(u64, u64)>,
    pub figures: Figures,
    pub served: u64,
    pub rows: u64,
    pub connections: u32,
}

/// Loads the example's fixed route for `secs` and samples resident memory every 10 s.
pub fn soak(
    bins: &Binaries,
    pinning: &Pinning,
    work: &Path,
    root: &Path,
    secs: u64,
    connections: u32,
) -> Result<Soak> {
    let db = work.join("soak.db");
    let spec = root.join("examples/bookshop.yaml");
    let mut mock = MockProcess::start(bins, pinning, work, "soak", &spec, &db)?;
    let path = "/v1/books";
    let first = mock.wait_first_200(path)?;
    let load = Load {
        duration_secs: secs,
        connections,
    };
    let mut generator = load_command(bins, pinning, &mock.url(path), &load)
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start mockloop bench")?;
    let started = Instant::now();
    let mut samples = vec![(0, proc_status_kib(mock.child.id(), "VmRSS")?)];
    while generator.try_wait()?.is_none() {
        std::thread::sleep(Duration::from_secs(1));
        let elapsed = started.elapsed().as_secs();
        if elapsed >= samples.last().map_or(0, |s| s.0) + 10 {
            samples.push((elapsed, proc_status_kib(mock.child.id(), "VmRSS")?));
            eprintln!(
                "  {elapsed:>4} s: {} KiB resident",
                samples.last().map_or(0, |s| s.1)
            );
        }
    }
    let output = generator.wait_with_output()?;
    let figures = parse_load_output(&output)?;
    let end = started.elapsed().as_secs();
    if samples.last().is_none_or(|last| last.0 != end) {
        samples.push((end, proc_status_kib(mock.child.id(), "VmRSS")?));
    }
    mock.stop()?;
    Ok(Soak {
        served: figures.responses + first.probes,
        figures,
        samples,
        rows: log_rows(bins, &db)?,
        connections,
    })
}

struct MockProcess {
    child: Child,
    port: u16,
    spawned: Instant,
    stderr: PathBuf,
}

/// The first 200: when it came, and what it carried.
struct First {
    elapsed: Duration,
    /// Requests the server answered while being polled, the 200 included.
    probes: u64,
    content_type: String,
    body: Vec<u8>,
}

impl MockProcess {
    fn start(
        bins: &Binaries,
        pinning: &Pinning,
        work: &Path,
        slug: &str,
        spec: &Path,
        db: &Path,
    ) -> Result<MockProcess> {
        let port = free_port()?;
        let stderr = work.join(format!("{slug}.stderr"));
        let spawned = Instant::now();
        let child = pinning
            .server(&bins.mockloop)
            .arg("serve")
            .arg(spec)
            .args(["--port", &port.to_string(), "--admin-port", "0", "--db"])
            .arg(db)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr)?)
            .spawn()
            .context("cannot start mockloop serve")?;
        Ok(MockProcess {
            child,
            port,
            spawned,
            stderr,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Polls `path` until it answers 200, counting the answers on the way.
    fn wait_first_200(&mut self, path: &str) -> Result<First> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let mut probes = 0;
        loop {
            if let Some(status) = self.child.try_wait()? {
                let log = std::fs::read_to_string(&self.stderr).unwrap_or_default();
                bail!("mockloop serve exited with {status} before answering:\n{log}");
            }
            if let Ok(response) = get(addr, path) {
                probes += 1;
                if response.status == 200 {
                    return Ok(First {
                        elapsed: self.spawned.elapsed(),
                        probes,
                        content_type: response.content_type,
                        body: response.body,
                    });
                }
            }
            if self.spawned.elapsed() > START_DEADLINE {
                bail!("no 200 from {path} within {START_DEADLINE:?}");
            }
            std::thread::yield_now();
        }
    }

    /// SIGTERM, then wait for the clean exit that flushes the log.
    fn stop(mut self) -> Result<()> {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)
            .context("cannot signal mockloop serve")?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("mockloop serve exited with {status}");
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                bail!("mockloop serve did not stop within 60 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

struct Response {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

/// One HTTP/1.1 GET on a fresh connection (`Connection: close`), read to the end.
fn get(addr: SocketAddr, path: &str) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let invalid = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP answer");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(invalid)?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| invalid())?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(invalid)?;
    let content_type = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    Ok(Response {
        status,
        content_type,
        body: raw[split + 4..].to_vec(),
    })
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

fn read_listening(child: &mut Child) -> Result<String> {
    let stdout = child.stdout.take().context("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    line.trim()
        .strip_prefix("listening on ")
        .map(str::to_owned)
        .with_context(|| format!("unexpected first line from the limit server: '{line}'"))
}

fn load_command(bins: &Binaries, pinning: &Pinning, url: &str, load: &Load) -> Command {
    let mut cmd = pinning.command(&bins.mockloop, false);
    cmd.args(["bench", url, "--json", "--no-save"])
        .args(["-c", &load.connections.to_string()])
        .args(["-d", &format!("{}s", load.duration_secs)])
        .stderr(Stdio::inherit());
    cmd
}

fn run_load(bins: &Binaries, pinning: &Pinning, url: &str, load: &Load) -> Result<Figures> {
    let output = load_command(bins, pinning, url, load)
        .output()
        .context("cannot run mockloop bench")?;
    parse_load_output(&output)
}

fn parse_load_output(output: &std::process::Output) -> Result<Figures> {
    if !output.status.success() {
        bail!("mockloop bench failed with {}", output.status);
    }
    let report: Value =
        serde_json::from_slice(&output.stdout).context("mockloop bench printed no JSON report")?;
    Figures::from_report(&report)
}

/// A `kB` field of `/proc/PID/status` (`VmHWM` is the peak resident set).
fn proc_status_kib(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read the memory of process {pid}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

/// Rows in a request log, read with `mockloop logs`.
fn log_rows(bins: &Binaries, db: &Path) -> Result<u64> {
    let output = Command::new(&bins.mockloop)
        .args(["logs", "--json", "--limit", "1", "--db"])
        .arg(db)
        .output()
        .context("cannot run mockloop logs")?;
    if !output.status.success() {
        bail!(
            "mockloop logs failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let page: Value = serde_json::from_slice(&output.stdout)?;
    page.get("total")
        .and_then(Value::as_u64)
        .context("mockloop logs --json has no total")
}
