//! Page templates: built into the binary, each overridable by a file of the same name in
//! the configured template directory (for deployers who restyle the portal).

use std::collections::HashMap;
use std::path::Path;

use tera::Tera;

const BUILT_IN: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("console.html", include_str!("../../templates/console.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    (
        "catalogue/home.html",
        include_str!("../../templates/catalogue/home.html"),
    ),
    (
        "catalogue/bundles.html",
        include_str!("../../templates/catalogue/bundles.html"),
    ),
    (
        "catalogue/bundle.html",
        include_str!("../../templates/catalogue/bundle.html"),
    ),
    (
        "catalogue/items.html",
        include_str!("../../templates/catalogue/items.html"),
    ),
    (
        "catalogue/item.html",
        include_str!("../../templates/catalogue/item.html"),
    ),
    (
        "catalogue/search.html",
        include_str!("../../templates/catalogue/search.html"),
    ),
    ("error.html", include_str!("../../templates/error.html")),
    (
        "accounts/login.html",
        include_str!("../../templates/accounts/login.html"),
    ),
    (
        "accounts/register.html",
        include_str!("../../templates/accounts/register.html"),
    ),
    (
        "accounts/account.html",
        include_str!("../../templates/accounts/account.html"),
    ),
    (
        "accounts/admin_users.html",
        include_str!("../../templates/accounts/admin_users.html"),
    ),
    (
        "accounts/admin_audit.html",
        include_str!("../../templates/accounts/admin_audit.html"),
    ),
    (
        "calendar/admin_calendar.html",
        include_str!("../../templates/calendar/admin_calendar.html"),
    ),
    (
        "apply/apply_questions.html",
        include_str!("../../templates/apply/apply_questions.html"),
    ),
    (
        "apply/apply_form.html",
        include_str!("../../templates/apply/apply_form.html"),
    ),
    (
        "apply/apply_review.html",
        include_str!("../../templates/apply/apply_review.html"),
    ),
    (
        "cases/receipt.html",
        include_str!("../../templates/cases/receipt.html"),
    ),
    (
        "metrics/dashboard.html",
        include_str!("../../templates/metrics/dashboard.html"),
    ),
    (
        "metrics/staff_dashboard.html",
        include_str!("../../templates/metrics/staff_dashboard.html"),
    ),
    (
        "metrics/dashboard_share_table.html",
        include_str!("../../templates/metrics/dashboard_share_table.html"),
    ),
    (
        "metrics/dashboard_export.html",
        include_str!("../../templates/metrics/dashboard_export.html"),
    ),
    (
        "ratings/rating.html",
        include_str!("../../templates/ratings/rating.html"),
    ),
    (
        "ratings/follow_ups.html",
        include_str!("../../templates/ratings/follow_ups.html"),
    ),
    (
        "apply/my_applications.html",
        include_str!("../../templates/apply/my_applications.html"),
    ),
    (
        "cases/staff_queue.html",
        include_str!("../../templates/cases/staff_queue.html"),
    ),
    (
        "cases/staff_case.html",
        include_str!("../../templates/cases/staff_case.html"),
    ),
    (
        "counter/counter.html",
        include_str!("../../templates/counter/counter.html"),
    ),
    (
        "counter/activate.html",
        include_str!("../../templates/counter/activate.html"),
    ),
    (
        "cases/certificate.html",
        include_str!("../../templates/cases/certificate.html"),
    ),
    (
        "certificates/verify.html",
        include_str!("../../templates/certificates/verify.html"),
    ),
    (
        "cases/document.html",
        include_str!("../../templates/cases/document.html"),
    ),
    (
        "cases/inbox.html",
        include_str!("../../templates/cases/inbox.html"),
    ),
    (
        "policies/policies.html",
        include_str!("../../templates/policies/policies.html"),
    ),
    (
        "policies/policy.html",
        include_str!("../../templates/policies/policy.html"),
    ),
    (
        "policies/policy_match.html",
        include_str!("../../templates/policies/policy_match.html"),
    ),
    (
        "policies/admin_policies.html",
        include_str!("../../templates/policies/admin_policies.html"),
    ),
    (
        "policies/admin_policy_form.html",
        include_str!("../../templates/policies/admin_policy_form.html"),
    ),
    (
        "policies/admin_policy_import.html",
        include_str!("../../templates/policies/admin_policy_import.html"),
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
    Ok(load_tagged(override_dir)?.0)
}

/// The templates and a tag of their sources (a deployment that changes a template
/// changes the entity tags of the pages it renders).
pub fn load_tagged(override_dir: Option<&Path>) -> Result<(Tera, String), TemplateError> {
    let mut sources: Vec<(String, String)> = BUILT_IN
        .iter()
        .map(|(n, s)| ((*n).to_owned(), (*s).to_owned()))
        .collect();
    if let Some(dir) = override_dir {
        for (name, text) in sources.iter_mut() {
            // Templates live in feature folders (`cases/receipt.html`); an override saved
            // under the earlier flat name (`receipt.html`) keeps working.
            let flat = name.rsplit('/').next().unwrap_or(name.as_str());
            let path = [dir.join(name.as_str()), dir.join(flat)]
                .into_iter()
                .find(|p| p.exists());
            if let Some(path) = path {
                *text = std::fs::read_to_string(&path)
                    .map_err(|e| TemplateError::Read(path.display().to_string(), e))?;
                tracing::info!(template = %name, "template overridden");
            }
        }
    }
    let mut tera = Tera::default();
    tera.register_filter("urlencode", urlencode);
    tera.register_filter("date", date);
    tera.register_filter("action_label", action_label);
    tera.register_filter("paragraphs", paragraphs);
    tera.register_filter("status_label", status_label);
    tera.register_filter("filesize", filesize);
    tera.register_function("asset", asset);
    let tag = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        sources.hash(&mut h);
        for a in super::assets::all() {
            a.hashed.hash(&mut h);
        }
        format!("{:016x}", h.finish())
    };
    tera.add_raw_templates(sources)?;
    Ok((tera, tag))
}

