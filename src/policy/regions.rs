//! The region table (GB/T 2260 codes with parents) that policies and profiles refer to.

use std::collections::HashMap;
use std::sync::OnceLock;

pub const NATIONWIDE: &str = "100000";

struct Region {
    name: String,
    parent: Option<String>,
}

fn table() -> &'static HashMap<String, Region> {
    static TABLE: OnceLock<HashMap<String, Region>> = OnceLock::new();
    TABLE.get_or_init(|| {
        include_str!("../../assets/policies/regions.csv")
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut cols = line.split(',').map(str::trim);
                let code = cols.next().filter(|c| !c.is_empty())?;
                let name = cols.next()?;
                let parent = cols.next().filter(|p| !p.is_empty()).map(str::to_owned);
                Some((
                    code.to_owned(),
                    Region {
                        name: name.to_owned(),
                        parent,
                    },
                ))
            })
            .collect()
    })
}

pub fn name(code: &str) -> Option<&'static str> {
    table().get(code).map(|r| r.name.as_str())
}

/// The code itself followed by its parents up to 全国.
pub fn ancestry(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = Some(code.to_owned());
    while let Some(c) = cur {
        if out.contains(&c) {
            break;
        }
        cur = table().get(&c).and_then(|r| r.parent.clone());
        out.push(c);
    }
    out
}

/// Whether a policy for `policy_region` covers an enterprise in `place`.
pub fn covers(policy_region: &str, place: &str) -> bool {
    ancestry(place).iter().any(|c| c == policy_region)
}

/// Every region, sorted by code, as (code, name).
pub fn all() -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<_> = table()
        .iter()
        .map(|(c, r)| (c.as_str(), r.name.as_str()))
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_province_policy_covers_a_district_through_its_parents() {
        assert_eq!(name("350112"), Some("长乐区"));
        assert!(covers("350000", "350112"));
        assert!(covers(NATIONWIDE, "350112"));
        assert!(covers("350112", "350112"));
        assert!(!covers("350200", "350112"));
        assert!(!covers("350112", "350000"));
    }

    #[test]
    fn every_parent_is_in_the_table() {
        for (code, _) in all() {
            let chain = ancestry(code);
            assert_eq!(
                chain.last().map(String::as_str),
                Some(NATIONWIDE),
                "{code}: {chain:?}"
            );
        }
    }
}
