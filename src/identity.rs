//! Identity values that cannot hold a bad value once parsed: the resident ID number
//! (GB 11643-1999), the Unified Social Credit Code (GB 32100-2015), mobile numbers,
//! enterprise scale, industry codes (GB/T 4754-2017) and passwords; and the masks that show
//! them to people who may not see them whole.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};

/// Why a value was rejected: a machine-readable code and a Chinese message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub code: &'static str,
    pub message: String,
}

impl Invalid {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
/// GB/T 2260 province-level codes (the first two digits of an address code).
const PROVINCES: [u32; 34] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54,
    61, 62, 63, 64, 65, 71, 81, 82,
];

/// The GB 11643 check character of the first 17 digits.
pub fn id_check_char(body: &str) -> Option<char> {
    if body.len() != 17 || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = body
        .bytes()
        .zip(ID_WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    Some(ID_CHECK[(sum % 11) as usize])
}

/// An 18-digit resident identity number with a valid check character, a known province
/// and a real birth date not after `today`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

impl IdNumber {
    pub fn parse(raw: &str, today: NaiveDate) -> Result<Self, Invalid> {
        let s = raw.trim().to_ascii_uppercase();
        if s.chars().count() != 18 {
            return Err(Invalid::new("invalid_length", "身份证号码应为 18 位"));
        }
        // Checked before any byte slicing: a Chinese character among 18 characters would
        // put byte 17 inside it.
        if !s.is_ascii() {
            return Err(Invalid::new(
                "invalid_format",
                "身份证号码前 17 位应为数字，最后一位为数字或 X",
            ));
        }
        let (body, check) = s.split_at(17);
        if !body.bytes().all(|b| b.is_ascii_digit()) || !check.chars().all(|c| c.is_ascii_digit() || c == 'X')
        {
            return Err(Invalid::new(
                "invalid_format",
                "身份证号码前 17 位应为数字，最后一位为数字或 X",
            ));
        }
        let province: u32 = body[..2].parse().unwrap_or(0);
        if !PROVINCES.contains(&province) {
            return Err(Invalid::new("invalid_region", "身份证号码的地址码无效"));
        }
        let birth = NaiveDate::parse_from_str(&body[6..14], "%Y%m%d")
            .map_err(|_| Invalid::new("invalid_birth_date", "身份证号码中的出生日期不是有效日期"))?;
        if birth > today || birth.year() < 1900 {
            return Err(Invalid::new("invalid_birth_date", "身份证号码中的出生日期不合理"));
        }
        if id_check_char(body) != check.chars().next() {
            return Err(Invalid::new(
                "invalid_check_digit",
                "身份证号码校验位不正确，请核对后重新输入",
            ));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").ok()
    }

    pub fn masked(&self) -> String {
        mask_id_number(&self.0)
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

const USCC_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

fn uscc_value(c: char) -> Option<u32> {
    USCC_CHARS.find(c).map(|i| i as u32)
}

/// The GB 32100 check character of the first 17 characters.
pub fn uscc_check_char(body: &str) -> Option<char> {
    if body.chars().count() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in body.chars().zip(USCC_WEIGHTS) {
        sum += uscc_value(c)? * w;
    }
    let v = (31 - sum % 31) % 31;
    USCC_CHARS.chars().nth(v as usize)
}

/// An 18-character Unified Social Credit Code with a valid check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Uscc(String);

impl Uscc {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim().to_ascii_uppercase();
        if s.chars().count() != 18 {
            return Err(Invalid::new("invalid_length", "统一社会信用代码应为 18 位"));
        }
        if let Some(bad) = s.chars().find(|c| uscc_value(*c).is_none()) {
            return Err(Invalid::new(
                "invalid_format",
                format!("统一社会信用代码不能包含字符“{bad}”（不使用 I、O、Z、S、V）"),
            ));
        }
        if !s[2..8].bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid::new(
                "invalid_format",
                "统一社会信用代码第 3–8 位应为行政区划码（数字）",
            ));
        }
        let (body, check) = s.split_at(17);
        if uscc_check_char(body) != check.chars().next() {
            return Err(Invalid::new(
                "invalid_check_digit",
                "统一社会信用代码校验位不正确，请核对后重新输入",
            ));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A mainland mobile number: 11 digits starting 13–19.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Mobile(String);

impl Mobile {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s: String = raw.trim().chars().filter(|c| *c != ' ' && *c != '-').collect();
        let s = s.strip_prefix("+86").unwrap_or(&s).to_owned();
        let ok = s.len() == 11
            && s.bytes().all(|b| b.is_ascii_digit())
            && s.starts_with('1')
            && (b'3'..=b'9').contains(&s.as_bytes()[1]);
        if ok {
            Ok(Self(s))
        } else {
            Err(Invalid::new("invalid_mobile", "请输入 11 位手机号码"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

impl fmt::Debug for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mobile({})", self.masked())
    }
}

/// `110105********002X`: the address code and the last four stay, the rest is hidden.
pub fn mask_id_number(s: &str) -> String {
    mask_middle(s, 6, 4)
}

/// `138****1234`: the first three and the last four digits stay.
pub fn mask_phone(s: &str) -> String {
    mask_middle(s, 3, 4)
}

/// Keeps `head` and `tail` characters and stars the rest; a value too short to keep both
/// is starred whole, so a mask never shows more than it promises.
pub fn mask_middle(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let mut out = String::with_capacity(chars.len());
    out.extend(&chars[..head]);
    out.extend(std::iter::repeat_n('*', chars.len() - head - tail));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// Enterprise scale per 工信部联企业〔2011〕300号.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    Large,
    Medium,
    Small,
    Micro,
}

impl Scale {
    pub const ALL: [Scale; 4] = [Scale::Large, Scale::Medium, Scale::Small, Scale::Micro];

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw.trim() {
            "large" | "大型" => Ok(Self::Large),
            "medium" | "中型" => Ok(Self::Medium),
            "small" | "小型" => Ok(Self::Small),
            "micro" | "微型" => Ok(Self::Micro),
            _ => Err(Invalid::new(
                "invalid_choice",
                "企业规模应为 large（大型）、medium（中型）、small（小型）或 micro（微型）",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Large => "large",
            Self::Medium => "medium",
            Self::Small => "small",
            Self::Micro => "micro",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Large => "大型",
            Self::Medium => "中型",
            Self::Small => "小型",
            Self::Micro => "微型",
        }
    }
}

/// One entry of GB/T 4754-2017 (section letter, or 2-, 3- or 4-digit code).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Industry {
    pub code: String,
    pub name: String,
    pub section: String,
    pub level: u8,
}

static INDUSTRIES: OnceLock<HashMap<String, Industry>> = OnceLock::new();

/// The GB/T 4754-2017 table, shipped with the binary.
pub fn industries() -> &'static HashMap<String, Industry> {
    INDUSTRIES.get_or_init(|| {
        let mut map = HashMap::new();
        for line in include_str!("../assets/gb4754-2017.csv").lines().skip(1) {
            let cols: Vec<&str> = line.splitn(6, ',').collect();
            if cols.len() < 6 {
                continue;
            }
            let level: u8 = cols[0].parse().unwrap_or(0);
            let code = match level {
                1 => cols[1],
                2 => cols[2],
                3 => cols[3],
                _ => cols[4],
            };
            map.insert(
                code.to_owned(),
                Industry {
                    code: code.to_owned(),
                    name: cols[5].trim_matches('"').to_owned(),
                    section: cols[1].to_owned(),
                    level,
                },
            );
        }
        map
    })
}

pub fn parse_industry(raw: &str) -> Result<&'static Industry, Invalid> {
    let code = raw.trim().to_ascii_uppercase();
    industries().get(&code).ok_or_else(|| {
        Invalid::new(
            "unknown_industry",
            "行业代码应为 GB/T 4754-2017 中的门类字母或大类、中类、小类代码",
        )
    })
}

/// Password rule: 8–64 characters with at least one letter and one digit.
pub fn check_password(p: &str) -> Result<(), Invalid> {
    let n = p.chars().count();
    if !(8..=64).contains(&n) {
        return Err(Invalid::new("weak_password", "密码长度应为 8 到 64 位"));
    }
    if !p.chars().any(|c| c.is_ascii_alphabetic()) || !p.chars().any(|c| c.is_ascii_digit()) {
        return Err(Invalid::new("weak_password", "密码应同时包含字母和数字"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).expect("date")
    }

    #[test]
    fn id_numbers_from_the_standard_are_valid() {
        for id in ["11010519491231002X", "110101199003071233", "44030419851231002X"] {
            assert!(IdNumber::parse(id, today()).is_ok(), "{id} should be valid");
        }
        // The standard's 1880 example has a correct check character, but nobody born
        // before 1900 registers today: the birth-date rule refuses it.
        assert_eq!(id_check_char("44052418800101001"), Some('4'));
        assert_eq!(
            IdNumber::parse("440524188001010014", today())
                .expect_err("1880")
                .code,
            "invalid_birth_date"
        );
    }

    #[test]
    fn id_numbers_with_a_wrong_check_character_are_rejected() {
        let err = IdNumber::parse("110105194912310021", today()).expect_err("wrong check");
        assert_eq!(err.code, "invalid_check_digit");
    }

    #[test]
    fn id_numbers_with_impossible_or_future_birth_dates_are_rejected() {
        // 1990-02-30 does not exist; check character recomputed so only the date is wrong.
        let body = "11010119900230123";
        let id = format!("{body}{}", id_check_char(body).expect("check"));
        assert_eq!(
            IdNumber::parse(&id, today()).expect_err("bad date").code,
            "invalid_birth_date"
        );
        let body = "11010120300101123";
        let id = format!("{body}{}", id_check_char(body).expect("check"));
        assert_eq!(
            IdNumber::parse(&id, today()).expect_err("future").code,
            "invalid_birth_date"
        );
    }

    #[test]
    fn id_numbers_with_bad_shape_or_region_are_rejected() {
        assert_eq!(
            IdNumber::parse("1101011990", today()).expect_err("short").code,
            "invalid_length"
        );
        assert_eq!(
            IdNumber::parse("11010119900307123A", today())
                .expect_err("letter")
                .code,
            "invalid_format"
        );
        let body = "99010119900307123";
        let id = format!("{body}{}", id_check_char(body).expect("check"));
        assert_eq!(
            IdNumber::parse(&id, today()).expect_err("region").code,
            "invalid_region"
        );
    }

    #[test]
    fn lowercase_x_is_accepted_as_the_check_character() {
        assert_eq!(
            IdNumber::parse("11010519491231002x", today())
                .expect("valid")
                .as_str(),
            "11010519491231002X"
        );
    }

    #[test]
    fn uscc_examples_from_the_standard_are_valid() {
        for c in [
            "91350100M000100Y43",
            "11320000MB151840XJ",
            "91512081MA62K0260E",
            "91110108MA0075375C",
            "12100000400000018N",
        ] {
            assert!(Uscc::parse(c).is_ok(), "{c} should be valid");
        }
    }

    #[test]
    fn uscc_with_a_wrong_check_character_or_forbidden_letter_is_rejected() {
        assert_eq!(
            Uscc::parse("91350100M000100Y4Z").expect_err("Z").code,
            "invalid_format"
        );
        assert_eq!(
            Uscc::parse("91310115MA1H8R7C6D").expect_err("check").code,
            "invalid_check_digit"
        );
        assert_eq!(
            Uscc::parse("91350100M000100Y42").expect_err("check").code,
            "invalid_check_digit"
        );
        assert_eq!(Uscc::parse("9135010").expect_err("short").code, "invalid_length");
    }

    #[test]
    fn masks_keep_only_the_promised_characters() {
        assert_eq!(mask_id_number("11010519491231002X"), "110105********002X");
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_phone("123"), "***");
    }

    #[test]
    fn mobiles_are_normalised_and_checked() {
        assert_eq!(
            Mobile::parse("+86 138-1234-1234").expect("ok").as_str(),
            "13812341234"
        );
        assert!(Mobile::parse("12812341234").is_err());
        assert!(Mobile::parse("1381234123").is_err());
    }

    #[test]
    fn industry_codes_resolve_at_every_level() {
        assert_eq!(parse_industry("H").expect("section").level, 1);
        assert_eq!(parse_industry("62").expect("division").section, "H");
        assert!(parse_industry("6210").is_ok());
        assert!(parse_industry("ZZ").is_err());
    }

    #[test]
    fn passwords_need_length_letters_and_digits() {
        assert!(check_password("abc12345").is_ok());
        assert!(check_password("short1").is_err());
        assert!(check_password("onlyletters").is_err());
        assert!(check_password("1234567890").is_err());
    }

    #[test]
    fn an_id_number_with_a_chinese_character_is_a_format_error_not_a_panic() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
        let e = IdNumber::parse("1101011990030712中3", today).expect_err("not an ID number");
        assert_eq!(e.code, "invalid_format");
    }

    proptest! {
        #[test]
        fn parsing_any_text_never_panics(s in "\\PC{0,24}", digits in "[0-9中X]{16,19}") {
            let today = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
            for text in [&s, &digits] {
                let _ = IdNumber::parse(text, today);
                let _ = Uscc::parse(text);
                let _ = Mobile::parse(text);
            }
        }

        #[test]
        fn a_mask_never_shows_more_than_head_and_tail(s in "[0-9A-Z]{0,30}", head in 0usize..8, tail in 0usize..8) {
            let masked = mask_middle(&s, head, tail);
            prop_assert_eq!(masked.chars().count(), s.chars().count());
            let shown = masked.chars().filter(|c| *c != '*').count();
            prop_assert!(shown <= head + tail);
            // Every shown character is in its original place.
            for (m, o) in masked.chars().zip(s.chars()) {
                prop_assert!(m == '*' || m == o);
            }
        }

        #[test]
        fn every_valid_body_gets_exactly_one_accepted_check_character(body in "[1-6][1-5]0101(19[0-9]{2}|200[0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}") {
            let province: u32 = body[..2].parse().unwrap_or(0);
            prop_assume!(PROVINCES.contains(&province));
            let accepted: Vec<char> = "0123456789X"
                .chars()
                .filter(|c| IdNumber::parse(&format!("{body}{c}"), today()).is_ok())
                .collect();
            prop_assert_eq!(accepted.len(), 1);
            prop_assert_eq!(accepted[0], id_check_char(&body).expect("check"));
        }

        #[test]
        fn a_masked_id_number_hides_the_birth_date(body in "110105(19[5-9][0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}") {
            let id = format!("{body}{}", id_check_char(&body).expect("check"));
            let parsed = IdNumber::parse(&id, today()).expect("valid");
            let masked = parsed.masked();
            prop_assert!(!masked.contains(&id[6..14]));
            prop_assert_eq!(&masked[..6], &id[..6]);
        }
    }
}
