//! Writing generated demonstration cases in batches: each batch in one transaction with
//! its events, facts, ratings and the aggregate changes, so that the aggregates equal a
//! recount after every batch.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::metrics::apply;
use crate::calendar::Calendar;
use crate::db::schema::{
    accounts, bundle_items, bundles, case_events, case_facts, cases, departments, follow_ups, items,
    rating_parts, ratings, sub_cases,
};
use crate::db::{DbConn, DbError};
use crate::metrics::demo::{DemoBundle, DemoCase, DemoItem};
use crate::metrics::{self, Delta, FactInputs, PartInfo};

/// The active bundles with their items, as the generator needs them.
pub fn catalogue(conn: &mut DbConn) -> Result<Vec<DemoBundle>, DbError> {
    let rows: Vec<(String, i32, i32)> = bundles::table
        .filter(bundles::active.eq(true))
        // Positions tie; the code breaks ties so that one seed draws the same bundles on
        // every backend.
        .order((bundles::position, bundles::code))
        .select((bundles::code, bundles::version, bundles::promised_time_limit_days))
        .load(conn)?;
    let links: Vec<(String, String, String, String, String, bool)> = bundle_items::table
        .inner_join(items::table.inner_join(departments::table))
        .filter(items::active.eq(true))
        .order((bundle_items::bundle_code, bundle_items::position))
        .select((
            bundle_items::bundle_code,
            items::code,
            items::department_code,
            items::name,
            departments::name,
            items::smart_approval,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(code, version, promised_days)| DemoBundle {
            items: links
                .iter()
                .filter(|(b, ..)| *b == code)
                .map(|(_, item, dept, name, dept_name, smart)| DemoItem {
                    code: item.clone(),
                    department: dept.clone(),
                    name: name.clone(),
                    department_name: dept_name.clone(),
                    smart_approval: *smart,
                })
                .collect(),
            code,
            version,
            promised_days,
        })
        .collect())
}

/// The catalogue facts of every item, keyed by code, for the cases' facts.
pub fn item_facts(conn: &mut DbConn) -> Result<std::collections::HashMap<String, (bool, i32, i32)>, DbError> {
    Ok(items::table
        .select((
            items::code,
            items::high_frequency,
            items::trips,
            items::promised_time_limit_days,
        ))
        .load::<(String, bool, i32, i32)>(conn)?
        .into_iter()
        .map(|(c, hf, t, p)| (c, (hf, t, p)))
        .collect())
}

const DEMO_USER: &str = "demo-applicant";

/// The account that owns demonstration cases (it has no usable password).
pub fn demo_account(conn: &mut DbConn, now: NaiveDateTime) -> Result<i64, DbError> {
    if let Some(id) = accounts::table
        .filter(accounts::username.eq(DEMO_USER))
        .select(accounts::id)
        .first::<i64>(conn)
        .optional()?
    {
        return Ok(id);
    }
    let mut new = super::accounts::NewAccount::blank(
        "citizen",
        crate::auth::Role::Citizen,
        "演示申请人".into(),
        "!demo-account-without-password".into(),
        now,
    );
    new.username = Some(DEMO_USER.into());
    new.disabled = true;
    super::accounts::create(conn, new).map_err(|e| match e {
        super::accounts::CreateError::Db(e) => e,
        super::accounts::CreateError::Taken(t) => DbError::Corrupt(format!("demo account: {t:?}")),
    })
}

/// The next free ids of cases, sub-cases and ratings (demo rows carry explicit ids so that
/// a batch links its rows without reading them back).
pub fn next_ids(conn: &mut DbConn) -> Result<(i64, i64, i64), DbError> {
    use diesel::dsl::max;
    let c: Option<i64> = cases::table.select(max(cases::id)).first(conn)?;
    let s: Option<i64> = sub_cases::table.select(max(sub_cases::id)).first(conn)?;
    let r: Option<i64> = ratings::table.select(max(ratings::id)).first(conn)?;
    Ok((c.unwrap_or(0) + 1, s.unwrap_or(0) + 1, r.unwrap_or(0) + 1))
}

/// After explicit ids, PostgreSQL's identity sequences must move past them.
pub fn fix_sequences(conn: &mut DbConn) -> Result<(), DbError> {
    if let DbConn::Postgresql(_) = conn {
        for table in ["cases", "sub_cases", "ratings", "follow_ups", "case_events"] {
            diesel::sql_query(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
            ))
            .execute(conn)?;
        }
    }
    Ok(())
}

