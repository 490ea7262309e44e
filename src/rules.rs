//! Smart approval (智慧审批) as declared rules: one decision table per item, in the spirit of
//! DMN. A table names its inputs (form fields, the applicant's account, registry lookups),
//! lists rules of conditions on those inputs with an outcome (approve / deny / manual), a
//! Chinese reason and a legal basis, and uses the first-hit policy. The evaluation is pure:
//! the caller gathers the facts (including every registry answer) and passes the business
//! date; the result explains each condition checked with its value.
//!
//! The rules a table may not break are checked at load ([`DecisionTable::check`]): every
//! input resolves, every condition parses and fits its input's type, every rule has a
//! reason, and the last rule matches anything, so that no application falls through.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// A reference registry (基础数据库) a department checks applications against.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Registry {
    /// 户籍人口: keyed by ID number.
    Household,
    /// 出生医学证明: keyed by the mother's ID number.
    Birth,
    /// 婚姻登记: keyed by ID number.
    Marriage,
    /// 社会保险参保缴费: keyed by ID number.
    SocialInsurance,
    /// 市场主体登记: keyed by unified social credit code.
    Enterprise,
    /// 不动产登记: keyed by ID number.
    RealEstate,
    /// 残疾人证: keyed by ID number.
    Disability,
    /// 社会救助（低保、特困）: keyed by ID number.
    Assistance,
    /// 住房公积金: keyed by ID number.
    HousingFund,
}

/// The type of an input's value, which decides the conditions that apply to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    Text,
    Number,
    Bool,
    Date,
}

impl ValueType {
    fn label(self) -> &'static str {
        match self {
            Self::Text => "文本",
            Self::Number => "数值",
            Self::Bool => "是否",
            Self::Date => "日期",
        }
    }
}

/// One attribute a registry answers with.
#[derive(Clone, Copy, Debug)]
pub struct Attribute {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: ValueType,
}

const fn attr(name: &'static str, label: &'static str, kind: ValueType) -> Attribute {
    Attribute { name, label, kind }
}

use ValueType::{Bool, Date, Number, Text};

const HOUSEHOLD_ATTRIBUTES: &[Attribute] = &[
    attr("name", "姓名", Text),
    attr("gender", "性别", Text),
    attr("birth_date", "出生日期", Date),
    attr("region", "户籍地行政区划代码", Text),
    attr("hukou_type", "户口性质", Text),
];
const BIRTH_ATTRIBUTES: &[Attribute] = &[
    attr("child_name", "新生儿姓名", Text),
    attr("child_gender", "新生儿性别", Text),
    attr("child_birth_date", "出生日期", Date),
    attr("certificate_no", "出生医学证明编号", Text),
    attr("hospital", "助产机构", Text),
];
const MARRIAGE_ATTRIBUTES: &[Attribute] = &[
    attr("status", "婚姻状况", Text),
    attr("spouse_name", "配偶姓名", Text),
    attr("registered_on", "登记日期", Date),
];
const SOCIAL_INSURANCE_ATTRIBUTES: &[Attribute] = &[
    attr("employee_insured", "参加职工基本养老保险", Bool),
    attr("employee_medical", "参加职工基本医疗保险（生育保险）", Bool),
    attr("resident_medical", "参加城乡居民基本医疗保险", Bool),
    attr("unemployment_insured", "参加失业保险", Bool),
    attr("months_contributed", "累计缴费月数", Number),
    attr("employed", "在职参保状态", Bool),
    attr("retired", "已办理退休", Bool),
    attr("retired_on", "退休日期", Date),
    attr("has_card", "已持有社会保障卡", Bool),
];
const ENTERPRISE_ATTRIBUTES: &[Attribute] = &[
    attr("name", "名称", Text),
    attr("status", "登记状态", Text),
    attr("founded_on", "成立日期", Date),
    attr("industry", "行业代码（GB/T 4754）", Text),
    attr("scale", "企业规模", Text),
    attr("employees", "从业人数", Number),
    attr("region", "登记地行政区划代码", Text),
];
const REAL_ESTATE_ATTRIBUTES: &[Attribute] = &[
    attr("properties", "名下住房套数", Number),
    attr("in_district", "在本区有住房", Bool),
];
const DISABILITY_ATTRIBUTES: &[Attribute] = &[
    attr("category", "残疾类别", Text),
    attr("grade", "残疾等级", Number),
    attr("valid", "残疾人证在有效期内", Bool),
];
const ASSISTANCE_ATTRIBUTES: &[Attribute] = &[attr("status", "救助类别", Text)];
const HOUSING_FUND_ATTRIBUTES: &[Attribute] = &[
    attr("account_status", "账户状态", Text),
    attr("balance", "账户余额（元）", Number),
];

