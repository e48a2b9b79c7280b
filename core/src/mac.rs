//! The one MAC address type of the project, and its four forms: the octets, the text
//! (`aa:bb:cc:dd:ee:ff`, parsed from either separator in any case), the 48-bit number
//! the analytics and the presence segments use ([`MacId`]), and the signed integer a
//! database column holds ([`Mac::to_i64`]). Nothing else in the project converts a MAC.

use std::fmt;

/// A MAC as a 48-bit number ([`Mac::to_u64`]): the analytics handle hundreds of
/// thousands of them per request, so no text until the answer.
pub type MacId = u64;

/// A 6-octet IEEE MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mac([u8; 6]);

impl Mac {
    /// Parses `aa:bb:cc:dd:ee:ff` or `aa-bb-cc-dd-ee-ff` in any case. The separator must
    /// be the same throughout.
    pub fn parse(text: &str) -> Option<Mac> {
        let bytes = text.as_bytes();
        if bytes.len() != 17 {
            return None;
        }
        let separator = bytes[2];
        if separator != b':' && separator != b'-' {
            return None;
        }
        let mut octets = [0u8; 6];
        for (i, octet) in octets.iter_mut().enumerate() {
            let at = i * 3;
            if i > 0 && bytes[at - 1] != separator {
                return None;
            }
            *octet = (hex_digit(bytes[at])? << 4) | hex_digit(bytes[at + 1])?;
        }
        Some(Mac(octets))
    }

    /// A locally administered address (bit 0x02 of the first octet): phones use such
    /// randomized addresses while scanning and as per-network private addresses.
    pub fn is_randomized(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    pub fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// The address as a 48-bit number (the presence segments store MACs so).
    pub fn to_u64(&self) -> u64 {
        self.0
            .iter()
            .fold(0, |value, octet| value << 8 | u64::from(*octet))
    }

    pub fn from_octets(octets: [u8; 6]) -> Mac {
        Mac(octets)
    }

    /// The address of a 48-bit number (the upper 16 bits are ignored).
    pub fn from_u64(value: u64) -> Mac {
        let bytes = value.to_be_bytes();
        Mac([bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]])
    }
}

/// The canonical form: lower case, colon separated.
impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.canonical().as_str())
    }
}

impl Mac {
    /// The canonical text without allocating or going through `fmt` (the writer
    /// formats one per stored row).
    pub fn canonical(&self) -> CanonicalMac {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [b':'; 17];
        for (i, octet) in self.0.iter().enumerate() {
            text[i * 3] = HEX[usize::from(octet >> 4)];
            text[i * 3 + 1] = HEX[usize::from(octet & 0x0f)];
        }
        CanonicalMac(text)
    }
}

/// A MAC's canonical text, `aa:bb:cc:dd:ee:ff`, on the stack.
#[derive(Clone, Copy)]
pub struct CanonicalMac([u8; 17]);

impl CanonicalMac {
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits and colons are ever written into it.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

impl Mac {
    /// The address as a database integer: its 48-bit number, which always fits.
    pub fn to_i64(&self) -> i64 {
        // 48 bits: never above i64::MAX.
        i64::try_from(self.to_u64()).unwrap_or(i64::MAX)
    }

    /// The address of a database integer; `None` when it is not a 48-bit number.
    pub fn from_i64(value: i64) -> Option<Mac> {
        let value = u64::try_from(value).ok()?;
        (value <= 0xffff_ffff_ffff).then(|| Mac::from_u64(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_accepts_both_separators_and_any_case() {
        let canonical = "ac:86:74:61:4f:c0";
        for text in [
            "AC:86:74:61:4F:C0",
            "ac-86-74-61-4f-c0",
            "Ac:86:74:61:4f:C0",
        ] {
            assert_eq!(Mac::parse(text).unwrap().to_string(), canonical, "{text}");
        }
    }

    #[test]
    fn mac_rejects_anything_but_six_octets() {
        for text in [
            "",
            "ac:86:74:61:4f",
            "ac:86:74:61:4f:c0:11",
            "ac8674614fc0",
            "ac:86-74:61:4f:c0",
            "ac.86.74.61.4f.c0",
            "ag:86:74:61:4f:c0",
            " ac:86:74:61:4f:c",
            "ac:86:74:61:4f:c0 ",
            "<script>alert</script>",
        ] {
            assert_eq!(Mac::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_mac_is_a_48_bit_number_and_back() {
        let mac = Mac::parse("48:5A:3F:37:DE:F7").unwrap();
        assert_eq!(mac.to_u64(), 0x485a_3f37_def7);
        assert_eq!(Mac::from_u64(0x485a_3f37_def7), mac);
        assert_eq!(Mac::from_u64(u64::MAX).to_u64(), 0xffff_ffff_ffff);
    }

    #[test]
    fn canonical_text_matches_fmt() {
        for octets in [[0u8; 6], [0xff; 6], [0x0a, 0xb1, 0x2c, 0xd3, 0x4e, 0xf5]] {
            let mac = Mac(octets);
            let expected = octets
                .iter()
                .map(|o| format!("{o:02x}"))
                .collect::<Vec<_>>()
                .join(":");
            assert_eq!(mac.canonical().as_str(), expected);
            assert_eq!(mac.to_string(), expected);
        }
    }

    #[test]
    fn randomized_is_the_locally_administered_bit() {
        for (text, randomized) in [
            ("00:1a:2b:3c:4d:5e", false),
            ("02:00:00:00:00:00", true),
            ("e2:9f:fc:11:22:33", true),
            ("4e:20:5d:18:d0:ab", true),
            ("16:00:00:00:00:00", true),
            ("1a:00:00:00:00:00", true),
            ("fd:00:00:00:00:00", false),
            ("48:5a:3f:37:de:f7", false),
        ] {
            assert_eq!(
                Mac::parse(text).unwrap().is_randomized(),
                randomized,
                "{text}"
            );
        }
    }

    #[test]
    fn a_mac_is_a_database_integer_and_back() {
        let mac = Mac::parse("ff:5A:3F:37:DE:F7").unwrap();
        assert_eq!(mac.to_i64(), 0xff5a_3f37_def7);
        assert_eq!(Mac::from_i64(mac.to_i64()), Some(mac));
        assert_eq!(Mac::from_i64(-1), None);
        assert_eq!(Mac::from_i64(0x1_0000_0000_0000), None);
    }
}