/// A generated case with the ids it will be stored under.
pub struct Numbered {
    pub case_id: i64,
    pub rating_id: i64,
    pub demo: DemoCase,
}

/// Writes one batch of generated cases in one transaction.
pub fn insert_batch(
    conn: &mut DbConn,
    account: i64,
    bundles: &[DemoBundle],
    facts: &std::collections::HashMap<String, (bool, i32, i32)>,
    empty_form: &str,
    batch: &[Numbered],
) -> Result<(), DbError> {
    let mut case_rows = Vec::with_capacity(batch.len());
    let mut sub_rows = Vec::new();
    let mut event_rows = Vec::new();
    let mut fact_rows = Vec::new();
    let mut rating_rows = Vec::new();
    let mut rating_counts: std::collections::BTreeMap<(String, i32), i64> = Default::default();
    let mut rating_part_rows = Vec::new();
    let mut follow_up_rows = Vec::new();
    let mut delta = Delta::default();
    for n in batch {
        let d = &n.demo;
        let c = &d.case;
        let bundle = &bundles[d.bundle];
        let json = serde_json::to_string(c).map_err(|e| DbError::Corrupt(e.to_string()))?;
        let updated = c.events.last().map_or(c.submitted_at, |e| e.at);
        let due = d.due_date.map(|x| x.to_string());
        case_rows.push((
            cases::id.eq(n.case_id),
            cases::receipt_no.eq(format!("DEMO{:010}", n.case_id)),
            cases::account_id.eq(account),
            cases::bundle_code.eq(bundle.code.clone()),
            cases::bundle_version.eq(bundle.version),
            cases::status.eq(c.status.as_str()),
            cases::channel.eq(c.channel.as_str()),
            cases::answers.eq("{}"),
            cases::data_enc.eq(empty_form),
            cases::trips.eq(c.trips as i32),
            cases::version.eq(c.version as i32),
            cases::submitted_at.eq(c.submitted_at),
            cases::updated_at.eq(updated),
            cases::workflow.eq(json),
            cases::due_date.eq(due.clone()),
        ));
        let mut parts = Vec::new();
        for (s, &i) in c.sub_cases.iter().zip(&d.items) {
            let item = &bundle.items[i];
            sub_rows.push((
                sub_cases::id.eq(s.id),
                sub_cases::case_id.eq(n.case_id),
                sub_cases::item_code.eq(item.code.clone()),
                sub_cases::department_code.eq(item.department.clone()),
                sub_cases::status.eq(s.status.as_str()),
                sub_cases::data_enc.eq(empty_form),
                sub_cases::materials.eq("{}"),
                sub_cases::created_at.eq(c.submitted_at),
                sub_cases::updated_at.eq(updated),
            ));
            let (hf, declared, promised) = facts.get(&item.code).copied().unwrap_or((false, 0, 0));
            parts.push(PartInfo {
                item_code: item.code.clone(),
                department_code: item.department.clone(),
                high_frequency: hf,
                declared_trips: declared,
                promised_days: promised,
            });
        }
        for e in &c.events {
            event_rows.push((
                case_events::case_id.eq(n.case_id),
                case_events::at.eq(e.at),
                case_events::actor_role.eq(e.actor_label.clone()),
                case_events::action.eq(e.action.clone()),
                case_events::from_status.eq(e.from.as_str()),
                case_events::to_status.eq(e.to.as_str()),
                case_events::detail.eq(e.detail.clone()),
                case_events::sub_case_id.eq(e.part),
            ));
        }
        let inputs = FactInputs {
            case_id: n.case_id,
            bundle_code: &bundle.code,
            due_date: due.as_deref(),
            promised_days: bundle.promised_days,
            parts,
        };
        if let Some(f) = metrics::case_fact(c, inputs, Calendar::shipped())? {
            let one = Delta::between(None, Some(&f));
            metrics::apply_delta(&mut delta, &one);
            fact_rows.push(super::metrics::FactRow::from_fact(&f)?);
        }
        if let Some(r) = &d.rating {
            let day = metrics::local_day(r.at).to_string();
            *rating_counts.entry((day.clone(), r.level.score())).or_default() += 1;
            rating_rows.push((
                ratings::id.eq(n.rating_id),
                ratings::case_id.eq(n.case_id),
                ratings::account_id.eq(account),
                ratings::level.eq(r.level.score()),
                ratings::comment.eq(""),
                ratings::day.eq(day.clone()),
                ratings::rated_at.eq(r.at),
                ratings::excluded.eq(false),
            ));
            let mut seen = std::collections::BTreeSet::new();
            for s in &c.sub_cases {
                if seen.insert(s.department.clone()) {
                    rating_part_rows.push((
                        rating_parts::rating_id.eq(n.rating_id),
                        rating_parts::department_code.eq(s.department.clone()),
                        rating_parts::level.eq(r.level.score()),
                        rating_parts::day.eq(day.clone()),
                    ));
                }
            }
            if let Some(f) = &r.follow_up {
                follow_up_rows.push((
                    follow_ups::rating_id.eq(n.rating_id),
                    follow_ups::case_id.eq(n.case_id),
                    follow_ups::status.eq(f.status.as_str()),
                    follow_ups::opened_at.eq(r.at),
                    follow_ups::due_date.eq(f.due.to_string()),
                    follow_ups::visit_at.eq(f.visit_at),
                    follow_ups::visit_note.eq(f.visit_at.map(|_| "电话回访".to_owned())),
                    follow_ups::outcome.eq(f.resolved_at.map(|_| "已向申请人说明并改进".to_owned())),
                    follow_ups::resolved_at.eq(f.resolved_at),
                    follow_ups::handled_by.eq("demo"),
                    follow_ups::version.eq(1),
                ));
            }
        }
    }
    conn.transaction(|conn| {
        insert_chunks!(conn, cases::table, case_rows, 1000);
        insert_chunks!(conn, sub_cases::table, sub_rows, 2000);
        insert_chunks!(conn, case_events::table, event_rows, 2000);
        insert_chunks!(conn, case_facts::table, fact_rows, 2000);
        insert_chunks!(conn, ratings::table, rating_rows, 2000);
        insert_chunks!(conn, rating_parts::table, rating_part_rows, 4000);
        insert_chunks!(conn, follow_ups::table, follow_up_rows, 1000);
        for ((day, level), n) in &rating_counts {
            super::ratings::count_ratings(conn, day, *level, true, *n)?;
        }
        apply(conn, &delta)
    })
}