impl Registry {
    pub const ALL: [Registry; 9] = [
        Self::Household,
        Self::Birth,
        Self::Marriage,
        Self::SocialInsurance,
        Self::Enterprise,
        Self::RealEstate,
        Self::Disability,
        Self::Assistance,
        Self::HousingFund,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Household => "household",
            Self::Birth => "birth",
            Self::Marriage => "marriage",
            Self::SocialInsurance => "social_insurance",
            Self::Enterprise => "enterprise",
            Self::RealEstate => "real_estate",
            Self::Disability => "disability",
            Self::Assistance => "assistance",
            Self::HousingFund => "housing_fund",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Household => "户籍人口信息",
            Self::Birth => "出生医学证明信息",
            Self::Marriage => "婚姻登记信息",
            Self::SocialInsurance => "社会保险参保缴费信息",
            Self::Enterprise => "市场主体登记信息",
            Self::RealEstate => "不动产登记信息",
            Self::Disability => "残疾人证信息",
            Self::Assistance => "社会救助信息",
            Self::HousingFund => "住房公积金信息",
        }
    }

    /// What the registry is looked up by.
    pub fn key_label(self) -> &'static str {
        match self {
            Self::Enterprise => "统一社会信用代码",
            Self::Birth => "母亲身份证件号码",
            _ => "身份证件号码",
        }
    }

    /// Whether the key is a person's ID number (checked as such before a lookup).
    pub fn keyed_by_person(self) -> bool {
        !matches!(self, Self::Enterprise)
    }

    /// The attributes a record of this registry holds.
    pub fn attributes(self) -> &'static [Attribute] {
        match self {
            Self::Household => HOUSEHOLD_ATTRIBUTES,
            Self::Birth => BIRTH_ATTRIBUTES,
            Self::Marriage => MARRIAGE_ATTRIBUTES,
            Self::SocialInsurance => SOCIAL_INSURANCE_ATTRIBUTES,
            Self::Enterprise => ENTERPRISE_ATTRIBUTES,
            Self::RealEstate => REAL_ESTATE_ATTRIBUTES,
            Self::Disability => DISABILITY_ATTRIBUTES,
            Self::Assistance => ASSISTANCE_ATTRIBUTES,
            Self::HousingFund => HOUSING_FUND_ATTRIBUTES,
        }
    }

    pub fn attribute(self, name: &str) -> Option<&'static Attribute> {
        self.attributes().iter().find(|a| a.name == name)
    }
}

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The registry that provides a material the centre obtains itself (共享获取) and the form
/// field holding the key to look it up by; none for a material no registry here holds.
pub fn registry_of_material(code: &str) -> Option<(Registry, &'static str)> {
    Some(match code {
        "id-card" | "household-register" => (Registry::Household, "id_number"),
        "marriage-certificate" => (Registry::Marriage, "id_number"),
        "property-certificate" => (Registry::RealEstate, "id_number"),
        "disability-certificate" => (Registry::Disability, "id_number"),
        "birth-medical-certificate" => (Registry::Birth, "mother_id_number"),
        "business-license" => (Registry::Enterprise, "uscc"),
        "social-security-card" | "social-insurance-record" => (Registry::SocialInsurance, "id_number"),
        "hardship-status-proof" => (Registry::Assistance, "id_number"),
        _ => return None,
    })
}

