//! Page templates: built into the binary, each overridable by a file of the same name in
//! the configured template directory (for deployers who restyle the portal).

use std::collections::HashMap;
use std::path::Path;

use tera::Tera;

const BUILT_IN: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("home.html", include_str!("../../templates/home.html")),
    ("bundles.html", include_str!("../../templates/bundles.html")),
    ("bundle.html", include_str!("../../templates/bundle.html")),
    ("items.html", include_str!("../../templates/items.html")),
    ("item.html", include_str!("../../templates/item.html")),
    ("search.html", include_str!("../../templates/search.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("register.html", include_str!("../../templates/register.html")),
    ("account.html", include_str!("../../templates/account.html")),
    (
        "admin_users.html",
        include_str!("../../templates/admin_users.html"),
    ),
    (
        "admin_audit.html",
        include_str!("../../templates/admin_audit.html"),
    ),
    (
        "admin_calendar.html",
        include_str!("../../templates/admin_calendar.html"),
    ),
    (
        "apply_questions.html",
        include_str!("../../templates/apply_questions.html"),
    ),
    ("apply_form.html", include_str!("../../templates/apply_form.html")),
    (
        "apply_review.html",
        include_str!("../../templates/apply_review.html"),
    ),
    ("receipt.html", include_str!("../../templates/receipt.html")),
    ("dashboard.html", include_str!("../../templates/dashboard.html")),
    (
        "staff_dashboard.html",
        include_str!("../../templates/staff_dashboard.html"),
    ),
    (
        "dashboard_share_table.html",
        include_str!("../../templates/dashboard_share_table.html"),
    ),
    (
        "dashboard_export.html",
        include_str!("../../templates/dashboard_export.html"),
    ),
    ("rating.html", include_str!("../../templates/rating.html")),
    ("follow_ups.html", include_str!("../../templates/follow_ups.html")),
    (
        "my_applications.html",
        include_str!("../../templates/my_applications.html"),
    ),
    (
        "staff_queue.html",
        include_str!("../../templates/staff_queue.html"),
    ),
    ("staff_case.html", include_str!("../../templates/staff_case.html")),
    ("counter.html", include_str!("../../templates/counter.html")),
    ("activate.html", include_str!("../../templates/activate.html")),
    (
        "certificate.html",
        include_str!("../../templates/certificate.html"),
    ),
    ("inbox.html", include_str!("../../templates/inbox.html")),
    ("policies.html", include_str!("../../templates/policies.html")),
    ("policy.html", include_str!("../../templates/policy.html")),
    (
        "policy_match.html",
        include_str!("../../templates/policy_match.html"),
    ),
    (
        "admin_policies.html",
        include_str!("../../templates/admin_policies.html"),
    ),
    (
        "admin_policy_form.html",
        include_str!("../../templates/admin_policy_form.html"),
    ),
    (
        "admin_policy_import.html",
        include_str!("../../templates/admin_policy_import.html"),
    ),
];

pub const SITE_CSS: &str = include_str!("../../templates/static/site.css");
pub const FORM_JS: &str = include_str!("../../templates/static/form.js");
pub const CONSOLE_JS: &str = include_str!("../../templates/static/console.js");

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read the template override directory {0}: {1}")]
    Read(String, std::io::Error),
    #[error("template error: {0:#?}")]
    Tera(#[from] tera::Error),
}

pub fn load(override_dir: Option<&Path>) -> Result<Tera, TemplateError> {
    let mut sources: Vec<(String, String)> = BUILT_IN
        .iter()
        .map(|(n, s)| ((*n).to_owned(), (*s).to_owned()))
        .collect();
    if let Some(dir) = override_dir {
        for (name, text) in sources.iter_mut() {
            let path = dir.join(name.as_str());
            if path.exists() {
                *text = std::fs::read_to_string(&path)
                    .map_err(|e| TemplateError::Read(path.display().to_string(), e))?;
                tracing::info!(template = %name, "template overridden");
            }
        }
    }
    let mut tera = Tera::default();
    tera.register_filter("urlencode", urlencode);
    tera.register_filter("date", date);
    tera.add_raw_templates(sources)?;
    Ok(tera)
}

fn urlencode(value: &tera::Value, _: &HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let s = tera::try_get_value!("urlencode", "value", String, value);
    Ok(tera::Value::String(
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect(),
    ))
}

/// Formats a serialized `NaiveDateTime` (or date) with a chrono format string. Stored
/// times are UTC and every person is shown Beijing time, so a time is converted first; a
/// plain date is a business date already.
fn date(value: &tera::Value, args: &HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let s = tera::try_get_value!("date", "value", String, value);
    let format = args.get("format").and_then(|f| f.as_str()).unwrap_or("%Y-%m-%d");
    let formatted = chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|d| crate::clock::beijing(d).format(format).to_string())
        .or_else(|_| chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d").map(|d| d.format(format).to_string()))
        .map_err(|_| tera::Error::msg(format!("date filter: {s:?} is not a date")))?;
    Ok(tera::Value::String(formatted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_file_is_built_in_and_parses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        for entry in std::fs::read_dir(dir)
            .expect("templates dir")
            .filter_map(Result::ok)
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".html") {
                assert!(
                    BUILT_IN.iter().any(|(n, _)| *n == name),
                    "{name} is not in BUILT_IN"
                );
            }
        }
        load(None).expect("all built-in templates parse");
    }
}
