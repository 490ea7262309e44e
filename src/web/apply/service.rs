//! Applying for a bundle, shared by the API and the pages: the merged form with prefill,
//! drafts, uploads, idempotent submission (case, sub-cases, material links and audit entry
//! in one transaction), and the case as its owner or staff may see it.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use diesel::Connection;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::auth::{PiiKind, Role};
use crate::catalogue::Catalogue;
use crate::db::DbError;
use crate::form::{self, FormData, MaterialLinks, MergedForm, Problem};
use crate::store::accounts;
use crate::store::applications::{self as store, Begin, DraftRow, NewCase, NewSubCase, UploadRow};
use crate::store::audit::{self, AuditEvent};
use crate::store::catalogue as cat;
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiError, FieldError};
use crate::web::AppState;

impl From<Problem> for FieldError {
    fn from(p: Problem) -> Self {
        FieldError::new(p.field, p.code, p.message)
    }
}

fn problems(ps: Vec<Problem>) -> ApiError {
    ApiError::Validation(ps.into_iter().map(FieldError::from).collect())
}

fn json_err(e: serde_json::Error) -> ApiError {
    ApiError::failed("JSON", e)
}

/// The bundle as the catalogue in memory holds it: its definition, the part of the
/// catalogue it refers to, and its merged forms.
pub async fn bundle_entry(
    state: &AppState,
    code: &str,
) -> Result<std::sync::Arc<crate::web::catalogue::snapshot::BundleEntry>, ApiError> {
    state
        .catalogue
        .current()
        .bundle(code)
        .ok_or_else(|| ApiError::NotFound(format!("未找到编码为 {code} 的一件事套餐")))
}

/// What the form asks for that is already known, by dictionary key: the account's identity
/// (as the form's identity fields must show it), the birth date and sex its ID number
/// records, an enterprise's registration details, and — only when the form asks for them —
/// what the registries know and the account does not (M5).
pub async fn prefill(state: &AppState, account: i64, form: &form::MergedForm) -> Result<FormData, ApiError> {
    let asked: HashMap<&str, &form::MergedField> = form
        .sections
        .iter()
        .flat_map(|s| s.fields.iter().map(|f| (f.key.as_str(), f)))
        .collect();
    let id = account;
    let Some(a) = state.db.run(move |c| accounts::get(c, id)).await? else {
        return Ok(FormData::new());
    };
    let enterprise = match a.role() {
        Some(Role::Citizen) => false,
        Some(Role::Enterprise) => true,
        _ => return Ok(FormData::new()),
    };
    let holder = holder_of(state, &a)?;
    let mut data = FormData::new();
    data.insert(holder.name_key.into(), Value::String(holder.name));
    if let Some(id) = holder.id {
        if !enterprise {
            if let Ok(number) = crate::identity::IdNumber::parse(&id, chrono::NaiveDate::MAX) {
                if let Some(birth) = number.birth_date() {
                    data.insert(
                        "birth_date".into(),
                        Value::String(birth.format("%Y-%m-%d").to_string()),
                    );
                }
                let sex = form::sex_of_id(&number);
                let option = asked
                    .get("gender")
                    .and_then(|f| f.options.as_ref())
                    .and_then(|o| {
                        o.iter()
                            .find(|o| crate::catalogue::Sex::of_option(o) == Some(sex))
                    });
                if let Some(o) = option {
                    data.insert("gender".into(), Value::String(o.value.clone()));
                }
            }
            if asked.contains_key("marital_status") || asked.contains_key("spouse_name") {
                data.extend(registry_prefill(state, account, &id, &asked).await);
            }
        }
        data.insert(holder.id_key.into(), Value::String(id));
    }
    if let Some(p) = holder.phone {
        let key = if enterprise { "contact_mobile" } else { "mobile" };
        data.insert(key.into(), Value::String(p));
    }
    if enterprise {
        for (key, value) in [
            ("legal_rep_name", &a.legal_representative),
            ("contact_name", &a.contact_name),
            ("industry", &a.industry),
        ] {
            if let Some(v) = value {
                data.insert(key.into(), Value::String(v.clone()));
            }
        }
    }
    data.retain(|k, _| asked.contains_key(k.as_str()));
    Ok(data)
}

/// What the account alone does not know but a registry does (M5): the marriage register's
/// status and spouse. Looked up (and audited) as a form asking for them is shown; a registry
/// that does not answer prefills nothing and the applicant types it.
async fn registry_prefill(
    state: &AppState,
    account: i64,
    id: &str,
    asked: &HashMap<&str, &form::MergedField>,
) -> FormData {
    let lookup = state
        .registries
        .lookup(&state.vault, crate::rules::Registry::Marriage, id)
        .await;
    let audit = lookup.audit(
        state.registries.adapter(),
        PREFILL_AUDIT,
        Some(account),
        state.now(),
    );
    if let Err(e) = state
        .db
        .run(move |c| crate::store::registries::record_lookups(c, &[audit]))
        .await
    {
        // Without its audit row the answer is not used.
        tracing::warn!(error = %e, "a prefill lookup could not be audited; nothing prefilled from it");
        return FormData::new();
    }
    let mut data = FormData::new();
    if let crate::rules::Answer::Found { attributes } = lookup.answer {
        // The register writes the status as the form's options name it (未婚, 已婚 …).
        let status = attributes.get("status").and_then(|status| {
            asked
                .get("marital_status")
                .and_then(|f| f.options.as_ref())
                .and_then(|o| o.iter().find(|o| o.label == *status))
        });
        if let Some(o) = status {
            data.insert("marital_status".into(), Value::String(o.value.clone()));
        }
        if let Some(spouse) = attributes.get("spouse_name").filter(|n| !n.trim().is_empty()) {
            data.insert("spouse_name".into(), Value::String(spouse.clone()));
        }
    }
    data
}

