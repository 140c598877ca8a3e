//! The shapes users write to change the mock while it runs: overrides, scenarios (in the
//! shape MockLoop users already write), delays and faults; read from JSON values and from
//! the short text forms the command line takes.

use std::fmt;
use std::str::FromStr;

use indexmap::IndexMap;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::RuleError;

/// A named set of endpoint rules, in MockLoop's shape.
///
/// `response_config` takes MockLoop's `status_code`, `response_time_ms` (a fixed delay),
/// `response_data` and `headers`, and two fields of our own: `delay` (a distribution) and
/// `fault`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub scenario_name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub scenario_type: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub endpoints: Vec<EndpointConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_parameters: Option<Value>,
}

/// One endpoint of a scenario: which requests, and what to answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// A route template (`/books/{id}`), a concrete path, a glob (`/books/*`) or a regular
    /// expression starting with `^`.
    pub path: String,
    /// `*` or absent for any method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub response_config: ResponseConfig,
}

/// What a scenario endpoint answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// A fixed delay, as MockLoop writes it; `delay` takes a distribution instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_time_ms: Option<u64>,
    /// The body: a string is sent as it is, anything else as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_data: Option<Value>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "IndexMap::is_empty"
    )]
    pub headers: IndexMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<DelaySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<FaultSpec>,
}

/// An override of our own admin API: one rule, with the same parts as a scenario endpoint
/// under shorter names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "IndexMap::is_empty"
    )]
    pub headers: IndexMap<String, String>,
    /// The body: a string is sent as it is, anything else as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<DelaySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<FaultSpec>,
}

/// Latency and a fault for every request that no rule gives its own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalFaults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<DelaySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<FaultSpec>,
}

/// How long to wait before answering. JSON: a number of milliseconds, or an object with
/// `kind` `fixed` (`ms`), `uniform` (`min_ms`, `max_ms`) or `lognormal` (`median_ms` and
/// `sigma`, or `p50_ms` and `p99_ms`; `max_ms` caps it).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DelaySpec {
    Fixed {
        ms: u64,
    },
    Uniform {
        min_ms: u64,
        max_ms: u64,
    },
    Lognormal {
        median_ms: f64,
        sigma: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        max_ms: Option<u64>,
    },
}

/// The inverse of the standard normal distribution at 0.99: a log-normal delay's p99 is
/// `median * exp(sigma * Z99)`.
pub(crate) const Z99: f64 = 2.326_347_874_040_841;

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum DelayObject {
    Fixed {
        ms: u64,
    },
    Uniform {
        min_ms: u64,
        max_ms: u64,
    },
    Lognormal {
        median_ms: Option<f64>,
        sigma: Option<f64>,
        p50_ms: Option<f64>,
        p99_ms: Option<f64>,
        max_ms: Option<u64>,
    },
}

impl<'de> Deserialize<'de> for DelaySpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if let Value::Number(n) = &value {
            return match n.as_u64() {
                Some(ms) => Ok(DelaySpec::Fixed { ms }),
                None => Err(D::Error::custom(format!(
                    "invalid delay {n}: expected whole milliseconds (0 or more)"
                ))),
            };
        }
        let object = DelayObject::deserialize(value).map_err(D::Error::custom)?;
        DelaySpec::from_object(object).map_err(D::Error::custom)
    }
}

impl DelaySpec {
    fn from_object(object: DelayObject) -> Result<DelaySpec, String> {
        Ok(match object {
            DelayObject::Fixed { ms } => DelaySpec::Fixed { ms },
            DelayObject::Uniform { min_ms, max_ms } => DelaySpec::Uniform { min_ms, max_ms },
            DelayObject::Lognormal {
                median_ms,
                sigma,
                p50_ms,
                p99_ms,
                max_ms,
            } => {
                let median = match (median_ms, p50_ms) {
                    (Some(m), None) | (None, Some(m)) => m,
                    (Some(_), Some(_)) => return Err("give median_ms or p50_ms, not both".into()),
                    (None, None) => {
                        return Err("a lognormal delay needs median_ms or p50_ms".into());
                    }
                };
                let sigma = match (sigma, p99_ms) {
                    (Some(s), None) => s,
                    (None, Some(p99)) => {
                        if !(p99 >= median && median > 0.0) {
                            return Err(format!(
                                "p99_ms {p99} must be at least the median {median}, above 0"
                            ));
                        }
                        (p99 / median).ln() / Z99
                    }
                    (Some(_), Some(_)) => return Err("give sigma or p99_ms, not both".into()),
                    (None, None) => return Err("a lognormal delay needs sigma or p99_ms".into()),
                };
                DelaySpec::Lognormal {
                    median_ms: median,
                    sigma,
                    max_ms,
                }
            }
        })
    }