/// Where an input's value comes from, written `field:<key>`, `account:<attribute>` or
/// `registry:<registry>.<attribute>` in the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Field(String),
    Account(String),
    Registry { registry: Registry, attribute: String },
}

/// What the applicant's account tells about the applicant.
pub const ACCOUNT_ATTRIBUTES: [(&str, &str, ValueType); 2] = [
    (
        "kind",
        "账户类型（citizen 个人 / enterprise 企业）",
        ValueType::Text,
    ),
    ("real_name_verified", "已实名认证", ValueType::Bool),
];

impl Source {
    fn parse(s: &str) -> Result<Self, String> {
        let (kind, rest) = s.split_once(':').ok_or_else(|| {
            format!("source {s:?} must be field:<key>, account:<name> or registry:<registry>.<attribute>")
        })?;
        match kind {
            "field" if !rest.is_empty() => Ok(Self::Field(rest.to_owned())),
            "account" if ACCOUNT_ATTRIBUTES.iter().any(|(n, ..)| *n == rest) => {
                Ok(Self::Account(rest.to_owned()))
            }
            "account" => Err(format!("unknown account attribute {rest:?}")),
            "registry" => {
                let (registry, attribute) = rest.split_once('.').ok_or_else(|| {
                    format!("registry source {s:?} must be registry:<registry>.<attribute>")
                })?;
                let registry =
                    Registry::parse(registry).ok_or_else(|| format!("unknown registry {registry:?}"))?;
                if registry.attribute(attribute).is_none() {
                    return Err(format!("registry {registry} has no attribute {attribute:?}"));
                }
                Ok(Self::Registry {
                    registry,
                    attribute: attribute.to_owned(),
                })
            }
            _ => Err(format!("unknown source kind {kind:?} in {s:?}")),
        }
    }
}

/// A computation on a date input before it is compared: how long ago it was, in whole
/// years, months or days, as of the business date of the evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    YearsSince,
    MonthsSince,
    DaysSince,
}

impl Transform {
    fn label(self) -> &'static str {
        match self {
            Self::YearsSince => "距今周岁（年）",
            Self::MonthsSince => "距今整月数",
            Self::DaysSince => "距今天数",
        }
    }
}

/// One input column of a table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The name rules refer to.
    pub name: String,
    /// How the explanation names it.
    pub label: String,
    /// `field:<key>`, `account:<name>` or `registry:<registry>.<attribute>`.
    pub source: String,
    /// For a registry input: the form field holding the lookup key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<Transform>,
}

impl Input {
    /// The parsed source; tables that passed [`DecisionTable::check`] always have one.
    pub fn parsed_source(&self) -> Result<Source, String> {
        Source::parse(&self.source)
    }
}

/// What a rule decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approve,
    Deny,
    Manual,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Deny => "deny",
            Self::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Approve, Self::Deny, Self::Manual]
            .into_iter()
            .find(|o| o.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Approve => "系统自动核准",
            Self::Deny => "系统判定不予批准",
            Self::Manual => "转人工审核",
        }
    }
}

/// One row of a table: conditions on some inputs (inputs not named match anything).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleRow {
    #[serde(default)]
    pub when: BTreeMap<String, String>,
    pub outcome: Outcome,
    /// Told to the applicant, in plain Chinese.
    pub reason: String,
    /// The legal basis of this rule; the table's when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub basis: String,
}

/// The hit policy: only "first" (the first rule whose conditions all hold decides), which
/// makes the order of the rules the order of precedence, as a reader expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HitPolicy {
    First,
}

/// An item's decision table, as declared in `forms/rules/<item>.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionTable {
    pub item: String,
    pub hit_policy: HitPolicy,
    /// The law allows a denial without a person (e.g. a registry proves the applicant is
    /// not eligible); otherwise a rule's deny goes to manual review.
    #[serde(default)]
    pub automatic_deny: bool,
    pub legal_basis: String,
    /// The situations that go to a person, in words, for the guide.
    #[serde(default)]
    pub manual_review: Vec<String>,
    #[serde(rename = "input")]
    pub inputs: Vec<Input>,
    #[serde(rename = "rule")]
    pub rules: Vec<RuleRow>,
}