/// What the audit of a prefill lookup records in place of a receipt number.
pub const PREFILL_AUDIT: &str = "表单预填";

/// Binds the form's identity fields to the applicant account for the way the application is
/// filed (`form::filing`): the account's values are written into `data`; the problems are
/// the typed values that are not the account's (or a 代办 without its relationship).
pub async fn bind_identity(
    state: &AppState,
    applicant: i64,
    merged: &MergedForm,
    data: &mut FormData,
    filing_for: Option<&str>,
    relationship: Option<&str>,
) -> Result<Result<form::filing::Filing, Vec<Problem>>, ApiError> {
    let holder = holder(state, applicant).await?;
    Ok(bind_to(&holder, merged, data, filing_for, relationship))
}

/// [`bind_identity`] with the applicant account already read.
fn bind_to(
    holder: &form::filing::Holder,
    merged: &MergedForm,
    data: &mut FormData,
    filing_for: Option<&str>,
    relationship: Option<&str>,
) -> Result<form::filing::Filing, Vec<Problem>> {
    let filing = match form::filing::Filing::parse(filing_for, relationship) {
        Ok(f) => f,
        Err(p) => return Err(vec![p]),
    };
    let keys: Vec<&str> = merged
        .sections
        .iter()
        .flat_map(|s| s.fields.iter().map(|f| f.key.as_str()))
        .collect();
    let bound = form::filing::bind(&keys, data, holder, &filing);
    if bound.is_empty() {
        Ok(filing)
    } else {
        Err(bound)
    }
}

/// The applicant account as the form's identity fields must show it.
async fn holder(state: &AppState, account: i64) -> Result<form::filing::Holder, ApiError> {
    let a = state
        .db
        .run(move |c| accounts::get(c, account))
        .await?
        .ok_or_else(|| ApiError::failed("submission", "the applicant account is missing"))?;
    holder_of(state, &a)
}

/// An account's name, identifier and phone, decrypted; a value the data key cannot open is
/// an error, never a gap.
fn holder_of(state: &AppState, a: &accounts::AccountRow) -> Result<form::filing::Holder, ApiError> {
    let open = |kind, enc: Option<&str>| -> Result<Option<String>, ApiError> {
        enc.map(|e| {
            state
                .vault
                .decrypt(kind, e)
                .map_err(|_| ApiError::failed("decrypt an account", "the data key does not open it"))
        })
        .transpose()
    };
    let phone = open(PiiKind::Phone, a.phone_enc.as_deref())?;
    Ok(match a.role() {
        Some(Role::Enterprise) => form::filing::Holder {
            name_key: "enterprise_name",
            name: a.display_name.clone(),
            id_key: "uscc",
            id: a.uscc.clone(),
            person: false,
            phone,
        },
        _ => form::filing::Holder {
            name_key: "applicant_name",
            name: a.display_name.clone(),
            id_key: "id_number",
            id: open(PiiKind::IdNumber, a.id_number_enc.as_deref())?,
            person: true,
            phone,
        },
    })
}

/// A draft as the applicant left it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Draft {
    #[serde(default)]
    pub answers: HashMap<String, String>,
    #[schema(value_type = Object)]
    #[serde(default)]
    pub data: FormData,
    #[schema(value_type = HashMap<String, Vec<String>>)]
    #[serde(default)]
    pub materials: MaterialLinks,
    #[serde(default)]
    pub version: i32,
    #[serde(default, skip_deserializing)]
    pub updated_at: Option<chrono::NaiveDateTime>,
    /// `self` or `agent` (代办), as on the submission.
    #[serde(default)]
    pub filing_for: Option<String>,
    #[serde(default)]
    pub agent_relationship: Option<String>,
}

/// The draft's 办理方式, stored beside it.
#[derive(Default, Serialize, Deserialize)]
struct DraftFiling {
    filing_for: Option<String>,
    agent_relationship: Option<String>,
}

pub async fn load_draft(state: &AppState, user: &CurrentUser, bundle: &str) -> Result<Draft, ApiError> {
    let (id, code) = (user.id, bundle.to_owned());
    let Some(row) = state.db.run(move |c| store::get_draft(c, id, &code)).await? else {
        return Ok(Draft::default());
    };
    let data = state
        .vault
        .decrypt(PiiKind::FormData, &row.data_enc)
        .map_err(|_| ApiError::failed("decrypt a draft", "the data key does not open it"))?;
    let filing: DraftFiling = row
        .filing
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(json_err)?
        .unwrap_or_default();
    Ok(Draft {
        answers: serde_json::from_str(&row.answers).map_err(json_err)?,
        data: serde_json::from_str(&data).map_err(json_err)?,
        materials: serde_json::from_str(&row.materials).map_err(json_err)?,
        version: row.version,
        updated_at: Some(row.updated_at),
        filing_for: filing.filing_for,
        agent_relationship: filing.agent_relationship,
    })
}

pub async fn save_draft(
    state: &AppState,
    user: &CurrentUser,
    bundle: &str,
    draft: &Draft,
) -> Result<i32, ApiError> {
    // Drafts hold whatever was typed, valid or not; they are encrypted whole.
    let row = DraftRow {
        account_id: user.id,
        bundle_code: bundle.to_owned(),
        answers: serde_json::to_string(&draft.answers).map_err(json_err)?,
        data_enc: state.vault.encrypt(
            PiiKind::FormData,
            &serde_json::to_string(&draft.data).map_err(json_err)?,
        ),
        materials: serde_json::to_string(&draft.materials).map_err(json_err)?,
        version: 0,
        updated_at: state.now(),
        filing: Some(
            serde_json::to_string(&DraftFiling {
                filing_for: draft.filing_for.clone(),
                agent_relationship: draft.agent_relationship.clone(),
            })
            .map_err(json_err)?,
        ),
    };
    Ok(state.db.write(move |c| store::save_draft(c, row)).await?)
}

