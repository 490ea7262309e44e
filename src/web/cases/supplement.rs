//! 补正 (one consolidated notice, 行政许可法 Art. 32): the applicant's answer — new values for
//! exactly the listed fields and new uploads for exactly the listed materials — checked like
//! the form, written into the case and the parts that use them in the transaction of the
//! transition. The notice itself is a workflow command (`workflow::Command::RequestSupplement`)
//! sent through [`super::service::transition`]; the rows are in `store::cases`.

use super::service::{load_current, save, transition_error, Save};
use crate::store::applications::CaseRow;
use crate::store::cases as store;
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiError, FieldError};
use crate::web::AppState;
use crate::workflow::{self, Actor, Command};

/// The applicant's answer to a 补正 notice: new values for exactly the listed fields and new
/// uploads for exactly the listed materials. The values are checked like the form's; the
/// case, the sub-cases that use them and the material links are corrected together with
/// the transition.
pub async fn resubmit(
    state: &AppState,
    user: &CurrentUser,
    receipt: &str,
    seen_version: u32,
    data: crate::form::FormData,
    materials: crate::form::MaterialLinks,
) -> Result<(CaseRow, workflow::Case, Option<String>), ApiError> {
    use crate::auth::PiiKind;
    let not_found = || ApiError::NotFound(format!("未找到受理编号为 {receipt} 的办件"));
    let (row, wf) = load_current(state, receipt).await?.ok_or_else(not_found)?;
    if row.account_id != user.id {
        return Err(not_found());
    }
    let targets: Vec<String> = wf
        .open_notice
        .iter()
        .flatten()
        .map(|i| i.target.clone())
        .collect();
    let mut errors = Vec::new();
    for t in &targets {
        match t.strip_prefix("materials.") {
            Some(m) if materials.get(m).is_none_or(Vec::is_empty) => errors.push(FieldError::new(
                t.clone(),
                "required",
                format!("请重新上传补正要求的材料 {m}"),
            )),
            None if !data.contains_key(t) => errors.push(FieldError::new(
                t.clone(),
                "required",
                format!("请填写补正要求的内容 {t}"),
            )),
            _ => {}
        }
    }
    for k in data.keys() {
        if !targets.contains(k) {
            errors.push(FieldError::new(
                k.clone(),
                "not_requested",
                "该项不在补正告知中，不能修改",
            ));
        }
    }
    for m in materials.keys() {
        if !targets.contains(&format!("materials.{m}")) {
            errors.push(FieldError::new(
                format!("materials.{m}"),
                "not_requested",
                "该材料不在补正告知中",
            ));
        }
    }
    let entry = crate::web::apply::service::bundle_entry(state, &row.bundle_code).await?;
    let catalogue = &entry.catalogue;
    let today = state.today();
    let mut clean = crate::form::FormData::new();
    for (k, v) in &data {
        match catalogue
            .fields
            .get(k)
            .map(|f| crate::form::normalize(f, v, today))
        {
            Some(Ok(v)) => {
                clean.insert(k.clone(), v);
            }
            Some(Err(p)) => errors.push(p.into()),
            None => {}
        }
    }
    let ids: Vec<String> = materials.values().flatten().cloned().collect();
    let (owner, lookup) = (user.id, ids.clone());
    let owned = state
        .db
        .run(move |c| crate::store::applications::uploads_of(c, owner, &lookup))
        .await?;
    for id in ids.iter().filter(|id| !owned.iter().any(|u| &u.id == *id)) {
        errors.push(FieldError::new(
            "materials",
            "unknown_upload",
            format!("找不到编号为 {id} 的上传文件"),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let now = state.now();
    let next = workflow::apply(
        &wf,
        &Actor::Applicant,
        Command::Resubmit { corrected: targets },
        now,
        seen_version,
    )
    .map_err(|e| transition_error(e, wf.version))?;
    // Merge the corrections into the stored data and into each part that uses them.
    let decrypt = |enc: &str| -> Result<crate::form::FormData, ApiError> {
        let text = state
            .vault
            .decrypt(PiiKind::FormData, enc)
            .map_err(|_| ApiError::failed("decrypt a case", "the data key does not open it"))?;
        serde_json::from_str(&text).map_err(|e| ApiError::failed("JSON", e))
    };
    let encrypt = |d: &crate::form::FormData| -> Result<String, ApiError> {
        let text = serde_json::to_string(d).map_err(|e| ApiError::failed("JSON", e))?;
        Ok(state.vault.encrypt(PiiKind::FormData, &text))
    };
    let mut whole = decrypt(&row.data_enc)?;
    whole.extend(clean.clone());
    let lookup = row.receipt_no.clone();
    let subs = state
        .db
        .run(move |c| crate::store::applications::case_by_receipt(c, &lookup))
        .await?
        .map(|(_, s)| s)
        .unwrap_or_default();
    let mut sub_updates = Vec::new();
    for s in &subs {
        let Some(item) = catalogue.items.get(&s.item_code) else {
            continue;
        };
        let mut part = decrypt(&s.data_enc)?;
        for (k, v) in &clean {
            if item.fields.iter().any(|f| &f.key == k) {
                part.insert(k.clone(), v.clone());
            }
        }
        let mut links: crate::form::MaterialLinks = serde_json::from_str(&s.materials).unwrap_or_default();
        for (m, ids) in &materials {
            if item.materials.iter().any(|x| &x.code == m) {
                links.insert(m.clone(), ids.clone());
            }
        }
        let links = serde_json::to_string(&links).map_err(|e| ApiError::failed("JSON", e))?;
        sub_updates.push((s.id, encrypt(&part)?, links));
    }
    let corrections = store::Corrections {
        data_enc: encrypt(&whole)?,
        sub_cases: sub_updates,
        materials: materials.into_iter().collect(),
    };
    let done = Save {
        message: None,
        now,
        corrections: Some(corrections),
        certificate: None,
    };
    let (ok, due) = save(state, &row, seen_version, &next, done).await?;
    if !ok {
        return Err(ApiError::PreconditionFailed { current: None });
    }
    Ok((row, next, due))
}

/// The parts of a case and the bundle (with its catalogue) it was filed under.
async fn case_parts(
    state: &AppState,
    row: &CaseRow,
) -> Result<
    (
        Vec<crate::store::applications::SubCaseRow>,
        std::sync::Arc<crate::web::catalogue::snapshot::BundleEntry>,
    ),
    ApiError,
> {
    let lookup = row.receipt_no.clone();
    let subs = state
        .db
        .run(move |c| crate::store::applications::case_by_receipt(c, &lookup))
        .await?
        .map(|(_, s)| s)
        .unwrap_or_default();
    let entry = crate::web::apply::service::bundle_entry(state, &row.bundle_code).await?;
    Ok((subs, entry))
}

/// What people call a notice target (a field key or `materials.<code>`): the field's label
/// or the material's name.
pub(super) fn target_name(catalogue: &crate::catalogue::Catalogue, target: &str) -> String {
    match target.strip_prefix("materials.") {
        Some(m) => catalogue
            .materials
            .get(m)
            .map_or_else(|| m.to_owned(), |d| d.name.clone()),
        None => catalogue
            .fields
            .get(target)
            .map_or_else(|| target.to_owned(), |d| d.label.clone()),
    }
}

/// A 补正 notice may name only what the case holds: a field of one of its parts' items, a
/// material of one of them, and a department of one of its parts. Anything else (a field's
/// Chinese label, an invented code) is refused per line, so the applicant is never asked to
/// fill something that does not exist. Each item is given the name people read, which the
/// timeline and the applicant's page show.
pub async fn check_notice(
    state: &AppState,
    row: &CaseRow,
    items: &mut [workflow::SupplementItem],
) -> Result<(), ApiError> {
    let (subs, entry) = case_parts(state, row).await?;
    let catalogue = &entry.catalogue;
    let parts: Vec<&crate::catalogue::ItemDef> = subs
        .iter()
        .filter_map(|s| catalogue.items.get(&s.item_code))
        .collect();
    let mut errors = Vec::new();
    for (n, item) in items.iter_mut().enumerate() {
        let target = item.target.trim();
        let known = match target.strip_prefix("materials.") {
            Some(m) => parts.iter().any(|p| p.materials.iter().any(|x| x.code == m)),
            None => parts.iter().any(|p| p.fields.iter().any(|f| f.key == target)),
        };
        if known {
            item.label = target_name(catalogue, target);
        } else {
            errors.push(FieldError::new(
                format!("items[{n}].target"),
                "unknown_target",
                format!("“{target}”不是本办件的字段或材料，请从办件的字段和材料中选择"),
            ));
        }
        if let Some(dept) = item
            .department
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            if !subs.iter().any(|s| s.department_code == dept) {
                errors.push(FieldError::new(
                    format!("items[{n}].department"),
                    "unknown_department",
                    format!("“{dept}”不是本办件的办理部门"),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// One field or material a 补正 notice can name.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NoticeChoice {
    /// The notice's target: a field key, or `materials.<code>`.
    pub target: String,
    pub label: String,
}

/// The fields and materials of one part of the case, for the clerk to pick from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PartChoices {
    pub item_name: String,
    pub department: String,
    pub department_name: String,
    pub choices: Vec<NoticeChoice>,
}

/// What a 补正 notice on this case can name, grouped by part; a field or material shared by
/// several parts is offered once, under the first.
pub async fn notice_choices(state: &AppState, row: &CaseRow) -> Result<Vec<PartChoices>, ApiError> {
    let (subs, entry) = case_parts(state, row).await?;
    let catalogue = &entry.catalogue;
    let mut offered = std::collections::HashSet::new();
    let mut parts = Vec::new();
    for s in &subs {
        let Some(item) = catalogue.items.get(&s.item_code) else {
            continue;
        };
        let fields = item
            .fields
            .iter()
            .map(|f| (f.key.clone(), target_name(catalogue, &f.key)));
        let materials = item.materials.iter().map(|m| {
            let target = format!("materials.{}", m.code);
            let name = format!("材料：{}", target_name(catalogue, &target));
            (target, name)
        });
        let choices: Vec<NoticeChoice> = fields
            .chain(materials)
            .filter(|(target, _)| offered.insert(target.clone()))
            .map(|(target, label)| NoticeChoice { target, label })
            .collect();
        parts.push(PartChoices {
            item_name: item.name.clone(),
            department: s.department_code.clone(),
            department_name: catalogue
                .departments
                .iter()
                .find(|d| d.code == s.department_code)
                .map_or_else(|| s.department_code.clone(), |d| d.name.clone()),
            choices,
        });
    }
    Ok(parts)
}
