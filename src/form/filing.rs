//! Who an application is filed for. The applicant's own identity fields (name, ID number or
//! USCC) come from the account and cannot be replaced in the form. Filing for someone else is
//! an explicit 代办: the form's applicant fields are then the principal's, the agent fields
//! are the account holder's, and the relationship is recorded on the case.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{FormData, Problem};

/// The relationships an agent may have to the principal: code and label.
pub const RELATIONSHIPS: &[(&str, &str)] = &[
    ("parent", "父母"),
    ("child", "子女"),
    ("spouse", "配偶"),
    ("relative", "其他近亲属"),
    ("guardian", "监护人"),
    ("entrusted", "受托人（持授权委托书）"),
    ("staff", "单位经办人"),
];

/// How an application is filed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "filing", rename_all = "snake_case")]
pub enum Filing {
    /// By the account holder for themselves (or their enterprise).
    Own,
    /// By the account holder for the person or enterprise named in the form (代办).
    Agent { relationship: String },
}

impl Filing {
    /// From the form's `filing_for` (`self`, the default, or `agent`) and
    /// `agent_relationship`.
    pub fn parse(filing_for: Option<&str>, relationship: Option<&str>) -> Result<Self, Problem> {
        match filing_for.map(str::trim).unwrap_or("") {
            "" | "self" => Ok(Self::Own),
            "agent" => {
                let code = relationship.map(str::trim).unwrap_or("");
                if RELATIONSHIPS.iter().any(|(c, _)| *c == code) {
                    Ok(Self::Agent {
                        relationship: code.to_owned(),
                    })
                } else {
                    Err(Problem::new(
                        "agent_relationship",
                        "required",
                        "代他人申请时，请选择您与申请人的关系",
                    ))
                }
            }
            _ => Err(Problem::new(
                "filing_for",
                "invalid",
                "请选择办理方式：本人申请或代他人申请（代办）",
            )),
        }
    }

    /// The relationship in words, for a 代办.
    pub fn relationship_label(&self) -> Option<&'static str> {
        match self {
            Self::Own => None,
            Self::Agent { relationship } => RELATIONSHIPS
                .iter()
                .find(|(c, _)| c == relationship)
                .map(|(_, label)| *label),
        }
    }
}

/// The account holder as the account knows them: the keys of the form fields that carry
/// their name and identifier, and the values.
#[derive(Clone, Debug)]
pub struct Holder {
    pub name_key: &'static str,
    pub name: String,
    pub id_key: &'static str,
    pub id: Option<String>,
    /// A person (citizen), whose name, ID number and phone can fill the agent fields.
    pub person: bool,
    pub phone: Option<String>,
}

