//! `RequestFilter`: which logged requests a listing or an analysis covers, and its parsing
//! from the strings of the admin API's query and the CLI's flags.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use regex::{Regex, RegexBuilder};

/// Rows per page when no limit is given.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page a query may ask for.
pub const MAX_LIMIT: u32 = 10_000;
/// The keys `RequestFilter::set` understands, for callers that pass other keys through.
pub const FILTER_KEYS: &[&str] = &[
    "method",
    "path",
    "path_regex",
    "route",
    "status",
    "time_from",
    "time_to",
    "limit",
    "offset",
];

/// Compiled regexes are capped so that a hostile pattern cannot eat the server's memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Which requests to select. All conditions must hold; `None` means no condition.
/// `limit` and `offset` apply to listings only, not to analyses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFilter {
    /// Uppercase method, compared exactly.
    pub method: Option<String>,
    pub path: Option<PathMatch>,
    /// Route template, compared exactly (`/users/{id}`).
    pub route: Option<String>,
    pub status: Option<StatusMatch>,
    /// Inclusive lower bound on the request time.
    pub time_from: Option<DateTime<Utc>>,
    /// Exclusive upper bound on the request time.
    pub time_to: Option<DateTime<Utc>>,
    pub limit: u32,
    pub offset: u64,
}

impl Default for RequestFilter {
    fn default() -> Self {
        RequestFilter {
            method: None,
            path: None,
            route: None,
            status: None,
            time_from: None,
            time_to: None,
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

/// How the path is matched.
///
/// A regex is asked for with its own key (`path_regex`) rather than with `/.../` around the
/// value, because real paths such as `/users/` start and end with a slash and would be
/// misread as patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// The path contains this text (case-sensitive).
    Contains(String),
    /// The path matches this regex (Rust `regex` syntax, unanchored).
    Regex(String),
}

/// Which statuses are selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMatch {
    /// Exactly this code, e.g. `404`.
    Exact(u16),
    /// A whole class given by its first digit: `4` for `4xx`.
    Class(u8),
}

impl StatusMatch {
    /// The inclusive range of codes selected.
    pub fn range(self) -> (u16, u16) {
        match self {
            StatusMatch::Exact(code) => (code, code),
            StatusMatch::Class(class) => (u16::from(class) * 100, u16::from(class) * 100 + 99),
        }
    }
}

/// A filter value that cannot be used; the message names the key and quotes the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("unknown filter '{0}' (known: {known})", known = FILTER_KEYS.join(", "))]
    UnknownKey(String),
    #[error("invalid method '{0}': expected an HTTP method such as GET")]
    Method(String),
    #[error(
        "invalid status '{0}': expected a code such as 404, 0 for requests that got no \
         answer, or a class such as 4xx"
    )]
    Status(String),
    #[error(
        "invalid {key} '{value}': expected an RFC 3339 time with a zone, \
         such as 2024-05-01T12:00:00Z"
    )]
    Time { key: &'static str, value: String },
    #[error("invalid path_regex '{value}': {reason}")]
    Regex { value: String, reason: String },
    #[error("invalid {key} '{value}': expected a whole number from 0 to {max}")]
    Number {
        key: &'static str,
        value: String,
        max: u64,
    },
    #[error("time_from '{from}' is after time_to '{to}'")]
    TimeOrder { from: String, to: String },
}

impl FromStr for StatusMatch {
    type Err = FilterError;

    fn from_str(value: &str) -> Result<Self, FilterError> {
        let bad = || FilterError::Status(value.to_owned());
        // 0: the request got no answer (the connection was closed by a `reset` fault).
        if value == "0" {
            return Ok(StatusMatch::Exact(0));
        }
        let bytes = value.as_bytes();
        if bytes.len() != 3 {
            return Err(bad());
        }
        if bytes[1..].eq_ignore_ascii_case(b"xx") {
            return match bytes[0] {
                first @ b'1'..=b'5' => Ok(StatusMatch::Class(first - b'0')),
                _ => Err(bad()),
            };
        }
        match value.parse::<u16>() {
            Ok(code @ 100..=999) => Ok(StatusMatch::Exact(code)),
            _ => Err(bad()),
        }
    }
}

/// Compiles a path regex with the limits every caller must share.
pub(crate) fn compile_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

impl RequestFilter {
    /// Builds a filter from key/value pairs, such as an HTTP query string. Empty values are
    /// ignored (an empty form field means "any"); a repeated key keeps the last value.
    pub fn from_pairs<I, K, V>(pairs: I) -> Result<RequestFilter, FilterError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut filter = RequestFilter::default();
        for (key, value) in pairs {
            filter.set(key.as_ref(), value.as_ref())?;
        }
        filter.validate()?;
        Ok(filter)
    }

    /// Sets one condition from its string form; see `FILTER_KEYS` for the keys.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), FilterError> {
        let value = value.trim();
        if value.is_empty() {
            return if FILTER_KEYS.contains(&key) {
                Ok(())
            } else {
                Err(FilterError::UnknownKey(key.to_owned()))
            };
        }
        match key {
            "method" => self.method = Some(parse_method(value)?),
            "path" => self.path = Some(PathMatch::Contains(value.to_owned())),
            "path_regex" => self.path = Some(parse_regex(value)?),
            "route" => self.route = Some(value.to_owned()),
            "status" => self.status = Some(value.parse()?),
            "time_from" => self.time_from = Some(parse_time("time_from", value)?),
            "time_to" => self.time_to = Some(parse_time("time_to", value)?),
            "limit" => self.limit = parse_number("limit", value, u64::from(MAX_LIMIT))? as u32,
            "offset" => self.offset = parse_number("offset", value, i64::MAX as u64)?,
            _ => return Err(FilterError::UnknownKey(key.to_owned())),
        }
        Ok(())
    }

    /// Checks what single values cannot: that the time range is not reversed.
    pub fn validate(&self) -> Result<(), FilterError> {
        match (self.time_from, self.time_to) {
            (Some(from), Some(to)) if from > to => Err(FilterError::TimeOrder {
                from: from.to_rfc3339(),
                to: to.to_rfc3339(),
            }),
            _ => Ok(()),
        }
    }
}