/// The type of a received file, read from its content: a PDF must parse with at least one
/// page, an image must have a readable header of sane size; anything else is refused with
/// the reason.
pub fn sniff_file(path: &std::path::Path) -> Result<&'static str, String> {
    use std::io::Read;
    /// Larger than any scan of an A0 sheet at 600 dpi.
    const MAX_SIDE: usize = 30_000;
    let mut header = [0u8; 16];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut header))
        .map_err(|e| format!("文件无法读取：{e}"))?;
    let header = &header[..n];
    if header.starts_with(b"%PDF-") {
        return match lopdf::Document::load(path) {
            Ok(doc) if !doc.get_pages().is_empty() => Ok("application/pdf"),
            Ok(_) => Err("PDF 文件没有任何页面".into()),
            Err(_) => Err("文件以 PDF 开头，但不是完整有效的 PDF 文档".into()),
        };
    }
    let kind = match imagesize::image_type(header) {
        Ok(imagesize::ImageType::Jpeg) => "image/jpeg",
        Ok(imagesize::ImageType::Png) => "image/png",
        _ => {
            return Err(format!(
                "只能上传 PDF、JPEG 或 PNG 文件，收到的文件{}",
                found_type(header)
            ))
        }
    };
    match imagesize::size(path) {
        Ok(size) if (1..=MAX_SIDE).contains(&size.width) && (1..=MAX_SIDE).contains(&size.height) => Ok(kind),
        Ok(size) => Err(format!(
            "图片尺寸 {}×{} 像素超出范围（每边 1 至 {MAX_SIDE} 像素）",
            size.width, size.height
        )),
        Err(_) => Err("图片文件已损坏，无法读取".into()),
    }
}

/// What a refused file looks like, in words.
fn found_type(header: &[u8]) -> &'static str {
    match header {
        [0x50, 0x4B, 0x03, 0x04, ..] => "是压缩包或 Office 文档",
        [0x4D, 0x5A, ..] | [0x7F, b'E', b'L', b'F', ..] => "是可执行程序",
        [b'G', b'I', b'F', b'8', ..] => "是 GIF 图片",
        [0xD0, 0xCF, 0x11, 0xE0, ..] => "是旧版 Office 文档",
        [] => "为空",
        _ => "类型无法识别",
    }
}

fn upload_path(state: &AppState, sha: &str) -> PathBuf {
    state.data_dir.join("uploads").join(&sha[..2]).join(sha)
}

/// Uploads in progress per account. A cap keeps one account from tying up the server's disk
/// and connections with many parallel uploads (`ONETHING_MAX_CONCURRENT_UPLOADS`).
pub struct UploadSlots {
    busy: std::sync::Mutex<HashMap<i64, usize>>,
    cap: usize,
}

/// One upload in progress; the slot is free again when it is dropped.
pub struct UploadSlot<'a> {
    slots: &'a UploadSlots,
    account: i64,
}

impl UploadSlots {
    pub fn new(cap: usize) -> Self {
        Self {
            busy: std::sync::Mutex::new(HashMap::new()),
            cap: cap.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, usize>> {
        // The map holds plain counts: a panic elsewhere cannot leave it half updated.
        self.busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn take(&self, account: i64) -> Result<UploadSlot<'_>, ApiError> {
        let mut busy = self.lock();
        let n = busy.entry(account).or_default();
        if *n >= self.cap {
            return Err(ApiError::TooManyRequests {
                retry_after: 2,
                message: format!("您已有 {} 个文件正在上传，请等其完成后再上传", self.cap),
            });
        }
        *n += 1;
        Ok(UploadSlot { slots: self, account })
    }
}

impl Drop for UploadSlot<'_> {
    fn drop(&mut self) {
        let mut busy = self.slots.lock();
        if let Some(n) = busy.get_mut(&self.account) {
            *n -= 1;
            if *n == 0 {
                busy.remove(&self.account);
            }
        }
    }
}

/// Receives one file of a multipart form: streamed to a temporary file while it is hashed,
/// the size limit enforced as it arrives (nothing held whole in memory), typed by its
/// content, moved under its SHA-256 and synced before the row that makes it the uploader's
/// is inserted. `None` when the field was empty (no file chosen).
pub async fn receive_upload(
    state: &AppState,
    user: &CurrentUser,
    field: &mut actix_multipart::Field,
    file_name: &str,
) -> Result<Option<UploadRow>, ApiError> {
    let _slot = state.upload_slots.take(user.id)?;
    let tmp_dir = state.data_dir.join("uploads").join("tmp");
    tokio::fs::create_dir_all(&tmp_dir)
        .await
        .map_err(|e| ApiError::failed("upload storage", e))?;
    let mut rnd = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut rnd);
    let tmp = tmp_dir.join(hex::encode(rnd));
    let outcome = async {
        let (sha, size) = stream_to_file(field, &tmp, state.max_upload_bytes).await?;
        if size == 0 {
            return Ok(None);
        }
        let path = upload_path(state, &sha);
        let from = tmp.clone();
        // Parsing a PDF reads it whole: as many at once as there are cores, so that many
        // parallel uploads cannot add up to the memory the streaming saved.
        let _checking = state
            .content_checks
            .acquire()
            .await
            .map_err(|e| ApiError::failed("upload check", e))?;
        let content_type = tokio::task::spawn_blocking(move || {
            let content_type = sniff_file(&from)?;
            move_synced(&from, &path).map_err(|e| {
                tracing::error!(error = %e, "cannot store an upload");
                "文件保存失败，请稍后重试".to_owned()
            })?;
            Ok::<_, String>(content_type)
        })
        .await
        .map_err(|e| ApiError::failed("background task", e))?
        .map_err(|reason| ApiError::Validation(vec![FieldError::new("file", "unsupported_type", reason)]))?;
        let mut id = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut id);
        let name: String = file_name
            .chars()
            .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
            .take(100)
            .collect();
        let row = UploadRow {
            id: hex::encode(id),
            account_id: user.id,
            sha256: sha,
            size,
            content_type: content_type.into(),
            file_name: if name.is_empty() { "材料".into() } else { name },
            created_at: state.now(),
        };
        let insert = row.clone();
        state.db.write(move |c| store::insert_upload(c, &insert)).await?;
        Ok(Some(row))
    }
    .await;
    // Gone already when it was moved into place; otherwise it is the remains of a refused
    // or interrupted upload.
    if let Err(e) = tokio::fs::remove_file(&tmp).await {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(error = %e, "a temporary upload could not be removed");
        }
    }
    outcome
}