/// A condition on one input (a DMN unary test): `-`, `present`, `missing`, `true`,
/// `false`, `= v`, `!= v`, `< n`, `<= n`, `> n`, `>= n`, `in a, b`, `starts v`, or a bare
/// value meaning `= v`.
#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    Any,
    Present,
    Missing,
    Is(bool),
    Eq(String),
    Ne(String),
    Cmp(Cmp, f64),
    In(Vec<String>),
    Starts(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Test {
    pub fn parse(cell: &str) -> Result<Self, String> {
        let s = cell.trim();
        let number = |rest: &str| {
            rest.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| {
                    format!(
                        "condition {cell:?} compares with {:?}, which is not a number",
                        rest.trim()
                    )
                })
        };
        Ok(match s {
            "" => return Err("empty condition: write - for any value".into()),
            "-" => Self::Any,
            "present" => Self::Present,
            "missing" => Self::Missing,
            "true" => Self::Is(true),
            "false" => Self::Is(false),
            _ => {
                if let Some(rest) = s.strip_prefix("<=") {
                    Self::Cmp(Cmp::Le, number(rest)?)
                } else if let Some(rest) = s.strip_prefix(">=") {
                    Self::Cmp(Cmp::Ge, number(rest)?)
                } else if let Some(rest) = s.strip_prefix("!=") {
                    Self::Ne(rest.trim().to_owned())
                } else if let Some(rest) = s.strip_prefix('<') {
                    Self::Cmp(Cmp::Lt, number(rest)?)
                } else if let Some(rest) = s.strip_prefix('>') {
                    Self::Cmp(Cmp::Gt, number(rest)?)
                } else if let Some(rest) = s.strip_prefix('=') {
                    Self::Eq(rest.trim().to_owned())
                } else if let Some(rest) = s.strip_prefix("in ") {
                    let values: Vec<String> = rest
                        .split([',', '，'])
                        .map(|v| v.trim().to_owned())
                        .filter(|v| !v.is_empty())
                        .collect();
                    if values.is_empty() {
                        return Err(format!("condition {cell:?} lists no values"));
                    }
                    Self::In(values)
                } else if let Some(rest) = s.strip_prefix("starts ") {
                    Self::Starts(rest.trim().to_owned())
                } else {
                    Self::Eq(s.to_owned())
                }
            }
        })
    }

    /// Whether the test makes sense on a value of `kind`.
    fn fits(&self, kind: ValueType) -> bool {
        match self {
            Self::Any | Self::Present | Self::Missing => true,
            Self::Is(_) => kind == ValueType::Bool,
            Self::Cmp(..) => kind == ValueType::Number,
            Self::Eq(_) | Self::Ne(_) | Self::In(_) | Self::Starts(_) => kind == ValueType::Text,
        }
    }

    fn holds(&self, value: &Value) -> bool {
        match (self, value) {
            (Self::Any, _) => true,
            (Self::Present, v) => !matches!(v, Value::Missing),
            (Self::Missing, v) => matches!(v, Value::Missing),
            (_, Value::Missing) => false,
            (Self::Is(b), Value::Bool(v)) => b == v,
            (Self::Cmp(op, n), Value::Number(v)) => match op {
                Cmp::Lt => v < n,
                Cmp::Le => v <= n,
                Cmp::Gt => v > n,
                Cmp::Ge => v >= n,
            },
            (Self::Eq(s), Value::Text(v)) => v == s,
            (Self::Ne(s), Value::Text(v)) => v != s,
            (Self::In(list), Value::Text(v)) => list.iter().any(|s| s == v),
            (Self::Starts(p), Value::Text(v)) => v.starts_with(p.as_str()),
            _ => false,
        }
    }

    /// The condition as the explanation reads it; `names` gives the words for a coded
    /// value (a division code becomes 长乐区).
    pub fn describe(&self, names: Names) -> String {
        let word = |v: &str| names(v).unwrap_or_else(|| v.to_owned());
        match self {
            Self::Any => "任意".into(),
            Self::Present => "有记录".into(),
            Self::Missing => "无记录".into(),
            Self::Is(true) => "是".into(),
            Self::Is(false) => "否".into(),
            Self::Eq(v) => format!("为「{}」", word(v)),
            Self::Ne(v) => format!("不为「{}」", word(v)),
            Self::Cmp(op, n) => {
                let op = match op {
                    Cmp::Lt => "小于",
                    Cmp::Le => "不大于",
                    Cmp::Gt => "大于",
                    Cmp::Ge => "不小于",
                };
                format!("{op} {}", number_text(*n))
            }
            Self::In(list) => format!(
                "为「{}」之一",
                list.iter().map(|v| word(v)).collect::<Vec<_>>().join("、")
            ),
            Self::Starts(p) => match names(p) {
                Some(name) => format!("在「{name}」范围内"),
                None => format!("以「{p}」开头"),
            },
        }
    }
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Words for a coded value, where there are any (a division code → 长乐区).
pub type Names<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The value of one input at evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    Text(String),
    Number(f64),
    Bool(bool),
    Date(NaiveDate),
    Missing,
}

