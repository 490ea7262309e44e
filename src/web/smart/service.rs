//! The automatic path (智慧审批): right after a case is filed, the decision table of each of
//! its smart-approval parts is evaluated against the form, the account and the registries.
//! Parts the rules approve are accepted and decided by the system at once, with their
//! e-certificates; a deny is automatic only where the table says the law allows it; every
//! other part goes to the window and the departments as before. Each evaluation is kept
//! with its explanation, and each registry lookup is audited.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::rules::{Answer, Decision, Facts, Outcome, Registry};
use crate::store::registries::{self as store, DecisionRow};
use crate::web::error::ApiError;
use crate::web::AppState;
use crate::workflow::{self, Command, DeliveryMethod};

/// A part's evaluation as the case pages and the API show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PartDecision {
    pub sub_case: i64,
    pub item: String,
    pub outcome: Outcome,
    pub outcome_label: &'static str,
    /// The rule that decided (from 1).
    pub rule: Option<i32>,
    pub reason: String,
    pub decision: Decision,
    #[serde(with = "crate::clock::rfc3339")]
    pub evaluated_at: chrono::NaiveDateTime,
}

/// A material the centre obtained from a registry (共享获取) instead of asking for it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SharedMaterial {
    pub code: String,
    pub name: String,
    /// The registry it came from, by name.
    pub source: &'static str,
    /// found, not_found or unavailable.
    pub outcome: String,
    /// In words: 已核验获取, 未查到记录（由工作人员核实）, 暂时无法获取（由工作人员核实）.
    pub status: &'static str,
    /// The SHA-256 of the registry's answer, as the audit keeps it.
    pub answer_digest: String,
    #[serde(with = "crate::clock::rfc3339")]
    pub fetched_at: chrono::NaiveDateTime,
}

/// The shared materials of the given items of a case, each with the lookup made for it at
/// filing (`audit`, the case's lookups); a material without one (filed before materials were
/// fetched, or no key in the form) is not listed.
pub fn shared_materials(
    audit: &[store::LookupRow],
    catalogue: &crate::catalogue::Catalogue,
    items: &[&str],
) -> Vec<SharedMaterial> {
    let mut out: Vec<SharedMaterial> = Vec::new();
    for item in items {
        let Some(def) = catalogue.items.get(*item) else {
            continue;
        };
        for m in def
            .materials
            .iter()
            .filter(|m| m.source == crate::catalogue::MaterialUse::SHARED)
        {
            let Some((registry, _)) = crate::rules::registry_of_material(&m.code) else {
                continue;
            };
            if out.iter().any(|s| s.code == m.code) {
                continue;
            }
            let Some(row) = audit.iter().find(|a| a.registry == registry.code()) else {
                continue;
            };
            out.push(SharedMaterial {
                code: m.code.clone(),
                name: catalogue
                    .materials
                    .get(&m.code)
                    .map(|d| d.name.clone())
                    .unwrap_or_else(|| m.code.clone()),
                source: registry.label(),
                status: match row.outcome.as_str() {
                    "found" => "已核验获取",
                    "not_found" => "未查到记录（由工作人员核实）",
                    _ => "暂时无法获取（由工作人员核实）",
                },
                outcome: row.outcome.clone(),
                answer_digest: row.answer_digest.clone(),
                fetched_at: row.at,
            });
        }
    }
    out
}

/// The decisions kept for a case (its `smart_decisions` rows), read back.
pub fn decisions(rows: Vec<DecisionRow>) -> Result<Vec<PartDecision>, ApiError> {
    rows.into_iter()
        .map(|r| {
            let decision: Decision = serde_json::from_str(&r.explanation)
                .map_err(|e| ApiError::failed("read a smart-approval decision", e))?;
            let outcome = Outcome::parse(&r.outcome)
                .ok_or_else(|| ApiError::failed("read a smart-approval decision", "unknown outcome"))?;
            Ok(PartDecision {
                sub_case: r.sub_case_id,
                item: r.item_code,
                outcome,
                outcome_label: outcome.label(),
                rule: r.rule_no,
                reason: r.reason,
                decision,
                evaluated_at: r.evaluated_at,
            })
        })
        .collect()
}

/// The name of a six-digit division code (`350112` → 长乐区), for explanations and the
/// published rules: people read places, not codes. Shorter codes are left alone: they
/// would collide with the two- and four-digit industry codes tables also test.
pub fn region_names(code: &str) -> Option<String> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    crate::form::regions::get(code).map(|d| d.name.clone())
}

