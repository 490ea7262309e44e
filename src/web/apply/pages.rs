//! The applicant's pages: situation questions → one merged form with one set of materials
//! → review → receipt, and "my applications". Every step saves to the server first, so
//! nothing typed is lost on a validation error; everything works without JavaScript.

use std::collections::{BTreeMap, HashMap};

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use validator::Validate;

use crate::catalogue::{BundleDef, Catalogue, FieldType};
use crate::form::{self, FormData, MergedForm, Problem};
use crate::store::applications as store;
use crate::web::apply::api::check_length;
use crate::web::apply::service::{self as apply, Draft};
use crate::web::auth::{csrf_matches, require_csrf, AnyUser, Applicant, Authed, CurrentUser};
use crate::web::counter::service::{filer, Filer};
use crate::web::error::{ApiError, PageError};
use crate::web::page::{form_message, form_page as render, page_err, see_other, PageForm};
use crate::web::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(questions_page)
        .service(answers_submit)
        .service(form_page)
        .service(form_submit)
        .service(review_page)
        .service(final_submit)
        .service(my_applications);
}

struct Ctx {
    entry: std::sync::Arc<crate::web::catalogue::snapshot::BundleEntry>,
    draft: Draft,
    filer: Filer,
}

impl Ctx {
    fn bundle(&self) -> &BundleDef {
        &self.entry.def
    }

    fn catalogue(&self) -> &Catalogue {
        &self.entry.catalogue
    }

    /// The merged form for the draft's answers.
    fn merged(&self) -> std::sync::Arc<form::MergedForm> {
        self.entry.merged(&self.draft.answers)
    }
}

/// The bundle, the catalogue and the draft of the person filling the form (the applicant,
/// or a window clerk filing at the counter for the applicant of their counter session).
async fn context(state: &AppState, user: &CurrentUser, code: &str) -> Result<Ctx, PageError> {
    let filer = filer(state, user).await.map_err(|e| page_err(state, e))?;
    let entry = apply::bundle_entry(state, code)
        .await
        .map_err(|e| page_err(state, e))?;
    let draft = apply::load_draft(state, user, code)
        .await
        .map_err(|e| page_err(state, e))?;
    Ok(Ctx { entry, draft, filer })
}

fn base_ctx(c: &Ctx) -> tera::Context {
    let mut ctx = tera::Context::new();
    ctx.insert(
        "bundle",
        &serde_json::json!({"code": c.bundle().code, "name": c.bundle().name, "summary": c.bundle().summary}),
    );
    ctx.insert("on_behalf_of", &c.filer.on_behalf_of);
    ctx
}

#[get("/apply/{code}")]
async fn questions_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    code: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let c = context(&state, &user, &code).await?;
    if c.bundle().questions.is_empty() {
        return Ok(see_other(&format!("/apply/{}/form", c.bundle().code)));
    }
    let merged = c.merged();
    let mut ctx = base_ctx(&c);
    ctx.insert("questions", &merged.questions);
    ctx.insert("complete", &merged.complete);
    ctx.insert("errors", &HashMap::<String, String>::new());
    render(
        &state,
        &req,
        "apply/apply_questions.html",
        &mut ctx,
        StatusCode::OK,
    )
}

/// The situation questions' answers (`q_<code>` fields); which answers are allowed is the
/// bundle's rule, checked by `form::check_answers`.
#[derive(Deserialize, Validate)]
struct AnswersForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(flatten)]
    fields: HashMap<String, String>,
}