impl Value {
    /// How the explanation shows the value; `names` gives the words for a coded value.
    pub fn shown(&self, names: Names) -> String {
        match self {
            Self::Text(s) => names(s).unwrap_or_else(|| s.clone()),
            Self::Number(n) => number_text(*n),
            Self::Bool(true) => "是".into(),
            Self::Bool(false) => "否".into(),
            Self::Date(d) => d.format("%Y年%m月%d日").to_string(),
            Self::Missing => "无记录".into(),
        }
    }

    /// A raw text (a form value, a registry attribute) read as a value of `kind`; text
    /// that does not read as that kind is missing, never a guess.
    pub fn read(kind: ValueType, raw: &str) -> Self {
        let raw = raw.trim();
        if raw.is_empty() {
            return Self::Missing;
        }
        match kind {
            ValueType::Text => Self::Text(raw.to_owned()),
            ValueType::Number => raw
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map_or(Self::Missing, Self::Number),
            ValueType::Bool => match raw {
                "true" | "是" | "1" | "yes" => Self::Bool(true),
                "false" | "否" | "0" | "no" => Self::Bool(false),
                _ => Self::Missing,
            },
            ValueType::Date => NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_or(Self::Missing, Self::Date),
        }
    }
}

/// What a registry answered for one key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    Found {
        attributes: BTreeMap<String, String>,
    },
    NotFound,
    /// The registry did not answer (timeout, error): the reason, for staff.
    Unavailable {
        reason: String,
    },
}

/// Everything an evaluation reads: the form, the account and the registries' answers
/// (keyed by registry and the key looked up).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    pub fields: BTreeMap<String, String>,
    pub account: BTreeMap<String, String>,
    pub registries: BTreeMap<(Registry, String), Answer>,
}

/// One condition checked, for the explanation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Check {
    pub input: String,
    pub value: String,
    pub condition: String,
    pub holds: bool,
}

/// One rule tried: its number (from 1), whether it matched, and the checks made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Trial {
    pub rule: usize,
    pub matched: bool,
    pub checks: Vec<Check>,
}

/// The result of an evaluation with its explanation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    pub outcome: Outcome,
    /// The rule that decided (from 1); none when a registry did not answer.
    pub rule: Option<usize>,
    /// In plain Chinese, for the applicant and staff.
    pub reason: String,
    pub basis: String,
    /// The rules tried in order, up to the one that matched.
    pub trials: Vec<Trial>,
    /// Registries that did not answer, with why (for staff).
    #[serde(default)]
    pub unavailable: Vec<String>,
}

/// A decision table in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TableText {
    pub registries: Vec<&'static str>,
    pub rules: Vec<RuleText>,
    pub manual_review: Vec<String>,
}

/// One rule in words; no conditions means "in every other case".
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleText {
    pub conditions: Vec<String>,
    pub outcome: &'static str,
    pub reason: String,
}

