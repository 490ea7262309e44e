//! 好差评 storage: one rating per case (unique), its per-department levels, the follow-up
//! (整改) of a negative rating saved under optimistic concurrency, and the figures.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Text};

use super::metrics::Period;
use crate::db::schema::{cases, follow_ups, rating_parts, ratings, sub_cases};
use crate::db::{DbConn, DbError};
use crate::metrics::ratings::{FollowUpStatus, Level};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = ratings)]
pub struct RatingRow {
    pub id: i64,
    pub case_id: i64,
    pub account_id: i64,
    pub level: i32,
    pub comment: String,
    pub day: String,
    pub rated_at: NaiveDateTime,
    pub excluded: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = follow_ups)]
pub struct FollowUpRow {
    pub id: i64,
    pub rating_id: i64,
    pub case_id: i64,
    pub status: String,
    #[serde(with = "crate::clock::rfc3339")]
    pub opened_at: NaiveDateTime,
    pub due_date: String,
    #[serde(with = "crate::clock::rfc3339::option")]
    pub visit_at: Option<NaiveDateTime>,
    pub visit_note: Option<String>,
    pub outcome: Option<String>,
    #[serde(with = "crate::clock::rfc3339::option")]
    pub resolved_at: Option<NaiveDateTime>,
    pub appeal_reason: Option<String>,
    #[serde(with = "crate::clock::rfc3339::option")]
    pub appealed_at: Option<NaiveDateTime>,
    pub review_note: Option<String>,
    pub handled_by: String,
    pub version: i32,
}

/// A new rating of a case.
pub struct NewRating {
    pub case_id: i64,
    pub account_id: i64,
    pub level: Level,
    pub comment: String,
    pub departments: Vec<(String, Level)>,
    pub at: NaiveDateTime,
    pub day: NaiveDate,
    /// The follow-up deadline, when the rating opens one.
    pub follow_up_due: Option<NaiveDate>,
}