#[post("/apply/{code}/answers")]
async fn answers_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    code: web::Path<String>,
    body: PageForm<AnswersForm>,
) -> Result<HttpResponse, actix_web::Error> {
    let body = body.valid(&state)?;
    require_csrf(&req, &body.csrf_token)?;
    let mut c = context(&state, &user, &code).await?;
    let answers: HashMap<String, String> = body
        .fields
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("q_").map(|q| (q.to_owned(), v.clone())))
        .collect();
    let problems = form::check_answers(c.bundle(), &answers);
    if !problems.is_empty() {
        let merged = c.merged();
        let mut ctx = base_ctx(&c);
        ctx.insert("questions", &merged.questions);
        ctx.insert("complete", &false);
        ctx.insert("errors", &errors_map(&problems));
        return Ok(render(
            &state,
            &req,
            "apply/apply_questions.html",
            &mut ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
        )?);
    }
    c.draft.answers = answers;
    apply::save_draft(&state, &user, &c.bundle().code, &c.draft)
        .await
        .map_err(|e| page_err(&state, e))?;
    let merged = c.merged();
    if merged.complete {
        Ok(see_other(&format!("/apply/{}/form", c.bundle().code)))
    } else {
        Ok(see_other(&format!("/apply/{}", c.bundle().code)))
    }
}

fn errors_map(problems: &[Problem]) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for p in problems {
        map.entry(p.field.clone()).or_insert_with(|| p.message.clone());
    }
    map
}

/// A field of the form page with its current value as the inputs need it.
#[derive(Serialize)]
struct FieldCtx {
    key: String,
    label: String,
    #[serde(rename = "type")]
    field_type: FieldType,
    required: bool,
    options: Vec<crate::catalogue::EnumOption>,
    help: Option<String>,
    value: String,
    /// For an address: the picker's levels (省、市、区县、乡镇街道), each with its choices.
    picker: Vec<PickerLevel>,
    detail: String,
    prefilled: bool,
    items: Vec<String>,
    must_be_true: bool,
    min: Option<i64>,
    max: Option<i64>,
    error: Option<String>,
    /// For a conditional field: the field it depends on, the values that ask it, and the
    /// condition in words (“结果领取方式”选择“免费邮寄”时填写).
    when_field: Option<String>,
    when_values: String,
    when_text: Option<String>,
}

/// One level of the address picker: its input name, label, the choices under the level
/// above, and the one chosen.
#[derive(Serialize)]
pub struct PickerLevel {
    name: &'static str,
    label: &'static str,
    options: Vec<(String, String)>,
    chosen: String,
}

/// The address picker for a region code: every level down to the chosen one, plus the level
/// below it when there is one to choose from.
pub fn picker(region: &str) -> Vec<PickerLevel> {
    use crate::form::regions;
    const LEVELS: [(&str, &str); 4] = [
        ("province", "省（自治区、直辖市）"),
        ("city", "市（地区、州）"),
        ("county", "区县"),
        ("township", "乡镇（街道）"),
    ];
    let chain = regions::path(region);
    let mut out = Vec::new();
    let mut parent: Option<&str> = None;
    for (n, (name, label)) in LEVELS.into_iter().enumerate() {
        let options: Vec<(String, String)> = regions::children(parent)
            .into_iter()
            .map(|d| (d.code.clone(), d.name.clone()))
            .collect();
        if options.is_empty() {
            break;
        }
        let chosen = chain.get(n).map(|d| d.code.clone()).unwrap_or_default();
        let done = chosen.is_empty();
        out.push(PickerLevel {
            name,
            label,
            options,
            chosen,
        });
        if done {
            break;
        }
        parent = chain.get(n).map(|d| d.code.as_str());
    }
    out
}

#[derive(Serialize)]
struct SectionCtx {
    title: String,
    fields: Vec<FieldCtx>,
}

#[derive(Serialize)]
struct MaterialCtx {
    code: String,
    name: String,
    required: bool,
    when: Vec<String>,
    items: Vec<String>,
    uploads: Vec<store::UploadRow>,
    error: Option<String>,
    /// Why the applicant need not hand it in.
    provided: Option<String>,
}

/// A conditional field's condition in words, from the definitions of the field it
/// depends on.
fn condition_text(catalogue: &Catalogue, when: &crate::catalogue::FieldWhen) -> String {
    let def = catalogue.fields.get(&when.field);
    let label = def.map_or(when.field.as_str(), |d| d.label.as_str());
    let values: Vec<String> = when
        .equals
        .iter()
        .map(|v| {
            let name = def
                .and_then(|d| d.options.as_ref())
                .and_then(|o| o.iter().find(|o| &o.value == v))
                .map_or(v.as_str(), |o| o.label.as_str());
            format!("“{name}”")
        })
        .collect();
    format!("“{label}”选择{}时填写", values.join("或"))
}