/// The type of an input's value once resolved, given the type of each form field.
pub fn input_type(
    input: &Input,
    field_type: &dyn Fn(&str) -> Option<ValueType>,
) -> Result<ValueType, String> {
    match (input.transform, source_type(input, field_type)?) {
        (None, t) => Ok(t),
        (Some(_), ValueType::Date) => Ok(ValueType::Number),
        (Some(t), other) => Err(format!(
            "input {:?}: {} applies to a date, not to a {} value",
            input.name,
            t.label(),
            other.label()
        )),
    }
}

/// The type of an input's value as its source gives it, before any transform.
fn source_type(input: &Input, field_type: &dyn Fn(&str) -> Option<ValueType>) -> Result<ValueType, String> {
    Ok(match input.parsed_source()? {
        Source::Field(key) => field_type(&key).ok_or_else(|| format!("unknown field {key:?}"))?,
        Source::Account(name) => ACCOUNT_ATTRIBUTES
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|(.., t)| *t)
            .ok_or_else(|| format!("unknown account attribute {name:?}"))?,
        Source::Registry { registry, attribute } => registry
            .attribute(&attribute)
            .map(|a| a.kind)
            .ok_or_else(|| format!("registry {registry} has no attribute {attribute:?}"))?,
    })
}

/// One problem in a table: a message, the rule it is in (from 1) and the text to find its
/// line by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableProblem {
    pub rule: Option<usize>,
    pub needle: String,
    pub message: String,
}

impl DecisionTable {
    /// Every problem in the table, given the item's form fields (with their types): an
    /// unknown field or registry, a condition that does not parse or fit, a rule without a
    /// reason, a table that can fall through.
    pub fn check(&self, field_type: &dyn Fn(&str) -> Option<ValueType>) -> Vec<TableProblem> {
        let mut problems = Vec::new();
        let mut p = |rule: Option<usize>, needle: &str, message: String| {
            problems.push(TableProblem {
                rule,
                needle: needle.to_owned(),
                message,
            })
        };
        if self.legal_basis.trim().is_empty() {
            p(None, &self.item, "the table has no legal_basis".into());
        }
        if self.inputs.is_empty() {
            p(None, &self.item, "the table has no inputs".into());
        }
        let mut types: BTreeMap<&str, ValueType> = BTreeMap::new();
        for input in &self.inputs {
            if types.contains_key(input.name.as_str()) {
                p(
                    None,
                    &input.name,
                    format!("input {:?} is declared twice", input.name),
                );
            }
            if input.label.trim().is_empty() {
                p(None, &input.name, format!("input {:?} has no label", input.name));
            }
            match input_type(input, field_type) {
                Ok(t) => {
                    types.insert(&input.name, t);
                }
                Err(m) => p(None, &input.source, format!("input {:?}: {m}", input.name)),
            }
            match (input.parsed_source(), &input.key) {
                (Ok(Source::Registry { registry, .. }), None) => p(
                    None,
                    &input.source,
                    format!(
                        "input {:?} reads registry {registry} but names no key field ({})",
                        input.name,
                        registry.key_label()
                    ),
                ),
                (Ok(Source::Registry { .. }), Some(key)) if field_type(key).is_none() => p(
                    None,
                    key,
                    format!("input {:?}: unknown key field {key:?}", input.name),
                ),
                (Ok(Source::Field(_) | Source::Account(_)), Some(key)) => p(
                    None,
                    key,
                    format!("input {:?}: only a registry input takes a key", input.name),
                ),
                _ => {}
            }
        }
        if self.rules.is_empty() {
            p(None, &self.item, "the table has no rules".into());
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let n = i + 1;
            if rule.reason.trim().is_empty() {
                p(Some(n), rule.outcome.as_str(), format!("rule {n} has no reason"));
            }
            for (name, cell) in &rule.when {
                match (types.get(name.as_str()), Test::parse(cell)) {
                    (None, _) if !self.inputs.iter().any(|i| &i.name == name) => {
                        p(Some(n), name, format!("rule {n} tests unknown input {name:?}"))
                    }
                    (_, Err(m)) => p(Some(n), cell, format!("rule {n}: {m}")),
                    (Some(t), Ok(test)) if !test.fits(*t) => p(
                        Some(n),
                        cell,
                        format!(
                            "rule {n}: condition {cell:?} does not apply to input {name:?}, a {} value",
                            t.label()
                        ),
                    ),
                    _ => {}
                }
            }
        }
        let catch_all = |r: &RuleRow| r.when.values().all(|c| c.trim() == "-");
        match self.rules.last() {
            Some(last) if catch_all(last) => {}
            Some(_) => p(
                Some(self.rules.len()),
                "outcome",
                "the table can fall through: its last rule must match anything (no conditions, or - in each)"
                    .into(),
            ),
            None => {}
        }
        if let Some(i) = self.rules.iter().position(catch_all) {
            if i + 1 < self.rules.len() {
                p(
                    Some(i + 1),
                    "outcome",
                    format!(
                        "rule {} matches anything, so the rules after it can never apply",
                        i + 1
                    ),
                );
            }
        }
        problems
    }

