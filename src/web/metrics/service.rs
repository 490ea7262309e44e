//! The KPI reports shared by the metrics API, its exports and the dashboard pages: the
//! period from the query string, the overview against the plan's targets, and the
//! zero-trip share with its breakdowns.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::metrics::export::{Cell, Table};
use crate::metrics::{self, svg, Counts};
use crate::store::metrics::{self as store, CatalogueFacts, Dim, Group, Period};
use crate::web::error::{ApiError, FieldError};
use crate::web::AppState;

/// The query of every metrics endpoint and page.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricsQuery {
    /// First day of the period (YYYY-MM-DD); by default the first day of this year.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub from: Option<String>,
    /// Last day of the period (YYYY-MM-DD), at most 10 years after `from`; by default today.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub to: Option<String>,
    /// Only this department's code.
    pub department: Option<String>,
    /// Exports only: `csv` (default) or `xlsx`.
    pub format: Option<String>,
    /// Exports only: which table of the report.
    pub table: Option<String>,
}

/// The longest period one query may cover.
const MAX_DAYS: i64 = 3700;

fn date(value: Option<&str>, field: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let s = value.map(str::trim).filter(|s| !s.is_empty())?;
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "invalid_date",
                format!("{field} 应为有效日期，格式 YYYY-MM-DD（如 2026-01-31）"),
            ));
            None
        }
    }
}