pub fn rating_of_case(conn: &mut DbConn, case_id: i64) -> Result<Option<RatingRow>, DbError> {
    Ok(ratings::table
        .filter(ratings::case_id.eq(case_id))
        .select(RatingRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn parts_of(conn: &mut DbConn, rating_id: i64) -> Result<Vec<(String, i32)>, DbError> {
    Ok(rating_parts::table
        .filter(rating_parts::rating_id.eq(rating_id))
        .order(rating_parts::department_code)
        .select((rating_parts::department_code, rating_parts::level))
        .load(conn)?)
}

/// Saves a rating, its department levels and, for a negative one, the follow-up, in one
/// transaction. None when the case already has a rating (the unique case key decides a
/// race).
pub fn rate(conn: &mut DbConn, r: &NewRating) -> Result<Option<(RatingRow, Option<FollowUpRow>)>, DbError> {
    let outcome = conn.transaction::<_, diesel::result::Error, _>(|conn| {
        if rating_of_case(conn, r.case_id).map_err(to_diesel)?.is_some() {
            return Ok(None);
        }
        let day = r.day.to_string();
        diesel::insert_into(ratings::table)
            .values((
                ratings::case_id.eq(r.case_id),
                ratings::account_id.eq(r.account_id),
                ratings::level.eq(r.level.score()),
                ratings::comment.eq(&r.comment),
                ratings::day.eq(&day),
                ratings::rated_at.eq(r.at),
                ratings::excluded.eq(false),
            ))
            .execute(conn)?;
        count_ratings(conn, &day, r.level.score(), true, 1).map_err(to_diesel)?;
        let rating: RatingRow = ratings::table
            .filter(ratings::case_id.eq(r.case_id))
            .select(RatingRow::as_select())
            .first(conn)?;
        for (department, level) in &r.departments {
            diesel::insert_into(rating_parts::table)
                .values((
                    rating_parts::rating_id.eq(rating.id),
                    rating_parts::department_code.eq(department),
                    rating_parts::level.eq(level.score()),
                    rating_parts::day.eq(&day),
                ))
                .execute(conn)?;
        }
        let follow_up = match r.follow_up_due {
            None => None,
            Some(due) => {
                diesel::insert_into(follow_ups::table)
                    .values((
                        follow_ups::rating_id.eq(rating.id),
                        follow_ups::case_id.eq(r.case_id),
                        follow_ups::status.eq(FollowUpStatus::Open.as_str()),
                        follow_ups::opened_at.eq(r.at),
                        follow_ups::due_date.eq(due.to_string()),
                        follow_ups::handled_by.eq(""),
                        follow_ups::version.eq(1),
                    ))
                    .execute(conn)?;
                Some(
                    follow_ups::table
                        .filter(follow_ups::rating_id.eq(rating.id))
                        .select(FollowUpRow::as_select())
                        .first(conn)?,
                )
            }
        };
        Ok(Some((rating, follow_up)))
    });
    match outcome {
        Ok(v) => Ok(v),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

fn to_diesel(e: DbError) -> diesel::result::Error {
    match e {
        DbError::Query(q) => q,
        other => diesel::result::Error::QueryBuilderError(other.to_string().into()),
    }
}

/// A follow-up as the staff list shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct FollowUpView {
    #[serde(flatten)]
    pub row: FollowUpRow,
    pub status_label: &'static str,
    pub receipt_no: String,
    pub level: i32,
    pub level_label: &'static str,
    pub comment: String,
    pub excluded: bool,
}

fn view(row: FollowUpRow, receipt_no: String, level: i32, comment: String, excluded: bool) -> FollowUpView {
    FollowUpView {
        status_label: FollowUpStatus::parse(&row.status).map_or("未知", |s| s.label()),
        row,
        receipt_no,
        level,
        level_label: Level::from_score(level).map_or("未知", |l| l.label()),
        comment,
        excluded,
    }
}

type Joined = (FollowUpRow, String, i32, String, bool);

/// The cases in which `department` has a part, as a subquery.
fn cases_with_part_of(
    department: &str,
) -> diesel::dsl::Select<
    diesel::dsl::Filter<sub_cases::table, diesel::dsl::Eq<sub_cases::department_code, String>>,
    sub_cases::case_id,
> {
    sub_cases::table
        .filter(sub_cases::department_code.eq(department.to_owned()))
        .select(sub_cases::case_id)
}

/// Follow-ups, optionally of one status, and — for a department's reviewer — only those of
/// cases in which the department has a part.
pub fn follow_ups(
    conn: &mut DbConn,
    status: Option<&str>,
    department: Option<&str>,
    limit: i64,
) -> Result<Vec<FollowUpView>, DbError> {
    let mut q = follow_ups::table
        .inner_join(cases::table.on(cases::id.eq(follow_ups::case_id)))
        .inner_join(ratings::table.on(ratings::id.eq(follow_ups::rating_id)))
        .into_boxed();
    if let Some(d) = department {
        q = q.filter(follow_ups::case_id.eq_any(cases_with_part_of(d)));
    }
    if let Some(s) = status {
        q = q.filter(follow_ups::status.eq(s.to_owned()));
    }
    let rows: Vec<Joined> = q
        .order((follow_ups::due_date, follow_ups::id))
        .limit(limit)
        .select((
            FollowUpRow::as_select(),
            cases::receipt_no,
            ratings::level,
            ratings::comment,
            ratings::excluded,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(r, n, l, c, e)| view(r, n, l, c, e))
        .collect())
}

/// One follow-up; for a department's reviewer only one of a case with the department's part.
pub fn follow_up(
    conn: &mut DbConn,
    id: i64,
    department: Option<&str>,
) -> Result<Option<FollowUpView>, DbError> {
    let mut q = follow_ups::table
        .inner_join(cases::table.on(cases::id.eq(follow_ups::case_id)))
        .inner_join(ratings::table.on(ratings::id.eq(follow_ups::rating_id)))
        .filter(follow_ups::id.eq(id))
        .into_boxed();
    if let Some(d) = department {
        q = q.filter(follow_ups::case_id.eq_any(cases_with_part_of(d)));
    }
    let row: Option<Joined> = q
        .select((
            FollowUpRow::as_select(),
            cases::receipt_no,
            ratings::level,
            ratings::comment,
            ratings::excluded,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(r, n, l, c, e)| view(r, n, l, c, e)))
}

/// What a follow-up action writes.
#[derive(Debug, Clone, Default)]
pub struct FollowUpChange {
    pub status: String,
    pub visit: Option<(NaiveDateTime, String)>,
    pub outcome: Option<(NaiveDateTime, String)>,
    pub appeal: Option<(NaiveDateTime, String)>,
    pub review_note: Option<String>,
    /// An upheld appeal takes the rating out of the satisfaction rate.
    pub exclude_rating: bool,
    pub handled_by: String,
}

/// Saves a follow-up change if the follow-up still has `seen_version`; false otherwise.
pub fn save_follow_up(
    conn: &mut DbConn,
    current: &FollowUpRow,
    change: &FollowUpChange,
) -> Result<bool, DbError> {
    conn.transaction(|conn| {
        let target = follow_ups::table
            .filter(follow_ups::id.eq(current.id))
            .filter(follow_ups::version.eq(current.version));
        let n = diesel::update(target)
            .set((
                follow_ups::status.eq(&change.status),
                follow_ups::handled_by.eq(&change.handled_by),
                follow_ups::version.eq(current.version + 1),
            ))
            .execute(conn)?;
        if n == 0 {
            return Ok(false);
        }
        let row = follow_ups::table.find(current.id);
        if let Some((at, note)) = &change.visit {
            diesel::update(row)
                .set((follow_ups::visit_at.eq(at), follow_ups::visit_note.eq(note)))
                .execute(conn)?;
        }
        if let Some((at, outcome)) = &change.outcome {
            diesel::update(row)
                .set((follow_ups::resolved_at.eq(at), follow_ups::outcome.eq(outcome)))
                .execute(conn)?;
        }
        if let Some((at, reason)) = &change.appeal {
            diesel::update(row)
                .set((
                    follow_ups::appealed_at.eq(at),
                    follow_ups::appeal_reason.eq(reason),
                ))
                .execute(conn)?;
        }
        if let Some(note) = &change.review_note {
            diesel::update(row)
                .set(follow_ups::review_note.eq(note))
                .execute(conn)?;
        }
        if change.exclude_rating {
            let (day, level, excluded): (String, i32, bool) = ratings::table
                .find(current.rating_id)
                .select((ratings::day, ratings::level, ratings::excluded))
                .first(conn)?;
            if !excluded {
                diesel::update(ratings::table.find(current.rating_id))
                    .set(ratings::excluded.eq(true))
                    .execute(conn)?;
                count_ratings(conn, &day, level, true, -1)?;
                count_ratings(conn, &day, level, false, 1)?;
            }
        }
        Ok(true)
    })
}

#[derive(QueryableByName)]
struct Pair {
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = BigInt)]
    satisfied: i64,
}

/// Adds `n` ratings of `level` given on `day` to the daily counts the satisfaction rate
/// reads (`counted`: not taken out by an upheld appeal); called in the transaction that
/// writes the ratings, so the counts always equal a recount.
pub fn count_ratings(conn: &mut DbConn, day: &str, level: i32, counted: bool, n: i64) -> Result<(), DbError> {
    let sql = "INSERT INTO metric_ratings (day, level, counted, ratings) VALUES ($1, $2, $3, $4) \
               ON CONFLICT (day, level, counted) DO UPDATE SET ratings = metric_ratings.ratings + excluded.ratings";
    let sql = crate::db::dialect::numbered(conn, sql);
    diesel::sql_query(sql)
        .bind::<Text, _>(day)
        .bind::<Integer, _>(level)
        .bind::<Bool, _>(counted)
        .bind::<BigInt, _>(n)
        .execute(conn)?;
    Ok(())
}

/// Ratings in the period (an upheld appeal's rating excluded) and how many of them are
/// 基本满意 or better, from the daily counts.
pub fn satisfaction(conn: &mut DbConn, period: &Period) -> Result<(i64, i64), DbError> {
    let sql = "SELECT CAST(COALESCE(SUM(ratings), 0) AS BIGINT) AS total, \
               CAST(COALESCE(SUM(CASE WHEN level >= 3 THEN ratings ELSE 0 END), 0) AS BIGINT) AS satisfied \
               FROM metric_ratings WHERE day >= $1 AND day <= $2 AND counted = $3";
    let sql = crate::db::dialect::numbered(conn, sql);
    let p: Pair = diesel::sql_query(sql)
        .bind::<Text, _>(period.from.to_string())
        .bind::<Text, _>(period.to.to_string())
        .bind::<Bool, _>(true)
        .get_result(conn)?;
    Ok((p.total, p.satisfied))
}

#[derive(QueryableByName)]
struct MonthPair {
    #[diesel(sql_type = Text)]
    month: String,
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = BigInt)]
    satisfied: i64,
}