    /// The table in words, for the published guide: the registries it consults and each
    /// rule's conditions (`婴幼儿月龄小于 36`), outcome and reason.
    pub fn describe(&self, names: Names) -> TableText {
        let mut registries: Vec<&'static str> = Vec::new();
        for (registry, _) in self.lookups() {
            if !registries.contains(&registry.label()) {
                registries.push(registry.label());
            }
        }
        let rules = self
            .rules
            .iter()
            .map(|rule| RuleText {
                conditions: self
                    .inputs
                    .iter()
                    .filter_map(|input| {
                        let test = Test::parse(rule.when.get(&input.name)?).ok()?;
                        (test != Test::Any).then(|| format!("{}{}", input.label, test.describe(names)))
                    })
                    .collect(),
                outcome: if rule.outcome == Outcome::Deny && !self.automatic_deny {
                    Outcome::Manual.label()
                } else {
                    rule.outcome.label()
                },
                reason: rule.reason.clone(),
            })
            .collect();
        TableText {
            registries,
            rules,
            manual_review: self.manual_review.clone(),
        }
    }

    /// The registry lookups the table needs: (registry, key field), each once.
    pub fn lookups(&self) -> Vec<(Registry, String)> {
        let mut out: Vec<(Registry, String)> = Vec::new();
        for input in &self.inputs {
            if let (Ok(Source::Registry { registry, .. }), Some(key)) = (input.parsed_source(), &input.key) {
                if !out.iter().any(|(r, k)| *r == registry && k == key) {
                    out.push((registry, key.clone()));
                }
            }
        }
        out
    }

