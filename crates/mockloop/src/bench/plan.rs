//! Turning `bench` flags into a load plan: the target (a URL, a scenario file or every
//! operation of a description), the load model and when to stop.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use load::scenario::Scenario;
use load::{BaseUrl, Load, LoadError, Plan, RequestKind, RequestSpec, Skipped, Stop, Target};

use crate::cli::BenchRunArgs;

/// Users of the closed model when `-c` is not given.
const DEFAULT_USERS: u32 = 10;
/// Connection cap of the open model when `-c` is not given: generous, since connections are
/// only opened when the schedule falls behind.
const DEFAULT_OPEN_CONNECTIONS: u32 = 100;
/// Length of a run given neither `-d` nor `-n`.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// A plan ready to run, with what could not be included in it.
pub struct Resolved {
    pub plan: Plan,
    pub skipped: Vec<Skipped>,
    pub threads: usize,
}

/// Why flags do not make a plan; each maps to its own exit code.
pub enum PlanError {
    Usage(anyhow::Error),
    /// The description given to `--spec` could not be loaded.
    Spec(spec::LoadError),
}

impl From<anyhow::Error> for PlanError {
    fn from(err: anyhow::Error) -> Self {
        PlanError::Usage(err)
    }
}

pub fn resolve(args: &BenchRunArgs) -> Result<Resolved, PlanError> {
    let headers = args
        .headers
        .iter()
        .map(|h| header(h))
        .collect::<Result<Vec<_>>>()?;
    let (target, skipped) = target(args, &headers)?;
    let load = load_model(args)?;
    let stop = match (args.duration, args.requests) {
        (None, None) => Stop {
            duration: Some(DEFAULT_DURATION),
            requests: None,
        },
        (duration, requests) => Stop { duration, requests },
    };
    let threads = match args.threads {
        Some(0) => return Err(anyhow!("invalid --threads '0': at least one is needed").into()),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    Ok(Resolved {
        plan: Plan {
            target,
            load,
            stop,
            timeout: args.timeout,
            seed: args.seed,
        },
        skipped,
        threads,
    })
}

fn header(text: &str) -> Result<(String, String)> {
    match text.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => bail!("invalid header '{text}': expected 'Name: value'"),
    }
}

fn load_model(args: &BenchRunArgs) -> Result<Load> {
    match args.rate {
        Some(rate) => {
            if args.think.is_some() || args.ramp_up.is_some() {
                bail!("--think and --ramp-up belong to the closed model; --rate cannot use them");
            }
            if !(rate.is_finite() && rate > 0.0) {
                bail!("invalid --rate '{rate}': must be a positive number of requests per second");
            }
            Ok(Load::Open {
                rate,
                max_connections: args.connections.unwrap_or(DEFAULT_OPEN_CONNECTIONS),
            })
        }
        None => Ok(Load::Closed {
            users: args.connections.unwrap_or(DEFAULT_USERS),
            think: args.think.unwrap_or_default(),
            ramp_up: args.ramp_up.unwrap_or_default(),
        }),
    }
}

fn target(
    args: &BenchRunArgs,
    headers: &[(String, String)],
) -> Result<(Target, Vec<Skipped>), PlanError> {
    let url_only = |flag: &str| anyhow!("{flag} applies to a URL; a scenario sets it per request");
    if args.url.is_none() {
        if args.method.is_some() {
            return Err(url_only("-X/--method").into());
        }
        if args.body.is_some() {
            return Err(url_only("--body").into());
        }
    }
    if let Some(url) = &args.url {
        if args.target.is_some() {
            return Err(anyhow!("--target goes with --spec or --scenario, not with a URL").into());
        }
        let method = args.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
        let body = match args.body.as_deref() {
            None => Vec::new(),
            Some(text) => match text.strip_prefix('@') {
                Some(path) => std::fs::read(path)
                    .with_context(|| format!("cannot read the body file '{path}'"))?,
                None => text.as_bytes().to_vec(),
            },
        };
        return Ok((
            Target::single(url, &method, headers, body).map_err(usage)?,
            Vec::new(),
        ));
    }
    if let Some(path) = &args.scenario {
        let scenario = Scenario::read(path).map_err(anyhow::Error::new)?;
        let base = match (&args.target, &scenario.base_url) {
            (Some(url), _) | (None, Some(url)) => BaseUrl::parse(url).map_err(usage)?,
            (None, None) => {
                return Err(anyhow!(
                    "scenario '{}' has no base_url; give --target BASE_URL",
                    path.display()
                )
                .into());
            }
        };
        let specs = scenario
            .requests
            .into_iter()
            .map(|spec| with_headers(spec, headers))
            .collect();
        let description = format!("scenario {}", path.display());
        return Ok((
            Target::many(base, specs, description).map_err(usage)?,
            Vec::new(),
        ));
    }
    if let Some(source) = &args.spec {
        let Some(url) = &args.target else {
            return Err(anyhow!("--spec needs --target BASE_URL: where the API is served").into());
        };
        let base = BaseUrl::parse(url).map_err(usage)?;
        let api = spec::load(source, &spec::LoadOptions::default()).map_err(PlanError::Spec)?;
        return Ok(spec_target(&api, base, headers, args.seed)?);
    }
    Err(
        anyhow!("nothing to load: give a URL, --scenario FILE or --spec SPEC --target BASE_URL")
            .into(),
    )
}