/// Writes the field's chunks to `path` as they arrive: its SHA-256 (hex) and size.
async fn stream_to_file(
    field: &mut actix_multipart::Field,
    path: &std::path::Path,
    limit: usize,
) -> Result<(String, i64), ApiError> {
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| ApiError::failed("upload storage", e))?;
    let mut hasher = Sha256::new();
    let mut size = 0usize;
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest {
            code: "upload_failed",
            message: format!("文件上传中断：{e}"),
        })?;
        size += chunk.len();
        if size > limit {
            return Err(crate::web::apply::api::too_large(limit));
        }
        hasher.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(|e| ApiError::failed("upload storage", e))?;
    }
    file.sync_all()
        .await
        .map_err(|e| ApiError::failed("upload storage", e))?;
    let size = i64::try_from(size).map_err(|e| ApiError::failed("upload size", e))?;
    Ok((hex::encode(hasher.finalize()), size))
}

/// Moves a received file under its content address (unless the same content is there
/// already) and syncs the folder, so the file survives a crash before its row exists.
fn move_synced(from: &std::path::Path, path: &std::path::Path) -> std::io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("upload path has no parent"))?;
    std::fs::create_dir_all(dir)?;
    std::fs::rename(from, path)?;
    std::fs::File::open(dir)?.sync_all()
}

pub async fn read_upload(state: &AppState, row: &UploadRow) -> Result<Vec<u8>, ApiError> {
    let path = upload_path(state, &row.sha256);
    tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .map_err(|e| ApiError::failed("background task", e))?
        .map_err(|e| ApiError::failed("read an upload", e))
}

/// How an upload is served: images (previewed in the staff console) inline, everything else
/// as a download, so that no document opens in the browser of the staff who read it.
pub fn disposition(row: &store::UploadRow) -> String {
    let name: String = url::form_urlencoded::byte_serialize(row.file_name.as_bytes()).collect();
    let how = if row.content_type.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    format!("{how}; filename*=UTF-8''{name}")
}

