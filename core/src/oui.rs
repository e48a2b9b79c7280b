//! The IEEE registry of MAC address blocks (MA-L, "OUI"): the organization a globally
//! unique MAC's first three bytes were assigned to. Read once from a copy of the
//! registry (Debian's `ieee-data`: [`DEFAULT_FILE`]), looked up in memory; never
//! downloaded.

use std::collections::HashMap;

use crate::mac::Mac;

/// Debian's copy of the registry (package `ieee-data`).
pub const DEFAULT_FILE: &str = "/usr/share/ieee-data/oui.csv";
/// What `vendor` says of a randomized MAC: it was assigned to nobody.
pub const RANDOMIZED: &str = "randomized";

/// Organization names by 24-bit block.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    by_block: HashMap<u32, Box<str>>,
}

impl Registry {
    /// A registry that knows no block (no copy of it found).
    pub fn empty() -> Registry {
        Registry::default()
    }

    /// Parses the registry's CSV (`Registry,Assignment,Organization Name,Organization
    /// Address`, quoted where a field holds a comma); lines it cannot read are skipped.
    pub fn parse(csv: &str) -> Registry {
        let by_block = csv
            .lines()
            .filter_map(|line| {
                let fields = crate::csv::fields(line);
                let (registry, assignment, name) =
                    (fields.first()?, fields.get(1)?, fields.get(2)?);
                if registry != "MA-L" || assignment.len() != 6 {
                    return None;
                }
                let block = u32::from_str_radix(assignment, 16).ok()?;
                let name = name.trim();
                (!name.is_empty()).then(|| (block, name.into()))
            })
            .collect();
        Registry { by_block }
    }

    /// Reads the registry from `path`.
    pub fn load(path: &std::path::Path) -> std::io::Result<Registry> {
        Ok(Registry::parse(&std::fs::read_to_string(path)?))
    }

    /// How many blocks it knows.
    pub fn len(&self) -> usize {
        self.by_block.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_block.is_empty()
    }

    /// The vendor of `mac`: [`RANDOMIZED`] for a locally administered (randomized)
    /// MAC, the organization its block was assigned to, or `None` when unknown.
    pub fn vendor(&self, mac: Mac) -> Option<&str> {
        if mac.is_randomized() {
            return Some(RANDOMIZED);
        }
        let block = u32::try_from(mac.to_u64() >> 24).ok()?;
        self.by_block.get(&block).map(|name| &**name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Registry,Assignment,Organization Name,Organization Address\n\
        MA-L,F0D1A9,\"Apple, Inc.\",1 Infinite Loop Cupertino CA US 95014 \n\
        MA-L,00D0EF,IGT,9295 PROTOTYPE DRIVE RENO NV US 89511 \n\
        MA-L,ZZZZZZ,Broken,\n\
        MA-M,0050C2A,Not a block of three bytes,\n";

    #[test]
    fn vendors_by_block_and_randomized_macs() {
        let registry = Registry::parse(SAMPLE);
        assert_eq!(registry.len(), 2);
        let mac = |text: &str| Mac::parse(text).unwrap();
        assert_eq!(
            registry.vendor(mac("f0:d1:a9:12:34:56")),
            Some("Apple, Inc.")
        );
        assert_eq!(registry.vendor(mac("00-D0-EF-00-00-01")), Some("IGT"));
        assert_eq!(registry.vendor(mac("00:11:22:33:44:55")), None);
        // The locally administered bit: nobody's block.
        assert_eq!(registry.vendor(mac("f2:d1:a9:12:34:56")), Some(RANDOMIZED));
        assert_eq!(Registry::empty().vendor(mac("f0:d1:a9:12:34:56")), None);
    }
}