/// A form value as a decision table reads it.
fn text_of(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// What the rules decided for the parts of an application about to be filed, and the
/// lookups made to decide it: written in the filing's own transaction, so that a case is
/// never stored without the decisions its rules made.
#[derive(Debug, Default)]
pub struct Evaluation {
    /// (item code, decision), for the parts whose items have decision tables.
    pub decisions: Vec<(String, Decision)>,
    pub lookups: Vec<crate::registry::Lookup>,
    pub at: chrono::NaiveDateTime,
    pub adapter: &'static str,
}

impl Evaluation {
    /// Whether the rules decided any part (approve or deny) for the system to carry out.
    pub fn decides_any(&self) -> bool {
        self.decisions.iter().any(|(_, d)| d.outcome != Outcome::Manual)
    }

    /// The rows to write once the case and its parts have ids.
    pub fn rows(
        &self,
        case_id: i64,
        receipt_no: &str,
        account: i64,
        parts: &[crate::store::applications::SubCaseRow],
    ) -> Result<(Vec<DecisionRow>, Vec<store::NewLookup>), serde_json::Error> {
        let mut rows = Vec::new();
        for (item, decision) in &self.decisions {
            let Some(part) = parts.iter().find(|p| &p.item_code == item) else {
                continue;
            };
            rows.push(DecisionRow {
                sub_case_id: part.id,
                case_id,
                item_code: item.clone(),
                outcome: decision.outcome.as_str().to_owned(),
                rule_no: decision.rule.and_then(|r| i32::try_from(r).ok()),
                reason: decision.reason.clone(),
                explanation: serde_json::to_string(decision)?,
                evaluated_at: self.at,
            });
        }
        let audit = self
            .lookups
            .iter()
            .map(|l| l.audit(self.adapter, receipt_no, Some(account), self.at))
            .collect();
        Ok((rows, audit))
    }
}

/// Runs the decision tables of the parts about to be filed for `holder`: every registry key
/// the tables need is looked up once, all at the same time.
pub async fn evaluate(
    state: &AppState,
    catalogue: &crate::catalogue::Catalogue,
    parts: &[crate::form::SubApplication],
    holder: &crate::store::accounts::AccountRow,
) -> Evaluation {
    let todo: Vec<(&str, &crate::rules::DecisionTable, BTreeMap<String, String>)> = parts
        .iter()
        .filter_map(|p| {
            let table = catalogue.items.get(&p.item)?.decision.as_ref()?;
            let mut fields: BTreeMap<String, String> = p
                .data
                .iter()
                .filter_map(|(k, v)| text_of(v).map(|t| (k.clone(), t)))
                .collect();
            // Keys are looked up upper-cased (an ID number's X), so the facts hold them so.
            for (_, key_field) in table.lookups() {
                if let Some(v) = fields.get_mut(&key_field) {
                    *v = v.trim().to_uppercase();
                }
            }
            Some((p.item.as_str(), table, fields))
        })
        .collect();
    let now = state.now();
    let adapter = state.registries.adapter();
    // The materials a registry provides (共享获取) are fetched for every part, smart or not:
    // the lookup is their record, with its source and digest.
    let shared: BTreeSet<(Registry, String)> = parts
        .iter()
        .flat_map(|p| {
            catalogue
                .items
                .get(&p.item)
                .into_iter()
                .flat_map(|item| item.materials.iter())
                .filter(|m| m.source == crate::catalogue::MaterialUse::SHARED)
                .filter_map(|m| {
                    let (registry, key_field) = crate::rules::registry_of_material(&m.code)?;
                    let key = p.data.get(key_field).and_then(text_of)?;
                    let key = key.trim().to_uppercase();
                    (!key.is_empty()).then_some((registry, key))
                })
        })
        .collect();
    if todo.is_empty() && shared.is_empty() {
        return Evaluation {
            at: now,
            adapter,
            ..Evaluation::default()
        };
    }
    let mut wanted: BTreeSet<(Registry, String)> = todo
        .iter()
        .flat_map(|(_, table, fields)| {
            table.lookups().into_iter().filter_map(|(registry, key_field)| {
                fields
                    .get(&key_field)
                    .filter(|k| !k.is_empty())
                    .map(|k| (registry, k.clone()))
            })
        })
        .collect();
    wanted.extend(shared);
    let wanted: Vec<(Registry, String)> = wanted.into_iter().collect();
    let lookups = state.registries.lookup_all(&state.vault, &wanted).await;
    let answers: BTreeMap<(Registry, String), Answer> = lookups
        .iter()
        .map(|l| ((l.registry, l.key.clone()), l.answer.clone()))
        .collect();
    let account = BTreeMap::from([
        ("kind".to_owned(), holder.kind.clone()),
        (
            "real_name_verified".to_owned(),
            holder.id_number_hash.is_some().to_string(),
        ),
    ]);
    let today = state.today();
    let field_type = |key: &str| {
        catalogue
            .fields
            .get(key)
            .map(|f| crate::catalogue::load::value_type(f.field_type))
    };
    let decisions = todo
        .into_iter()
        .map(|(item, table, fields)| {
            let facts = Facts {
                fields,
                account: account.clone(),
                registries: answers.clone(),
            };
            (
                item.to_owned(),
                table.evaluate(&facts, today, &field_type, &region_names),
            )
        })
        .collect();
    Evaluation {
        decisions,
        lookups,
        at: now,
        adapter,
    }
}

/// Acts on the recorded decisions of case `receipt` that are not yet carried out: the
/// system accepts a case still waiting at the window, decides each part its rules approved
/// (with its e-certificate) or were allowed to deny, and, when the rules decided every
/// part, delivers electronically. Run right after filing, and by the sweep for a case a
/// crash or a restore left half done; running it again changes nothing. Returns how many
/// parts it decided.
pub async fn apply_decisions(state: &AppState, receipt: &str) -> Result<usize, ApiError> {
    let lookup = receipt.to_owned();
    let Some((wf, rows)) = state
        .db
        .run(move |c| {
            let Some((row, _, wf)) = crate::store::cases::load(c, &lookup)? else {
                return Ok::<_, crate::db::DbError>(None);
            };
            Ok(Some((wf, store::decisions_of(c, row.id)?)))
        })
        .await?
    else {
        return Ok(0);
    };
    let made = decisions(rows)?;
    let pending = |part: i64| {
        wf.sub_case(part)
            .is_some_and(|s| s.status == workflow::SubStatus::Pending)
    };
    let automatic = made.iter().filter(|d| d.outcome != Outcome::Manual).count();
    let acts: Vec<(i64, Decision)> = made
        .into_iter()
        .filter(|d| d.outcome != Outcome::Manual && pending(d.sub_case))
        .map(|d| (d.sub_case, d.decision))
        .collect();
    if acts.is_empty() {
        return Ok(0);
    }
    match wf.status {
        workflow::CaseStatus::Submitted => {
            crate::web::cases::service::by_system(state, receipt, Command::Accept, None).await?;
        }
        workflow::CaseStatus::InProgress => {}
        // A 补正 notice is open, or the case was refused or withdrawn: the rules wait, or
        // have nothing left to decide.
        _ => return Ok(0),
    }
    let everything = automatic == wf.sub_cases.len();
    let total = acts.len();
    let others = wf.sub_cases.len() - automatic;
    for (i, (part, decision)) in acts.into_iter().enumerate() {
        let approve = decision.outcome == Outcome::Approve;
        let rule = decision
            .rule
            .map(|r| format!("第 {r} 条规则"))
            .unwrap_or_default();
        let opinion = format!(
            "智能审批（{rule}）：{}。依据：{}",
            decision.reason.trim_end_matches('。'),
            decision.basis
        );
        // The certificate number names the case and the part, so it is unique by itself.
        let result = approve.then(|| format!("ZN-{receipt}-{part}"));
        let message = (i + 1 == total).then(|| {
            if everything {
                format!("您的申请 {receipt} 已由系统依据公开的审批规则自动办结，电子证照已发放，无需到现场领取。")
            } else {
                format!("您的申请 {receipt} 中 {total} 项已由系统依据公开的审批规则自动办结，其余 {others} 项由相关部门办理。")
            }
        });
        crate::web::cases::service::by_system(
            state,
            receipt,
            Command::Decide {
                sub_case: part,
                approve,
                opinion,
                result,
            },
            message,
        )
        .await?;
        tracing::info!(
            receipt,
            part,
            outcome = decision.outcome.as_str(),
            "decided by the rules"
        );
    }
    if everything {
        crate::web::cases::service::by_system(
            state,
            receipt,
            Command::Deliver {
                method: DeliveryMethod::ECertificate,
            },
            None,
        )
        .await?;
    }
    Ok(total)
}

/// Carries out every recorded decision still outstanding (see [`apply_decisions`]).
pub async fn apply_outstanding(state: &AppState) -> Result<usize, ApiError> {
    let receipts = state.db.run(store::outstanding).await?;
    let mut decided = 0;
    for receipt in receipts {
        decided += apply_decisions(state, &receipt).await?;
    }
    Ok(decided)
}
