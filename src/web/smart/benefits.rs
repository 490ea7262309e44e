//! 免申即享: for every published policy in force that its editors designated so, the
//! enterprises whose registration record meets every condition are granted the benefit
//! without applying, told why, and counted on the policy page. Each enterprise is looked up
//! once per run through the same registries (and audit) as smart approval.

use crate::policy::matching::{granted_without_application, profile_from_registry};
use crate::rules::{Answer, Registry};
use crate::store::benefits::{self as store, NewGrant};
use crate::web::error::ApiError;
use crate::web::AppState;

/// What the audit of these lookups records in place of a receipt number.
pub const AUDIT_CASE: &str = "免申即享";

/// Runs every designated policy against every enterprise account; returns how many grants
/// are new. A registry that does not answer grants nothing (the next run tries again).
pub async fn run(state: &AppState) -> Result<usize, ApiError> {
    let today = state.today();
    let (designated, enterprises) = state
        .db
        .run(move |c| {
            let designated: Vec<_> = crate::store::policies::in_force_on(c, today)?
                .into_iter()
                .filter(|p| p.content.no_application)
                .collect();
            let enterprises = if designated.is_empty() {
                Vec::new()
            } else {
                store::enterprises(c)?
            };
            Ok::<_, crate::db::DbError>((designated, enterprises))
        })
        .await?;
    if designated.is_empty() {
        return Ok(0);
    }
    let now = state.now();
    let adapter = state.registries.adapter();
    let mut grants = Vec::new();
    let mut audit = Vec::new();
    // Every enterprise in one round: one query of the local registry, or all requests to
    // the platform at once.
    let wanted: Vec<(Registry, String)> = enterprises
        .iter()
        .map(|(_, uscc)| (Registry::Enterprise, uscc.clone()))
        .collect();
    let lookups = state.registries.lookup_all(&state.vault, &wanted).await;
    for ((account, _), lookup) in enterprises.into_iter().zip(lookups) {
        audit.push(lookup.audit(adapter, AUDIT_CASE, Some(account), now));
        let Answer::Found { attributes } = &lookup.answer else {
            continue;
        };
        let Some(profile) = profile_from_registry(attributes) else {
            continue;
        };
        for policy in &designated {
            if let Some(reasons) = granted_without_application(&policy.content, &profile, today) {
                grants.push(NewGrant {
                    policy_id: policy.id,
                    account_id: account,
                    policy_version: policy.version,
                    reasons: serde_json::to_string(&reasons)
                        .map_err(|e| ApiError::failed("record a grant", e))?,
                    granted_at: now,
                });
            }
        }
    }
    let new = state
        .db
        .write(move |c| {
            diesel::Connection::transaction(c, |c| {
                crate::store::registries::record_lookups(c, &audit)?;
                store::grant(c, &grants)
            })
        })
        .await?;
    if new > 0 {
        tracing::info!(grants = new, "免申即享 benefits granted");
    }
    Ok(new)
}