/// [`satisfaction`] per month (`YYYY-MM`) of the period, for the trend.
pub fn satisfaction_by_month(
    conn: &mut DbConn,
    period: &Period,
) -> Result<std::collections::BTreeMap<String, (i64, i64)>, DbError> {
    let sql = "SELECT substr(day, 1, 7) AS month, CAST(COALESCE(SUM(ratings), 0) AS BIGINT) AS total, \
               CAST(COALESCE(SUM(CASE WHEN level >= 3 THEN ratings ELSE 0 END), 0) AS BIGINT) AS satisfied \
               FROM metric_ratings WHERE day >= $1 AND day <= $2 AND counted = $3 GROUP BY substr(day, 1, 7)";
    let sql = crate::db::dialect::numbered(conn, sql);
    let rows: Vec<MonthPair> = diesel::sql_query(sql)
        .bind::<Text, _>(period.from.to_string())
        .bind::<Text, _>(period.to.to_string())
        .bind::<Bool, _>(true)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|r| r.total > 0)
        .map(|r| (r.month, (r.total, r.satisfied)))
        .collect())
}

/// The same figures as [`satisfaction`] counted from the ratings themselves (the check of
/// the daily counts).
pub fn recount_satisfaction(conn: &mut DbConn, period: &Period) -> Result<(i64, i64), DbError> {
    let sql = crate::db::dialect::numbered(
        conn,
        "SELECT COUNT(*) AS total, CAST(COALESCE(SUM(CASE WHEN level >= 3 THEN 1 ELSE 0 END), 0) AS BIGINT) \
         AS satisfied FROM ratings WHERE day >= $1 AND day <= $2 AND excluded = $3",
    );
    let p: Pair = diesel::sql_query(sql)
        .bind::<Text, _>(period.from.to_string())
        .bind::<Text, _>(period.to.to_string())
        .bind::<Bool, _>(false)
        .get_result(conn)?;
    Ok((p.total, p.satisfied))
}

