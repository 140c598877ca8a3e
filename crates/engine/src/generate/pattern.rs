//! Strings matching a JSON Schema `pattern` (ECMA-262 syntax): sampled with rand_regex from
//! a translated, lookaround-free form of the pattern and checked against the full pattern.

use rand::Rng;
use regex_syntax::hir::{self, Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Look};

/// A pattern prepared for sampling and checking.
pub(crate) struct Pattern {
    /// `None` when the pattern cannot be sampled (backreferences, syntax we cannot read).
    sampler: Option<rand_regex::Regex>,
    /// `None` when the pattern cannot be compiled at all; the validator drops such
    /// patterns too, so every string passes.
    check: Option<fancy_regex::Regex>,
    /// Whether text may be added after / before a sample without losing the match (the
    /// pattern has no end / start anchor). Padded samples are checked again anyway.
    open_end: bool,
    open_start: bool,
}

/// Samples tried before giving up on a length window.
const ATTEMPTS: usize = 12;

impl Pattern {
    /// Prepares `pattern`; `max_repeat` bounds what `*`, `+` and `{n,}` add.
    pub(crate) fn compile(pattern: &str, max_repeat: u32) -> Pattern {
        let rust = to_rust_syntax(pattern);
        let check = fancy_regex::Regex::new(&rust).ok();
        let parsed = regex_syntax::ParserBuilder::new()
            .build()
            .parse(&strip_lookarounds(&rust));
        let (sampler, open_start, open_end) = match parsed {
            Ok(hir) => {
                let looks = hir.properties().look_set();
                let open_start = !looks.contains(Look::Start) && !looks.contains(Look::StartLF);
                let open_end = !looks.contains(Look::End) && !looks.contains(Look::EndLF);
                let sampler = rand_regex::Regex::with_hir(rebuild(hir), max_repeat).ok();
                (sampler, open_start, open_end)
            }
            Err(_) => (None, false, false),
        };
        Pattern {
            sampler,
            check,
            open_end,
            open_start,
        }
    }

    /// Whether `text` contains a match, as the validator reads the pattern.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        match &self.check {
            Some(check) => check.is_match(text).unwrap_or(false),
            None => true,
        }
    }

    /// Whether the pattern can be sampled at all.
    #[cfg(test)]
    pub(crate) fn can_sample(&self) -> bool {
        self.sampler.is_some()
    }

    /// A matching string whose length in characters lies in `min..=max`, if one turns up
    /// within a few attempts.
    pub(crate) fn sample<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        min: usize,
        max: usize,
    ) -> Option<String> {
        let sampler = self.sampler.as_ref()?;
        for _ in 0..ATTEMPTS {
            let result: Result<String, _> = rng.sample(sampler);
            let Ok(mut text) = result else { continue };
            let len = text.chars().count();
            if len < min {
                // The match survives padding on an unanchored side.
                let filler: String = (len..min)
                    .map(|i| (b'a' + (i % 26) as u8) as char)
                    .collect();
                if self.open_end {
                    text.push_str(&filler);
                } else if self.open_start {
                    text.insert_str(0, &filler);
                } else {
                    continue;
                }
            }
            let len = text.chars().count();
            if len <= max && len >= min && self.is_match(&text) {
                return Some(text);
            }
        }
        None
    }
}

