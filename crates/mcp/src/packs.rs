//! The library of ready scenario packs (error simulation, load shapes, security probes),
//! written in MockLoop's scenario shape for any spec's endpoints, so `deploy_scenario`
//! accepts them as they are.

use serde_json::{Value, json};

/// One operation a pack applies to: its method (`None`: any) and route template or glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub method: Option<String>,
    pub path: String,
}

/// A pack: where it is filed, what it simulates, and the answer it gives every endpoint.
pub struct Pack {
    pub category: &'static str,
    pub name: &'static str,
    pub scenario_type: &'static str,
    pub description: &'static str,
    response_config: fn() -> Value,
    test_parameters: Option<fn() -> Value>,
}

impl Pack {
    /// `errors/server-errors`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.category, self.name)
    }

    /// The pack as a scenario for `endpoints`.
    pub fn scenario(&self, endpoints: &[Endpoint]) -> Value {
        let endpoints: Vec<Value> = endpoints
            .iter()
            .map(|e| {
                let mut item =
                    json!({ "path": e.path, "response_config": (self.response_config)() });
                if let Some(method) = &e.method {
                    item["method"] = json!(method);
                }
                item
            })
            .collect();
        let mut scenario = json!({
            "scenario_name": format!("pack-{}-{}", self.category, self.name),
            "description": self.description,
            "scenario_type": self.scenario_type,
            "endpoints": endpoints,
        });
        if let Some(parameters) = self.test_parameters {
            scenario["test_parameters"] = parameters();
        }
        scenario
    }
}

/// Every endpoint, whatever the spec: one glob over all paths and methods.
pub fn any_endpoint() -> Vec<Endpoint> {
    vec![Endpoint {
        method: None,
        path: "/**".to_owned(),
    }]
}

/// The operations a mock serves, from its admin `/api/spec` (shadowed ones left out).
pub fn endpoints_of(spec: &Value) -> Vec<Endpoint> {
    spec["operations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|op| op["served"] != false)
        .filter_map(|op| {
            Some(Endpoint {
                method: op["method"].as_str().map(str::to_owned),
                path: op["path"].as_str()?.to_owned(),
            })
        })
        .collect()
}

pub fn find(key: &str) -> Option<&'static Pack> {
    PACKS.iter().find(|p| p.key() == key)
}