    /// Checks the numbers; the message names the bad one.
    pub(crate) fn check(&self) -> Result<(), String> {
        let limit = super::MAX_DELAY.as_millis() as u64;
        let too_long = |field: &str, ms: u64| {
            Err(format!(
                "{field} {ms} is longer than the longest delay, {limit} ms (one hour)"
            ))
        };
        match *self {
            DelaySpec::Fixed { ms } if ms > limit => too_long("ms", ms),
            DelaySpec::Fixed { .. } => Ok(()),
            DelaySpec::Uniform { max_ms, .. } if max_ms > limit => too_long("max_ms", max_ms),
            DelaySpec::Lognormal {
                max_ms: Some(max_ms),
                ..
            } if max_ms > limit => too_long("max_ms", max_ms),
            DelaySpec::Lognormal { median_ms, .. } if median_ms > limit as f64 => Err(format!(
                "median_ms {median_ms} is longer than the longest delay, {limit} ms (one hour)"
            )),
            DelaySpec::Uniform { min_ms, max_ms } if min_ms > max_ms => {
                Err(format!("min_ms {min_ms} is above max_ms {max_ms}"))
            }
            DelaySpec::Uniform { .. } => Ok(()),
            DelaySpec::Lognormal {
                median_ms, sigma, ..
            } => {
                if !(median_ms.is_finite() && median_ms > 0.0) {
                    Err(format!("median_ms {median_ms} must be above 0"))
                } else if !(sigma.is_finite() && sigma >= 0.0) {
                    Err(format!("sigma {sigma} must be 0 or more"))
                } else {
                    Ok(())
                }
            }
        }
    }
}

/// Reads `200` (fixed ms, `ms` suffix allowed), `100..300` (uniform),
/// `lognormal:median=100,sigma=0.5` or `lognormal:p50=100,p99=800[,max=5000]`, or JSON.
impl FromStr for DelaySpec {
    type Err = String;

    fn from_str(text: &str) -> Result<DelaySpec, String> {
        let text = text.trim();
        if text.starts_with('{') {
            return serde_json::from_str(text).map_err(|e| format!("invalid delay '{text}': {e}"));
        }
        let ms = |s: &str| -> Result<u64, String> {
            s.trim()
                .trim_end_matches("ms")
                .parse()
                .map_err(|_| format!("invalid delay '{text}': '{s}' is not whole milliseconds"))
        };
        let spec = if let Some(params) = text.strip_prefix("lognormal:") {
            let mut object = serde_json::Map::new();
            object.insert("kind".into(), "lognormal".into());
            for pair in params.split(',') {
                let (key, value) = pair.split_once('=').ok_or_else(|| {
                    format!("invalid delay '{text}': expected key=value, found '{pair}'")
                })?;
                let key = match key.trim() {
                    "median" => "median_ms",
                    "p50" => "p50_ms",
                    "p99" => "p99_ms",
                    "max" => "max_ms",
                    "sigma" => "sigma",
                    other => {
                        return Err(format!(
                            "invalid delay '{text}': unknown key '{other}' (median, sigma, p50, \
                             p99, max)"
                        ));
                    }
                };
                let number: f64 =
                    value.trim().trim_end_matches("ms").parse().map_err(|_| {
                        format!("invalid delay '{text}': '{value}' is not a number")
                    })?;
                let number = if key == "max_ms" {
                    Value::from(number as u64)
                } else {
                    Value::from(number)
                };
                object.insert(key.into(), number);
            }
            serde_json::from_value(Value::Object(object))
                .map_err(|e| format!("invalid delay '{text}': {e}"))?
        } else if let Some((min, max)) = text.split_once("..") {
            DelaySpec::Uniform {
                min_ms: ms(min)?,
                max_ms: ms(max)?,
            }
        } else {
            DelaySpec::Fixed { ms: ms(text)? }
        };
        spec.check()
            .map_err(|e| format!("invalid delay '{text}': {e}"))?;
        Ok(spec)
    }
}

/// Something going wrong on purpose, for a share (`rate`, 0 to 1, default 1) of requests.
/// JSON: an object with `kind` `error` (`status`, optional `body`), `reset`, `empty` or
/// `slow_body` (`bytes_per_second`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultSpec {
    /// Answer with `status` (and `body` when given) instead.
    Error {
        #[serde(default = "always")]
        rate: f64,
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Value>,
    },
    /// Close the connection without answering.
    Reset {
        #[serde(default = "always")]
        rate: f64,
    },
    /// Send the status and headers with an empty body.
    Empty {
        #[serde(default = "always")]
        rate: f64,
    },
    /// Send the body at this many bytes per second.
    SlowBody {
        #[serde(default = "always")]
        rate: f64,
        bytes_per_second: u64,
    },
}

fn always() -> f64 {
    1.0
}

impl FaultSpec {
    pub fn rate(&self) -> f64 {
        match *self {
            FaultSpec::Error { rate, .. }
            | FaultSpec::Reset { rate }
            | FaultSpec::Empty { rate }
            | FaultSpec::SlowBody { rate, .. } => rate,
        }
    }

