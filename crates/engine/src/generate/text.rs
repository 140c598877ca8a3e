//! Strings that look real: values for string formats, guesses from property names, and
//! filler text of a requested length.

use std::fmt::Write as _;

use base64::Engine as _;
use rand::Rng;

const WORDS: &[&str] = &[
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
];
const FIRST_NAMES: &[&str] = &[
    "Ada", "Grace", "Alan", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
];
const CITIES: &[&str] = &[
    "Oslo", "Lisbon", "Kyoto", "Toronto", "Nairobi", "Lima", "Dublin",
];
const COUNTRIES: &[&str] = &["Norway", "Portugal", "Japan", "Canada", "Kenya", "Peru"];
const COUNTRY_CODES: &[&str] = &["NO", "PT", "JP", "CA", "KE", "PE", "IE", "US"];
const CURRENCIES: &[&str] = &["USD", "EUR", "NOK", "JPY", "GBP"];
const COMPANIES: &[&str] = &["Acme Corp", "Globex", "Initech", "Umbrella Labs", "Hooli"];
const STREETS: &[&str] = &["Main Street", "Harbour Road", "Elm Avenue", "Mill Lane"];

fn pick<'w, R: Rng + ?Sized>(rng: &mut R, list: &[&'w str]) -> &'w str {
    list[rng.random_range(0..list.len())]
}

fn alnum<R: Rng + ?Sized>(rng: &mut R, len: usize, alphabet: &[u8]) -> String {
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";

fn date<R: Rng + ?Sized>(rng: &mut R) -> String {
    // Day 28 at most keeps every month valid without a calendar.
    format!(
        "{:04}-{:02}-{:02}",
        rng.random_range(2019..=2025),
        rng.random_range(1..=12),
        rng.random_range(1..=28)
    )
}

fn time<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        rng.random_range(0..24),
        rng.random_range(0..60),
        rng.random_range(0..60)
    )
}

fn email<R: Rng + ?Sized>(rng: &mut R) -> String {
    let first = pick(rng, FIRST_NAMES).to_ascii_lowercase();
    let last = pick(rng, LAST_NAMES).to_ascii_lowercase();
    format!("{first}.{last}@example.com")
}

fn url<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!(
        "https://example.com/{}/{}",
        pick(rng, WORDS),
        rng.random_range(1..1000)
    )
}

fn uuid<R: Rng + ?Sized>(rng: &mut R) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

/// A value for a string `format`, or `None` for a format we do not know. The length
/// window is honoured where the format leaves room (`byte`, `binary`, `password`).
pub(super) fn for_format<R: Rng + ?Sized>(
    rng: &mut R,
    format: &str,
    min: usize,
    max: usize,
) -> Option<String> {
    Some(match format {
        "date-time" => format!("{}T{}Z", date(rng), time(rng)),
        "date" => date(rng),
        "time" => format!("{}Z", time(rng)),
        "email" | "idn-email" => email(rng),
        "uuid" => uuid(rng),
        "uri" | "url" | "iri" | "uri-reference" | "iri-reference" => url(rng),
        "uri-template" => "https://example.com/items/{id}".to_owned(),
        "hostname" | "idn-hostname" => format!("{}.example.com", pick(rng, WORDS)),
        "ipv4" => format!(
            "{}.{}.{}.{}",
            rng.random_range(11..=223),
            rng.random_range(0..=255),
            rng.random_range(0..=255),
            rng.random_range(1..=254)
        ),
        "ipv6" => format!(
            "2001:db8:{:x}:{:x}::{:x}",
            rng.random_range(0..0xffffu32),
            rng.random_range(0..0xffffu32),
            rng.random_range(1..0xffffu32)
        ),
        "byte" => base64_text(rng, min, max)?,
        "binary" | "password" => {
            let len = length_in(rng, min, max, 12, 20);
            let alphabet: &[u8] = if format == "password" {
                b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#%+"
            } else {
                LOWER_ALNUM
            };
            alnum(rng, len, alphabet)
        }
        "int32" | "int64" | "integer" | "uint32" | "uint64" | "long" => {
            rng.random_range(1..100_000u32).to_string()
        }
        "float" | "double" | "number" | "decimal" => {
            format!(
                "{}.{:02}",
                rng.random_range(0..1000u32),
                rng.random_range(0..100u32)
            )
        }
        "duration" => format!("PT{}M", rng.random_range(1..120u32)),
        "json-pointer" => format!("/{}/{}", pick(rng, WORDS), rng.random_range(0..10u32)),
        "relative-json-pointer" => "0/name".to_owned(),
        "regex" => "^[a-z]+$".to_owned(),
        "unix-time" | "timestamp" => rng
            .random_range(1_600_000_000..1_750_000_000u32)
            .to_string(),
        _ => return None,
    })
}