fn text<'a>(data: &'a FormData, key: &str) -> Option<&'a str> {
    data.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn same(key: &str, a: &str, b: &str) -> bool {
    if key.ends_with("id_number") || key == "uscc" {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// Binds the form's identity fields (those among `fields`, the keys of the merged form) to
/// the holder for `filing`: the holder's values are written into `data`; a typed value that
/// differs from the account is a problem, never silently replaced.
pub fn bind(fields: &[&str], data: &mut FormData, holder: &Holder, filing: &Filing) -> Vec<Problem> {
    let mut problems = Vec::new();
    match filing {
        Filing::Own => {
            let message = "本人申请时，此项须与您账号中的信息一致；为他人办理请选择“代他人申请（代办）”";
            set(
                fields,
                data,
                holder.name_key,
                &holder.name,
                message,
                &mut problems,
            );
            if let Some(id) = &holder.id {
                set(fields, data, holder.id_key, id, message, &mut problems);
            }
        }
        Filing::Agent { .. } => {
            if let (Some(id), Some(typed)) = (&holder.id, text(data, holder.id_key)) {
                if fields.contains(&holder.id_key) && same(holder.id_key, typed, id) {
                    problems.push(Problem::new(
                        holder.id_key,
                        "principal_is_holder",
                        "代他人申请时，申请人应填写被代办人的信息，不能是您本人",
                    ));
                }
            }
            if holder.person {
                let message = "代办人信息须与您账号中的信息一致";
                set(fields, data, "agent_name", &holder.name, message, &mut problems);
                if let Some(id) = &holder.id {
                    set(fields, data, "agent_id_number", id, message, &mut problems);
                }
                if let Some(phone) = &holder.phone {
                    set(fields, data, "agent_mobile", phone, message, &mut problems);
                }
            }
        }
    }
    problems
}

/// Writes the account's `value` into `key` when the form has that field, unless a different
/// value was typed there: that is a problem, never silently replaced.
fn set(
    fields: &[&str],
    data: &mut FormData,
    key: &str,
    value: &str,
    message: &str,
    problems: &mut Vec<Problem>,
) {
    if !fields.contains(&key) {
        return;
    }
    match text(data, key) {
        Some(typed) if !same(key, typed, value) => {
            problems.push(Problem::new(key, "not_account_holder", message))
        }
        _ => {
            data.insert(key.to_owned(), Value::String(value.to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn citizen() -> Holder {
        Holder {
            name_key: "applicant_name",
            name: "林晓明".into(),
            id_key: "id_number",
            id: Some("11010119900307123X".into()),
            person: true,
            phone: Some("13800138000".into()),
        }
    }

    const FIELDS: &[&str] = &[
        "applicant_name",
        "id_number",
        "agent_name",
        "agent_id_number",
        "child_name",
    ];

    fn data(pairs: &[(&str, &str)]) -> FormData {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect()
    }

    #[test]
    fn filing_for_oneself_fills_the_identity_from_the_account_and_refuses_another_person() {
        let mut d = data(&[("child_name", "林小满")]);
        assert!(bind(FIELDS, &mut d, &citizen(), &Filing::Own).is_empty());
        assert_eq!(d["applicant_name"], "林晓明");
        assert_eq!(d["id_number"], "11010119900307123X");

        let mut d = data(&[("applicant_name", "林晓明"), ("id_number", "11010119900307123x")]);
        assert!(
            bind(FIELDS, &mut d, &citizen(), &Filing::Own).is_empty(),
            "a lower-case x is the same ID"
        );

        let mut d = data(&[("applicant_name", "王五"), ("id_number", "110105194912310021")]);
        let problems = bind(FIELDS, &mut d, &citizen(), &Filing::Own);
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["applicant_name", "id_number"]);
        assert!(problems
            .iter()
            .all(|p| p.code == "not_account_holder" && p.message.contains("代办")));
        assert_eq!(d["applicant_name"], "王五", "nothing typed is replaced silently");
    }

    #[test]
    fn filing_as_an_agent_takes_the_principal_from_the_form_and_the_agent_from_the_account() {
        let agent = Filing::parse(Some("agent"), Some("parent")).expect("a filing");
        assert_eq!(agent.relationship_label(), Some("父母"));
        let mut d = data(&[("applicant_name", "林老伯"), ("id_number", "110105194912310021")]);
        assert!(bind(FIELDS, &mut d, &citizen(), &agent).is_empty());
        assert_eq!(d["applicant_name"], "林老伯");
        assert_eq!(d["agent_name"], "林晓明");
        assert_eq!(d["agent_id_number"], "11010119900307123X");

        let mut d = data(&[("applicant_name", "林晓明"), ("id_number", "11010119900307123X")]);
        let problems = bind(FIELDS, &mut d, &citizen(), &agent);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, "principal_is_holder");
    }

    #[test]
    fn an_agent_filing_needs_a_known_relationship_and_a_known_mode() {
        assert_eq!(Filing::parse(None, None), Ok(Filing::Own));
        assert_eq!(Filing::parse(Some("self"), Some("parent")), Ok(Filing::Own));
        assert_eq!(
            Filing::parse(Some("agent"), None).map_err(|p| p.field),
            Err("agent_relationship".to_owned())
        );
        assert_eq!(
            Filing::parse(Some("agent"), Some("neighbour")).map_err(|p| p.code),
            Err("required")
        );
        assert_eq!(
            Filing::parse(Some("boss"), None).map_err(|p| p.field),
            Err("filing_for".to_owned())
        );
    }

    proptest! {
        /// Whatever is typed, filing for oneself ends with the account's identity in the
        /// form or with a problem naming the field: never with another person's identity
        /// accepted.
        #[test]
        fn own_filing_never_accepts_another_identity(name in "\\PC{0,12}", id in "\\PC{0,20}") {
            let holder = citizen();
            let mut d = data(&[("applicant_name", &name), ("id_number", &id)]);
            let problems = bind(FIELDS, &mut d, &holder, &Filing::Own);
            for (key, value) in [("applicant_name", holder.name.as_str()), ("id_number", "11010119900307123X")] {
                let accepted = d[key].as_str().unwrap_or_default().trim().to_owned();
                prop_assert!(
                    same(key, &accepted, value) || problems.iter().any(|p| p.field == key),
                    "{key}: {accepted:?} accepted for the holder {value:?}"
                );
            }
        }
    }
}
