//! Walk-in registration at the window (窗口代为登记): the clerk finds or registers the
//! applicant, then fills the same merged form an applicant fills online, as the applicant's
//! agent; the case's channel is the window. Applicants registered this way set their own
//! password later with a one-time activation code printed for them at the counter.

use chrono::Duration;
use rand::Rng;

use crate::auth::{hash_password, PiiKind, Role};
use crate::db::DbError;
use crate::identity::{check_password, IdNumber, Uscc};
use crate::store::{accounts as account_store, counter as store, throttle};
use crate::web::accounts::service::{self as accounts, NewAccountPlain, RegisterInput};
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiError, FieldError};
use crate::web::AppState;

/// How long a printed activation code stays valid.
pub const ACTIVATION_DAYS: i64 = 7;

/// Who a merged form is being filled for, and through which channel.
pub struct Filer {
    pub applicant: i64,
    pub channel: &'static str,
    /// The applicant's name when a clerk files at the counter on their behalf.
    pub on_behalf_of: Option<String>,
}

/// Applicants file for themselves; a window clerk or administrator files for the applicant
/// of their open counter session. Everyone else may not file.
pub async fn filer(state: &AppState, user: &CurrentUser) -> Result<Filer, ApiError> {
    match user.role {
        Role::Citizen | Role::Enterprise => Ok(Filer {
            applicant: user.id,
            channel: "online",
            on_behalf_of: None,
        }),
        Role::Window | Role::Admin => {
            let clerk = user.id;
            let found = state
                .db
                .run(move |c| {
                    let Some(id) = store::current(c, clerk)? else {
                        return Ok::<_, DbError>(None);
                    };
                    account_store::get(c, id)
                })
                .await?;
            let a = found.ok_or_else(|| {
                ApiError::Forbidden("请先在“窗口代为登记”页面核验申请人身份，再为其填写申请".into())
            })?;
            Ok(Filer {
                applicant: a.id,
                channel: "window",
                on_behalf_of: Some(a.display_name),
            })
        }
        _ => Err(ApiError::Forbidden("只有申请人本人或综窗人员可以填写申请".into())),
    }
}

/// Finds the applicant by ID number or USCC, or registers them with an unguessable
/// password (they set their own with an activation code). True when newly registered.
pub async fn find_or_register(
    state: &AppState,
    mut who: RegisterInput,
    address: String,
) -> Result<(i64, bool), ApiError> {
    let mut secret = [0u8; 18];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
    who.password = Some(format!("C{}9", hex::encode(secret)));
    let plain = accounts::validate_registration(&who, state.today()).map_err(|errors| {
        ApiError::Validation(
            errors
                .into_iter()
                .map(|mut e| {
                    e.field = format!("applicant.{}", e.field);
                    e
                })
                .collect(),
        )
    })?;
    let (id_hash, uscc) = match &plain {
        NewAccountPlain::Citizen { id_number, .. } => (
            Some(state.vault.lookup_hash(PiiKind::IdNumber, id_number.as_str())),
            None,
        ),
        NewAccountPlain::Enterprise { uscc, .. } => (None, Some(uscc.as_str().to_owned())),
    };
    let found = state
        .db
        .run(move |c| account_store::find_for_login(c, "", id_hash.as_deref(), None, uscc.as_deref()))
        .await?;
    match found {
        Some(a)
            if a.role()
                .is_some_and(|r| matches!(r, Role::Citizen | Role::Enterprise)) =>
        {
            Ok((a.id, false))
        }
        Some(_) => Err(ApiError::Validation(vec![FieldError::new(
            "applicant",
            "not_an_applicant",
            "该证件号码属于工作人员账号，不能作为申请人",
        )])),
        None => Ok((accounts::register(state, plain, address).await?.0, true)),
    }
}

/// Opens a counter session for the applicant (ending the clerk's previous one).
pub async fn start(state: &AppState, clerk: &CurrentUser, applicant: i64) -> Result<(), ApiError> {
    let (id, now) = (clerk.id, state.now());
    state.db.run(move |c| store::start(c, id, applicant, now)).await?;
    accounts::audit_event(
        state,
        Some(clerk.id),
        &clerk.label(),
        "counter_start",
        "",
        "success",
    )
    .await
}

pub async fn end(state: &AppState, clerk: &CurrentUser) -> Result<(), ApiError> {
    let id = clerk.id;
    Ok(state.db.run(move |c| store::end(c, id)).await?)
}

fn code_hash(state: &AppState, account: i64, code: &str) -> String {
    let normalized: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    state.vault.lookup_hash(
        PiiKind::ActivationCode,
        &format!("activation:{account}:{normalized}"),
    )
}

