//! The definition files' types. They deserialize with `deny_unknown_fields`, so a typo in a
//! key is a load error rather than a silently missing element.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentDef {
    pub code: String,
    pub prefix: String,
    pub name: String,
    pub short_name: String,
    pub window: String,
    pub phone: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    IdNumber,
    Uscc,
    Mobile,
    Phone,
    Date,
    Enum,
    Integer,
    Money,
    Address,
    Boolean,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::IdNumber => "id_number",
            Self::Uscc => "uscc",
            Self::Mobile => "mobile",
            Self::Phone => "phone",
            Self::Date => "date",
            Self::Enum => "enum",
            Self::Integer => "integer",
            Self::Money => "money",
            Self::Address => "address",
            Self::Boolean => "boolean",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    Personal,
    Commercial,
    Public,
}

impl Sensitivity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Personal => "personal",
            Self::Commercial => "commercial",
            Self::Public => "public",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnumOption {
    pub value: String,
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    pub key: String,
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    pub sensitivity: Sensitivity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_future: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<EnumOption>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// For a boolean that records a declaration: it must be ticked, not merely answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub must_be_true: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MaterialDef {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Personal,
    Enterprise,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Personal => "personal",
            Self::Enterprise => "enterprise",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Personal => "个人办事",
            Self::Enterprise => "企业办事",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "personal" => Some(Self::Personal),
            "enterprise" => Some(Self::Enterprise),
            _ => None,
        }
    }

    /// Life-event themes from 国办发〔2025〕24号, in the order the portal shows them.
    pub fn themes(self) -> &'static [&'static str] {
        match self {
            Self::Personal => &[
                "出生", "教育", "就业", "生活", "置业", "出行", "就医", "救助", "养老", "身后",
            ],
            Self::Enterprise => &[
                "准入准营",
                "招聘用工",
                "纳税缴费",
                "经营发展",
                "工程建设",
                "注销退出",
            ],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Window,
    Mail,
    ECertificate,
}

impl Delivery {
    pub fn label(self) -> &'static str {
        match self {
            Self::Window => "窗口领取",
            Self::Mail => "邮寄送达",
            Self::ECertificate => "电子证照",
        }
    }
}

pub const ITEM_KINDS: &[&str] = &[
    "行政许可",
    "行政确认",
    "行政给付",
    "行政裁决",
    "行政奖励",
    "行政备案",
    "其他行政权力",
    "公共服务",
];
pub const SERVICE_TYPES: &[&str] = &["即办件", "承诺件"];
pub const RESULT_TYPES: &[&str] = &["证照", "批文", "其他"];
pub const MATERIAL_FORMS: &[&str] = &["原件", "复印件", "原件和复印件", "电子证照"];
pub const MATERIAL_MEDIA: &[&str] = &["纸质", "电子", "纸质或电子"];
pub const MATERIAL_SOURCES: &[&str] = &["申请人自备", "政府部门核发", "共享获取"];
pub const NO_FEE: &str = "不收费";