/// The upload `id` if `user` may read it: its owner and the applicant of a case using it; window staff and administrators when a
/// case links it; a reviewer when a part of their department uses it. Anyone else is told
/// it does not exist. A staff read is audited with the cases and applicants it belongs to.
pub async fn readable_upload(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    address: &str,
) -> Result<store::UploadRow, ApiError> {
    let not_found = || ApiError::NotFound("未找到该文件".into());
    let lookup = id.to_owned();
    let (row, used) = state
        .db
        .run(move |c| {
            let Some(row) = store::get_upload(c, &lookup)? else {
                return Ok(None);
            };
            let used = store::upload_use(c, &lookup)?;
            Ok::<_, DbError>(Some((row, used)))
        })
        .await?
        .ok_or_else(not_found)?;
    // The uploader, and the applicant of a case that uses it (a document the window
    // scanned for them, a department's result document).
    if row.account_id == user.id || used.cases.iter().any(|(_, applicant)| *applicant == user.id) {
        return Ok(row);
    }
    let allowed = match user.reviewer_department() {
        Some(department) => used.departments.iter().any(|d| d == department),
        None => user.is_window_clerk() && !used.cases.is_empty(),
    };
    if !allowed {
        return Err(not_found());
    }
    let target = used
        .cases
        .iter()
        .map(|(receipt, _)| receipt.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let applicants = used
        .cases
        .iter()
        .map(|(_, account)| format!("account:{account}"))
        .collect::<Vec<_>>()
        .join(",");
    crate::web::accounts::service::audit_detail(
        state,
        Some(user.id),
        &user.label(),
        "upload_read",
        &target,
        address,
        "success",
        format!(
            "upload={} applicant={applicants} role={}",
            row.id,
            user.role.as_str()
        ),
    )
    .await?;
    Ok(row)
}

/// A merged application as submitted. Its answers, fields and materials are the bundle's to
/// define: the form module checks them against the catalogue.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema, validator::Validate)]
pub struct SubmitInput {
    #[validate(
        required(code = "required", message = "请指定要申请的一件事套餐"),
        custom(function = "bundle_named")
    )]
    pub bundle: Option<String>,
    #[serde(default)]
    pub answers: HashMap<String, String>,
    #[schema(value_type = Object)]
    #[serde(default)]
    pub data: FormData,
    #[schema(value_type = HashMap<String, Vec<String>>)]
    #[serde(default)]
    pub materials: MaterialLinks,
    /// `self` (the default): the account holder applies for themselves, and the form's
    /// applicant name and ID number (or enterprise name and USCC) are the account's.
    /// `agent`: 代办 for the person or enterprise the form names.
    pub filing_for: Option<String>,
    /// For `agent`: `parent`, `child`, `spouse`, `relative`, `guardian`, `entrusted` or `staff`.
    pub agent_relationship: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubCaseSummary {
    pub id: i64,
    pub item: String,
    pub item_name: String,
    pub department: String,
    pub department_name: String,
    pub status: String,
    #[serde(default)]
    pub status_label: String,
    /// Whether the department attached a result document (批文, 证照) to its decision.
    #[serde(default)]
    pub result_document: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubmitResult {
    pub receipt_no: String,
    pub status: String,
    pub bundle: String,
    pub bundle_name: String,
    pub channel: String,
    #[serde(with = "crate::clock::rfc3339")]
    pub submitted_at: chrono::NaiveDateTime,
    pub sub_cases: Vec<SubCaseSummary>,
}

fn bundle_named(b: &str) -> Result<(), validator::ValidationError> {
    if b.trim().is_empty() {
        Err(crate::web::validate::problem(
            "required",
            "请指定要申请的一件事套餐",
        ))
    } else {
        Ok(())
    }
}

/// What a submission reads from the database with its claim: the applicant account and
/// those of the uploads its materials name that the filer owns.
struct Known {
    account: Option<accounts::AccountRow>,
    owned: Vec<UploadRow>,
}

/// Checks and writes one application of `applicant`, filed by `user` (the applicant online,
/// a window clerk at the counter: the uploads must be the filer's). Every part is written
/// in one transaction.
async fn submit(
    state: &AppState,
    user: &CurrentUser,
    mut input: SubmitInput,
    channel: &str,
    claim: store::Claim,
    known: Known,
) -> Result<String, ApiError> {
    validator::Validate::validate(&input)
        .map_err(|e| ApiError::Validation(crate::web::validate::field_errors(&e)))?;
    let Some(code) = input.bundle.clone() else {
        return Err(ApiError::failed("submission", "validated bundle is missing"));
    };
    let entry = bundle_entry(state, &code).await?;
    let (bundle_version, bundle, catalogue) = (entry.version, &entry.def, &entry.catalogue);
    let merged = entry.merged(&input.answers);
    let today = state.today();
    let mut data = std::mem::take(&mut input.data);
    let Known { account, owned } = known;
    let account =
        account.ok_or_else(|| ApiError::failed("submission", "the applicant account is missing"))?;
    let applicant = account.id;
    let filing = bind_to(
        &holder_of(state, &account)?,
        &merged,
        &mut data,
        input.filing_for.as_deref(),
        input.agent_relationship.as_deref(),
    )
    .map_err(problems)?;
    let clean = form::check_submission(
        catalogue,
        bundle,
        &merged,
        &input.answers,
        &data,
        &input.materials,
        today,
    )
    .map_err(problems)?;
    let agency = match &filing {
        form::filing::Filing::Own => None,
        agent => Some(serde_json::to_string(agent).map_err(json_err)?),
    };
    // Every linked upload must be the filer's own.
    let unknown: Vec<FieldError> = input
        .materials
        .iter()
        .flat_map(|(m, ids)| ids.iter().map(move |id| (m, id)))
        .filter(|(_, id)| !owned.iter().any(|u| &u.id == *id))
        .map(|(m, id)| {
            FieldError::new(
                format!("materials.{m}"),
                "unknown_upload",
                format!("找不到编号为 {id} 的上传文件"),
            )
        })
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::Validation(unknown));
    }
    let parts = form::split(catalogue, &merged, &clean, &input.materials);
    // Smart approval: the rules of the parts that have them, decided before the case is
    // written (registry lookups are not made inside a database transaction) and recorded
    // with it.
    let evaluation = crate::web::smart::service::evaluate(state, catalogue, &parts, &account).await;
    let automatic = evaluation.decides_any();
    let now = state.clock.now();
    // Receipt numbers are dated by the Beijing business date.
    let day = state.today().format("%Y%m%d").to_string();
    let data_enc = state.vault.encrypt(
        PiiKind::FormData,
        &serde_json::to_string(&clean).map_err(json_err)?,
    );
    let mut subs = Vec::new();
    for p in &parts {
        subs.push(NewSubCase {
            case_id: 0,
            item_code: p.item.clone(),
            department_code: p.department.clone(),
            status: "pending".into(),
            data_enc: state.vault.encrypt(
                PiiKind::FormData,
                &serde_json::to_string(&p.data).map_err(json_err)?,
            ),
            materials: serde_json::to_string(&p.materials).map_err(json_err)?,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
        });
    }
    let links: Vec<(String, String)> = input
        .materials
        .iter()
        .flat_map(|(m, ids)| ids.iter().map(move |id| (m.clone(), id.clone())))
        .collect();
    // A counter submission is one trip to the centre; an online one is none.
    let trips = i32::from(channel == "window");
    let answers = serde_json::to_string(&input.answers).map_err(json_err)?;
    let (actor_id, actor) = (user.id, user.label());
    let channel = channel.to_owned();
    let bundle_code = bundle.code.clone();
    let bundle_name = bundle.name.clone();
    let names = entry.clone();
    let result = state
        .db
        .write(move |c| {
            // The day's number is taken by one statement of its own, so that the counter
            // row is locked for a moment rather than for the whole submission. A submission
            // that then fails leaves a gap: receipt numbers are unique and per day, not
            // gapless.
            let seq = crate::db::retry_on_conflict(c, |c| store::next_receipt_sequence(c, &day))?;
            crate::db::retry_on_conflict(c, |c| {
                c.transaction::<_, DbError, _>(|c| {
                    let case = NewCase {
                        receipt_no: format!("CL{day}{seq:06}"),
                        account_id: applicant,
                        bundle_code: bundle_code.clone(),
                        bundle_version,
                        status: "submitted".into(),
                        channel: channel.clone(),
                        answers: answers.clone(),
                        data_enc: data_enc.clone(),
                        trips,
                        version: 1,
                        submitted_at: now.naive_utc(),
                        updated_at: now.naive_utc(),
                        agency: agency.clone(),
                    };
                    let written = store::insert_case(c, &case, subs.clone(), &links)?;
                    let parts = sub_summaries(&names.catalogue, &written.1);
                    let wf = crate::workflow::Case::new(
                        parts
                            .iter()
                            .map(|p| crate::workflow::NewPart {
                                id: p.id,
                                department: p.department.clone(),
                                item_name: p.item_name.clone(),
                                department_name: p.department_name.clone(),
                            })
                            .collect(),
                        crate::workflow::Channel::parse(&case.channel)
                            .unwrap_or(crate::workflow::Channel::Online),
                        crate::workflow::DeadlineKind::JointLicensing,
                        case.submitted_at,
                    )
                    .map_err(|e| DbError::Corrupt(e.to_string()))?;
                    crate::store::cases::start_workflow(c, written.0.id, &wf)?;
                    let (decisions, lookups) = evaluation
                        .rows(written.0.id, &case.receipt_no, applicant, &written.1)
                        .map_err(|e| DbError::Corrupt(format!("smart-approval decision: {e}")))?;
                    crate::store::registries::record_lookups(c, &lookups)?;
                    crate::store::registries::record_decisions(c, &decisions)?;
                    audit::record(
                        c,
                        &AuditEvent {
                            at: now.naive_utc(),
                            actor_id: Some(actor_id),
                            actor: &actor,
                            action: "application_submit",
                            target: &case.receipt_no,
                            address: "",
                            outcome: "success",
                            detail: &format!("bundle={} items={}", case.bundle_code, written.1.len()),
                        },
                    )?;
                    let case = written.0;
                    let result = SubmitResult {
                        sub_cases: parts,
                        receipt_no: case.receipt_no,
                        status: case.status,
                        bundle: case.bundle_code,
                        bundle_name: bundle_name.clone(),
                        channel: case.channel,
                        submitted_at: case.submitted_at,
                    };
                    // The answer is stored under the key in the case's own transaction: after
                    // a crash at any instant, a retry replays it or files the case once.
                    let text = serde_json::to_string(&result)
                        .map_err(|e| DbError::Corrupt(format!("submission answer: {e}")))?;
                    if !store::complete_idempotent(c, &claim, 201, &text)? {
                        return Err(DbError::Superseded);
                    }
                    Ok((result, text))
                })
            })
        })
        .await
        .map_err(|e| match e {
            DbError::Superseded => in_flight(),
            e => ApiError::from(e),
        })?;
    let (result, text) = result;
    tracing::info!(receipt = %result.receipt_no, bundle = %result.bundle, parts = result.sub_cases.len(), "application submitted");
    // The rules' decisions are filed with the case; carrying them out is a few transitions
    // more. Should one fail, the case stays filed with its decisions recorded and the sweep
    // carries them out later.
    if automatic {
        if let Err(e) = crate::web::smart::service::apply_decisions(state, &result.receipt_no).await {
            tracing::error!(receipt = %result.receipt_no, error = %e, "the rules' decisions were not all carried out; the sweep will retry");
        }
    }
    Ok(text)
}