/// A new one-time activation code for the account, replacing any earlier one. Only the
/// hash is stored; the code itself is shown once, to be printed for the applicant.
pub async fn issue_activation_code(
    state: &AppState,
    clerk: &CurrentUser,
    account: i64,
) -> Result<String, ApiError> {
    // No 0/O, 1/I/L: the code is read off paper and typed on a phone.
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut rng = rand::rngs::OsRng;
    let raw: String = (0..10)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    let code = format!("{}-{}", &raw[..5], &raw[5..]);
    let hash = code_hash(state, account, &code);
    let expires = state.now() + Duration::days(ACTIVATION_DAYS);
    state
        .db
        .run(move |c| store::set_activation(c, account, &hash, expires))
        .await?;
    accounts::audit_detail(
        state,
        Some(clerk.id),
        &clerk.label(),
        "activation_code",
        &format!("account#{account}"),
        "",
        "success",
        String::new(),
    )
    .await?;
    Ok(code)
}

/// The applicant sets a password with the activation code printed at the counter. The
/// login is the ID number or USCC; failures are throttled like logins.
pub async fn activate(
    state: &AppState,
    login: &str,
    code: &str,
    password: &str,
    address: String,
) -> Result<(), ApiError> {
    let login = login.trim().to_uppercase();
    let mut errors = Vec::new();
    if login.is_empty() {
        errors.push(FieldError::new(
            "login",
            "required",
            "请填写身份证号码或统一社会信用代码",
        ));
    }
    if code.trim().is_empty() {
        errors.push(FieldError::new("code", "required", "请填写激活码"));
    }
    if let Err(e) = check_password(password) {
        errors.push(FieldError::new("password", e.code, e.message));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let key = format!(
        "activate:{}",
        state
            .vault
            .lookup_hash(PiiKind::LoginKey, &format!("activate:{login}"))
    );
    let address_key = format!("addr:{address}");
    let now = state.now();
    let locked = {
        let (a, b) = (key.clone(), address_key.clone());
        state
            .db
            .run(move |c| {
                Ok::<_, DbError>(throttle::locked_for(c, &a, now)?.max(throttle::locked_for(c, &b, now)?))
            })
            .await?
    };
    if let Some(secs) = locked {
        return Err(ApiError::TooManyRequests {
            retry_after: secs,
            message: format!("尝试次数过多，请 {} 分钟后再试", (secs + 59) / 60),
        });
    }
    let today = now.date();
    let id_hash = IdNumber::parse(&login, today)
        .ok()
        .map(|id| state.vault.lookup_hash(PiiKind::IdNumber, id.as_str()));
    let uscc = Uscc::parse(&login).ok().map(|u| u.as_str().to_owned());
    let account = if id_hash.is_some() || uscc.is_some() {
        state
            .db
            .run(move |c| account_store::find_for_login(c, "", id_hash.as_deref(), None, uscc.as_deref()))
            .await?
    } else {
        None
    };
    let used = match &account {
        Some(a) => {
            let (id, hash) = (a.id, code_hash(state, a.id, code));
            state
                .db
                .run(move |c| store::take_activation(c, id, &hash, now))
                .await?
        }
        None => false,
    };
    match account.filter(|_| used) {
        Some(a) => {
            let pw = password.to_owned();
            let hashed = tokio::task::spawn_blocking(move || hash_password(&pw))
                .await
                .map_err(|e| ApiError::failed("background task", e))?;
            let (id, now) = (a.id, state.now());
            state
                .db
                .run(move |c| {
                    account_store::set_password(c, id, &hashed, now)?;
                    throttle::reset(c, &key)
                })
                .await?;
            accounts::audit_event(
                state,
                Some(a.id),
                &format!("{}#{}", a.role, a.id),
                "activate",
                &address,
                "success",
            )
            .await
        }
        None => {
            let lock = state
                .db
                .run(move |c| {
                    let a = throttle::record_failure(c, &key, throttle::PER_ACCOUNT, now)?;
                    let b = throttle::record_failure(c, &address_key, throttle::PER_ADDRESS, now)?;
                    Ok::<_, DbError>(a.max(b))
                })
                .await?;
            accounts::audit_event(state, None, "anonymous", "activate", &address, "failure").await?;
            match lock {
                Some(secs) => Err(ApiError::TooManyRequests {
                    retry_after: secs,
                    message: format!("尝试次数过多，请 {} 分钟后再试", (secs + 59) / 60),
                }),
                None => Err(ApiError::Validation(vec![FieldError::new(
                    "code",
                    "invalid_activation_code",
                    "证件号码与激活码不匹配，或激活码已过期（有效期 7 天），请到窗口重新领取",
                )])),
            }
        }
    }
}