fn parse_method(value: &str) -> Result<String, FilterError> {
    match http::Method::from_bytes(value.to_ascii_uppercase().as_bytes()) {
        Ok(method) => Ok(method.as_str().to_owned()),
        Err(_) => Err(FilterError::Method(value.to_owned())),
    }
}

fn parse_regex(value: &str) -> Result<PathMatch, FilterError> {
    match compile_regex(value) {
        Ok(_) => Ok(PathMatch::Regex(value.to_owned())),
        Err(err) => Err(FilterError::Regex {
            value: value.to_owned(),
            reason: err
                .to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_owned(),
        }),
    }
}

fn parse_time(key: &'static str, value: &str) -> Result<DateTime<Utc>, FilterError> {
    DateTime::parse_from_rfc3339(value)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| FilterError::Time {
            key,
            value: value.to_owned(),
        })
}

fn parse_number(key: &'static str, value: &str, max: u64) -> Result<u64, FilterError> {
    match value.parse::<u64>() {
        Ok(number) if number <= max => Ok(number),
        _ => Err(FilterError::Number {
            key,
            value: value.to_owned(),
            max,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<RequestFilter, FilterError> {
        RequestFilter::from_pairs(pairs.iter().copied())
    }

    fn message(pairs: &[(&str, &str)]) -> String {
        parse(pairs).unwrap_err().to_string()
    }

    #[test]
    fn every_key_is_parsed() {
        let filter = parse(&[
            ("method", "post"),
            ("path_regex", r"^/pets/\d+$"),
            ("route", "/pets/{id}"),
            ("status", "4XX"),
            ("time_from", "2024-05-01T12:00:00+02:00"),
            ("time_to", "2024-05-01T11:00:00Z"),
            ("limit", "10"),
            ("offset", "20"),
        ])
        .unwrap();
        assert_eq!(filter.method.as_deref(), Some("POST"));
        assert_eq!(filter.path, Some(PathMatch::Regex(r"^/pets/\d+$".into())));
        assert_eq!(filter.route.as_deref(), Some("/pets/{id}"));
        assert_eq!(filter.status, Some(StatusMatch::Class(4)));
        assert_eq!(
            filter.time_from.unwrap().to_rfc3339(),
            "2024-05-01T10:00:00+00:00"
        );
        assert_eq!((filter.limit, filter.offset), (10, 20));
    }

    #[test]
    fn defaults_and_empty_values_select_everything() {
        let filter = parse(&[("method", ""), ("status", " ")]).unwrap();
        assert_eq!(filter, RequestFilter::default());
        assert_eq!(filter.limit, DEFAULT_LIMIT);
    }

    #[test]
    fn a_slash_delimited_path_is_a_substring_not_a_regex() {
        let filter = parse(&[("path", "/users/")]).unwrap();
        assert_eq!(filter.path, Some(PathMatch::Contains("/users/".into())));
    }

    #[test]
    fn status_forms() {
        assert_eq!("404".parse(), Ok(StatusMatch::Exact(404)));
        assert_eq!("5xx".parse(), Ok(StatusMatch::Class(5)));
        assert_eq!(StatusMatch::Class(2).range(), (200, 299));
        // 0: no answer (a reset); codes up to 999 can be set by overrides.
        assert_eq!("0".parse(), Ok(StatusMatch::Exact(0)));
        assert_eq!("600".parse(), Ok(StatusMatch::Exact(600)));
        for bad in ["6xx", "99", "00", "1000", "4x", "abc", "40x"] {
            assert!(bad.parse::<StatusMatch>().is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_name_the_key_and_quote_the_value() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("status", "4y4")],
                "invalid status '4y4': expected a code such as 404",
            ),
            (&[("method", "GE T")], "invalid method 'GE T'"),
            (
                &[("time_from", "yesterday")],
                "invalid time_from 'yesterday': expected an RFC",
            ),
            (
                &[("time_to", "2024-05-01T12:00:00")],
                "invalid time_to '2024-05-01T12:00:00'",
            ),
            (
                &[("limit", "20000")],
                "invalid limit '20000': expected a whole number from 0",
            ),
            (&[("offset", "-1")], "invalid offset '-1'"),
            (&[("path_regex", "(")], "invalid path_regex '(': "),
            (
                &[("colour", "red")],
                "unknown filter 'colour' (known: method, path",
            ),
            (
                &[
                    ("time_from", "2024-05-02T00:00:00Z"),
                    ("time_to", "2024-05-01T00:00:00Z"),
                ],
                "time_from '2024-05-02T00:00:00+00:00' is after time_to",
            ),
        ];
        for (pairs, expected) in cases {
            let got = message(pairs);
            assert!(
                got.starts_with(expected),
                "expected: {expected}\n     got: {got}"
            );
        }
    }
}