/// The period of a query: `from..=to` in local days; by default from 1 January of this
/// year to today. Bad dates, a reversed or too long period and an unknown department are
/// 400 with a Chinese message per field.
pub fn period(q: &MetricsQuery, departments: &CatalogueFacts, today: NaiveDate) -> Result<Period, ApiError> {
    let mut errors = Vec::new();
    let to = date(q.to.as_deref(), "to", &mut errors);
    let from = date(q.from.as_deref(), "from", &mut errors);
    let department = q
        .department
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    if let Some(d) = &department {
        if !departments.departments.contains_key(d) {
            errors.push(FieldError::new(
                "department",
                "unknown_department",
                format!("部门编码 {d} 不存在"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::InvalidQuery(errors));
    }
    let to = to.unwrap_or(today);
    let from = from.unwrap_or_else(|| NaiveDate::from_ymd_opt(to.year(), 1, 1).unwrap_or(to));
    if from > to {
        return Err(ApiError::InvalidQuery(vec![FieldError::new(
            "from",
            "reversed",
            "起始日期 from 不能晚于截止日期 to",
        )]));
    }
    if (to - from).num_days() > MAX_DAYS {
        return Err(ApiError::InvalidQuery(vec![FieldError::new(
            "from",
            "too_long",
            "统计期间最长 10 年，请缩短期间",
        )]));
    }
    Ok(Period { from, to, department })
}

/// One row of a breakdown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShareRow {
    pub key: String,
    pub label: String,
    pub zero_trip_cases: i64,
    pub total_cases: i64,
    pub rate: Option<f64>,
    pub meets_target: Option<bool>,
    pub average_trips: Option<f64>,
}

impl ShareRow {
    fn new(key: &str, label: String, c: &Counts) -> Self {
        let rate = c.zero_trip_rate();
        Self {
            key: key.to_owned(),
            label,
            zero_trip_cases: c.zero_trip,
            total_cases: c.finished,
            rate,
            meets_target: rate.map(|r| r >= metrics::ZERO_TRIP_TARGET),
            average_trips: c.average_trips(),
        }
    }
}

/// An item's measured zero-trip share beside its guide's declared trips.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemShareRow {
    #[serde(flatten)]
    pub share: ShareRow,
    pub department: String,
    pub declared_trips: Option<i32>,
    /// Parts whose case recorded more trips than the guide declares.
    pub over_declared_cases: i64,
    pub contradicts_guide: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ZeroTripReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub department: Option<String>,
    pub rate: Option<f64>,
    pub target: f64,
    pub meets_target: Option<bool>,
    pub zero_trip_cases: i64,
    pub total_cases: i64,
    pub unit: &'static str,
    pub by_department: Vec<ShareRow>,
    pub by_item: Vec<ItemShareRow>,
    pub by_bundle: Vec<ShareRow>,
    pub by_channel: Vec<ShareRow>,
    pub by_month: Vec<ShareRow>,
}

pub fn channel_label(code: &str) -> String {
    crate::workflow::Channel::parse(code).map_or_else(|| code.to_owned(), |c| c.label().to_owned())
}

fn rows(groups: &[Group], label: impl Fn(&str) -> String) -> Vec<ShareRow> {
    groups
        .iter()
        .filter(|g| g.counts.finished > 0)
        .map(|g| ShareRow::new(&g.k, label(&g.k), &g.counts))
        .collect()
}

/// The zero-trip share of high-frequency items' parts in the period, with breakdowns.
pub fn zero_trip_report(
    conn: &mut crate::db::DbConn,
    cat: &CatalogueFacts,
    period: &Period,
) -> Result<ZeroTripReport, crate::db::DbError> {
    let cells = store::part_cells(conn, period, true)?;
    let total = store::total(&store::group(&cells, Dim::All));
    let dept = store::group(&cells, Dim::Department);
    let items = store::group(&cells, Dim::Item);
    let bundles = store::group(&cells, Dim::Bundle);
    let channels = store::group(&cells, Dim::Channel);
    let months = store::group(&cells, Dim::Month);
    let name = |map: &std::collections::BTreeMap<String, String>, k: &str| {
        map.get(k).cloned().unwrap_or_else(|| k.to_owned())
    };
    let by_item = items
        .iter()
        .filter(|g| g.counts.finished > 0)
        .map(|g| {
            let c = g.counts;
            let item = cat.item(&g.k);
            ItemShareRow {
                share: ShareRow::new(&g.k, item.map_or_else(|| g.k.clone(), |i| i.name.clone()), &c),
                department: item.map_or_else(String::new, |i| name(&cat.departments, &i.department_code)),
                declared_trips: item.map(|i| i.declared_trips),
                over_declared_cases: c.over_declared,
                contradicts_guide: c.over_declared > 0,
            }
        })
        .collect();
    let rate = total.zero_trip_rate();
    Ok(ZeroTripReport {
        from: period.from,
        to: period.to,
        department: period.department.clone(),
        rate,
        target: metrics::ZERO_TRIP_TARGET,
        meets_target: rate.map(|r| r >= metrics::ZERO_TRIP_TARGET),
        zero_trip_cases: total.zero_trip,
        total_cases: total.finished,
        unit: "办结办件中每个高频事项子件计 1 件（一件事含多个高频事项的，每个事项各计 1 件）",
        by_department: rows(&dept, |k| name(&cat.departments, k)),
        by_item,
        by_bundle: rows(&bundles, |k| name(&cat.bundles, k)),
        by_channel: rows(&channels, channel_label),
        by_month: rows(&months, str::to_owned),
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Target {
    pub value: f64,
    pub target: f64,
    pub rate: Option<f64>,
    pub meets_target: Option<bool>,
}

fn target(value: f64, goal: f64, rate: Option<f64>, meets: Option<bool>) -> Target {
    Target {
        value,
        target: goal,
        rate,
        meets_target: meets,
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChannelRow {
    pub channel: String,
    pub label: String,
    pub cases: i64,
    pub share: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IncompleteGuide {
    pub code: String,
    pub name: String,
    pub missing: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Overview {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub bundles_online: Target,
    pub guides_published: i64,
    pub guides_total: i64,
    pub guide_publication: Target,
    pub incomplete_guides: Vec<IncompleteGuide>,
    /// Items decided by declared rules (forms/rules), against the plan's first batch.
    pub smart_approval_items: i64,
    pub smart_approval_target: i64,
    pub smart_approval_rule: &'static str,
    /// Parts decided in the period, and those the system decided by their rules.
    pub decided_parts: i64,
    pub automatic_parts: i64,
    pub automatic_share: Option<f64>,
    /// Median seconds from submission to decision, for automatic and for manual parts.
    pub median_seconds_automatic: Option<f64>,
    pub median_seconds_manual: Option<f64>,
    pub zero_trip: Target,
    pub zero_trip_cases: i64,
    pub zero_trip_total: i64,
    pub finished_cases: i64,
    pub average_handling_days: Option<f64>,
    pub average_promised_days: Option<f64>,
    pub overdue_cases: i64,
    pub overdue_rate: Option<f64>,
    pub channels: Vec<ChannelRow>,
    pub ratings: i64,
    pub satisfied_ratings: i64,
    pub satisfaction: Target,
    pub months: Vec<MonthRow>,
}

/// One month of the trend.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MonthRow {
    pub month: String,
    pub finished_cases: i64,
    pub zero_trip_rate: Option<f64>,
    pub overdue_rate: Option<f64>,
    pub average_handling_days: Option<f64>,
    /// Ratings given in the month (an upheld appeal's excluded) and the satisfied share.
    pub ratings: i64,
    pub satisfaction_rate: Option<f64>,
}

pub fn overview(
    conn: &mut crate::db::DbConn,
    cat: &CatalogueFacts,
    period: &Period,
) -> Result<Overview, crate::db::DbError> {
    let parts = store::part_cells(conn, period, true)?;
    let zero = store::total(&store::group(&parts, Dim::All));
    let zero_months: std::collections::BTreeMap<String, Counts> = store::group(&parts, Dim::Month)
        .into_iter()
        .map(|g| (g.k.clone(), g.counts))
        .collect();
    let case_cells = store::case_cells(conn, period)?;
    let cases = store::total(&store::group(&case_cells, Dim::All));
    let channels = store::group(&case_cells, Dim::Channel);
    let months = store::group(&case_cells, Dim::Month);
    let (ratings, satisfied) = crate::store::ratings::satisfaction(conn, period)?;
    let decisions = store::decision_times(conn, period)?;
    let rating_months = crate::store::ratings::satisfaction_by_month(conn, period)?;
    // A month with ratings but no finished case still shows in the trend.
    let mut month_counts: std::collections::BTreeMap<String, Counts> =
        months.iter().map(|g| (g.k.clone(), g.counts)).collect();
    for m in rating_months.keys() {
        month_counts.entry(m.clone()).or_default();
    }
    let bundles = cat.bundles.len() as i64;
    let total_items = cat.items.len() as i64;
    let incomplete: Vec<IncompleteGuide> = cat
        .items
        .iter()
        .filter(|i| !i.missing_guide_elements.is_empty())
        .map(|i| IncompleteGuide {
            code: i.code.clone(),
            name: i.name.clone(),
            missing: i.missing_guide_elements.clone(),
        })
        .collect();
    let published = total_items - incomplete.len() as i64;
    let guide_rate = metrics::ratio(published, total_items);
    let zero_rate = zero.zero_trip_rate();
    let satisfaction = metrics::ratio(satisfied, ratings);
    Ok(Overview {
        from: period.from,
        to: period.to,
        bundles_online: target(
            bundles as f64,
            metrics::BUNDLES_TARGET as f64,
            metrics::ratio(bundles, metrics::BUNDLES_TARGET),
            Some(bundles >= metrics::BUNDLES_TARGET),
        ),
        guides_published: published,
        guides_total: total_items,
        guide_publication: target(
            guide_rate.unwrap_or(0.0),
            metrics::GUIDE_TARGET,
            guide_rate,
            guide_rate.map(|r| r >= metrics::GUIDE_TARGET),
        ),
        incomplete_guides: incomplete,
        smart_approval_items: cat.items.iter().filter(|i| i.smart_approval).count() as i64,
        smart_approval_target: metrics::SMART_APPROVAL_TARGET,
        smart_approval_rule: "按公开的审批规则，由系统比对户籍、社保等数据自动审批的事项",
        decided_parts: decisions.decided(),
        automatic_parts: decisions.automatic.len() as i64,
        automatic_share: decisions.automatic_share(),
        median_seconds_automatic: decisions.median_automatic(),
        median_seconds_manual: decisions.median_manual(),
        zero_trip: target(
            zero_rate.unwrap_or(0.0),
            metrics::ZERO_TRIP_TARGET,
            zero_rate,
            zero_rate.map(|r| r >= metrics::ZERO_TRIP_TARGET),
        ),
        zero_trip_cases: zero.zero_trip,
        zero_trip_total: zero.finished,
        finished_cases: cases.finished,
        average_handling_days: cases.average_handling_days(),
        average_promised_days: cases.average_promised_days(),
        overdue_cases: cases.overdue,
        overdue_rate: cases.overdue_rate(),
        channels: channels
            .iter()
            .filter(|g| g.counts.finished > 0)
            .map(|g| ChannelRow {
                channel: g.k.clone(),
                label: channel_label(&g.k),
                cases: g.counts.finished,
                share: metrics::ratio(g.counts.finished, cases.finished),
            })
            .collect(),
        ratings,
        satisfied_ratings: satisfied,
        satisfaction: target(
            satisfaction.unwrap_or(0.0),
            metrics::SATISFACTION_TARGET,
            satisfaction,
            satisfaction.map(|r| r >= metrics::SATISFACTION_TARGET),
        ),
        months: month_counts
            .into_iter()
            .map(|(month, c)| MonthRow {
                zero_trip_rate: zero_months.get(&month).and_then(Counts::zero_trip_rate),
                ratings: rating_months.get(&month).map_or(0, |r| r.0),
                satisfaction_rate: rating_months
                    .get(&month)
                    .and_then(|&(total, satisfied)| metrics::ratio(satisfied, total)),
                month,
                finished_cases: c.finished,
                overdue_rate: c.overdue_rate(),
                average_handling_days: c.average_handling_days(),
            })
            .collect(),
    })
}

/// Loads the catalogue facts and checks the query's period.
pub async fn load_period(state: &AppState, q: &MetricsQuery) -> Result<(CatalogueFacts, Period), ApiError> {
    let cat = state.db.run(store::catalogue_facts).await?;
    let p = period(q, &cat, state.today())?;
    Ok((cat, p))
}

fn share_cells(r: &ShareRow) -> Vec<Cell> {
    vec![
        Cell::Text(r.key.clone()),
        Cell::Text(r.label.clone()),
        Cell::Int(r.zero_trip_cases),
        Cell::Int(r.total_cases),
        Cell::opt_rate(r.rate),
        Cell::opt_float(r.average_trips),
    ]
}

const SHARE_HEADERS: [&str; 6] = [
    "编码",
    "名称",
    "零跑动件数",
    "办结件数",
    "零跑动占比",
    "平均跑动次数",
];

/// The names of the zero-trip report's tables.
pub const ZERO_TRIP_TABLES: [&str; 5] = ["department", "item", "bundle", "channel", "month"];

/// One table of the zero-trip report, for export.
pub fn zero_trip_table(r: &ZeroTripReport, name: &str) -> Option<Table> {
    let (title, rows): (&str, Vec<Vec<Cell>>) = match name {
        "department" => ("按部门", r.by_department.iter().map(share_cells).collect()),
        "bundle" => ("按一件事", r.by_bundle.iter().map(share_cells).collect()),
        "channel" => ("按申报渠道", r.by_channel.iter().map(share_cells).collect()),
        "month" => ("按月份", r.by_month.iter().map(share_cells).collect()),
        "item" => {
            let mut headers = SHARE_HEADERS.to_vec();
            headers.extend([
                "所属部门",
                "办事指南承诺跑动次数",
                "超出承诺件数",
                "与办事指南不符",
            ]);
            let rows = r
                .by_item
                .iter()
                .map(|i| {
                    let mut cells = share_cells(&i.share);
                    cells.push(Cell::Text(i.department.clone()));
                    cells.push(i.declared_trips.map_or(Cell::Empty, |d| Cell::Int(i64::from(d))));
                    cells.push(Cell::Int(i.over_declared_cases));
                    cells.push(Cell::Text(if i.contradicts_guide { "是" } else { "否" }.into()));
                    cells
                })
                .collect();
            return Some(Table {
                title: format!("高频事项“一趟不用跑”占比（按事项）{} 至 {}", r.from, r.to),
                headers,
                rows,
            });
        }
        _ => return None,
    };
    Some(Table {
        title: format!("高频事项“一趟不用跑”占比（{title}）{} 至 {}", r.from, r.to),
        headers: SHARE_HEADERS.to_vec(),
        rows,
    })
}

/// The names of the overview's tables.
pub const OVERVIEW_TABLES: [&str; 3] = ["targets", "channels", "months"];

/// One table of the overview, for export.
pub fn overview_table(o: &Overview, name: &str) -> Option<Table> {
    let period = format!("{} 至 {}", o.from, o.to);
    match name {
        "targets" => Some(Table {
            title: format!("行动方案目标完成情况 {period}"),
            headers: vec!["指标", "当前值", "目标值", "是否达标"],
            rows: target_rows(o)
                .into_iter()
                .map(|t| {
                    vec![
                        Cell::Text(t.name.into()),
                        Cell::Text(t.value),
                        Cell::Text(t.target),
                        Cell::Text(t.status.into()),
                    ]
                })
                .collect(),
        }),
        "channels" => Some(Table {
            title: format!("办结办件按申报渠道 {period}"),
            headers: vec!["渠道", "名称", "办结件数", "占比"],
            rows: o
                .channels
                .iter()
                .map(|c| {
                    vec![
                        Cell::Text(c.channel.clone()),
                        Cell::Text(c.label.clone()),
                        Cell::Int(c.cases),
                        Cell::opt_rate(c.share),
                    ]
                })
                .collect(),
        }),
        "months" => Some(Table {
            title: format!("逐月趋势 {period}"),
            headers: vec![
                "月份",
                "办结件数",
                "零跑动占比",
                "超期率",
                "平均办理工作日",
                "评价数",
                "满意率",
            ],
            rows: o
                .months
                .iter()
                .map(|m| {
                    vec![
                        Cell::Text(m.month.clone()),
                        Cell::Int(m.finished_cases),
                        Cell::opt_rate(m.zero_trip_rate),
                        Cell::opt_rate(m.overdue_rate),
                        Cell::opt_float(m.average_handling_days),
                        Cell::Int(m.ratings),
                        Cell::opt_rate(m.satisfaction_rate),
                    ]
                })
                .collect(),
        }),
        _ => None,
    }
}

/// One target of the plan as the pages and the targets table show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TargetView {
    pub name: &'static str,
    pub value: String,
    pub target: String,
    pub status: &'static str,
    pub svg: String,
}

fn status(meets: Option<bool>) -> &'static str {
    match meets {
        Some(true) => "已达标",
        Some(false) => "未达标",
        None => "暂无数据",
    }
}

pub fn target_rows(o: &Overview) -> Vec<TargetView> {
    let pct = |r: Option<f64>| metrics::percent(r);
    vec![
        TargetView {
            name: "“一件事”上线数量",
            value: format!("{} 个", o.bundles_online.value),
            target: format!("{} 个以上", o.bundles_online.target),
            status: status(o.bundles_online.meets_target),
            svg: svg::progress(
                "“一件事”上线数量",
                o.bundles_online.value,
                o.bundles_online.target,
            ),
        },
        TargetView {
            name: "办事指南发布率",
            value: format!(
                "{}（{}/{}）",
                pct(o.guide_publication.rate),
                o.guides_published,
                o.guides_total
            ),
            target: "100%".into(),
            status: status(o.guide_publication.meets_target),
            svg: svg::progress(
                "办事指南发布率",
                o.guide_publication.value,
                o.guide_publication.target,
            ),
        },
        TargetView {
            name: "高频事项“一趟不用跑”占比",
            value: format!(
                "{}（{}/{}）",
                pct(o.zero_trip.rate),
                o.zero_trip_cases,
                o.zero_trip_total
            ),
            target: "60% 以上".into(),
            status: status(o.zero_trip.meets_target),
            svg: svg::progress("高频事项“一趟不用跑”占比", o.zero_trip.value, o.zero_trip.target),
        },
        TargetView {
            name: "智能审批事项",
            value: format!("{} 项", o.smart_approval_items),
            target: format!("首批 {} 项以上", o.smart_approval_target),
            status: status(Some(o.smart_approval_items >= o.smart_approval_target)),
            svg: svg::progress(
                "智能审批事项",
                o.smart_approval_items as f64,
                o.smart_approval_target as f64,
            ),
        },
        TargetView {
            name: "系统自动审批的子件占比",
            value: format!(
                "{}（{}/{}）；申请到结果中位用时：自动 {}，人工 {}",
                pct(o.automatic_share),
                o.automatic_parts,
                o.decided_parts,
                metrics::duration_words(o.median_seconds_automatic),
                metrics::duration_words(o.median_seconds_manual)
            ),
            target: "逐步提升".into(),
            status: if o.automatic_parts > 0 {
                "已运行"
            } else {
                "暂无"
            },
            svg: svg::progress("系统自动审批的子件占比", o.automatic_share.unwrap_or(0.0), 1.0),
        },
        TargetView {
            name: "满意率（好差评）",
            value: format!(
                "{}（{}/{}）",
                pct(o.satisfaction.rate),
                o.satisfied_ratings,
                o.ratings
            ),
            target: format!("{:.0}% 以上并逐步提升", o.satisfaction.target * 100.0),
            status: status(o.satisfaction.meets_target),
            svg: svg::progress("满意率", o.satisfaction.value, o.satisfaction.target),
        },
    ]
}