/// How many cases to write and how.
pub struct DemoRun<'a> {
    pub count: u64,
    pub seed: u64,
    /// Cases per transaction.
    pub batch: usize,
    pub now: NaiveDateTime,
    /// The encrypted empty form every demo case and part carries (no personal data).
    pub empty_form: &'a str,
}

/// Generates and writes `run.count` cases submitted over the year before `run.now`, in
/// batches; `progress` is told how many cases each written batch held. Returns the number
/// of cases written (a bundle without items yields none).
pub fn generate_cases(
    conn: &mut DbConn,
    run: &DemoRun<'_>,
    mut progress: impl FnMut(u64),
) -> Result<u64, DbError> {
    let (count, seed, batch, now) = (run.count, run.seed, run.batch, run.now);
    use rand::{Rng, SeedableRng};
    let bundles = catalogue(conn)?;
    let facts = item_facts(conn)?;
    let account = demo_account(conn, now)?;
    let (mut case_id, mut sub_id, mut rating_id) = next_ids(conn)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let start = now - chrono::Duration::days(365);
    let span = (now - start).num_seconds().max(1);
    let mut written = 0u64;
    let mut pending: Vec<Numbered> = Vec::with_capacity(batch);
    for n in 0..count {
        // Submissions spread evenly over the year, in time order, at random times of day.
        let base = start + chrono::Duration::seconds(span * n as i64 / count.max(1) as i64);
        let submitted = base + chrono::Duration::seconds(rng.gen_range(0..600));
        let Some(demo) =
            crate::metrics::demo::generate(&mut rng, &bundles, Calendar::shipped(), sub_id, submitted, now)?
        else {
            continue;
        };
        sub_id += demo.case.sub_cases.len() as i64;
        let this_rating = if demo.rating.is_some() {
            rating_id += 1;
            rating_id - 1
        } else {
            0
        };
        pending.push(Numbered {
            case_id,
            rating_id: this_rating,
            demo,
        });
        case_id += 1;
        if pending.len() >= batch {
            insert_batch(conn, account, &bundles, &facts, run.empty_form, &pending)?;
            written += pending.len() as u64;
            progress(pending.len() as u64);
            pending.clear();
        }
    }
    if !pending.is_empty() {
        insert_batch(conn, account, &bundles, &facts, run.empty_form, &pending)?;
        written += pending.len() as u64;
        progress(pending.len() as u64);
    }
    fix_sequences(conn)?;
    Ok(written)
}