/// Rewrites ECMA-262 syntax that Rust's regex syntax reads differently: `\d`, `\w` and their
/// negations are ASCII-only in ECMA, `\/` and a bare `{` are literals, `[` inside a class
/// is a literal, and `&&`/`~~` inside a class are not set operations.
pub(crate) fn to_rust_syntax(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    let mut in_quantifier = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    out.push_str("\\\\");
                    break;
                };
                match (next, in_class) {
                    ('d', false) => out.push_str("[0-9]"),
                    ('d', true) => out.push_str("0-9"),
                    ('D', false) => out.push_str("[^0-9]"),
                    ('w', false) => out.push_str("[A-Za-z0-9_]"),
                    ('w', true) => out.push_str("A-Za-z0-9_"),
                    ('W', false) => out.push_str("[^A-Za-z0-9_]"),
                    ('/', _) => out.push('/'),
                    ('0', _) if !chars.peek().is_some_and(char::is_ascii_digit) => {
                        out.push_str("\\x00");
                    }
                    _ => {
                        out.push('\\');
                        out.push(next);
                    }
                }
            }
            '[' if in_class => out.push_str("\\["),
            '[' => {
                in_class = true;
                out.push('[');
                // A leading `]` (or `^]`) is an empty-class edge case in ECMA; keep it as
                // a literal for Rust.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            '{' if !in_class => {
                let rest: String = chars.clone().take_while(|c| *c != '}').collect();
                let quantifier = !rest.is_empty()
                    && rest.len() < 24
                    && rest.chars().all(|c| c.is_ascii_digit() || c == ',')
                    && rest.starts_with(|c: char| c.is_ascii_digit())
                    && chars.clone().nth(rest.len()) == Some('}');
                if quantifier {
                    in_quantifier = true;
                    out.push('{');
                } else {
                    out.push_str("\\{");
                }
            }
            '}' if !in_class => {
                // Closing brace of a quantifier we kept, or a literal.
                if in_quantifier {
                    in_quantifier = false;
                    out.push('}');
                } else {
                    out.push_str("\\}");
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Removes lookahead and lookbehind groups, which the sampler cannot honour; samples are
/// checked against the full pattern afterwards.
fn strip_lookarounds(pattern: &str) -> String {
    let bytes = pattern.as_bytes();
    let mut out = String::with_capacity(pattern.len());
    let mut i = 0;
    let mut in_class = false;
    while i < bytes.len() {
        let rest = &pattern[i..];
        if !in_class
            && (rest.starts_with("(?=")
                || rest.starts_with("(?!")
                || rest.starts_with("(?<=")
                || rest.starts_with("(?<!"))
        {
            i += group_len(&pattern[i..]);
            continue;
        }
        let c = rest.chars().next().unwrap_or_default();
        match c {
            '\\' => {
                let escaped: String = rest.chars().take(2).collect();
                out.push_str(&escaped);
                i += escaped.len();
                continue;
            }
            '[' => in_class = true,
            ']' => in_class = false,
            _ => {}
        }
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Length in bytes of the group that starts at the beginning of `text` (with its closing
/// parenthesis), or all of `text` when it is not closed.
fn group_len(text: &str) -> usize {
    let mut depth = 0usize;
    let mut in_class = false;
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' => in_class = true,
            ']' => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    text.len()
}

/// Prepares a parsed pattern for the sampler: assertions become empty (the check filters
/// what they would have rejected), and wide classes are narrowed to ASCII letters and
/// digits, or else to printable ASCII, so samples read like identifiers rather than random
/// code points. Narrowing keeps every sample inside the original language.
fn rebuild(hir: Hir) -> Hir {
    match hir.into_kind() {
        HirKind::Look(_) => Hir::empty(),
        HirKind::Class(Class::Unicode(class)) => Hir::class(Class::Unicode(narrow(class))),
        HirKind::Class(Class::Bytes(class)) => Hir::class(Class::Bytes(class)),
        HirKind::Repetition(rep) => Hir::repetition(hir::Repetition {
            sub: Box::new(rebuild(*rep.sub)),
            ..rep
        }),
        HirKind::Capture(cap) => Hir::capture(hir::Capture {
            sub: Box::new(rebuild(*cap.sub)),
            ..cap
        }),
        HirKind::Concat(subs) => Hir::concat(subs.into_iter().map(rebuild).collect()),
        HirKind::Alternation(subs) => Hir::alternation(subs.into_iter().map(rebuild).collect()),
        kind @ (HirKind::Empty | HirKind::Literal(_)) => match kind {
            HirKind::Literal(lit) => Hir::literal(lit.0),
            _ => Hir::empty(),
        },
    }
}

fn narrow(class: ClassUnicode) -> ClassUnicode {
    let preferred: [&[(char, char)]; 2] = [&[('0', '9'), ('A', 'Z'), ('a', 'z')], &[(' ', '~')]];
    for ranges in preferred {
        let mut narrowed = class.clone();
        narrowed.intersect(&ClassUnicode::new(
            ranges.iter().map(|&(a, b)| ClassUnicodeRange::new(a, b)),
        ));
        if !narrowed.ranges().is_empty() {
            return narrowed;
        }
    }
    class
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn samples(pattern: &str, min: usize, max: usize) -> Vec<String> {
        let p = Pattern::compile(pattern, 8);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        (0..20)
            .map(|_| p.sample(&mut rng, min, max).expect(pattern))
            .collect()
    }

    #[test]
    fn samples_match_anchored_and_unanchored_patterns() {
        let cases = [
            r"^AC[0-9a-fA-F]{32}$",
            r"^\d{3}-\d{4}$",
            r"[a-z]+",
            r"^\w+@\w+\.com$",
            r"^(?!tmp)[a-z]{3,8}$",
            r"^[^/]+\/[^/]+$",
            r"^\S+$",
            r"^[A-Z]{2}$|^[a-z]{3}$",
            r"^.{2,5}$",
            r"^[\w\-. ]+$",
        ];
        for pattern in cases {
            let p = Pattern::compile(pattern, 8);
            for s in samples(pattern, 0, usize::MAX) {
                assert!(p.is_match(&s), "{pattern} gave {s:?}");
            }
        }
    }

    #[test]
    fn ecma_digit_class_stays_ascii() {
        for s in samples(r"^\d+$", 0, usize::MAX) {
            assert!(s.bytes().all(|b| b.is_ascii_digit()), "{s:?}");
        }
    }

    #[test]
    fn unanchored_patterns_are_padded_to_min_length() {
        for s in samples(r"^ab", 10, 12) {
            assert!(s.starts_with("ab") && (10..=12).contains(&s.len()), "{s:?}");
        }
    }

    #[test]
    fn ecma_literal_braces_and_slashes_are_translated() {
        assert_eq!(to_rust_syntax(r"^\/v1\/{id}$"), r"^/v1/\{id\}$");
        assert_eq!(to_rust_syntax(r"a{2,3}"), r"a{2,3}");
        assert_eq!(to_rust_syntax(r"[\w&]"), r"[A-Za-z0-9_\&]");
    }

    #[test]
    fn backreferences_are_checked_but_not_sampled() {
        let p = Pattern::compile(r"^(a)\1$", 8);
        assert!(!p.can_sample());
        assert!(p.is_match("aa"));
        assert!(!p.is_match("ab"));
    }
}