fn value_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

async fn form_ctx(
    state: &AppState,
    req: &HttpRequest,
    user: &CurrentUser,
    c: &Ctx,
    merged: &MergedForm,
    errors: &HashMap<String, String>,
) -> Result<tera::Context, PageError> {
    let error_of = |key: &str| {
        [key.to_owned(), format!("{key}.region"), format!("{key}.detail")]
            .iter()
            .find_map(|k| errors.get(k).cloned())
    };
    let prefill = apply::prefill(state, c.filer.applicant, merged)
        .await
        .map_err(|e| page_err(state, e))?;
    if c.filer.applicant != user.id && !prefill.is_empty() {
        // A clerk filing at the counter sees the applicant's own data unmasked: audited.
        let fields: Vec<&str> = prefill.keys().map(String::as_str).collect();
        crate::web::accounts::service::audit_detail(
            state,
            Some(user.id),
            &user.label(),
            "prefill_read",
            &format!("account:{}", c.filer.applicant),
            &crate::web::auth::client_address(req),
            "success",
            format!("bundle={} fields={}", c.bundle().code, fields.join(",")),
        )
        .await
        .map_err(|e| page_err(state, e))?;
    }
    let sections: Vec<SectionCtx> = merged
        .sections
        .iter()
        .map(|s| SectionCtx {
            title: s.title.clone(),
            fields: s
                .fields
                .iter()
                .map(|f| {
                    let (value, prefilled) = match (c.draft.data.get(&f.key), prefill.get(&f.key)) {
                        (Some(v), p) => (Some(v), p == Some(v)),
                        (None, Some(p)) => (Some(p), true),
                        (None, None) => (None, false),
                    };
                    let obj = value.and_then(Value::as_object);
                    FieldCtx {
                        key: f.key.clone(),
                        label: f.label.clone(),
                        field_type: f.field_type,
                        required: f.required,
                        options: f.options.clone().unwrap_or_default(),
                        help: f.help.clone(),
                        value: value_text(value),
                        picker: if f.field_type == FieldType::Address {
                            picker(
                                obj.and_then(|o| o.get("region"))
                                    .and_then(Value::as_str)
                                    .unwrap_or(crate::form::regions::HOME_COUNTY),
                            )
                        } else {
                            Vec::new()
                        },
                        detail: obj
                            .and_then(|o| o.get("detail"))
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                        prefilled,
                        items: f.items.clone(),
                        must_be_true: c
                            .catalogue()
                            .fields
                            .get(&f.key)
                            .and_then(|d| d.must_be_true)
                            .unwrap_or(false),
                        min: f.min,
                        max: f.max,
                        error: error_of(&f.key),
                        when_field: f.when.as_ref().map(|w| w.field.clone()),
                        when_values: f.when.as_ref().map(|w| w.equals.join(" ")).unwrap_or_default(),
                        when_text: f.when.as_ref().map(|w| condition_text(c.catalogue(), w)),
                    }
                })
                .collect(),
        })
        .collect();
    let ids: Vec<String> = c.draft.materials.values().flatten().cloned().collect();
    let owner = user.id;
    let uploads = state
        .db
        .run(move |conn| store::uploads_of(conn, owner, &ids))
        .await
        .map_err(|e| page_err(state, e.into()))?;
    let materials: Vec<MaterialCtx> = merged
        .materials
        .iter()
        .map(|m| MaterialCtx {
            code: m.code.clone(),
            name: m.name.clone(),
            required: m.required,
            when: m.when.clone(),
            items: m.items.clone(),
            uploads: c
                .draft
                .materials
                .get(&m.code)
                .map(|ids| uploads.iter().filter(|u| ids.contains(&u.id)).cloned().collect())
                .unwrap_or_default(),
            error: errors.get(&format!("materials.{}", m.code)).cloned(),
            provided: m.provided.clone(),
        })
        .collect();
    let item_names: BTreeMap<&str, &str> = c
        .catalogue()
        .items
        .values()
        .map(|i| (i.code.as_str(), i.name.as_str()))
        .collect();
    let mut ctx = base_ctx(c);
    ctx.insert("sections", &sections);
    ctx.insert("filing_for", c.draft.filing_for.as_deref().unwrap_or("self"));
    ctx.insert(
        "agent_relationship",
        c.draft.agent_relationship.as_deref().unwrap_or(""),
    );
    ctx.insert("relationships", crate::form::filing::RELATIONSHIPS);
    ctx.insert(
        "filing_error",
        &error_of("filing_for").or_else(|| error_of("agent_relationship")),
    );
    ctx.insert("materials", &materials);
    ctx.insert("provided_fields", &merged.provided_fields);
    ctx.insert(
        "upload_limit",
        &crate::web::templates::human_size(state.max_upload_bytes as u64),
    );
    ctx.insert("item_names", &item_names);
    ctx.insert("items", &merged.items);
    ctx.insert("max_upload_mb", &(state.max_upload_bytes / 1024 / 1024));
    ctx.insert("answers_error", &errors.get("answers"));
    Ok(ctx)
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

#[get("/apply/{code}/form")]
async fn form_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    code: web::Path<String>,
    q: web::Query<SavedQuery>,
) -> Result<HttpResponse, PageError> {
    let c = context(&state, &user, &code).await?;
    let merged = c.merged();
    if !merged.complete {
        return Ok(see_other(&format!("/apply/{}", c.bundle().code)));
    }
    let mut ctx = form_ctx(&state, &req, &user, &c, &merged, &HashMap::new()).await?;
    if q.saved.is_some() {
        ctx.insert("notice", "草稿已保存。您可以随时在任何设备上登录后继续填写。");
    }
    render(&state, &req, "apply/apply_form.html", &mut ctx, StatusCode::OK)
}