/// A timeline action's code (`request_supplement`) in words (一次性告知补正).
fn action_label(value: &tera::Value, _: &HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let s = tera::try_get_value!("action_label", "value", String, value);
    Ok(tera::Value::String(crate::workflow::action_label(&s).to_owned()))
}

/// A size in bytes as people read it: 字节 below a kilobyte, then KB and MB with one
/// decimal (binary units, as file managers show them).
pub fn human_size(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    // One decimal, without a trailing ".0": 10 MB, 350.5 KB.
    let short = |x: f64, unit: &str| {
        let text = format!("{x:.1}");
        format!("{} {unit}", text.strip_suffix(".0").unwrap_or(&text))
    };
    if bytes < 1024 {
        format!("{bytes} 字节")
    } else if b < KB * KB {
        short(b / KB, "KB")
    } else {
        short(b / KB / KB, "MB")
    }
}

fn filesize(value: &tera::Value, _: &HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let n = tera::try_get_value!("filesize", "value", u64, value);
    Ok(tera::Value::String(human_size(n)))
}

/// `asset(name="site.css")`: the content-hashed address of a static file.
fn asset(args: &HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let name = args
        .get("name")
        .and_then(tera::Value::as_str)
        .ok_or_else(|| tera::Error::msg("asset() needs name=\"…\""))?;
    Ok(tera::Value::String(super::assets::url(name)))
}

/// A case or part status code (`supplement_requested`) in words (待补正).
fn status_label(value: &tera::Value, _: &HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let s = tera::try_get_value!("status_label", "value", String, value);
    Ok(tera::Value::String(crate::workflow::status_label(&s).to_owned()))
}

