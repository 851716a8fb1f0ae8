//! Percent-decoding of path segments and query parameters.

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`, as in query strings).
/// `None` for a malformed escape or bytes that are not UTF-8.
pub(super) fn percent_decode(raw: &str, plus_is_space: bool) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                // `from_str_radix` alone would accept a sign (`%+1`).
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
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
    String::from_utf8(out).ok()
}

/// The decoded value of the first `name` parameter in `query`; `Err` when the query is malformed.
pub(super) fn query_param(query: Option<&str>, name: &str) -> Result<Option<String>, ()> {
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(key, true).ok_or(())? == name {
            return percent_decode(value, true).map(Some).ok_or(());
        }
    }
    Ok(None)
}