fn in_flight() -> ApiError {
    ApiError::Conflict(vec![FieldError::new(
        "Idempotency-Key",
        "idempotency_in_flight",
        "同一申请正在处理中，请稍候查看结果",
    )])
}

fn sub_summaries(catalogue: &Catalogue, rows: &[store::SubCaseRow]) -> Vec<SubCaseSummary> {
    rows.iter()
        .map(|s| SubCaseSummary {
            id: s.id,
            item: s.item_code.clone(),
            item_name: catalogue
                .items
                .get(&s.item_code)
                .map(|i| i.name.clone())
                .unwrap_or_default(),
            department: s.department_code.clone(),
            department_name: catalogue
                .departments
                .iter()
                .find(|d| d.code == s.department_code)
                .map(|d| d.name.clone())
                .unwrap_or_default(),
            status_label: crate::workflow::status_label(&s.status).to_owned(),
            status: s.status.clone(),
            result_document: s.result_upload.is_some(),
        })
        .collect()
}

/// The fingerprint of a request body, insensitive to key order and white space.
pub fn request_hash(body: &Value) -> String {
    hex::encode(Sha256::digest(body.to_string().as_bytes()))
}

/// Submission under an `Idempotency-Key`: a replay returns the original response; the
/// same key with another body is refused; a key still being processed is a conflict.
pub async fn submit_idempotent(
    state: &AppState,
    user: &CurrentUser,
    applicant: i64,
    key: &str,
    body: Value,
    channel: &str,
) -> Result<(u16, String), ApiError> {
    let hash = request_hash(&body);
    let input: Result<SubmitInput, _> = serde_json::from_value(body);
    let ids: Vec<String> = match &input {
        Ok(i) => i.materials.values().flatten().cloned().collect(),
        Err(_) => Vec::new(),
    };
    // What the submission will need to read, then the claim, in one visit: the reads come
    // first so that a failed read cannot leave a key taken that nobody will release.
    let (filer, k) = (user.id, key.to_owned());
    let (begin, known) = state
        .db
        .write({
            let now = state.now();
            let in_flight = state.idempotency_in_flight;
            move |c| {
                let known = Known {
                    account: accounts::get(c, applicant)?,
                    owned: store::uploads_of(c, filer, &ids)?,
                };
                let begin = store::begin_idempotent(c, filer, &k, &hash, now, in_flight)?;
                Ok::<_, DbError>((begin, known))
            }
        })
        .await?;
    let claim = match begin {
        Begin::Replay { status, body } => return Ok((status as u16, body)),
        Begin::Mismatch => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "Idempotency-Key",
                "idempotency_key_reused",
                "该幂等键已用于另一份不同的申请，请使用新的幂等键",
            )]))
        }
        Begin::InFlight => return Err(in_flight()),
        Begin::New { claim } => claim,
    };
    let claim = store::Claim {
        account: user.id,
        key: key.to_owned(),
        at: claim,
    };
    let outcome = match input {
        Ok(input) => submit(state, user, input, channel, claim.clone(), known).await,
        Err(e) => Err(ApiError::BadRequest {
            code: "invalid_json",
            message: format!("申请内容格式有误：{e}"),
        }),
    };
    match outcome {
        Ok(text) => Ok((201, text)),
        Err(e) => {
            // Nothing was written: free the key so that a corrected request may use it.
            state
                .db
                .write(move |c| store::release_idempotent(c, &claim))
                .await?;
            Err(e)
        }
    }
}

