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

use futures_util::future::join_all;
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
        let mut all = self.lookup_all(vault, &[(registry, key.to_owned())]).await;
        all.pop().unwrap_or_else(|| {
            let answer = Answer::Unavailable {
                reason: "查询未返回结果".into(),
            };
            Lookup {
                registry,
                key: key.to_owned(),
                key_digest: key_hash(vault, registry, key),
                answer_digest: answer_digest(&answer),
                answer,
                elapsed_ms: 0,
            }
        })
    }

    /// Looks every (registry, key) up, in one database query for the local registries and
    /// all at the same time for the data-exchange platform; one lookup per pair, in order.
    pub async fn lookup_all(&self, vault: &Vault, wanted: &[(Registry, String)]) -> Vec<Lookup> {
        let started = Instant::now();
        let keys: Vec<(Registry, String)> = wanted
            .iter()
            .map(|(r, k)| (*r, k.trim().to_uppercase()))
            .collect();
        let answers = match self {
            Self::Local { db, vault } => local_lookups(db, vault, &keys).await,
            Self::Http(h) => join_all(keys.iter().map(|(r, k)| h.lookup(*r, k))).await,
        };
        let elapsed_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        keys.into_iter()
            .zip(answers)
            .map(|((registry, key), answer)| {
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
            })
            .collect()
    }
}

/// The keyed hash a registry key is stored and audited by.
pub fn key_hash(vault: &Vault, registry: Registry, key: &str) -> String {
    vault.lookup_hash(
        PiiKind::Registry,
        &format!("{}:{}", registry.code(), key.trim().to_uppercase()),
    )
}

async fn local_lookups(db: &Db, vault: &Vault, keys: &[(Registry, String)]) -> Vec<Answer> {
    let wanted: Vec<(String, String)> = keys
        .iter()
        .map(|(r, k)| (r.code().to_owned(), key_hash(vault, *r, k)))
        .collect();
    let query = wanted.clone();
    let found = db
        .run(move |c| crate::store::registries::records(c, &query))
        .await;
    let found = match found {
        Ok(rows) => rows,
        Err(e) => {
            return keys
                .iter()
                .map(|_| Answer::Unavailable {
                    reason: format!("本地库查询失败：{e}"),
                })
                .collect()
        }
    };
    wanted
        .iter()
        .map(|(registry, hash)| {
            let Some((.., sealed)) = found.iter().find(|(r, h, _)| r == registry && h == hash) else {
                return Answer::NotFound;
            };
            match vault
                .decrypt(PiiKind::Registry, sealed)
                .map_err(|e| e.to_string())
                .and_then(|plain| {
                    serde_json::from_str::<BTreeMap<String, String>>(&plain).map_err(|e| e.to_string())
                }) {
                Ok(attributes) => Answer::Found { attributes },
                Err(e) => Answer::Unavailable {
                    reason: format!("本地库记录无法读取：{e}"),
                },
            }
        })
        .collect()
}