/// Base64 of random bytes whose encoded length fits `min..=max` when it can: whole
/// 3-byte groups, so there is no padding to account for.
fn base64_text<R: Rng + ?Sized>(rng: &mut R, min: usize, max: usize) -> Option<String> {
    let lo = min.div_ceil(4).max(1);
    let hi = (max / 4).min(lo + 6);
    if hi < lo {
        return None;
    }
    let groups = rng.random_range(lo..=hi);
    let bytes: Vec<u8> = (0..groups * 3).map(|_| rng.random()).collect();
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A length in `min..=max`, preferring `lo..=hi` when the window allows.
fn length_in<R: Rng + ?Sized>(rng: &mut R, min: usize, max: usize, lo: usize, hi: usize) -> usize {
    let lo = lo.clamp(min, max.max(min));
    let hi = hi.clamp(lo, max.max(lo));
    rng.random_range(lo..=hi)
}

/// A plausible value for a string property, judged by its name, or `None` when the name
/// says nothing useful.
pub(super) fn for_name<R: Rng + ?Sized>(rng: &mut R, name: &str) -> Option<String> {
    let key: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let ends = |s: &str| key.ends_with(s);
    let has = |s: &str| key.contains(s);
    let text = if has("email") {
        email(rng)
    } else if ends("url") || ends("uri") || ends("href") || ends("link") || has("website") {
        url(rng)
    } else if has("uuid") || has("guid") {
        uuid(rng)
    } else if key == "id" || ends("id") && !ends("paid") && !ends("valid") {
        alnum(rng, 12, LOWER_ALNUM)
    } else if has("firstname") || has("givenname") {
        pick(rng, FIRST_NAMES).to_owned()
    } else if has("lastname") || has("surname") || has("familyname") {
        pick(rng, LAST_NAMES).to_owned()
    } else if has("username") || has("login") || key == "handle" {
        let first = pick(rng, FIRST_NAMES).to_ascii_lowercase();
        format!("{first}{}", rng.random_range(1..100))
    } else if key == "name" || ends("fullname") || ends("displayname") || key == "author" {
        format!("{} {}", pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES))
    } else if has("phone") || key == "mobile" {
        format!("+1555{:07}", rng.random_range(0..10_000_000))
    } else if key == "city" {
        pick(rng, CITIES).to_owned()
    } else if key == "country" {
        pick(rng, COUNTRIES).to_owned()
    } else if key == "countrycode" {
        pick(rng, COUNTRY_CODES).to_owned()
    } else if key == "currency" {
        pick(rng, CURRENCIES).to_owned()
    } else if has("company") || has("organization") || has("organisation") {
        pick(rng, COMPANIES).to_owned()
    } else if has("street") || key == "address" || key == "line1" {
        format!("{} {}", rng.random_range(1..200), pick(rng, STREETS))
    } else if has("zip") || has("postal") {
        format!("{:05}", rng.random_range(10_000..99_999))
    } else if key == "description" || key == "summary" || key == "comment" || key == "message" {
        sentence(rng, 6)
    } else if key == "title" {
        let mut title = sentence(rng, 3);
        if let Some(first) = title.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        title
    } else if ends("createdat") || ends("updatedat") || ends("timestamp") || ends("time") {
        format!("{}T{}Z", date(rng), time(rng))
    } else if ends("date") {
        date(rng)
    } else if key == "version" {
        format!(
            "{}.{}.{}",
            rng.random_range(0..4),
            rng.random_range(0..20),
            rng.random_range(0..10)
        )
    } else if key == "locale" || key == "language" {
        "en-US".to_owned()
    } else if key == "timezone" {
        "Europe/Oslo".to_owned()
    } else if key == "ip" || ends("ipaddress") {
        for_format(rng, "ipv4", 0, usize::MAX)?
    } else if key == "host" || key == "hostname" || key == "domain" {
        for_format(rng, "hostname", 0, usize::MAX)?
    } else if has("sha") || has("hash") || has("digest") || has("checksum") {
        alnum(rng, 40, HEX)
    } else if has("token") || has("secret") || ends("key") {
        alnum(rng, 24, LOWER_ALNUM)
    } else if key == "color" || key == "colour" {
        format!("#{}", alnum(rng, 6, HEX))
    } else if key == "slug" {
        format!("{}-{}", pick(rng, WORDS), pick(rng, WORDS))
    } else if has("mimetype") || has("contenttype") || has("mediatype") {
        "application/json".to_owned()
    } else {
        return None;
    };
    Some(text)
}

fn sentence<R: Rng + ?Sized>(rng: &mut R, words: usize) -> String {
    let mut out = String::new();
    for i in 0..words {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(pick(rng, WORDS));
    }
    out
}

/// Filler words of a length in characters inside `min..=max` (ASCII, so bytes and
/// characters agree).
pub(super) fn filler<R: Rng + ?Sized>(rng: &mut R, min: usize, max: usize) -> String {
    let target = if min > 24 {
        rng.random_range(min..=max.min(min + 8).max(min))
    } else {
        length_in(rng, min, max, 6, 16)
    };
    let mut out = String::with_capacity(target + 12);
    while out.len() < target {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(pick(rng, WORDS));
    }
    out.truncate(target);
    if out.ends_with(' ') {
        out.pop();
        out.push('x');
    }
    out
}

/// `text` forced into `min..=max` characters by padding with letters or cutting; used
/// only for strings with no format or pattern to break.
pub(super) fn fit(mut text: String, min: usize, max: usize) -> String {
    let len = text.chars().count();
    if len < min {
        for i in len..min {
            let _ = write!(text, "{}", (b'a' + (i % 26) as u8) as char);
        }
    } else if len > max {
        let cut = text.char_indices().nth(max).map_or(text.len(), |(i, _)| i);
        text.truncate(cut);
    }
    text
}
