//! Client MACs as people type them.

/// The canonical form (lower case, colons) of a 6-octet MAC typed with `:` or `-` (or
/// none) in any case; `None` when it is not one. The server accepts the same forms but
/// the `:`/`-` ones only, so this is what goes into the URL.
pub fn canonical(input: &str) -> Option<String> {
    let digits: String = input
        .trim()
        .chars()
        .filter(|c| *c != ':' && *c != '-')
        .collect();
    if digits.len() != 12 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let separators = input
        .trim()
        .chars()
        .filter(|c| *c == ':' || *c == '-')
        .count();
    if separators != 0 && separators != 5 {
        return None;
    }
    let lower = digits.to_ascii_lowercase();
    let octets: Vec<&str> = (0..6).map(|i| &lower[i * 2..i * 2 + 2]).collect();
    Some(octets.join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_usual_spellings() {
        for input in [
            "00:1A:2B:3C:4D:5E",
            "00-1a-2b-3c-4d-5e",
            " 001a2b3c4d5e ",
            "00:1a:2b:3c:4d:5e",
        ] {
            assert_eq!(
                canonical(input).as_deref(),
                Some("00:1a:2b:3c:4d:5e"),
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_anything_else() {
        for input in [
            "",
            "00:1a:2b",
            "00:1a:2b:3c:4d:5e:6f",
            "00:1a:2b:3c:4d:5g",
            "0:01a:2b:3c:4d:5e:",
            "<script>",
        ] {
            assert_eq!(canonical(input), None, "{input}");
        }
    }
}
