//! The reference registries behind one interface. Two adapters: the local one (tables in
//! our database, loaded from CSV/XLSX files: [`load`]) and the HTTP one for a provincial
//! data-exchange platform ([`http`]). Every answer is an [`Answer`]; a registry that does not
//! answer is `Answer::Unavailable` with the reason, never an error that could be mistaken
//! for "no record" and never a guess.
//!
//! Personal data stays out of the logs: a lookup is logged and audited by the keyed hash
//! of its key and the digest of its answer.

pub mod http;
pub mod load;

use std::collections::BTreeMap;
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::auth::{PiiKind, Vault};
use crate::db::Db;
use crate::rules::{Answer, Registry};
use crate::store::registries::NewLookup;

/// Where lookups go.
#[derive(Clone)]
pub enum Registries {
    /// The registry tables in our own database.
    Local { db: Db, vault: Vault },
    /// The provincial data-exchange platform.
    Http(http::HttpRegistries),
}

/// One lookup as the audit records it.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub registry: Registry,
    pub key: String,
    pub answer: Answer,
    pub key_digest: String,
    pub answer_digest: String,
    pub elapsed_ms: i64,
}

impl Lookup {
    /// The audit row of this lookup, made for the case `receipt_no` on behalf of `account`.
    pub fn audit(
        &self,
        adapter: &str,
        receipt_no: &str,
        account: Option<i64>,
        at: chrono::NaiveDateTime,
    ) -> NewLookup {
        NewLookup {
            at,
            account_id: account,
            receipt_no: receipt_no.to_owned(),
            registry: self.registry.code().to_owned(),
            adapter: adapter.to_owned(),
            key_digest: self.key_digest.clone(),
            answer_digest: self.answer_digest.clone(),
            outcome: outcome(&self.answer).to_owned(),
            elapsed_ms: self.elapsed_ms,
        }
    }
}

/// The machine name of an answer, as the audit and the logs record it.
pub fn outcome(answer: &Answer) -> &'static str {
    match answer {
        Answer::Found { .. } => "found",
        Answer::NotFound => "not_found",
        Answer::Unavailable { .. } => "unavailable",
    }
}

/// The SHA-256 of an answer's canonical JSON (attributes sorted by name).
pub fn answer_digest(answer: &Answer) -> String {
    let canonical = match answer {
        Answer::Found { attributes } => serde_json::to_string(attributes).unwrap_or_default(),
        Answer::NotFound => "not_found".into(),
        Answer::Unavailable { .. } => "unavailable".into(),
    };
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

impl Registries {
    /// The adapter's name in the audit.
    pub fn adapter(&self) -> &'static str {
        match self {
            Self::Local { .. } => "local",
            Self::Http(_) => "http",
        }
    }

    /// Looks `key` up in `registry`.
    pub async fn lookup(&self, vault: &Vault, registry: Registry, key: &str) -> Lookup {
        let started = Instant::now();
        let key = key.trim().to_uppercase();
        let answer = match self {
            Self::Local { db, vault } => local_lookup(db, vault, registry, &key).await,
            Self::Http(h) => h.lookup(registry, &key).await,
        };
        let elapsed_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let lookup = Lookup {
            registry,
            key_digest: key_hash(vault, registry, &key),
            answer_digest: answer_digest(&answer),
            key,
            answer,
            elapsed_ms,
        };
        tracing::info!(
            registry = %registry,
            adapter = self.adapter(),
            key = %&lookup.key_digest[..12],
            outcome = outcome(&lookup.answer),
            elapsed_ms,
            "registry lookup"
        );
        lookup
    }
}

/// The keyed hash a registry key is stored and audited by.
pub fn key_hash(vault: &Vault, registry: Registry, key: &str) -> String {
    vault.lookup_hash(
        PiiKind::Registry,
        &format!("{}:{}", registry.code(), key.trim().to_uppercase()),
    )
}

async fn local_lookup(db: &Db, vault: &Vault, registry: Registry, key: &str) -> Answer {
    let hash = key_hash(vault, registry, key);
    let code = registry.code();
    let found = db
        .run(move |c| crate::store::registries::record(c, code, &hash))
        .await;
    match found {
        Ok(None) => Answer::NotFound,
        Ok(Some(sealed)) => match vault
            .decrypt(PiiKind::Registry, &sealed)
            .map_err(|e| e.to_string())
            .and_then(|plain| {
                serde_json::from_str::<BTreeMap<String, String>>(&plain).map_err(|e| e.to_string())
            }) {
            Ok(attributes) => Answer::Found { attributes },
            Err(e) => Answer::Unavailable {
                reason: format!("本地库记录无法读取：{e}"),
            },
        },
        Err(e) => Answer::Unavailable {
            reason: format!("本地库查询失败：{e}"),
        },
    }
}
