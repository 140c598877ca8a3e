//! Content negotiation (`Accept`) and client preferences (`Prefer`).

/// The essence of a media type: `type/subtype`, lowercased, without parameters.
pub fn essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// One entry of an `Accept` header.
#[derive(Debug, Clone, PartialEq)]
struct Range<'a> {
    kind: &'a str,
    subtype: &'a str,
    q: f32,
}

fn parse_accept(header: &str) -> Vec<Range<'_>> {
    header
        .split(',')
        .filter_map(|item| {
            let mut params = item.split(';');
            let range = params.next()?.trim();
            let (kind, subtype) = range.split_once('/')?;
            let q = params
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|v| v.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            Some(Range {
                kind: kind.trim(),
                subtype: subtype.trim(),
                q,
            })
        })
        .collect()
}

/// How specific a range's match of `declared` is (higher is more specific), if it matches.
fn specificity(range: &Range<'_>, declared: &str) -> Option<u8> {
    let (kind, subtype) = declared.split_once('/').unwrap_or((declared, ""));
    let wildcard_declared = kind == "*" || subtype == "*";
    if range.kind == "*" && range.subtype == "*" {
        return Some(0);
    }
    if !range.kind.eq_ignore_ascii_case(kind) && kind != "*" {
        return None;
    }
    if range.subtype == "*" {
        return Some(1);
    }
    if range.subtype.eq_ignore_ascii_case(subtype) || subtype == "*" {
        return Some(if wildcard_declared { 1 } else { 3 });
    }
    // `application/json` accepts `application/problem+json` and friends.
    if range.subtype.eq_ignore_ascii_case("json") && subtype.ends_with("+json") {
        return Some(2);
    }
    None
}

/// Picks the index of the declared media type that best fits `accept`.
///
/// No header, or an empty one, accepts the first declared type. Among acceptable types the
/// one with the highest quality wins, then the most specific match, then declaration order.
/// `None` means nothing declared is acceptable (406).
pub fn choose(accept: Option<&str>, declared: &[String]) -> Option<usize> {
    let accept = accept.map(str::trim).filter(|a| !a.is_empty());
    let Some(accept) = accept else {
        return if declared.is_empty() { None } else { Some(0) };
    };
    let ranges = parse_accept(accept);
    if ranges.is_empty() {
        return (!declared.is_empty()).then_some(0);
    }
    let mut best: Option<(usize, f32, u8)> = None;
    for (index, media) in declared.iter().enumerate() {
        let essence = essence(media);
        // The most specific range that matches decides this type's quality.
        let Some((q, spec)) = ranges
            .iter()
            .filter_map(|r| specificity(r, &essence).map(|s| (r.q, s)))
            .max_by(|a, b| a.1.cmp(&b.1).then(a.0.total_cmp(&b.0)))
        else {
            continue;
        };
        if q <= 0.0 {
            continue;
        }
        let better = match best {
            None => true,
            Some((_, bq, bs)) => q > bq || (q == bq && spec > bs),
        };
        if better {
            best = Some((index, q, spec));
        }
    }
    best.map(|(index, _, _)| index)
}

/// What a client asked for in `Prefer` (as Prism users write it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preferences {
    /// `code=404`: the response to send.
    pub code: Option<u16>,
    /// `example=name`: the named example to send.
    pub example: Option<String>,
    /// `dynamic=true`: generate fresh data for this request.
    pub dynamic: bool,
}

impl Preferences {
    /// Reads every `Prefer` header value given. Unknown preferences are ignored, as RFC 7240
    /// asks.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Preferences, String> {
        let mut prefs = Preferences::default();
        for value in values {
            for item in value.split([',', ';']) {
                let Some((key, raw)) = item.split_once('=') else {
                    continue;
                };
                let key = key.trim().to_ascii_lowercase();
                let raw = raw.trim().trim_matches('"');
                match key.as_str() {
                    "code" => {
                        let code = raw.parse::<u16>().ok().filter(|c| (100..600).contains(c));
                        prefs.code = Some(code.ok_or_else(|| {
                            format!("prefer code '{raw}' is not an HTTP status between 100 and 599")
                        })?);
                    }
                    "example" => prefs.example = Some(raw.to_owned()),
                    "dynamic" => prefs.dynamic = raw.eq_ignore_ascii_case("true"),
                    _ => {}
                }
            }
        }
        Ok(prefs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn no_accept_takes_first_declared() {
        assert_eq!(
            choose(None, &types(&["application/xml", "application/json"])),
            Some(0)
        );
        assert_eq!(choose(Some(""), &types(&["text/plain"])), Some(0));
        assert_eq!(choose(None, &[]), None);
    }

    #[test]
    fn accept_picks_by_quality_then_specificity() {
        let declared = types(&["application/xml", "application/json"]);
        assert_eq!(choose(Some("application/json"), &declared), Some(1));
        assert_eq!(
            choose(Some("application/xml;q=0.5, application/json"), &declared),
            Some(1)
        );
        assert_eq!(choose(Some("*/*"), &declared), Some(0));
        assert_eq!(choose(Some("application/*"), &declared), Some(0));
        assert_eq!(choose(Some("text/html, */*;q=0.1"), &declared), Some(0));
    }

    #[test]
    fn nothing_acceptable_is_none() {
        let declared = types(&["application/json"]);
        assert_eq!(choose(Some("text/html"), &declared), None);
        assert_eq!(choose(Some("application/json;q=0"), &declared), None);
    }

    #[test]
    fn json_accepts_structured_suffixes_and_wildcard_declarations() {
        assert_eq!(
            choose(
                Some("application/json"),
                &types(&["application/problem+json"])
            ),
            Some(0)
        );
        assert_eq!(choose(Some("image/png"), &types(&["*/*"])), Some(0));
        assert_eq!(choose(Some("image/png"), &types(&["image/*"])), Some(0));
    }

    #[test]
    fn prefer_is_parsed_like_prism() {
        let p = Preferences::parse(["code=404, example=missing", "dynamic=true"]).unwrap();
        assert_eq!(
            p,
            Preferences {
                code: Some(404),
                example: Some("missing".into()),
                dynamic: true
            }
        );
        assert_eq!(
            Preferences::parse(["respond-async"]).unwrap(),
            Preferences::default()
        );
        let err = Preferences::parse(["code=abc"]).unwrap_err();
        assert!(err.contains("'abc'"), "{err}");
    }
}
