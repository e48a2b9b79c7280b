//! CSV lines as the IEEE registry and the ground-truth imports write them (RFC 4180,
//! one record a line).

/// The fields of one CSV line: commas separate, double quotes enclose a field that
/// holds them (`""` is a quote).
pub fn fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_keep_their_commas_and_quotes() {
        assert_eq!(
            fields("a,\"b, c\",\"say \"\"hi\"\"\",d"),
            ["a", "b, c", "say \"hi\"", "d"]
        );
        assert_eq!(fields(""), [""]);
    }
}