/// A posted multipart form: its text inputs, the files stored as uploads of the poster
/// (`material__<code>` fields whose code `accept`s), and the first upload problem.
pub struct PostedForm {
    pub inputs: HashMap<String, String>,
    pub files: Vec<(String, String)>,
    pub refused: Option<Refused>,
}

/// A file that was not stored: for which material, and why (the type found, the size limit).
pub struct Refused {
    pub material: String,
    pub message: String,
}

pub async fn read_posted_form(
    state: &AppState,
    req: &HttpRequest,
    user: &CurrentUser,
    payload: &mut Multipart,
    accept: &dyn Fn(&str) -> bool,
) -> Result<PostedForm, actix_web::Error> {
    let mut posted = PostedForm {
        inputs: HashMap::new(),
        files: Vec::new(),
        refused: None,
    };
    let mut csrf_ok = false;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|e| ApiError::BadRequest {
            code: "invalid_multipart",
            message: format!("表单内容格式有误：{e}"),
        })?;
        let name = field.name().unwrap_or("").to_owned();
        if let Some(material) = name.strip_prefix("material__") {
            // Files are stored only after the form has proved where it comes from.
            if !csrf_ok {
                require_csrf(req, "")?;
            }
            let file_name = field
                .content_disposition()
                .and_then(|d| d.get_filename())
                .unwrap_or("")
                .to_owned();
            // A field of a material this form does not take is read past, not stored.
            if !accept(material) {
                while let Some(chunk) = field.next().await {
                    chunk.map_err(|e| ApiError::BadRequest {
                        code: "invalid_multipart",
                        message: format!("表单内容格式有误：{e}"),
                    })?;
                }
                continue;
            }
            match apply::receive_upload(state, user, &mut field, &file_name).await {
                Ok(Some(row)) => posted.files.push((material.to_owned(), row.id)),
                Ok(None) => {}
                Err(e) => {
                    let reason = form_message(&e).1;
                    posted.refused = Some(Refused {
                        material: material.to_owned(),
                        message: format!("“{file_name}”未能上传：{reason}"),
                    });
                }
            }
        } else {
            let mut text = Vec::new();
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(|e| ApiError::BadRequest {
                    code: "invalid_multipart",
                    message: format!("表单内容格式有误：{e}"),
                })?;
                if text.len() + chunk.len() > 64 * 1024 {
                    return Err(ApiError::PayloadTooLarge("表单内容过长".into()).into());
                }
                text.extend_from_slice(&chunk);
            }
            let value = String::from_utf8_lossy(&text).into_owned();
            if name == "csrf_token" {
                require_csrf(req, &value)?;
                csrf_ok = true;
            }
            posted.inputs.insert(name, value);
        }
    }
    if !csrf_ok
        || !csrf_matches(
            req,
            posted.inputs.get("csrf_token").map(String::as_str).unwrap_or(""),
        )
    {
        require_csrf(req, "")?;
    }
    Ok(posted)
}

