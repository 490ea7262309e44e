//! The electronic archive of a case (电子归档, 零材料): its record and timeline, the materials,
//! the result documents and the signed e-certificates as one ZIP package. Its
//! `manifest.json` lists every other file with its size and SHA-256, so the package can be
//! checked file by file long after the case is closed.

use std::io::Write;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::store::applications as uploads;
use crate::store::audit::{self, AuditEvent};
use crate::store::cases as store;
use crate::web::apply::service as apply;
use crate::web::auth::CurrentUser;
use crate::web::error::ApiError;
use crate::web::AppState;

/// The package format, named in the manifest.
pub const FORMAT: &str = "onething-archive/1";

#[derive(Serialize)]
struct Manifest<'a> {
    format: &'static str,
    receipt_no: &'a str,
    bundle: &'a str,
    bundle_name: &'a str,
    status: &'a str,
    #[serde(with = "crate::clock::rfc3339")]
    generated_at: chrono::NaiveDateTime,
    generated_by: String,
    files: Vec<Entry>,
}

/// One file of the package.
#[derive(Serialize)]
struct Entry {
    path: String,
    bytes: usize,
    sha256: String,
}

/// A file name as a path component: no separators, no control characters.
fn component(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    match clean.trim() {
        "" | "." | ".." => "_".to_owned(),
        c => c.to_owned(),
    }
}

/// The package of case `receipt` and its file name, for window staff and administrators;
/// audited.
pub async fn package(
    state: &AppState,
    user: &CurrentUser,
    receipt: &str,
    address: &str,
) -> Result<(String, Vec<u8>), ApiError> {
    if !user.is_window_clerk() {
        return Err(ApiError::Forbidden(
            "只有综合窗口人员或管理员可以导出办件的电子档案".into(),
        ));
    }
    let view = apply::case_view(state, user, receipt, address).await?;
    // The case and everything it holds, in one visit.
    let lookup = receipt.to_owned();
    let (timeline, materials, documents, certificates) = state
        .db
        .run(move |c| {
            let Some((row, subs, _)) = store::load(c, &lookup)? else {
                return Ok(None);
            };
            let mut documents = Vec::new();
            for s in &subs {
                if let Some(upload) = s.result_upload.as_deref() {
                    documents.extend(uploads::get_upload(c, upload)?.map(|u| (s.id, u)));
                }
            }
            Ok::<_, crate::db::DbError>(Some((
                store::timeline(c, row.id)?,
                uploads::case_uploads(c, row.id)?,
                documents,
                crate::store::certificates::of_case(c, row.id)?,
            )))
        })
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("未找到受理编号为 {receipt} 的办件")))?;

    let json =
        |v: serde_json::Value| serde_json::to_vec_pretty(&v).map_err(|e| ApiError::failed("archive", e));
    let mut files: Vec<(String, Vec<u8>)> = vec![(
        "case.json".into(),
        json(serde_json::json!({ "case": view, "timeline": timeline }))?,
    )];
    for (code, upload) in &materials {
        files.push((
            format!(
                "materials/{}/{}-{}",
                component(code),
                component(&upload.id),
                component(&upload.file_name)
            ),
            apply::read_upload(state, upload).await?,
        ));
    }
    for (part, upload) in &documents {
        files.push((
            format!("results/{part}-{}", component(&upload.file_name)),
            apply::read_upload(state, upload).await?,
        ));
    }
    for c in &certificates {
        let signed = crate::web::certificates::service::signed(c)?;
        files.push((
            format!("certificates/{}.json", component(&c.certificate_no)),
            json(serde_json::json!({
                "certificate": signed,
                "standing": crate::web::certificates::service::stored_verdict(state, c)?,
            }))?,
        ));
    }
    let now = state.now();
    let manifest = Manifest {
        format: FORMAT,
        receipt_no: &view.receipt_no,
        bundle: &view.bundle,
        bundle_name: &view.bundle_name,
        status: &view.status,
        generated_at: now,
        generated_by: user.label(),
        files: files
            .iter()
            .map(|(path, bytes)| Entry {
                path: path.clone(),
                bytes: bytes.len(),
                sha256: hex::encode(Sha256::digest(bytes)),
            })
            .collect(),
    };
    let manifest = serde_json::to_vec_pretty(&manifest).map_err(|e| ApiError::failed("archive", e))?;
    let zipped = tokio::task::spawn_blocking(move || -> zip::result::ZipResult<Vec<u8>> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options =
            zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("manifest.json", options)?;
        zip.write_all(&manifest)?;
        for (path, bytes) in &files {
            zip.start_file(path.as_str(), options)?;
            zip.write_all(bytes)?;
        }
        Ok(zip.finish()?.into_inner())
    })
    .await
    .map_err(|e| ApiError::failed("background task", e))?
    .map_err(|e| ApiError::failed("write the archive package", e))?;
    let (actor, actor_id, target, address) = (user.label(), user.id, receipt.to_owned(), address.to_owned());
    let detail = format!(
        "files={}",
        materials.len() + documents.len() + certificates.len() + 1
    );
    state
        .db
        .run(move |c| {
            audit::record(
                c,
                &AuditEvent {
                    at: now,
                    actor_id: Some(actor_id),
                    actor: &actor,
                    action: "case_archive_export",
                    target: &target,
                    address: &address,
                    outcome: "success",
                    detail: &detail,
                },
            )
        })
        .await?;
    Ok((format!("{receipt}-archive.zip"), zipped))
}

#[cfg(test)]
mod tests {
    use super::component;

    #[test]
    fn a_file_name_cannot_leave_its_folder_in_the_package() {
        assert_eq!(component("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(component(".."), "_");
        assert_eq!(component("出生医学证明.pdf"), "出生医学证明.pdf");
        assert_eq!(component("a\\b\nc"), "a_b_c");
    }
}
