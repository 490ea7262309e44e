//! Policies as spreadsheet rows (CSV and XLSX), for bulk import and export. A file either
//! parses completely or yields every problem with its row number (the header is row 1),
//! column and a Chinese message; nothing is written from a file with any bad row.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use chrono::{Duration, NaiveDate};
use serde::Serialize;

use super::diff::FIELDS;
use super::{validate, Attachment, ConditionInput, Guide, PolicyContent, PolicyInput, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "xlsx" => Some(Self::Xlsx),
            _ => None,
        }
    }

    pub fn from_filename(name: &str) -> Option<Self> {
        Self::parse(name.rsplit_once('.')?.1)
    }
}

/// Columns of the file, in order; lists are separated by `|`, the guide and the
/// conditions are JSON.
pub const COLUMNS: [&str; 22] = [
    "key",
    "status",
    "title",
    "doc_number",
    "issuer",
    "published_on",
    "effective_from",
    "effective_to",
    "apply_deadline",
    "summary",
    "body",
    "benefits",
    "industries",
    "excluded_industries",
    "scales",
    "regions",
    "keywords",
    "interpretation",
    "conditions",
    "guide",
    "attachments",
    "no_application",
];

fn label(column: &str) -> &str {
    match column {
        "key" => "编号",
        "status" => "状态",
        c => FIELDS.iter().find(|(f, _)| *f == c).map(|(_, l)| *l).unwrap_or(c),
    }
}

/// One good row.
#[derive(Debug, Clone)]
pub struct Row {
    pub row: usize,
    pub key: Option<String>,
    pub status: Status,
    pub content: PolicyContent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub code: String,
    pub message: String,
}

impl RowError {
    fn new(row: usize, column: &str, code: &str, message: &str) -> Self {
        Self {
            row,
            column: column.to_owned(),
            code: code.to_owned(),
            message: format!("第 {row} 行“{}”（{column}）列：{message}", label(column)),
        }
    }
}

fn list(s: &str) -> Vec<String> {
    s.split('|')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_row(row: usize, cells: &[(usize, &str)], errors: &mut Vec<RowError>) -> Option<Row> {
    let get = |name: &str| {
        cells
            .iter()
            .find(|(i, _)| COLUMNS[*i] == name)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    };
    let before = errors.len();
    let status = match get("status") {
        "" => Status::Draft,
        s => Status::parse(s).unwrap_or_else(|| {
            errors.push(RowError::new(
                row,
                "status",
                "invalid_choice",
                "应为 draft（草稿）、published（已发布）或 revoked（已废止）",
            ));
            Status::Draft
        }),
    };
    let key = Some(get("key").to_owned()).filter(|k| !k.is_empty());
    if let Some(k) = &key {
        let ok = k.len() <= 64
            && k.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            errors.push(RowError::new(
                row,
                "key",
                "invalid_key",
                "编号只能由小写字母、数字和“-”组成，最长 64 位",
            ));
        }
    }
    let conditions: Vec<ConditionInput> = match get("conditions") {
        "" => Vec::new(),
        s => serde_json::from_str(s).unwrap_or_else(|_| {
            errors.push(RowError::new(
                row,
                "conditions",
                "invalid_json",
                "应为 JSON 数组，如 [{\"kind\":\"max_employees\",\"value\":300,\"text\":\"从业人数不超过300人\"}]",
            ));
            Vec::new()
        }),
    };
    let guide: Guide = match get("guide") {
        "" => Guide::default(),
        s => serde_json::from_str(s).unwrap_or_else(|_| {
            errors.push(RowError::new(
                row,
                "guide",
                "invalid_json",
                "应为 JSON 对象，含 who、materials、where、how、deadline、contact",
            ));
            Guide::default()
        }),
    };
    let input = PolicyInput {
        title: get("title").into(),
        doc_number: get("doc_number").into(),
        issuer: get("issuer").into(),
        published_on: get("published_on").into(),
        effective_from: get("effective_from").into(),
        effective_to: get("effective_to").into(),
        apply_deadline: get("apply_deadline").into(),
        summary: get("summary").into(),
        body: get("body").into(),
        benefits: get("benefits").into(),
        conditions,
        guide,
        industries: list(get("industries")),
        excluded_industries: list(get("excluded_industries")),
        scales: list(get("scales")),
        regions: list(get("regions")),
        keywords: list(get("keywords")),
        interpretation: get("interpretation").into(),
        attachments: list(get("attachments"))
            .into_iter()
            .map(|name| Attachment { name })
            .collect(),
        no_application: match get("no_application") {
            "" | "否" | "false" | "0" => false,
            "是" | "true" | "1" => true,
            other => {
                errors.push(RowError::new(
                    row,
                    "no_application",
                    "invalid_boolean",
                    &format!("“{other}”应为“是”或“否”"),
                ));
                false
            }
        },
    };
    match validate(&input) {
        Ok(content) if errors.len() == before => Some(Row {
            row,
            key,
            status,
            content,
        }),
        Ok(_) => None,
        Err(errs) => {
            for e in errs {
                let column = e.field.split('[').next().unwrap_or(&e.field).to_owned();
                errors.push(RowError::new(row, &column, &e.code, &e.message));
            }
            None
        }
    }
}