/// The applicant account's identity written into the draft, as it will be into the case
/// (`apply::bind_identity`); the problems when the form names someone else.
async fn bind_draft(
    state: &AppState,
    c: &mut Ctx,
    merged: &MergedForm,
) -> Result<Result<crate::form::filing::Filing, Vec<crate::form::Problem>>, PageError> {
    apply::bind_identity(
        state,
        c.filer.applicant,
        merged,
        &mut c.draft.data,
        c.draft.filing_for.as_deref(),
        c.draft.agent_relationship.as_deref(),
    )
    .await
    .map_err(|e| page_err(state, e))
}

/// The region an address picker's levels (省、市、区县、乡镇) name: the deepest one that lies
/// under the one above it, or none.
pub fn picked_region(levels: &[String; 4]) -> String {
    crate::form::regions::deepest_choice(&levels.each_ref().map(String::as_str))
        .map(|d| d.code.clone())
        .unwrap_or_default()
}

/// Text values of the merged form's fields from the posted inputs.
fn data_from_inputs(
    merged: &MergedForm,
    catalogue: &Catalogue,
    inputs: &HashMap<String, String>,
) -> FormData {
    let mut data = FormData::new();
    for f in merged.sections.iter().flat_map(|s| &s.fields) {
        let value = match f.field_type {
            FieldType::Address => {
                let input = |part: &str| {
                    inputs
                        .get(&format!("{}.{part}", f.key))
                        .map(|v| v.trim().to_owned())
                        .unwrap_or_default()
                };
                // The picker's levels, each counted only under the one above it.
                let region = picked_region(&["province", "city", "county", "township"].map(input));
                let detail = input("detail");
                // A region chosen without the street yet is kept, so the picker's choice
                // survives a save.
                if detail.is_empty() && region.is_empty() {
                    None
                } else {
                    Some(serde_json::json!({"region": region, "detail": detail}))
                }
            }
            FieldType::Boolean if catalogue.fields.get(&f.key).and_then(|d| d.must_be_true) == Some(true) => {
                Some(Value::Bool(inputs.get(&f.key).is_some_and(|v| v == "true")))
            }
            _ => inputs
                .get(&f.key)
                .filter(|v| !v.trim().is_empty())
                .map(|v| Value::String(v.trim().to_owned())),
        };
        if let Some(v) = value {
            data.insert(f.key.clone(), v);
        }
    }
    data
}