fn usage(err: LoadError) -> PlanError {
    PlanError::Usage(err.into())
}

/// Adds the command line's headers to a request that does not set them itself.
fn with_headers(mut spec: RequestSpec, extra: &[(String, String)]) -> RequestSpec {
    for (name, value) in extra {
        if !spec
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            spec.headers.push((name.clone(), value.clone()));
        }
    }
    spec
}

/// One request kind per operation, built by the engine's sampler. A base URL with a path
/// takes the place of the description's base path; without one, the description's is kept.
fn spec_target(
    api: &spec::Api,
    base: BaseUrl,
    headers: &[(String, String)],
    seed: u64,
) -> Result<(Target, Vec<Skipped>)> {
    let mut kinds: Vec<RequestKind> = Vec::new();
    let mut skipped = Vec::new();
    let replace = (!base.prefix.is_empty())
        .then(|| api.base_paths.first())
        .flatten();
    for op in &api.operations {
        let name = op
            .operation_id
            .clone()
            .unwrap_or_else(|| format!("{} {}", op.method.as_str(), op.path));
        if kinds.iter().any(|k| k.name == name) {
            skipped.push(Skipped {
                name,
                reason: "another operation has the same id".to_owned(),
            });
            continue;
        }
        let sample = engine::sample::sample_request(api, op, seed);
        let mut path = sample.path_and_query;
        if let Some(rest) = replace.and_then(|prefix| path.strip_prefix(prefix.as_str()))
            && (rest.is_empty() || rest.starts_with(['/', '?']))
        {
            path = format!("/{}", rest.trim_start_matches('/'));
        }
        let mut request_headers = sample.headers;
        let body = match sample.body {
            Some((content_type, bytes)) => {
                request_headers.push(("Content-Type".to_owned(), content_type));
                bytes
            }
            None => Vec::new(),
        };
        let spec = with_headers(
            RequestSpec {
                name: name.clone(),
                method: sample.method.to_owned(),
                path,
                headers: request_headers,
                body,
                weight: 1,
            },
            headers,
        );
        match RequestKind::new(&base, spec) {
            Ok(kind) => kinds.push(kind),
            Err(LoadError::Request { reason, .. }) => skipped.push(Skipped { name, reason }),
            Err(other) => skipped.push(Skipped {
                name,
                reason: other.to_string(),
            }),
        }
    }
    let description = format!("{} ({}) at {}", api.title, api.source, base.as_url());
    let target = Target::from_kinds(base, kinds, description)
        .with_context(|| format!("no operation of '{}' could be sent", api.source))?;
    Ok((target, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_name_colon_value() {
        assert_eq!(
            header("X-Key:  a:b ").unwrap(),
            ("X-Key".to_owned(), "a:b".to_owned())
        );
        assert_eq!(
            header("nothing").unwrap_err().to_string(),
            "invalid header 'nothing': expected 'Name: value'"
        );
    }

    #[test]
    fn every_operation_of_the_example_becomes_a_request_kind() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let source = root.join("bookshop.yaml");
        let api = spec::load(source.to_str().unwrap(), &spec::LoadOptions::default()).unwrap();
        let base = BaseUrl::parse("http://127.0.0.1:9/api").unwrap();
        let (target, skipped) = spec_target(&api, base, &[], 0).unwrap();
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(target.kinds.len(), api.operations.len());
        let health = target.kinds.iter().find(|k| k.name == "getHealth").unwrap();
        // The base URL's path replaces the description's `/v1`.
        assert_eq!(health.path(), "/api/health");
    }
}