    /// Decides with the first-hit policy as of `today` (Beijing business date). A registry
    /// the table needs that did not answer sends the application to manual review before
    /// any rule is tried; a deny the table may not give on its own becomes manual review
    /// that names the rule.
    pub fn evaluate(
        &self,
        facts: &Facts,
        today: NaiveDate,
        field_type: &dyn Fn(&str) -> Option<ValueType>,
        names: Names,
    ) -> Decision {
        let unavailable: Vec<String> = self
            .lookups()
            .into_iter()
            .filter_map(|(registry, key)| {
                let value = facts
                    .fields
                    .get(&key)
                    .map(|v| v.trim().to_owned())
                    .unwrap_or_default();
                // No key in the form (an optional field left empty): nothing to look up,
                // so the registry's inputs are missing, not unavailable.
                if value.is_empty() {
                    return None;
                }
                match facts.registries.get(&(registry, value)) {
                    Some(Answer::Unavailable { reason }) => Some(format!("{}：{reason}", registry.label())),
                    None => Some(format!("{}：未查询", registry.label())),
                    _ => None,
                }
            })
            .collect();
        if !unavailable.is_empty() {
            return Decision {
                outcome: Outcome::Manual,
                rule: None,
                reason: format!("{}暂时无法核验，转人工审核", unavailable_names(&unavailable)),
                basis: self.legal_basis.clone(),
                trials: Vec::new(),
                unavailable,
            };
        }
        let values: BTreeMap<&str, Value> = self
            .inputs
            .iter()
            .map(|i| (i.name.as_str(), resolve(i, facts, today, field_type)))
            .collect();
        let mut trials = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let mut checks = Vec::new();
            let mut matched = true;
            for input in &self.inputs {
                let Some(cell) = rule.when.get(&input.name) else {
                    continue;
                };
                // A table that passed `check` has only conditions that parse; one that
                // does not is a condition that fails, so the next rule is tried.
                let (holds, condition) = match Test::parse(cell) {
                    Ok(Test::Any) => continue,
                    Ok(test) => (
                        values.get(input.name.as_str()).is_some_and(|v| test.holds(v)),
                        test.describe(names),
                    ),
                    Err(m) => (false, m),
                };
                checks.push(Check {
                    input: input.label.clone(),
                    value: values
                        .get(input.name.as_str())
                        .map_or_else(|| "无记录".to_owned(), |v| v.shown(names)),
                    condition,
                    holds,
                });
                if !holds {
                    matched = false;
                    break;
                }
            }
            trials.push(Trial {
                rule: i + 1,
                matched,
                checks,
            });
            if matched {
                let basis = if rule.basis.trim().is_empty() {
                    self.legal_basis.clone()
                } else {
                    rule.basis.clone()
                };
                let (outcome, reason) = match rule.outcome {
                    Outcome::Deny if !self.automatic_deny => (
                        Outcome::Manual,
                        format!(
                            "{}（依第 {} 条规则可能不符合条件，由工作人员审核后决定）",
                            rule.reason,
                            i + 1
                        ),
                    ),
                    o => (o, rule.reason.clone()),
                };
                return Decision {
                    outcome,
                    rule: Some(i + 1),
                    reason,
                    basis,
                    trials,
                    unavailable: Vec::new(),
                };
            }
        }
        Decision {
            outcome: Outcome::Manual,
            rule: None,
            reason: "没有适用的规则，转人工审核".into(),
            basis: self.legal_basis.clone(),
            trials,
            unavailable: Vec::new(),
        }
    }
}

fn unavailable_names(list: &[String]) -> String {
    list.iter()
        .map(|s| s.split('：').next().unwrap_or(s))
        .collect::<Vec<_>>()
        .join("、")
}

/// An input's value from the facts.
fn resolve(
    input: &Input,
    facts: &Facts,
    today: NaiveDate,
    field_type: &dyn Fn(&str) -> Option<ValueType>,
) -> Value {
    // A table that passed `check` always has a type; one that does not reads as no value.
    let Ok(kind) = source_type(input, field_type) else {
        return Value::Missing;
    };
    let raw = match input.parsed_source() {
        Ok(Source::Field(key)) => facts.fields.get(&key).cloned(),
        Ok(Source::Account(name)) => facts.account.get(&name).cloned(),
        Ok(Source::Registry { registry, attribute }) => {
            let key = input
                .key
                .as_ref()
                .and_then(|k| facts.fields.get(k))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default();
            match facts.registries.get(&(registry, key)) {
                Some(Answer::Found { attributes }) => attributes.get(&attribute).cloned(),
                _ => None,
            }
        }
        Err(_) => None,
    };
    let value = raw.map_or(Value::Missing, |r| Value::read(kind, &r));
    match (input.transform, value) {
        (Some(t), Value::Date(d)) => Value::Number(f64::from(elapsed(t, d, today))),
        (Some(_), _) => Value::Missing,
        (None, v) => v,
    }
}

/// Whole years, months or days from `from` to `today` (negative when `from` is later).
pub fn elapsed(t: Transform, from: NaiveDate, today: NaiveDate) -> i32 {
    let months = (today.year() - from.year()) * 12 + today.month() as i32
        - from.month() as i32
        - i32::from(today.day() < from.day());
    match t {
        Transform::YearsSince => months.div_euclid(12),
        Transform::MonthsSince => months,
        Transform::DaysSince => i32::try_from((today - from).num_days()).unwrap_or(i32::MAX),
    }
}

#[cfg(test)]
mod tests;
