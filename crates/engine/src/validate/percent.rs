//! Strict percent-decoding of URL components and splitting of `key=value&...` strings.

use std::borrow::Cow;

/// Why a component could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
}

impl DecodeError {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            DecodeError::BadEscape => "invalid percent-encoding",
            DecodeError::NotUtf8 => "not valid utf-8 after percent-decoding",
        }
    }
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`), refusing broken escapes
/// and non-UTF-8 results. Borrows when there is nothing to decode, which is the common case.
pub(crate) fn decode(raw: &str, plus_is_space: bool) -> Result<Cow<'_, str>, DecodeError> {
    let bytes = raw.as_bytes();
    if !bytes
        .iter()
        .any(|&b| b == b'%' || (plus_is_space && b == b'+'))
    {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_value);
                let lo = bytes.get(i + 2).copied().and_then(hex_value);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(DecodeError::BadEscape);
                };
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| DecodeError::NotUtf8)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// One decoded `key=value` pair of a query string or form body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pair<'a> {
    pub key: Cow<'a, str>,
    pub value: Cow<'a, str>,
}

/// A pair that could not be decoded: the raw text and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PairError<'a> {
    pub raw: &'a str,
    pub error: DecodeError,
}

/// Splits a query string or form body into decoded pairs (`+` is a space, as browsers and
/// most clients encode it). Empty segments (`a=1&&b=2`) are skipped; a segment without `=`
/// is a key with an empty value. Pairs that fail to decode are reported, not dropped silently.
pub(crate) fn parse_pairs(input: &str) -> (Vec<Pair<'_>>, Vec<PairError<'_>>) {
    let mut pairs = Vec::new();
    let mut errors = Vec::new();
    for segment in input.split('&') {
        if segment.is_empty() {
            continue;
        }
        let (raw_key, raw_value) = segment.split_once('=').unwrap_or((segment, ""));
        match (decode(raw_key, true), decode(raw_value, true)) {
            (Ok(key), Ok(value)) => pairs.push(Pair { key, value }),
            (Err(error), _) | (_, Err(error)) => errors.push(PairError {
                raw: segment,
                error,
            }),
        }
    }
    (pairs, errors)
}

/// Splits a `Cookie` header value into name/value pairs. Values are percent-decoded when
/// they hold valid escapes and kept as sent otherwise: cookies are not URL components, so a
/// stray `%` is data, not an error.
pub(crate) fn parse_cookies<'a>(header: &'a str, out: &mut Vec<Pair<'a>>) {
    for item in header.split(';') {
        let item = item.trim();
        let Some((name, value)) = item.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        let value = decode(value, false).unwrap_or(Cow::Borrowed(value));
        out.push(Pair {
            key: Cow::Borrowed(name.trim()),
            value,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_plus() {
        assert_eq!(decode("a%20b+c", true).unwrap(), "a b c");
        assert_eq!(decode("a%20b+c", false).unwrap(), "a b+c");
        assert_eq!(decode("%C3%A9t%c3%a9", true).unwrap(), "été");
        assert!(matches!(
            decode("plain", true).unwrap(),
            Cow::Borrowed("plain")
        ));
    }

    #[test]
    fn refuses_broken_escapes_and_non_utf8() {
        for raw in ["%", "%2", "%zz", "a%g1", "100%"] {
            assert_eq!(decode(raw, true), Err(DecodeError::BadEscape), "{raw}");
        }
        for raw in ["%ff", "%C3", "%e9t%e9", "%80"] {
            assert_eq!(decode(raw, true), Err(DecodeError::NotUtf8), "{raw}");
        }
    }

    #[test]
    fn splits_pairs_and_reports_broken_ones() {
        let (pairs, errors) = parse_pairs("a=1&&b&c=x%20y&d=%zz&e=f=g");
        let got: Vec<(&str, &str)> = pairs.iter().map(|p| (&*p.key, &*p.value)).collect();
        assert_eq!(got, [("a", "1"), ("b", ""), ("c", "x y"), ("e", "f=g")]);
        assert_eq!(
            errors,
            [PairError {
                raw: "d=%zz",
                error: DecodeError::BadEscape
            }]
        );
    }

    #[test]
    fn splits_cookies_leniently() {
        let mut out = Vec::new();
        parse_cookies("a=1; b=\"two\";c=x%2Cy; d=100%; junk", &mut out);
        let got: Vec<(&str, &str)> = out.iter().map(|p| (&*p.key, &*p.value)).collect();
        assert_eq!(got, [("a", "1"), ("b", "two"), ("c", "x,y"), ("d", "100%")]);
    }
}
