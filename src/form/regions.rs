//! The administrative divisions an address is chosen from (`assets/regions/divisions.csv`):
//! GB/T 2260 provinces, prefectures and counties of mainland China, and the townships
//! (乡、镇、街道) of Fujian with their 9-digit statistical codes. An address's region is the
//! code of a county or a township; people see it as names (福建省福州市长乐区吴航街道).

use std::collections::HashMap;
use std::sync::OnceLock;

/// The district this platform serves: the picker starts here.
pub const HOME_COUNTY: &str = "350112";

/// How deep a division sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Province,
    Prefecture,
    County,
    Township,
}

/// One division.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Division {
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
    pub level: Level,
}

struct Table {
    by_code: HashMap<String, Division>,
    /// Children of each code (and of "" for the provinces), in code order.
    children: HashMap<String, Vec<String>>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| parse(include_str!("../../assets/regions/divisions.csv")))
}

fn parse(text: &str) -> Table {
    let mut by_code = HashMap::new();
    let mut children: HashMap<String, Vec<String>> = HashMap::new();
    let mut rows: Vec<(String, String, Option<String>)> = text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split(',').map(str::trim);
            let code = cols.next().filter(|c| !c.is_empty())?.to_owned();
            let name = cols.next()?.to_owned();
            let parent = cols.next().filter(|p| !p.is_empty()).map(str::to_owned);
            Some((code, name, parent))
        })
        .collect();
    // Parents before children, so that a child's level follows from its parent's.
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    for (code, name, parent) in rows {
        let level = match parent.as_ref().and_then(|p| by_code.get(p)) {
            None => Level::Province,
            Some(Division {
                level: Level::Province,
                ..
            }) => Level::Prefecture,
            Some(Division {
                level: Level::Prefecture,
                ..
            }) => Level::County,
            Some(_) => Level::Township,
        };
        children
            .entry(parent.clone().unwrap_or_default())
            .or_default()
            .push(code.clone());
        by_code.insert(
            code.clone(),
            Division {
                code,
                name,
                parent,
                level,
            },
        );
    }
    Table { by_code, children }
}

/// The division of a code, if the table has it.
pub fn get(code: &str) -> Option<&'static Division> {
    table().by_code.get(code)
}

/// The divisions directly under `parent` (the provinces for `None`), in code order.
pub fn children(parent: Option<&str>) -> Vec<&'static Division> {
    let t = table();
    t.children
        .get(parent.unwrap_or(""))
        .map(|codes| codes.iter().filter_map(|c| t.by_code.get(c)).collect())
        .unwrap_or_default()
}

/// The chain from the province down to `code` (empty for an unknown code).
pub fn path(code: &str) -> Vec<&'static Division> {
    let mut out = Vec::new();
    let mut at = get(code);
    while let Some(d) = at {
        out.push(d);
        at = d.parent.as_deref().and_then(get);
    }
    out.reverse();
    out
}

/// A region in words: 福建省福州市长乐区吴航街道. The intermediate units that only group
/// (市辖区 of a municipality, 省直辖县级行政区划) are left out, as addresses write it.
pub fn full_name(code: &str) -> Option<String> {
    let chain = path(code);
    if chain.is_empty() {
        return None;
    }
    Some(
        chain
            .iter()
            .filter(|d| {
                !(d.level == Level::Prefecture
                    && (d.name == "市辖区" || d.name == "县" || d.name.contains("直辖")))
            })
            .map(|d| d.name.as_str())
            .collect(),
    )
}

/// Whether an address may name this code as its region: a county, or a township where the
/// table has them.
pub fn is_address_region(code: &str) -> bool {
    get(code).is_some_and(|d| d.level >= Level::County)
}

/// The deepest consistent choice of a picker whose levels were chosen separately (without
/// JavaScript a changed province leaves a county of the old one selected): each level counts
/// only if it lies under the one above.
pub fn deepest_choice(chosen: &[&str]) -> Option<&'static Division> {
    let mut at: Option<&'static Division> = None;
    for code in chosen.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
        match get(code) {
            Some(d) if d.parent.as_deref() == at.map(|a| a.code.as_str()) => at = Some(d),
            _ => break,
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn changle_is_a_county_of_fuzhou_with_its_townships() {
        let d = get(HOME_COUNTY).expect("长乐区");
        assert_eq!((d.name.as_str(), d.level), ("长乐区", Level::County));
        assert_eq!(
            full_name("350112001").as_deref(),
            Some("福建省福州市长乐区吴航街道")
        );
        let towns: Vec<&str> = children(Some(HOME_COUNTY))
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        for t in ["吴航街道", "航城街道", "营前街道", "漳港街道", "首占镇", "猴屿乡"] {
            assert!(towns.contains(&t), "{t} missing from {towns:?}");
        }
    }

    #[test]
    fn municipalities_read_without_their_grouping_unit() {
        let district = children(Some("110100"))
            .first()
            .map(|d| d.code.clone())
            .expect("a district of Beijing");
        let name = full_name(&district).expect("named");
        assert!(name.starts_with("北京市") && !name.contains("市辖区"), "{name}");
    }

    #[test]
    fn only_counties_and_townships_are_address_regions() {
        assert!(is_address_region("350112"));
        assert!(is_address_region("350112001"));
        assert!(!is_address_region("350100"));
        assert!(!is_address_region("350000"));
        assert!(!is_address_region("999999"));
    }

    #[test]
    fn a_stale_lower_choice_under_another_province_is_ignored() {
        // 福建省 chosen, 福州市 chosen, but the county is 北京's: the city is the deepest.
        let d = deepest_choice(&["350000", "350100", "110101", ""]).expect("a choice");
        assert_eq!(d.code, "350100");
        assert_eq!(
            deepest_choice(&["350000", "350100", "350112", "350112001"]).map(|d| d.code.as_str()),
            Some("350112001")
        );
        assert!(deepest_choice(&["", "350100"]).is_none());
    }

    #[test]
    fn every_division_sits_one_level_below_its_parent() {
        for d in table().by_code.values() {
            match &d.parent {
                None => assert_eq!(d.level, Level::Province, "{}", d.code),
                Some(p) => {
                    let parent = get(p).unwrap_or_else(|| panic!("{}: parent {p} missing", d.code));
                    assert!(parent.level < d.level, "{} under {}", d.code, p);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn any_text_is_a_region_or_not_never_a_panic(s in "\\PC{0,12}") {
            let _ = (get(&s), full_name(&s), is_address_region(&s), path(&s), deepest_choice(&[&s]));
        }
    }
}