/// One department's ratings in one month.
#[derive(Debug, Clone, QueryableByName, serde::Serialize, utoipa::ToSchema)]
pub struct DepartmentMonth {
    #[diesel(sql_type = Text)]
    pub month: String,
    #[diesel(sql_type = Text)]
    pub department: String,
    #[diesel(sql_type = BigInt)]
    pub ratings: i64,
    #[diesel(sql_type = BigInt)]
    pub satisfied: i64,
    #[diesel(sql_type = BigInt)]
    pub negative: i64,
}

/// Monthly figures per department from the department levels of the period's ratings.
pub fn monthly_by_department(conn: &mut DbConn, period: &Period) -> Result<Vec<DepartmentMonth>, DbError> {
    let sql = "SELECT SUBSTR(p.day, 1, 7) AS month, p.department_code AS department, COUNT(*) AS ratings, \
         CAST(COALESCE(SUM(CASE WHEN p.level >= 3 THEN 1 ELSE 0 END), 0) AS BIGINT) AS satisfied, \
         CAST(COALESCE(SUM(CASE WHEN p.level < 3 THEN 1 ELSE 0 END), 0) AS BIGINT) AS negative \
         FROM rating_parts p JOIN ratings r ON r.id = p.rating_id \
         WHERE p.day >= $1 AND p.day <= $2 AND r.excluded = $3 \
         GROUP BY SUBSTR(p.day, 1, 7), p.department_code ORDER BY month, department";
    let sql = crate::db::dialect::numbered(conn, sql);
    Ok(diesel::sql_query(sql)
        .bind::<Text, _>(period.from.to_string())
        .bind::<Text, _>(period.to.to_string())
        .bind::<Bool, _>(false)
        .load(conn)?)
}
