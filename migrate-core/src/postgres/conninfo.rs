//! Connection strings, split exactly as the `postgres` crate splits them
//! (its `Parser` for `key=value` strings, its `UrlParser` for
//! `postgres://` URLs), so that what is masked or taken out here is what
//! that parser would have read.
//!
//! Two uses: the TLS parameters libpq knows and the crate does not
//! (`sslmode=verify-ca|verify-full`, `sslrootcert`) are taken out before
//! the crate parses the rest; and the password is masked wherever a string
//! is shown.

use std::ops::Range;

/// One parameter: its key (decoded) and value (unquoted, decoded), and
/// where the whole parameter and its value are in the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param {
    pub key: String,
    pub value: String,
    /// The parameter with what joins it to the next (a URL's `&`).
    pub span: Range<usize>,
    /// The value as written.
    pub value_span: Range<usize>,
}

/// A connection string, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Split {
    /// Its parameters, in order (a URL's query ones, or every one).
    pub params: Vec<Param>,
    /// A URL's password, as written (between the first `:` and the first
    /// `@`, as the crate reads it).
    pub url_password: Option<Range<usize>>,
    /// Where a URL's query starts (its `?`), if it has one.
    pub query: Option<usize>,
}

const URL_PREFIXES: [&str; 2] = ["postgres://", "postgresql://"];

/// Whether `s` is a URL to the crate (its prefixes, matched exactly).
pub(crate) fn is_url(s: &str) -> bool {
    URL_PREFIXES.iter().any(|p| s.starts_with(p))
}

/// Splits `s` as the crate would; `None` where the crate would fail to.
pub(crate) fn split(s: &str) -> Option<Split> {
    if is_url(s) {
        split_url(s)
    } else {
        split_key_values(s)
    }
}

fn split_url(s: &str) -> Option<Split> {
    let start = URL_PREFIXES
        .iter()
        .find_map(|p| s.strip_prefix(p).map(|_| p.len()))?;
    let mut at = start;
    let mut url_password = None;
    // Credentials: everything up to the first `@`, wherever it is.
    if let Some(end) = s[at..].find('@').map(|i| at + i) {
        if let Some(colon) = s[at..end].find(':').map(|i| at + i) {
            url_password = Some(colon + 1..end);
        }
        at = end + 1;
    }
    // Host and path up to the `?`.
    let query = s[at..].find('?').map(|i| at + i);
    let mut params = Vec::new();
    if let Some(q) = query {
        let mut i = q + 1;
        while i < s.len() {
            let eq = i + s[i..].find('=')?;
            let (value_end, next) = match s[eq + 1..].find('&') {
                Some(amp) => (eq + 1 + amp, eq + 2 + amp),
                None => (s.len(), s.len()),
            };
            params.push(Param {
                key: decode(&s[i..eq]),
                value: decode(&s[eq + 1..value_end]),
                span: i..next,
                value_span: eq + 1..value_end,
            });
            i = next;
        }
    }
    Some(Split {
        params,
        url_password,
        query,
    })
}

fn split_key_values(s: &str) -> Option<Split> {
    let b: Vec<(usize, char)> = s.char_indices().collect();
    let at = |k: usize| b.get(k).map_or(s.len(), |&(i, _)| i);
    let mut k = 0;
    let mut params = Vec::new();
    loop {
        while k < b.len() && b[k].1.is_whitespace() {
            k += 1;
        }
        if k == b.len() {
            break;
        }
        let key_start = k;
        while k < b.len() && !b[k].1.is_whitespace() && b[k].1 != '=' {
            k += 1;
        }
        let key = s[at(key_start)..at(k)].to_owned();
        while k < b.len() && b[k].1.is_whitespace() {
            k += 1;
        }
        if b.get(k).map(|c| c.1) != Some('=') {
            return None;
        }
        k += 1;
        while k < b.len() && b[k].1.is_whitespace() {
            k += 1;
        }
        let value_start = k;
        let mut value = String::new();
        let quoted = b.get(k).map(|c| c.1) == Some('\'');
        if quoted {
            k += 1;
        }
        loop {
            let Some(&(_, c)) = b.get(k) else {
                if quoted {
                    return None;
                }
                break;
            };
            if (quoted && c == '\'') || (!quoted && c.is_whitespace()) {
                break;
            }
            k += 1;
            if c == '\\' {
                if let Some(&(_, c2)) = b.get(k) {
                    value.push(c2);
                    k += 1;
                }
            } else {
                value.push(c);
            }
        }
        if quoted {
            k += 1;
        } else if value.is_empty() {
            return None;
        }
        params.push(Param {
            key,
            value,
            span: at(key_start)..at(k),
            value_span: at(value_start)..at(k),
        });
    }
    Some(Split {
        params,
        url_password: None,
        query: None,
    })
}