/// Plain text as HTML paragraphs: escaped first, a blank line starts a paragraph, a single
/// line break stays a line break. The result is marked safe only because nothing of the
/// text itself is left unescaped.
fn paragraphs(value: &tera::Value, _: &HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let s = tera::try_get_value!("paragraphs", "value", String, value);
    let text = s.replace("\r\n", "\n");
    let html: String = text
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| format!("<p>{}</p>", tera::escape_html(p).replace('\n', "<br>")))
        .collect();
    Ok(tera::Value::String(html))
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
    // Instants (RFC 3339 with an offset, or stored UTC without one) are shown in Beijing time.
    let formatted = crate::clock::rfc3339::parse(&s)
        .map(|d| crate::clock::beijing(d).format(format).to_string())
        .or_else(|_| chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d").map(|d| d.format(format).to_string()))
        .map_err(|_| tera::Error::msg(format!("date filter: {s:?} is not a date")))?;
    Ok(tera::Value::String(formatted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_bytes_kilobytes_and_megabytes() {
        assert_eq!(human_size(0), "0 字节");
        assert_eq!(human_size(1023), "1023 字节");
        assert_eq!(human_size(1024), "1 KB");
        assert_eq!(human_size(350 * 1024 + 512), "350.5 KB");
        assert_eq!(human_size(20 * 1024 * 1024), "20 MB");
    }

    #[test]
    fn every_template_file_is_built_in_and_parses() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut folders = vec![root.clone()];
        let mut seen = 0;
        while let Some(dir) = folders.pop() {
            for entry in std::fs::read_dir(&dir)
                .expect("templates dir")
                .filter_map(Result::ok)
            {
                let path = entry.path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.extension().is_some_and(|e| e == "html") {
                    let name = path
                        .strip_prefix(&root)
                        .expect("under templates")
                        .to_string_lossy()
                        .replace('\\', "/");
                    assert!(
                        BUILT_IN.iter().any(|(n, _)| *n == name),
                        "{name} is not in BUILT_IN"
                    );
                    seen += 1;
                }
            }
        }
        assert_eq!(seen, BUILT_IN.len(), "every built-in template is a file");
        load(None).expect("all built-in templates parse");
    }

    #[test]
    fn an_override_under_its_flat_name_still_applies() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("receipt.html"), "flat override").expect("write");
        let tera = load(Some(dir.path())).expect("loads");
        let page = tera
            .render("cases/receipt.html", &tera::Context::new())
            .expect("renders");
        assert_eq!(page, "flat override");
    }

    #[test]
    fn policy_text_becomes_escaped_paragraphs() {
        let v =
            tera::Value::String("第一条　<b>补贴</b>\n每户 1 万元。\n\n第二条　自发布之日起施行。".into());
        let html = paragraphs(&v, &HashMap::new()).expect("renders");
        assert_eq!(
            html,
            "<p>第一条　&lt;b&gt;补贴&lt;&#x2F;b&gt;<br>每户 1 万元。</p><p>第二条　自发布之日起施行。</p>"
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn render(template: &str, value: &str) -> tera::Result<String> {
            let mut tera = Tera::default();
            tera.register_filter("urlencode", urlencode);
            tera.register_filter("date", date);
            tera.add_raw_template("t", template)?;
            let mut ctx = tera::Context::new();
            ctx.insert("v", value);
            tera.render("t", &ctx)
        }

        proptest! {
            /// Text from people (names, reasons, a 补正 line in Chinese) goes through every
            /// filter that shortens or transforms it without a panic, cut between characters
            /// (tera cuts between grapheme clusters).
            #[test]
            fn text_filters_never_panic_and_cut_on_characters(v in "\\PC{0,80}", n in 0usize..40) {
                let cut = render(&format!("{{{{ v | truncate(length={n}) }}}}"), &v).expect("truncate renders");
                // "t" has no .html name, so nothing is escaped: the output is the text itself.
                let kept = if cut == v { cut.as_str() } else { cut.strip_suffix('…').unwrap_or(&cut) };
                prop_assert!(v.starts_with(kept), "{cut:?} is not a prefix of {v:?}");
                let encoded = render("{{ v | urlencode }}", &v).expect("urlencode renders");
                let decoded: String = url::form_urlencoded::parse(format!("x={encoded}").as_bytes())
                    .map(|(_, v)| v.into_owned())
                    .collect();
                prop_assert_eq!(decoded, v);
            }

            /// Any text given to the date filter is a date shown in Beijing time or an error
            /// that names it, never a panic.
            #[test]
            fn the_date_filter_refuses_what_is_not_a_time(v in "\\PC{0,40}") {
                if let Err(e) = render("{{ v | date }}", &v) {
                    let text = format!("{e:?}");
                    prop_assert!(text.contains("date"), "{text}");
                }
            }

            #[test]
            fn the_date_filter_shows_any_stored_time_in_beijing(secs in 0i64..4_102_444_800) {
                let at = chrono::DateTime::from_timestamp(secs, 0).expect("a time").naive_utc();
                let want = crate::clock::beijing(at).format("%Y-%m-%d %H:%M").to_string();
                for form in [at.format("%Y-%m-%dT%H:%M:%S").to_string(), crate::clock::rfc3339::format(at)] {
                    let shown = render("{{ v | date(format=\"%Y-%m-%d %H:%M\") }}", &form).expect("renders");
                    prop_assert_eq!(&shown, &want);
                }
            }
        }
    }
}
