//! The written notices the window hands or sends to the applicant (行政许可法 Art. 32): the
//! 受理通知书, the 不予受理决定书 and the 补正告知书, each a printable A4 page with the
//! centre's letterhead, the case's data, the date, the legal basis and a QR code of the
//! applicant's case page.

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde::Serialize;

use crate::clock::beijing_date;
use crate::web::apply::service as apply;
use crate::web::auth::{client_address, Authed, StaffOnly};
use crate::web::error::PageError;
use crate::web::page::{form_page, page_err};
use crate::web::AppState;
use crate::workflow::CaseStatus;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(document_page);
}

/// The notices the window can print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Acceptance,
    Refusal,
    Supplement,
}

impl Kind {
    const ALL: [Self; 3] = [Self::Acceptance, Self::Refusal, Self::Supplement];

    /// The name in the document's address (`…/documents/acceptance`).
    fn as_str(self) -> &'static str {
        match self {
            Self::Acceptance => "acceptance",
            Self::Refusal => "refusal",
            Self::Supplement => "supplement",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    fn title(self) -> &'static str {
        match self {
            Self::Acceptance => "受理通知书",
            Self::Refusal => "不予受理决定书",
            Self::Supplement => "补正材料告知书",
        }
    }

    /// The letter of the document number (受 / 不受 / 补).
    fn mark(self) -> &'static str {
        match self {
            Self::Acceptance => "受",
            Self::Refusal => "不受",
            Self::Supplement => "补",
        }
    }

    /// The time the case's notice of this kind bears (its acceptance, refusal or latest 补正
    /// notice), or `None` when the case has no such notice now.
    fn dated(self, wf: &crate::workflow::Case) -> Option<NaiveDateTime> {
        let actions: &[&str] = match self {
            Self::Acceptance if wf.status != CaseStatus::Refused => &["accept", "deemed_accept"],
            Self::Refusal if wf.status == CaseStatus::Refused => &["refuse"],
            Self::Supplement if wf.open_notice.is_some() => &["request_supplement"],
            _ => return None,
        };
        wf.events
            .iter()
            .rev()
            .find(|e| actions.contains(&e.action.as_str()))
            .map(|e| e.at)
    }
}

/// The notices a case has now, as (path segment, title): what the staff page links to.
pub fn available(wf: &crate::workflow::Case) -> Vec<(&'static str, &'static str)> {
    Kind::ALL
        .into_iter()
        .filter(|k| k.dated(wf).is_some())
        .map(|k| (k.as_str(), k.title()))
        .collect()
}

#[derive(Serialize)]
struct Line {
    label: String,
    reason: String,
    department: Option<String>,
}

#[get("/staff/cases/{receipt_no}/documents/{kind}")]
async fn document_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<StaffOnly>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (receipt, kind) = path.into_inner();
    if !user.is_window_clerk() {
        return Err(state.page_error(
            StatusCode::FORBIDDEN,
            "没有访问权限",
            "受理、不予受理和补正文书由综合窗口出具。",
        ));
    }
    let not_available = |what: &str| {
        state.page_error(
            StatusCode::NOT_FOUND,
            "没有这份文书",
            &format!("办件 {receipt} 目前不能出具{what}。"),
        )
    };
    let kind = Kind::parse(&kind).ok_or_else(|| not_available("这类文书"))?;
    let (row, wf) = crate::web::cases::service::load_current(&state, &receipt)
        .await
        .map_err(|e| page_err(&state, e))?
        .ok_or_else(|| state.page_error(StatusCode::NOT_FOUND, "办件不存在", "没有找到这个受理编号。"))?;
    let date = kind.dated(&wf).ok_or_else(|| not_available(kind.title()))?;
    let view = apply::case_view(&state, &user, &receipt, &client_address(&req))
        .await
        .map_err(|e| page_err(&state, e))?;
    let calendar = state.calendar().await.map_err(|e| page_err(&state, e))?;
    let dues = crate::web::cases::service::case_dues(&state, &calendar, &row, &wf)
        .await
        .map_err(|e| page_err(&state, e))?;
    let applicant = view.applicant_name().unwrap_or("申请人").to_owned();
    let refusal_reason = wf
        .events
        .iter()
        .rev()
        .find(|e| e.action == "refuse")
        .map(|e| e.detail.trim_start_matches("不予受理：").to_owned());
    let lines: Vec<Line> = wf
        .open_notice
        .iter()
        .flatten()
        .map(|i| Line {
            label: i.title().to_owned(),
            reason: i.reason.clone(),
            department: i.department.as_deref().map(|d| wf.department_name(d).to_owned()),
        })
        .collect();
    let (_, qr) = super::applicant::status_qr(&req, &receipt, 120);
    let day = beijing_date(date);
    let mut ctx = tera::Context::new();
    ctx.insert("kind", kind.as_str());
    ctx.insert("title", kind.title());
    ctx.insert(
        "doc_no",
        // Numbered by the receipt, so that a reprint bears the same number.
        &format!("长行服{}字〔{}〕第 {receipt} 号", kind.mark(), day.format("%Y")),
    );
    ctx.insert("applicant", &applicant);
    ctx.insert("case", &view);
    ctx.insert("submitted_on", &chinese_date(beijing_date(row.submitted_at)));
    ctx.insert("dated", &chinese_date(day));
    let due = dues
        .due_date
        .as_deref()
        .map(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d"))
        .transpose()
        .map_err(|e| {
            page_err(
                &state,
                crate::web::error::ApiError::failed("read a stored due date", e),
            )
        })?;
    ctx.insert("due_date", &due.map(chinese_date));
    ctx.insert("due_provisional", &dues.due_date_provisional);
    ctx.insert("part_dues", &dues.part_dues);
    ctx.insert("refusal_reason", &refusal_reason);
    ctx.insert("lines", &lines);
    ctx.insert("qr_svg", &qr);
    ctx.insert("printed_at", &state.now());
    form_page(&state, &req, "cases/document.html", &mut ctx, StatusCode::OK)
}

/// A date as official documents write it: 2026年12月7日.
pub fn chinese_date(d: chrono::NaiveDate) -> String {
    d.format("%Y年%-m月%-d日").to_string()
}