#[post("/apply/{code}/form")]
async fn form_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    code: web::Path<String>,
    mut payload: Multipart,
) -> Result<HttpResponse, actix_web::Error> {
    check_length(&req, state.max_upload_bytes * 4)?;
    let mut c = context(&state, &user, &code).await?;
    let merged = c.merged();
    let known = |m: &str| merged.materials.iter().any(|x| x.code == m);
    let posted = read_posted_form(&state, &req, &user, &mut payload, &known).await?;
    for (material, upload) in posted.files {
        c.draft.materials.entry(material).or_default().push(upload);
    }
    let (inputs, refused) = (posted.inputs, posted.refused);
    for (k, _) in inputs
        .iter()
        .filter(|(k, v)| k.starts_with("remove__") && v.as_str() == "true")
    {
        let id = &k["remove__".len()..];
        for ids in c.draft.materials.values_mut() {
            ids.retain(|u| u != id);
        }
    }
    c.draft.data = data_from_inputs(&merged, c.catalogue(), &inputs);
    c.draft.filing_for = inputs.get("filing_for").cloned();
    c.draft.agent_relationship = inputs
        .get("agent_relationship")
        .cloned()
        .filter(|r| !r.is_empty());
    let filing = bind_draft(&state, &mut c, &merged).await?;
    apply::save_draft(&state, &user, &c.bundle().code, &c.draft)
        .await
        .map_err(|e| page_err(&state, e))?;
    let action = inputs.get("action").map(String::as_str).unwrap_or("save");
    if action == "save" && refused.is_none() {
        return Ok(see_other(&format!("/apply/{}/form?saved=1", c.bundle().code)));
    }
    // Without JavaScript the address picker offers the next level's choices after a save;
    // the page comes back at the address.
    if let Some(key) = action.strip_prefix("region__") {
        let known = merged
            .sections
            .iter()
            .flat_map(|s| &s.fields)
            .any(|f| f.key == key);
        if known && refused.is_none() {
            return Ok(see_other(&format!("/apply/{}/form#field-{key}", c.bundle().code)));
        }
    }
    let today = state.today();
    let result = form::check_submission(
        c.catalogue(),
        c.bundle(),
        &merged,
        &c.draft.answers,
        &c.draft.data,
        &c.draft.materials,
        today,
    );
    let result = match (filing, result) {
        (Ok(_), result) => result,
        (Err(mut bound), result) => {
            bound.extend(result.err().unwrap_or_default());
            Err(bound)
        }
    };
    match (result, refused) {
        (Ok(_), None) if action == "next" => Ok(see_other(&format!("/apply/{}/review", c.bundle().code))),
        (result, refused) => {
            let mut problems = result.err().unwrap_or_default();
            // A refused file is reported beside its material, with the reason, in place of
            // "please upload".
            if let Some(r) = refused {
                let path = format!("materials.{}", r.material);
                problems.retain(|p| p.field != path);
                problems.push(form::Problem::new(path, "upload_refused", r.message));
            }
            let mut ctx = form_ctx(&state, &req, &user, &c, &merged, &errors_map(&problems)).await?;
            let message = format!("有 {} 处需要修改。已填写的内容已保存。", problems.len());
            ctx.insert("message", &message);
            Ok(render(
                &state,
                &req,
                "apply/apply_form.html",
                &mut ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
            )?)
        }
    }
}

#[derive(Serialize)]
struct ReviewPart {
    item: String,
    item_name: String,
    department: String,
    fields: Vec<String>,
    materials: Vec<String>,
}

