//! Dashboard tables as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the
//! Chinese headers) and XLSX.

/// One cell of an exported table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Float(f64),
    /// A share between 0 and 1, written as a percentage.
    Rate(f64),
    Empty,
}

impl Cell {
    pub fn opt_rate(r: Option<f64>) -> Cell {
        r.map_or(Cell::Empty, Cell::Rate)
    }

    pub fn opt_float(v: Option<f64>) -> Cell {
        v.map_or(Cell::Empty, Cell::Float)
    }

    fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Float(f) => format!("{f:.2}"),
            Cell::Rate(r) => format!("{:.1}%", r * 100.0),
            Cell::Empty => String::new(),
        }
    }
}

/// A titled table with headers.
#[derive(Debug, Clone)]
pub struct Table {
    pub title: String,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    #[error("xlsx: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("csv buffer: {0}")]
    Buffer(String),
}

/// A spreadsheet-safe text: a leading =, +, - or @ would be read as a formula.
fn safe(s: String) -> String {
    if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s
    }
}

pub fn to_csv(t: &Table) -> Result<Vec<u8>, ExportError> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record(&t.headers)?;
    for row in &t.rows {
        w.write_record(row.iter().map(|c| match c {
            Cell::Text(s) => safe(s.clone()),
            other => other.text(),
        }))?;
    }
    w.into_inner().map_err(|e| ExportError::Buffer(e.to_string()))
}

pub fn to_xlsx(t: &Table) -> Result<Vec<u8>, ExportError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let bold = Format::new().set_bold();
    let pct = Format::new().set_num_format("0.0%");
    sheet.write_string_with_format(0, 0, &t.title, &bold)?;
    for (c, h) in t.headers.iter().enumerate() {
        sheet.write_string_with_format(1, c as u16, *h, &bold)?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        let r = r as u32 + 2;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) => {
                    sheet.write_string(r, c, s)?;
                }
                Cell::Int(n) => {
                    sheet.write_number(r, c, *n as f64)?;
                }
                Cell::Float(f) => {
                    sheet.write_number(r, c, *f)?;
                }
                Cell::Rate(x) => {
                    sheet.write_number_with_format(r, c, *x, &pct)?;
                }
                Cell::Empty => {}
            }
        }
    }
    Ok(book.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            title: "一趟不用跑".into(),
            headers: vec!["部门", "办件", "占比"],
            rows: vec![
                vec![Cell::Text("区民政局".into()), Cell::Int(4), Cell::Rate(0.75)],
                vec![Cell::Text("=HYPERLINK()".into()), Cell::Int(0), Cell::Empty],
            ],
        }
    }

    #[test]
    fn csv_has_a_bom_chinese_headers_percentages_and_no_formulas() {
        let bytes = to_csv(&table()).expect("csv");
        assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF]);
        let text = String::from_utf8(bytes[3..].to_vec()).expect("utf-8");
        assert_eq!(text, "部门,办件,占比\n区民政局,4,75.0%\n'=HYPERLINK(),0,\n");
    }

    #[test]
    fn xlsx_is_a_zip_workbook() {
        let bytes = to_xlsx(&table()).expect("xlsx");
        assert_eq!(&bytes[..2], b"PK");
    }
}