/// Labels of the online service depth levels (网上办理深度).
pub fn online_depth_label(depth: i32) -> &'static str {
    match depth {
        1 => "Ⅰ级：信息公开",
        2 => "Ⅱ级：在线咨询、表格下载",
        3 => "Ⅲ级：网上预审",
        _ => "Ⅳ级：全程网办",
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessStep {
    pub step: String,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRef {
    pub key: String,
    pub required: bool,
    /// Optional statement of the expected type; it must agree with the dictionary.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub field_type: Option<FieldType>,
    /// Asked only when another field of the item has one of the given values (邮寄地址 only
    /// when the result is mailed); otherwise neither required nor kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<FieldWhen>,
}

/// The answer a conditional field depends on: `field` (an enum field of the same item)
/// has one of `equals` (option values).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldWhen {
    pub field: String,
    pub equals: Vec<String>,
}

/// What an item's result gives the other items of a bundle it is part of: materials (the
/// 出生医学证明) and field values (the child's ID number, issued by the 出生登记) that those
/// items then take from it instead of asking the applicant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Produces {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub materials: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

impl Produces {
    pub fn is_empty(&self) -> bool {
        self.materials.is_empty() && self.fields.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaterialUse {
    pub code: String,
    pub form: String,
    pub copies: u32,
    pub medium: String,
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    pub source: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
}

impl MaterialUse {
    /// The source of a material the centre obtains itself (共享获取).
    pub const SHARED: &'static str = "共享获取";

    /// Whether the applicant is spared this material: the department obtains it through
    /// data sharing, or the guide says the applicant need not hand it in.
    pub fn obtained_by_the_department(&self) -> bool {
        self.source == Self::SHARED || self.notes.contains("申请人无需提交")
    }
}

/// One service item with its complete standard service guide (办事指南).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ItemDef {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub department: String,
    pub audience: Vec<Audience>,
    pub summary: String,
    pub keywords: Vec<String>,
    pub legal_basis: Vec<String>,
    pub conditions: Vec<String>,
    pub service_type: String,
    pub legal_time_limit_days: i32,
    pub promised_time_limit_days: i32,
    pub fee: String,
    pub fee_basis: String,
    pub result: String,
    pub result_type: String,
    pub place: String,
    pub hours: String,
    pub consult_phone: String,
    pub complaint_phone: String,
    pub online_depth: i32,
    pub trips: i32,
    pub high_frequency: bool,
    pub delivery: Vec<Delivery>,
    pub process: Vec<ProcessStep>,
    #[serde(default, rename(deserialize = "field"), alias = "fields")]
    pub fields: Vec<FieldRef>,
    #[serde(default, rename(deserialize = "material"), alias = "materials")]
    pub materials: Vec<MaterialUse>,
    #[serde(
        default,
        rename(deserialize = "rule"),
        alias = "rules",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub rules: Vec<Rule>,
    #[serde(default, skip_serializing_if = "Produces::is_empty")]
    pub produces: Produces,
    /// The smart-approval decision table, read from `forms/rules/<code>.toml` (never from the
    /// item's own file) and kept with the guide, so that every server decides by the rules
    /// of the catalogue version it serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<crate::rules::DecisionTable>,
}

impl ItemDef {
    /// Whether applications for this item are decided by declared rules (智慧审批).
    pub fn smart_approval(&self) -> bool {
        self.decision.is_some()
    }
}

/// A cross-field rule of an item's form.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rule {
    /// `field` (a date) must be later than `other` (a date) when both are given.
    After { field: String, other: String },
    /// `field` is required when `when_field` has the value `equals`.
    RequiredIf {
        field: String,
        when_field: String,
        equals: String,
    },
    /// The ID number in `id_field` agrees with the same person's birth date
    /// (`birth_date_field`, a date: digits 7–14 of the number) and sex (`sex_field`, an
    /// enum with a male and a female option: the parity of the 17th digit) when both values
    /// are given. At least one of the two is named.
    IdMatches {
        id_field: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        birth_date_field: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sex_field: Option<String>,
    },
}

impl Rule {
    /// The field keys the rule names.
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Rule::After { field, other } => vec![field.as_str(), other.as_str()],
            Rule::RequiredIf {
                field, when_field, ..
            } => vec![field.as_str(), when_field.as_str()],
            Rule::IdMatches {
                id_field,
                birth_date_field,
                sex_field,
            } => {
                let mut keys = vec![id_field.as_str()];
                keys.extend(birth_date_field.as_deref());
                keys.extend(sex_field.as_deref());
                keys
            }
        }
    }
}

/// A person's sex as a resident ID number records it (GB 11643: the 17th digit is odd for
/// a man, even for a woman).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// The sex an enum option stands for: the value `male` / `female` or the label 男 / 女
    /// (男性 / 女性). An option whose value and label disagree stands for neither.
    pub fn of_option(option: &EnumOption) -> Option<Self> {
        let by_value = match option.value.trim() {
            "male" => Some(Self::Male),
            "female" => Some(Self::Female),
            _ => None,
        };
        let by_label = match option.label.trim() {
            "男" | "男性" => Some(Self::Male),
            "女" | "女性" => Some(Self::Female),
            _ => None,
        };
        match (by_value, by_label) {
            (Some(v), Some(l)) if v != l => None,
            (v, l) => v.or(l),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Male => "男",
            Self::Female => "女",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShowIf {
    pub question: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionOption {
    pub value: String,
    pub label: String,
    #[serde(default)]
    pub include_items: Vec<String>,
    #[serde(default)]
    pub exclude_items: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub code: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<ShowIf>,
    #[serde(rename(deserialize = "option"), alias = "options")]
    pub options: Vec<QuestionOption>,
}

/// A "one-thing" bundle (一件事): several items applied for as one.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BundleDef {
    pub code: String,
    pub name: String,
    pub audience: Audience,
    pub theme: String,
    pub lead_department: String,
    pub summary: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    pub promised_time_limit_days: i32,
    pub items: Vec<String>,
    #[serde(default, rename(deserialize = "question"), alias = "questions")]
    pub questions: Vec<Question>,
}
