//! The normalised SHA-256 of a migration file.
//!
//! A UTF-8 byte-order mark is dropped and CRLF becomes LF before hashing, so
//! a checkout with Windows line endings (git's `core.autocrlf`) does not look
//! edited. The proc macro computes this at compile time and the CLI at run
//! time, from this one function.

use sha2::{Digest, Sha256};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The lowercase hex SHA-256 of `bytes`, BOM dropped and CRLF read as LF.
///
/// ```
/// use migrate_core::checksum::checksum;
/// assert_eq!(checksum(b"SELECT 1;\r\n"), checksum(b"\xEF\xBB\xBFSELECT 1;\n"));
/// assert_eq!(checksum(b"").len(), 64);
/// ```
pub fn checksum(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let mut hasher = Sha256::new();
    // Feed the runs between the CRs of CRLF pairs; a lone CR is kept.
    let mut start = 0;
    for i in memchr_all(bytes, b'\r') {
        if bytes.get(i + 1) == Some(&b'\n') {
            hasher.update(&bytes[start..i]);
            start = i + 1;
        }
    }
    hasher.update(&bytes[start..]);
    hex(&hasher.finalize())
}

fn memchr_all(bytes: &[u8], needle: u8) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter(move |&(_, &b)| b == needle)
        .map(|(i, _)| i)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::checksum;

    #[test]
    fn matches_known_sha256() {
        // sha256("abc"), from FIPS 180-2.
        assert_eq!(
            checksum(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn crlf_and_lf_copies_agree() {
        let lf = b"CREATE TABLE t (x);\nINSERT INTO t VALUES ('a');\n";
        let crlf = b"CREATE TABLE t (x);\r\nINSERT INTO t VALUES ('a');\r\n";
        assert_eq!(checksum(lf), checksum(crlf));
    }

    #[test]
    fn bom_is_ignored_but_content_is_not() {
        assert_eq!(checksum(b"\xEF\xBB\xBFSELECT 1;"), checksum(b"SELECT 1;"));
        assert_ne!(checksum(b"SELECT 1;"), checksum(b"SELECT 2;"));
        // A lone CR is content, not a line ending.
        assert_ne!(checksum(b"a\rb"), checksum(b"ab"));
    }
}