/// Parses records whose first one is the header (English column names or their Chinese
/// labels).
pub fn parse_records(
    records: &[Vec<String>],
    progress: &dyn Fn(usize, usize),
) -> Result<Vec<Row>, Vec<RowError>> {
    let Some(header) = records.first() else {
        return Err(vec![RowError::new(
            1,
            "title",
            "empty_file",
            "文件为空，第一行应为列名",
        )]);
    };
    let mut index = Vec::new();
    let mut errors = Vec::new();
    for (col, name) in header.iter().enumerate() {
        let name = name.trim().trim_start_matches('\u{feff}');
        match COLUMNS.iter().position(|c| *c == name || label(c) == name) {
            Some(i) => index.push((col, i)),
            None if name.is_empty() => {}
            None => errors.push(RowError {
                row: 1,
                column: name.to_owned(),
                code: "unknown_column".into(),
                message: format!("第 1 行：未知的列名“{name}”，可用列名：{}", COLUMNS.join("、")),
            }),
        }
    }
    for required in [
        "title",
        "issuer",
        "published_on",
        "effective_from",
        "summary",
        "body",
        "benefits",
    ] {
        if !index.iter().any(|(_, i)| COLUMNS[*i] == required) {
            errors.push(RowError::new(1, required, "missing_column", "缺少此列"));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let total = records.len() - 1;
    let mut rows = Vec::new();
    for (n, record) in records.iter().enumerate().skip(1) {
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cells: Vec<(usize, &str)> = index
            .iter()
            .map(|(col, i)| (*i, record.get(*col).map(String::as_str).unwrap_or("")))
            .collect();
        if let Some(row) = parse_row(n + 1, &cells, &mut errors) {
            rows.push(row);
        }
        if n % 500 == 0 {
            progress(n, total);
        }
    }
    progress(total, total);
    let mut keys: Vec<(&str, usize)> = rows
        .iter()
        .filter_map(|r| r.key.as_deref().map(|k| (k, r.row)))
        .collect();
    keys.sort();
    for pair in keys.windows(2) {
        if pair[0].0 == pair[1].0 {
            errors.push(RowError::new(
                pair[1].1,
                "key",
                "duplicate_key",
                &format!("编号“{}”与第 {} 行重复", pair[1].0, pair[0].1),
            ));
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        errors.sort_by_key(|e| e.row);
        Err(errors)
    }
}

/// Days from Excel's day zero, as its date cells count them.
fn excel_date(serial: f64) -> String {
    let base = NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default();
    (base + Duration::days(serial.floor() as i64)).to_string()
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::DateTime(d) => excel_date(d.as_f64()),
        Data::DateTimeIso(s) => s.chars().take(10).collect(),
        other => other.to_string(),
    }
}

/// Reads the records of a file.
pub fn records(format: Format, bytes: &[u8]) -> Result<Vec<Vec<String>>, RowError> {
    let unreadable = |what: String| RowError {
        row: 0,
        column: String::new(),
        code: "unreadable_file".into(),
        message: what,
    };
    match format {
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(bytes);
            let mut out = Vec::new();
            for (i, rec) in reader.records().enumerate() {
                let rec = rec.map_err(|e| {
                    unreadable(format!("第 {} 行无法读取（应为 UTF-8 编码的 CSV）：{e}", i + 1))
                })?;
                out.push(rec.iter().map(str::to_owned).collect());
            }
            Ok(out)
        }
        Format::Xlsx => {
            let mut book: Xlsx<_> =
                Xlsx::new(Cursor::new(bytes)).map_err(|e| unreadable(format!("无法读取 XLSX 文件：{e}")))?;
            let range = book
                .worksheet_range_at(0)
                .ok_or_else(|| unreadable("XLSX 文件中没有工作表".into()))?
                .map_err(|e| unreadable(format!("无法读取第一个工作表：{e}")))?;
            Ok(range.rows().map(|r| r.iter().map(cell_text).collect()).collect())
        }
    }
}

/// Reads and checks a whole file.
pub fn parse(
    format: Format,
    bytes: &[u8],
    progress: &dyn Fn(usize, usize),
) -> Result<Vec<Row>, Vec<RowError>> {
    let records = records(format, bytes).map_err(|e| vec![e])?;
    parse_records(&records, progress)
}

/// One policy as the cells of a row, in [`COLUMNS`] order.
pub fn cells(key: &str, status: Status, p: &PolicyContent) -> Vec<String> {
    let input = PolicyInput::from(p);
    let conditions = if input.conditions.is_empty() {
        String::new()
    } else {
        serde_json::to_string(&input.conditions).unwrap_or_default()
    };
    let guide = if p.guide == Guide::default() {
        String::new()
    } else {
        serde_json::to_string(&p.guide).unwrap_or_default()
    };
    vec![
        key.to_owned(),
        status.as_str().to_owned(),
        input.title,
        input.doc_number,
        input.issuer,
        input.published_on,
        input.effective_from,
        input.effective_to,
        input.apply_deadline,
        input.summary,
        input.body,
        input.benefits,
        input.industries.join("|"),
        input.excluded_industries.join("|"),
        input.scales.join("|"),
        input.regions.join("|"),
        input.keywords.join("|"),
        input.interpretation,
        conditions,
        guide,
        p.attachments
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join("|"),
        if p.no_application { "是" } else { "否" }.to_owned(),
    ]
}

pub fn to_csv(rows: &[Vec<String>]) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).map_err(|e| e.to_string())?;
    for r in rows {
        w.write_record(r).map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

pub fn to_xlsx(rows: &[Vec<String>]) -> Result<Vec<u8>, String> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("policies").map_err(|e| e.to_string())?;
    for (c, name) in COLUMNS.iter().enumerate() {
        sheet
            .write_string(0, c as u16, *name)
            .map_err(|e| e.to_string())?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            if !value.is_empty() {
                sheet
                    .write_string(r as u32 + 1, c as u16, value)
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    book.save_to_buffer().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Vec<String> {
        let p = validate(&PolicyInput {
            title: "稳岗返还政策".into(),
            issuer: "福州市人力资源和社会保障局".into(),
            published_on: "2026-01-01".into(),
            effective_from: "2026-01-01".into(),
            summary: "摘要".into(),
            body: "原文，含逗号和\"引号\"".into(),
            benefits: "返还失业保险费".into(),
            industries: vec!["C".into()],
            keywords: vec!["稳岗".into(), "返还".into()],
            conditions: vec![ConditionInput {
                kind: "tag".into(),
                value: Some(serde_json::json!("参加失业保险")),
                text: "参加失业保险".into(),
            }],
            guide: Guide {
                who: "企业".into(),
                ..Default::default()
            },
            ..Default::default()
        })
        .expect("valid");
        cells("t-1", Status::Published, &p)
    }

    #[test]
    fn csv_and_xlsx_round_trip() {
        let rows = vec![good()];
        for (format, bytes) in [
            (Format::Csv, to_csv(&rows).expect("csv")),
            (Format::Xlsx, to_xlsx(&rows).expect("xlsx")),
        ] {
            let parsed = parse(format, &bytes, &|_, _| {}).expect("parses");
            assert_eq!(parsed.len(), 1, "{format:?}");
            assert_eq!(
                cells("t-1", parsed[0].status, &parsed[0].content),
                rows[0],
                "{format:?}"
            );
            assert_eq!(parsed[0].key.as_deref(), Some("t-1"));
        }
    }

    #[test]
    fn every_bad_row_is_reported_with_row_and_column() {
        let mut bad = good();
        bad[0] = "t-2".into();
        bad[12] = "ZZ".into();
        bad[5] = "2026-13-01".into();
        let mut dup = good();
        dup[2] = "另一标题".into();
        let bytes = to_csv(&[good(), bad, dup]).expect("csv");
        let errs = parse(Format::Csv, &bytes, &|_, _| {}).expect_err("bad rows");
        let at: Vec<(usize, &str)> = errs.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert!(at.contains(&(3, "industries")), "{at:?}");
        assert!(at.contains(&(3, "published_on")), "{at:?}");
        assert!(at.contains(&(4, "key")), "{at:?}");
        assert!(errs[0].message.starts_with("第 3 行"), "{}", errs[0].message);
    }

    #[test]
    fn an_unknown_or_missing_column_is_an_error_of_row_one() {
        let errs = parse(Format::Csv, "标题,颜色\n稳岗,红\n".as_bytes(), &|_, _| {}).expect_err("bad header");
        assert!(errs.iter().any(|e| e.row == 1 && e.code == "unknown_column"));
        assert!(errs
            .iter()
            .any(|e| e.row == 1 && e.column == "issuer" && e.code == "missing_column"));
    }
}