/// One field of a case as shown to a viewer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShownField {
    pub key: String,
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShownPart {
    #[serde(flatten)]
    pub summary: SubCaseSummary,
    pub fields: Vec<ShownField>,
    pub materials: Vec<String>,
    /// For a smart-approval item: what its declared rules decided, explained.
    pub smart_decision: Option<crate::web::smart::service::PartDecision>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub receipt_no: String,
    pub bundle: String,
    pub bundle_name: String,
    pub status: String,
    pub status_label: &'static str,
    pub channel: String,
    pub trips: i32,
    #[serde(with = "crate::clock::rfc3339")]
    pub submitted_at: chrono::NaiveDateTime,
    #[serde(with = "crate::clock::rfc3339")]
    pub updated_at: chrono::NaiveDateTime,
    pub answers: HashMap<String, String>,
    #[schema(value_type = Object)]
    pub data: FormData,
    pub fields: Vec<ShownField>,
    pub materials: Vec<ShownMaterial>,
    /// Materials the centre obtained from the registries (共享获取) instead of asking.
    pub shared_materials: Vec<crate::web::smart::service::SharedMaterial>,
    pub sub_cases: Vec<ShownPart>,
    /// Set when the case was filed by an agent (代办) for the applicant in the form.
    pub agency: Option<Agency>,
}

impl CaseView {
    /// The applicant's name as the form gives it: the person's, or the enterprise's.
    pub fn applicant_name(&self) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.key == "applicant_name" || f.key == "enterprise_name")
            .map(|f| f.value.as_str())
    }
}

/// A 代办: who filed the case for the applicant named in the form, and how they are related.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Agency {
    /// The filing account's name (the agent).
    pub agent_name: String,
    pub relationship: String,
    pub relationship_label: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShownMaterial {
    pub code: String,
    pub name: String,
    pub upload_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
}