/// Percent-decoding, as the crate's `decode` (bytes that do not decode to
/// UTF-8 are replaced: only used for keys and values compared here).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `s` with every password in it replaced by `***`: a URL's, and any
/// `password` parameter's. A string that does not split is shown up to
/// its scheme only, since where its password is cannot be told.
pub fn masked(s: &str) -> String {
    let Some(split) = split(s) else {
        return match s.find("://") {
            Some(i) => format!("{}://***", &s[..i]),
            None => "***".to_owned(),
        };
    };
    let mut cuts: Vec<Range<usize>> = split
        .params
        .iter()
        .filter(|p| p.key == "password")
        .map(|p| p.value_span.clone())
        .collect();
    cuts.extend(split.url_password);
    cuts.sort_by_key(|r| r.start);
    let mut out = String::new();
    let mut at = 0;
    for cut in cuts {
        out.push_str(&s[at..cut.start]);
        out.push_str("***");
        at = cut.end;
    }
    out.push_str(&s[at..]);
    out
}

/// The passwords `s` holds, decoded as the crate decodes them, for
/// scrubbing them from text that quotes them some other way.
pub fn passwords(s: &str) -> Vec<String> {
    let Some(split) = split(s) else {
        return Vec::new();
    };
    let mut found: Vec<String> = split
        .params
        .iter()
        .filter(|p| p.key == "password")
        .map(|p| p.value.clone())
        .collect();
    if let Some(r) = split.url_password {
        found.push(s[r.clone()].to_owned());
        found.push(decode(&s[r]));
    }
    found.retain(|p| !p.is_empty());
    found
}

/// `s` without the parameters whose keys are in `keys`, and those
/// parameters' values by key.
pub(crate) fn take(s: &str, keys: &[&str]) -> Option<(String, Vec<(String, String)>)> {
    let split = split(s)?;
    let mut rest = String::new();
    let mut at = 0;
    let mut taken = Vec::new();
    for p in &split.params {
        if keys.contains(&p.key.as_str()) {
            rest.push_str(&s[at..p.span.start]);
            at = p.span.end;
            taken.push((p.key.clone(), p.value.clone()));
        }
    }
    rest.push_str(&s[at..]);
    // A URL whose query is now empty, or ends in `&`, loses the mark.
    if split.query.is_some() {
        while rest.ends_with('&') || rest.ends_with('?') {
            rest.pop();
        }
    }
    Some((rest, taken))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_where_the_crate_reads_them() {
        assert_eq!(
            masked("postgres://u:Pa/ss?w0rd@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            masked("postgres://app:s3cret@db/app"),
            "postgres://app:***@db/app"
        );
        assert_eq!(
            masked("postgresql://app@db/app?sslmode=disable&password=s3cret"),
            "postgresql://app@db/app?sslmode=disable&password=***"
        );
        assert_eq!(masked("postgres://a:b:c@h:5432"), "postgres://a:***@h:5432");
        assert_eq!(
            masked("host=h password='it\\'s here' user=u"),
            "host=h password=*** user=u"
        );
        assert_eq!(masked("host=h password = s3cret"), "host=h password = ***");
        assert_eq!(masked("host=h password='unterminated"), "***");
        assert_eq!(passwords("postgres://u:p%40ss@h/db"), ["p%40ss", "p@ss"]);
    }

    #[test]
    fn tls_parameters_are_taken_out() {
        let (rest, taken) = take(
            "postgres://u@h/db?sslmode=verify-full&application_name=x&sslrootcert=%2Ftmp%2Fca.pem",
            &["sslmode", "sslrootcert"],
        )
        .unwrap();
        assert_eq!(rest, "postgres://u@h/db?application_name=x");
        assert_eq!(
            taken,
            [
                ("sslmode".to_owned(), "verify-full".to_owned()),
                ("sslrootcert".to_owned(), "/tmp/ca.pem".to_owned())
            ]
        );
        let (rest, taken) = take("host=h sslmode = 'verify-ca' dbname=d", &["sslmode"]).unwrap();
        assert_eq!(rest, "host=h  dbname=d");
        assert_eq!(taken[0].1, "verify-ca");
        let (rest, _) = take("postgres://h/db?sslmode=require", &["sslmode"]).unwrap();
        assert_eq!(rest, "postgres://h/db");
    }
}