    /// The name stored in the request log when the fault fires.
    pub fn name(&self) -> &'static str {
        match self {
            FaultSpec::Error { .. } => "error",
            FaultSpec::Reset { .. } => "reset",
            FaultSpec::Empty { .. } => "empty",
            FaultSpec::SlowBody { .. } => "slow_body",
        }
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        let rate = self.rate();
        if !(0.0..=1.0).contains(&rate) {
            return Err(format!("rate {rate} is not between 0 and 1"));
        }
        match *self {
            FaultSpec::Error { status, .. } if !(100..=999).contains(&status) => Err(format!(
                "status {status} is not an HTTP status (100 to 999)"
            )),
            FaultSpec::SlowBody {
                bytes_per_second: 0,
                ..
            } => Err("bytes_per_second must be at least 1".into()),
            _ => Ok(()),
        }
    }
}

/// Reads `reset`, `empty`, `error=503`, `slow=100` (bytes per second), each with an
/// optional `@RATE` (`error=503@0.2`), or JSON.
impl FromStr for FaultSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<FaultSpec, String> {
        let text = text.trim();
        if text.starts_with('{') {
            let spec: FaultSpec =
                serde_json::from_str(text).map_err(|e| format!("invalid fault '{text}': {e}"))?;
            spec.check()
                .map_err(|e| format!("invalid fault '{text}': {e}"))?;
            return Ok(spec);
        }
        let (head, rate) = match text.rsplit_once('@') {
            Some((head, rate)) => {
                let rate = rate.trim().parse::<f64>().map_err(|_| {
                    format!("invalid fault '{text}': rate '{rate}' is not a number")
                })?;
                (head, rate)
            }
            None => (text, 1.0),
        };
        let (kind, arg) = match head.split_once('=') {
            Some((kind, arg)) => (kind.trim(), Some(arg.trim())),
            None => (head.trim(), None),
        };
        let number = |what: &str| -> Result<u64, String> {
            let arg = arg.ok_or_else(|| format!("invalid fault '{text}': {kind} needs ={what}"))?;
            arg.parse()
                .map_err(|_| format!("invalid fault '{text}': '{arg}' is not a whole number"))
        };
        let spec = match kind {
            "reset" => FaultSpec::Reset { rate },
            "empty" => FaultSpec::Empty { rate },
            "error" => FaultSpec::Error {
                rate,
                status: u16::try_from(number("STATUS")?).unwrap_or(0),
                body: None,
            },
            "slow" | "slow_body" => FaultSpec::SlowBody {
                rate,
                bytes_per_second: number("BYTES_PER_SECOND")?,
            },
            other => {
                return Err(format!(
                    "invalid fault '{text}': unknown kind '{other}' (reset, empty, error=STATUS, \
                     slow=BYTES_PER_SECOND)"
                ));
            }
        };
        spec.check()
            .map_err(|e| format!("invalid fault '{text}': {e}"))?;
        Ok(spec)
    }
}

impl fmt::Display for DelaySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DelaySpec::Fixed { ms } => write!(f, "{ms} ms"),
            DelaySpec::Uniform { min_ms, max_ms } => write!(f, "{min_ms}..{max_ms} ms"),
            DelaySpec::Lognormal {
                median_ms,
                sigma,
                max_ms,
            } => {
                write!(f, "lognormal median {median_ms} ms, sigma {sigma:.3}")?;
                match max_ms {
                    Some(max) => write!(f, ", max {max} ms"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultSpec::Error { status, .. } => write!(f, "error {status}")?,
            FaultSpec::Reset { .. } => write!(f, "reset")?,
            FaultSpec::Empty { .. } => write!(f, "empty")?,
            FaultSpec::SlowBody {
                bytes_per_second, ..
            } => write!(f, "slow body {bytes_per_second} B/s")?,
        }
        let rate = self.rate();
        if rate < 1.0 {
            write!(f, " at rate {rate}")?;
        }
        Ok(())
    }
}

/// Reads `null` as the type's default, as MockLoop's files sometimes hold `null` for an
/// absent value.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Reads `value` as `T`, naming the field at fault (`endpoints[0].response_config.status_code`).
fn from_value<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, RuleError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let field = if path == "." { String::new() } else { path };
        RuleError::new(field, err.into_inner().to_string())
    })
}

impl Scenario {
    /// Reads a scenario from JSON, naming the bad field on error.
    pub fn from_json(value: Value) -> Result<Scenario, RuleError> {
        let scenario: Scenario = from_value(value)?;
        if scenario.scenario_name.trim().is_empty() {
            return Err(RuleError::new("scenario_name", "must not be empty"));
        }
        Ok(scenario)
    }

    /// Reads a scenario file's content: one scenario, or a list of them.
    pub fn many_from_json(value: Value) -> Result<Vec<Scenario>, RuleError> {
        match value {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| Scenario::from_json(item).map_err(|e| e.within(&format!("[{i}]"))))
                .collect(),
            other => Ok(vec![Scenario::from_json(other)?]),
        }
    }
}

impl OverrideSpec {
    /// Reads an override from JSON, naming the bad field on error.
    pub fn from_json(value: Value) -> Result<OverrideSpec, RuleError> {
        from_value(value)
    }
}

impl GlobalFaults {
    /// Reads global faults from JSON, naming the bad field on error.
    pub fn from_json(value: Value) -> Result<GlobalFaults, RuleError> {
        from_value(value)
    }

    pub fn is_empty(&self) -> bool {
        self.delay.is_none() && self.fault.is_none()
    }
}