pub static PACKS: &[Pack] = &[
    Pack {
        category: "errors",
        name: "server-errors",
        scenario_type: "error_simulation",
        description: "Every endpoint fails with 500 Internal Server Error",
        response_config: || {
            json!({ "status_code": 500,
                    "response_data": { "error": "internal_server_error",
                                       "message": "simulated failure" } })
        },
        test_parameters: None,
    },
    Pack {
        category: "errors",
        name: "service-unavailable",
        scenario_type: "error_simulation",
        description: "Every endpoint answers 503 with Retry-After: 30 (maintenance, outage)",
        response_config: || {
            json!({ "status_code": 503, "headers": { "Retry-After": "30" },
                    "response_data": { "error": "service_unavailable" } })
        },
        test_parameters: None,
    },
    Pack {
        category: "errors",
        name: "not-found",
        scenario_type: "error_simulation",
        description: "Every endpoint answers 404 Not Found",
        response_config: || json!({ "status_code": 404, "response_data": { "error": "missing" } }),
        test_parameters: None,
    },
    Pack {
        category: "errors",
        name: "bad-request",
        scenario_type: "error_simulation",
        description: "Every endpoint answers 400 with a validation error body",
        response_config: || {
            json!({ "status_code": 400,
                    "response_data": { "error": "bad_request",
                                       "violations": [{ "field": "id", "message": "invalid" }] } })
        },
        test_parameters: None,
    },
    Pack {
        category: "errors",
        name: "timeouts",
        scenario_type: "error_simulation",
        description: "Every endpoint waits 30 s, then answers 504 Gateway Timeout: clients \
                      with shorter timeouts see a timeout",
        response_config: || {
            json!({ "status_code": 504, "response_time_ms": 30000,
                    "response_data": { "error": "gateway_timeout" } })
        },
        test_parameters: None,
    },
    Pack {
        category: "errors",
        name: "rate-limits",
        scenario_type: "error_simulation",
        description: "Every endpoint answers 429 Too Many Requests with Retry-After and \
                      X-RateLimit headers",
        response_config: || {
            json!({ "status_code": 429,
                    "headers": { "Retry-After": "60", "X-RateLimit-Limit": "100",
                                 "X-RateLimit-Remaining": "0" },
                    "response_data": { "error": "rate_limited" } })
        },
        test_parameters: None,
    },
    Pack {
        category: "errors",
        name: "flaky",
        scenario_type: "error_simulation",
        description: "Three requests in ten fail with 503; the rest are answered as usual",
        response_config: || json!({ "fault": { "kind": "error", "status": 503, "rate": 0.3 } }),
        test_parameters: None,
    },
    Pack {
        category: "errors",
        name: "connection-resets",
        scenario_type: "error_simulation",
        description: "One request in five has its connection closed without an answer",
        response_config: || json!({ "fault": { "kind": "reset", "rate": 0.2 } }),
        test_parameters: None,
    },
    Pack {
        category: "load",
        name: "slow-responses",
        scenario_type: "load_testing",
        description: "Log-normal latency, median 300 ms, p99 3 s, on every endpoint",
        response_config: || {
            json!({ "delay": { "kind": "lognormal", "p50_ms": 300, "p99_ms": 3000,
                               "max_ms": 10000 } })
        },
        test_parameters: Some(
            || json!({ "concurrent_users": 50, "duration": 60, "ramp_up_time": 10 }),
        ),
    },
    Pack {
        category: "load",
        name: "degraded",
        scenario_type: "load_testing",
        description: "Uniform 0.5-2 s latency with 5% of requests failing with 503",
        response_config: || {
            json!({ "delay": { "kind": "uniform", "min_ms": 500, "max_ms": 2000 },
                    "fault": { "kind": "error", "status": 503, "rate": 0.05 } })
        },
        test_parameters: Some(
            || json!({ "concurrent_users": 100, "duration": 120, "ramp_up_time": 30 }),
        ),
    },
    Pack {
        category: "load",
        name: "slow-body",
        scenario_type: "load_testing",
        description: "Bodies trickle at 1 KiB/s: clients reading with short timeouts break",
        response_config: || json!({ "fault": { "kind": "slow_body", "bytes_per_second": 1024 } }),
        test_parameters: Some(|| json!({ "concurrent_users": 20, "duration": 60 })),
    },
    Pack {
        category: "security",
        name: "unauthorized",
        scenario_type: "security_testing",
        description: "Every endpoint answers 401 with a Bearer challenge (expired token)",
        response_config: || {
            json!({ "status_code": 401,
                    "headers": { "WWW-Authenticate":
                        "Bearer realm=\"mock\", error=\"invalid_token\"" },
                    "response_data": { "error": "invalid_token" } })
        },
        test_parameters: None,
    },
    Pack {
        category: "security",
        name: "forbidden",
        scenario_type: "security_testing",
        description: "Every endpoint answers 403 Forbidden (missing scope or role)",
        response_config: || {
            json!({ "status_code": 403,
                    "response_data": { "error": "insufficient_scope" } })
        },
        test_parameters: None,
    },
    Pack {
        category: "security",
        name: "malformed-json",
        scenario_type: "security_testing",
        description: "Every endpoint answers 200 with a truncated JSON body: parsers must fail \
                      safely",
        response_config: || {
            json!({ "status_code": 200, "headers": { "Content-Type": "application/json" },
                    "response_data": "{\"id\": 1, \"name\": \"trunc" })
        },
        test_parameters: None,
    },
    Pack {
        category: "security",
        name: "unexpected-content-type",
        scenario_type: "security_testing",
        description: "Every endpoint answers 200 with an HTML page instead of JSON (a captive \
                      portal or proxy error page)",
        response_config: || {
            json!({ "status_code": 200, "headers": { "Content-Type": "text/html" },
                    "response_data": "<html><body><script>alert(1)</script></body></html>" })
        },
        test_parameters: None,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn bookshop() -> spec::Api {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/bookshop.yaml");
        spec::load(path, &spec::LoadOptions::default()).unwrap()
    }

    #[test]
    fn every_pack_compiles_for_a_real_spec_and_for_any_spec() {
        let api = std::sync::Arc::new(bookshop());
        let engine = engine::Engine::new(api.clone(), engine::EngineOptions::default());
        let endpoints: Vec<Endpoint> = api
            .operations
            .iter()
            .map(|op| Endpoint {
                method: Some(op.method.as_str().to_owned()),
                path: op.path.clone(),
            })
            .collect();
        for pack in PACKS {
            for list in [&endpoints, &any_endpoint()] {
                let value = pack.scenario(list);
                let scenario = engine::runtime::Scenario::from_json(value.clone())
                    .unwrap_or_else(|e| panic!("{}: {e}", pack.key()));
                engine
                    .compile_scenario(&scenario)
                    .unwrap_or_else(|e| panic!("{}: {e}", pack.key()));
                assert_eq!(scenario.endpoints.len(), list.len());
            }
        }
    }

    #[test]
    fn pack_keys_are_unique() {
        for (i, pack) in PACKS.iter().enumerate() {
            assert!(
                PACKS[..i].iter().all(|p| p.key() != pack.key()),
                "{}",
                pack.key()
            );
            assert_eq!(find(&pack.key()).map(Pack::key), Some(pack.key()));
        }
    }
}