#[get("/apply/{code}/review")]
async fn review_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    code: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let mut c = context(&state, &user, &code).await?;
    let merged = c.merged();
    let today = state.today();
    let bound = bind_draft(&state, &mut c, &merged).await?;
    let (Ok(_), Ok(clean)) = (
        bound,
        form::check_submission(
            c.catalogue(),
            c.bundle(),
            &merged,
            &c.draft.answers,
            &c.draft.data,
            &c.draft.materials,
            today,
        ),
    ) else {
        return Ok(see_other(&format!("/apply/{}/form", c.bundle().code)));
    };
    let shown: Vec<(String, String)> = merged
        .sections
        .iter()
        .flat_map(|s| &s.fields)
        .filter_map(|f| {
            clean
                .get(&f.key)
                .map(|v| (f.label.clone(), form::display(&c.catalogue().fields[&f.key], v)))
        })
        .collect();
    let department_name = |code: &str| {
        c.catalogue()
            .departments
            .iter()
            .find(|d| d.code == code)
            .map(|d| d.name.clone())
            .unwrap_or_default()
    };
    let parts: Vec<ReviewPart> = form::split(c.catalogue(), &merged, &clean, &c.draft.materials)
        .into_iter()
        .map(|p| ReviewPart {
            item_name: c
                .catalogue()
                .items
                .get(&p.item)
                .map(|i| i.name.clone())
                .unwrap_or_default(),
            department: department_name(&p.department),
            fields: p
                .data
                .keys()
                .filter_map(|k| c.catalogue().fields.get(k).map(|f| f.label.clone()))
                .collect(),
            materials: p
                .materials
                .keys()
                .filter_map(|m| c.catalogue().materials.get(m).map(|d| d.name.clone()))
                .collect(),
            item: p.item,
        })
        .collect();
    let answers: Vec<(String, String)> = merged
        .questions
        .iter()
        .map(|q| {
            let label = q
                .options
                .iter()
                .find(|o| Some(&o.value) == q.answer.as_ref())
                .map(|o| o.label.clone())
                .unwrap_or_default();
            (q.text.clone(), label)
        })
        .collect();
    let mut key = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    let mut ctx = base_ctx(&c);
    ctx.insert("shown", &shown);
    ctx.insert("parts", &parts);
    ctx.insert("answers", &answers);
    ctx.insert(
        "materials",
        &merged
            .materials
            .iter()
            .map(|m| (m.name.clone(), c.draft.materials.get(&m.code).map_or(0, Vec::len)))
            .collect::<Vec<_>>(),
    );
    ctx.insert("idempotency_key", &hex::encode(key));
    render(&state, &req, "apply/apply_review.html", &mut ctx, StatusCode::OK)
}

#[derive(Deserialize, Validate)]
struct SubmitForm {
    csrf_token: String,
    idempotency_key: String,
}

#[post("/apply/{code}/submit")]
async fn final_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    code: web::Path<String>,
    f: PageForm<SubmitForm>,
) -> Result<HttpResponse, actix_web::Error> {
    let f = f.valid(&state)?;
    require_csrf(&req, &f.csrf_token)?;
    let c = context(&state, &user, &code).await?;
    let body = serde_json::json!({
        "bundle": c.bundle().code, "answers": c.draft.answers, "data": c.draft.data, "materials": c.draft.materials,
        "filing_for": c.draft.filing_for, "agent_relationship": c.draft.agent_relationship,
    });
    let (applicant, channel) = (c.filer.applicant, c.filer.channel);
    match apply::submit_idempotent(&state, &user, applicant, &f.idempotency_key, body, channel).await {
        Ok((_, text)) => {
            let result: apply::SubmitResult =
                serde_json::from_str(&text).map_err(|e| ApiError::failed("serialize the form", e))?;
            let (id, bundle) = (user.id, c.bundle().code.clone());
            state
                .db
                .run(move |conn| store::delete_draft(conn, id, &bundle))
                .await
                .map_err(ApiError::from)?;
            if c.filer.on_behalf_of.is_some() {
                let done: String = url::form_urlencoded::byte_serialize("窗口代为登记".as_bytes()).collect();
                return Ok(see_other(&format!(
                    "/staff/cases/{}?done={done}",
                    result.receipt_no
                )));
            }
            Ok(see_other(&format!("/applications/{}?new=1", result.receipt_no)))
        }
        Err(ApiError::Validation(_)) => Ok(see_other(&format!("/apply/{}/form", c.bundle().code))),
        Err(e) => Err(page_err(&state, e).into()),
    }
}

#[get("/applications")]
async fn my_applications(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<Applicant>,
) -> Result<HttpResponse, PageError> {
    let list = apply::my_cases(&state, &user)
        .await
        .map_err(|e| page_err(&state, e))?;
    let mut ctx = tera::Context::new();
    ctx.insert("cases", &list);
    render(
        &state,
        &req,
        "apply/my_applications.html",
        &mut ctx,
        StatusCode::OK,
    )
}