/// The case behind a receipt number, if the viewer may see it: its owner, window staff and
/// administrators, and reviewers of a department that has a part of it (who see only that
/// part). Staff see personal data unmasked, and each such view is audited.
pub async fn case_view(
    state: &AppState,
    viewer: &CurrentUser,
    receipt: &str,
    address: &str,
) -> Result<CaseView, ApiError> {
    let lookup = receipt.to_owned();
    let not_found = || ApiError::NotFound(format!("未找到受理编号为 {receipt} 的办件"));
    let (case, subs) = state
        .db
        .run(move |c| store::case_by_receipt(c, &lookup))
        .await?
        .ok_or_else(not_found)?;
    let owner = case.account_id == viewer.id;
    let department_parts: Vec<&store::SubCaseRow> = subs
        .iter()
        .filter(|s| {
            viewer.role == Role::Reviewer && viewer.department.as_deref() == Some(s.department_code.as_str())
        })
        .collect();
    let allowed = owner || viewer.is_window_clerk() || !department_parts.is_empty();
    if !allowed {
        // Someone else's receipt number reveals nothing, not even that it exists.
        return Err(not_found());
    }
    let entry = bundle_entry(state, &case.bundle_code).await?;
    let (bundle, catalogue) = (&entry.def, &entry.catalogue);
    let decrypt = |enc: &str| -> Result<FormData, ApiError> {
        let text = state
            .vault
            .decrypt(PiiKind::FormData, enc)
            .map_err(|_| ApiError::failed("decrypt a case", "the data key does not open it"))?;
        serde_json::from_str(&text).map_err(json_err)
    };
    let shown = |data: &FormData| -> Vec<ShownField> {
        data.iter()
            .filter_map(|(k, v)| {
                catalogue.fields.get(k).map(|f| ShownField {
                    key: k.clone(),
                    label: f.label.clone(),
                    value: form::display(f, v),
                })
            })
            .collect()
    };
    let reviewer_only = !owner && viewer.role == Role::Reviewer;
    let data = if reviewer_only {
        FormData::new()
    } else {
        decrypt(&case.data_enc)?
    };
    let visible_subs: Vec<&store::SubCaseRow> = if reviewer_only {
        department_parts
    } else {
        subs.iter().collect()
    };
    let summaries = sub_summaries(
        catalogue,
        &visible_subs.iter().map(|s| (*s).clone()).collect::<Vec<_>>(),
    );
    // What the rest of the page needs from the database, in one visit.
    let (case_id, receipt_no) = (case.id, case.receipt_no.clone());
    let (uploads, decided, lookups) = state
        .db
        .run(move |c| {
            Ok::<_, crate::db::DbError>((
                store::case_uploads(c, case_id)?,
                crate::store::registries::decisions_of(c, case_id)?,
                crate::store::registries::lookups_of(c, &receipt_no)?,
            ))
        })
        .await?;
    let mut smart = crate::web::smart::service::decisions(decided)?;
    let mut parts = Vec::new();
    for (s, summary) in visible_subs.iter().zip(summaries) {
        let links: MaterialLinks = serde_json::from_str(&s.materials).map_err(json_err)?;
        parts.push(ShownPart {
            summary,
            fields: shown(&decrypt(&s.data_enc)?),
            materials: links.keys().cloned().collect(),
            smart_decision: smart
                .iter()
                .position(|d| d.sub_case == s.id)
                .map(|i| smart.swap_remove(i)),
        });
    }
    let visible_items: Vec<&str> = visible_subs.iter().map(|s| s.item_code.as_str()).collect();
    let shared_materials = crate::web::smart::service::shared_materials(&lookups, catalogue, &visible_items);
    let visible_materials: Vec<String> = parts.iter().flat_map(|p| p.materials.clone()).collect();
    let materials = uploads
        .into_iter()
        .filter(|(m, _)| !reviewer_only || visible_materials.contains(m))
        .map(|(m, u)| ShownMaterial {
            name: catalogue
                .materials
                .get(&m)
                .map(|d| d.name.clone())
                .unwrap_or_else(|| m.clone()),
            code: m,
            upload_id: u.id,
            file_name: u.file_name,
            content_type: u.content_type,
            size: u.size,
        })
        .collect();
    if !owner {
        let detail = format!("case={} role={}", case.receipt_no, viewer.role.as_str());
        let (actor_id, actor, target, address) = (
            viewer.id,
            viewer.label(),
            case.receipt_no.clone(),
            address.to_owned(),
        );
        let at = state.now();
        state
            .db
            .run(move |c| {
                audit::record(
                    c,
                    &AuditEvent {
                        at,
                        actor_id: Some(actor_id),
                        actor: &actor,
                        action: "unmask",
                        target: &target,
                        address: &address,
                        outcome: "success",
                        detail: &detail,
                    },
                )
            })
            .await?;
    }
    let agency = match case.agency.as_deref() {
        None => None,
        Some(text) => {
            let filing: form::filing::Filing = serde_json::from_str(text).map_err(json_err)?;
            let filer = case.account_id;
            let agent = state.db.run(move |c| accounts::get(c, filer)).await?;
            match filing {
                form::filing::Filing::Own => None,
                form::filing::Filing::Agent { ref relationship } => Some(Agency {
                    agent_name: agent.map(|a| a.display_name).unwrap_or_default(),
                    relationship: relationship.clone(),
                    relationship_label: filing.relationship_label().unwrap_or_default().to_owned(),
                }),
            }
        }
    };
    Ok(CaseView {
        agency,
        fields: shown(&data),
        receipt_no: case.receipt_no,
        bundle: bundle.code.clone(),
        bundle_name: bundle.name.clone(),
        status_label: crate::workflow::status_label(&case.status),
        status: case.status,
        channel: case.channel,
        trips: case.trips,
        submitted_at: case.submitted_at,
        updated_at: case.updated_at,
        answers: serde_json::from_str(&case.answers).map_err(json_err)?,
        data,
        materials,
        shared_materials,
        sub_cases: parts,
    })
}

/// The applicant's own cases, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = MyCase)]
pub struct CaseSummary {
    pub receipt_no: String,
    pub bundle: String,
    pub bundle_name: String,
    pub status: String,
    pub status_label: &'static str,
    pub channel: String,
    #[serde(with = "crate::clock::rfc3339")]
    pub submitted_at: chrono::NaiveDateTime,
}

pub async fn my_cases(state: &AppState, user: &CurrentUser) -> Result<Vec<CaseSummary>, ApiError> {
    let id = user.id;
    let rows = state.db.run(move |c| store::cases_of(c, id)).await?;
    let names: BTreeMap<String, String> = state
        .db
        .run(|c| {
            cat::list_bundles(
                c,
                &Default::default(),
                crate::store::Paging {
                    page: 1,
                    per_page: 1000,
                },
            )
        })
        .await?
        .items
        .into_iter()
        .map(|b| (b.code, b.name))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| CaseSummary {
            bundle_name: names.get(&r.bundle_code).cloned().unwrap_or_default(),
            status_label: crate::workflow::status_label(&r.status),
            receipt_no: r.receipt_no,
            bundle: r.bundle_code,
            status: r.status,
            channel: r.channel,
            submitted_at: r.submitted_at,
        })
        .collect())
}

/// The merged form for answers, with the account's prefill marked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FormResponse {
    #[serde(flatten)]
    pub form: MergedForm,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Object)]
    pub prefill: FormData,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_gets_at_most_its_cap_of_uploads_at_once_and_others_are_not_affected() {
        let slots = UploadSlots::new(2);
        let first = slots.take(7).expect("first");
        let _second = slots.take(7).expect("second");
        assert!(
            matches!(slots.take(7), Err(ApiError::TooManyRequests { .. })),
            "a third upload of the same account at once is refused"
        );
        let _other = slots.take(8).expect("another account has its own slots");
        drop(first);
        let _third = slots.take(7).expect("a finished upload frees its slot");
    }

    #[test]
    fn a_refused_file_is_named_for_what_it_is() {
        let dir = tempfile::tempdir().expect("dir");
        let cases: [(&[u8], &str); 3] = [
            (b"MZ\x90\x00 an executable", "可执行程序"),
            (b"PK\x03\x04 a zip", "压缩包"),
            (b"%PDF-1.7\nnot really a pdf", "不是完整有效的 PDF"),
        ];
        for (n, (bytes, says)) in cases.into_iter().enumerate() {
            let path = dir.path().join(format!("f{n}"));
            std::fs::write(&path, bytes).expect("write");
            let reason = sniff_file(&path).expect_err("refused");
            assert!(reason.contains(says), "{reason:?} should say {says}");
        }
    }
}
