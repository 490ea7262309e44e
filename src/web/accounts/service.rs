//! Account operations shared by the API and the pages: registration, login with
//! throttling, logout, password change, staff administration. Each one writes its audit
//! entry.

use serde::{Deserialize, Serialize};

use crate::auth::{dummy_hash, hash_password, verify_password, IssuedToken, PiiKind, Role};
use crate::db::DbError;
use crate::identity::{self, mask_id_number, mask_phone, IdNumber, Invalid, Mobile, Scale, Uscc};
use crate::store::accounts::{self, AccountRow, CreateError, NewAccount, Taken};
use crate::store::audit::{self, AuditEvent};
use crate::store::throttle;
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiError, FieldError};
use crate::web::validate;
use crate::web::AppState;
use validator::{Validate, ValidationErrors};

#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
pub struct RegisterInput {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub password: Option<String>,
    pub uscc: Option<String>,
    pub legal_representative: Option<String>,
    pub contact_name: Option<String>,
    pub industry: Option<String>,
    pub scale: Option<String>,
}

fn text(v: &Option<String>) -> &str {
    v.as_deref().map(str::trim).unwrap_or("")
}

/// A given, non-blank value, trimmed.
fn given(v: &Option<String>) -> Option<String> {
    Some(text(v).to_owned()).filter(|t| !t.is_empty())
}

/// What a citizen registers with.
#[derive(Validate)]
struct CitizenFields {
    #[validate(
        required(code = "required", message = "请填写姓名"),
        length(max = 100, code = "too_long", message = "名称不能超过 100 个字")
    )]
    name: Option<String>,
    #[validate(
        required(code = "required", message = "请填写身份证号码"),
        custom(function = "validate::id_number")
    )]
    id_number: Option<String>,
    #[validate(
        required(code = "required", message = "请填写手机号码"),
        custom(function = "validate::mobile")
    )]
    phone: Option<String>,
    #[validate(
        required(code = "required", message = "请填写密码"),
        custom(function = "validate::password")
    )]
    password: Option<String>,
}

/// What an enterprise registers with.
#[derive(Validate)]
struct EnterpriseFields {
    #[validate(
        required(code = "required", message = "请填写企业名称"),
        length(max = 100, code = "too_long", message = "名称不能超过 100 个字")
    )]
    name: Option<String>,
    #[validate(
        required(code = "required", message = "请填写统一社会信用代码"),
        custom(function = "validate::uscc")
    )]
    uscc: Option<String>,
    #[validate(
        required(code = "required", message = "请填写法定代表人"),
        length(max = 100, code = "too_long", message = "姓名不能超过 100 个字")
    )]
    legal_representative: Option<String>,
    #[validate(
        required(code = "required", message = "请填写联系人"),
        length(max = 100, code = "too_long", message = "姓名不能超过 100 个字")
    )]
    contact_name: Option<String>,
    #[validate(
        required(code = "required", message = "请填写所属行业"),
        custom(function = "validate::industry")
    )]
    industry: Option<String>,
    #[validate(
        required(code = "required", message = "请填写企业规模"),
        custom(function = "validate::scale")
    )]
    scale: Option<String>,
    #[validate(
        required(code = "required", message = "请填写手机号码"),
        custom(function = "validate::mobile")
    )]
    phone: Option<String>,
    #[validate(
        required(code = "required", message = "请填写密码"),
        custom(function = "validate::password")
    )]
    password: Option<String>,
}

/// A registration's rules depend on its kind: each kind's fields are checked by their own
/// declared rules.
impl Validate for RegisterInput {
    fn validate(&self) -> Result<(), ValidationErrors> {
        match text(&self.kind) {
            "citizen" => CitizenFields {
                name: given(&self.name),
                id_number: given(&self.id_number),
                phone: given(&self.phone),
                password: given(&self.password),
            }
            .validate(),
            "enterprise" => EnterpriseFields {
                name: given(&self.name),
                uscc: given(&self.uscc),
                legal_representative: given(&self.legal_representative),
                contact_name: given(&self.contact_name),
                industry: given(&self.industry),
                scale: given(&self.scale),
                phone: given(&self.phone),
                password: given(&self.password),
            }
            .validate(),
            _ => {
                let mut errors = ValidationErrors::new();
                errors.add(
                    "kind",
                    validate::problem(
                        "invalid_choice",
                        "请选择注册类型：citizen（个人）或 enterprise（企业）",
                    ),
                );
                Err(errors)
            }
        }
    }
}

/// A validated registration converted into the identity types. The only problem left for
/// parsing is one that needs today's date: a birth date in the future.
pub fn validate_registration(
    input: &RegisterInput,
    today: chrono::NaiveDate,
) -> Result<NewAccountPlain, Vec<FieldError>> {
    input.validate().map_err(|e| validate::field_errors(&e))?;
    let one = |field: &str, e: Invalid| vec![FieldError::new(field, e.code, e.message)];
    let value = |v: &Option<String>| text(v).to_owned();
    let mobile = Mobile::parse(text(&input.phone)).map_err(|e| one("phone", e))?;
    let password = value(&input.password);
    Ok(match text(&input.kind) {
        "citizen" => NewAccountPlain::Citizen {
            name: value(&input.name),
            id_number: IdNumber::parse(text(&input.id_number), today).map_err(|e| one("id_number", e))?,
            phone: mobile,
            password,
        },
        _ => NewAccountPlain::Enterprise {
            name: value(&input.name),
            uscc: Uscc::parse(text(&input.uscc)).map_err(|e| one("uscc", e))?,
            legal_representative: value(&input.legal_representative),
            contact_name: value(&input.contact_name),
            industry: identity::parse_industry(text(&input.industry))
                .map_err(|e| one("industry", e))?
                .code
                .clone(),
            scale: Scale::parse(text(&input.scale)).map_err(|e| one("scale", e))?,
            phone: mobile,
            password,
        },
    })
}

/// A checked registration before encryption.
pub enum NewAccountPlain {
    Citizen {
        name: String,
        id_number: IdNumber,
        phone: Mobile,
        password: String,
    },
    Enterprise {
        name: String,
        uscc: Uscc,
        legal_representative: String,
        contact_name: String,
        industry: String,
        scale: Scale,
        phone: Mobile,
        password: String,
    },
}

fn taken_error(t: Taken) -> ApiError {
    let (field, message) = match t {
        Taken::Username => ("username", "该用户名已被使用"),
        Taken::IdNumber => ("id_number", "该身份证号码已注册，请直接登录"),
        Taken::Phone => ("phone", "该手机号码已注册，请直接登录或更换号码"),
        Taken::Uscc => ("uscc", "该统一社会信用代码已注册，请直接登录"),
    };
    ApiError::Conflict(vec![FieldError::new(field, "already_registered", message)])
}

fn create_error(e: CreateError) -> ApiError {
    match e {
        CreateError::Taken(t) => taken_error(t),
        CreateError::Db(e) => ApiError::Internal(e),
    }
}

pub async fn register(
    state: &AppState,
    plain: NewAccountPlain,
    address: String,
) -> Result<(i64, Role), ApiError> {
    let now = state.now();
    let vault = state.vault.clone();
    // Hash on the blocking pool: argon2 is deliberately slow.
    let new = tokio::task::spawn_blocking(move || {
        let base = |kind: &str, role: Role, name: String, password: &str| {
            NewAccount::blank(kind, role, name, hash_password(password), now)
        };
        match plain {
            NewAccountPlain::Citizen {
                name,
                id_number,
                phone,
                password,
            } => NewAccount {
                id_number_enc: Some(vault.encrypt(PiiKind::IdNumber, id_number.as_str())),
                id_number_hash: Some(vault.lookup_hash(PiiKind::IdNumber, id_number.as_str())),
                phone_enc: Some(vault.encrypt(PiiKind::Phone, phone.as_str())),
                phone_hash: Some(vault.lookup_hash(PiiKind::Phone, phone.as_str())),
                ..base("citizen", Role::Citizen, name, &password)
            },
            NewAccountPlain::Enterprise {
                name,
                uscc,
                legal_representative,
                contact_name,
                industry,
                scale,
                phone,
                password,
            } => NewAccount {
                uscc: Some(uscc.as_str().to_owned()),
                legal_representative: Some(legal_representative),
                contact_name: Some(contact_name),
                industry: Some(industry),
                scale: Some(scale.as_str().into()),
                phone_enc: Some(vault.encrypt(PiiKind::Phone, phone.as_str())),
                phone_hash: Some(vault.lookup_hash(PiiKind::Phone, phone.as_str())),
                ..base("enterprise", Role::Enterprise, name, &password)
            },
        }
    })
    .await
    .map_err(|e| ApiError::failed("background task", e))?;
    let role = Role::parse(&new.role).unwrap_or(Role::Citizen);
    let at = state.now();
    let id = state
        .db
        .run(move |c| {
            let id = accounts::create(c, new).map_err(create_error)?;
            audit::record(
                c,
                &AuditEvent {
                    at,
                    actor_id: Some(id),
                    actor: &format!("{}#{id}", role.as_str()),
                    action: "register",
                    target: &format!("account#{id}"),
                    address: &address,
                    outcome: "success",
                    detail: "",
                },
            )?;
            Ok::<_, ApiError>(id)
        })
        .await?;
    tracing::info!(account = id, role = role.as_str(), "account registered");
    Ok((id, role))
}

/// The login name as it may be shown in logs: ID numbers and phones masked.
pub fn safe_login_label(username: &str) -> String {
    let u = username.trim();
    if Mobile::parse(u).is_ok() {
        mask_phone(u)
    } else if u.len() == 18 && u.chars().take(17).all(|c| c.is_ascii_digit()) {
        mask_id_number(u)
    } else if u.chars().filter(char::is_ascii_digit).count() >= 6 {
        // A near miss of an ID number, phone or USCC is still personal data.
        identity::mask_middle(&u.chars().take(40).collect::<String>(), 3, 2)
    } else {
        u.chars().take(40).collect()
    }
}

pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
    address: String,
) -> Result<(IssuedToken, Role), ApiError> {
    let username = username.trim().to_owned();
    let password = password.to_owned();
    if username.is_empty() || password.is_empty() {
        let mut errors = Vec::new();
        if username.is_empty() {
            errors.push(FieldError::new("username", "required", "请填写账号"));
        }
        if password.is_empty() {
            errors.push(FieldError::new("password", "required", "请填写密码"));
        }
        return Err(ApiError::Validation(errors));
    }
    let vault = state.vault.clone();
    let today = state.today();
    let id_hash = IdNumber::parse(&username, today)
        .ok()
        .map(|id| vault.lookup_hash(PiiKind::IdNumber, id.as_str()));
    let phone_hash = Mobile::parse(&username)
        .ok()
        .map(|m| vault.lookup_hash(PiiKind::Phone, m.as_str()));
    let uscc = Uscc::parse(&username).ok().map(|u| u.as_str().to_owned());
    let address_key = format!("addr:{address}");
    let label = safe_login_label(&username);
    let name = username.clone();
    let account = state
        .db
        .run(move |c| {
            accounts::find_for_login(
                c,
                &name,
                id_hash.as_deref(),
                phone_hash.as_deref(),
                uscc.as_deref(),
            )
        })
        .await?;
    // The account's counter is keyed on the account found, however its phone, ID number or
    // USCC was spelled; a name that finds no account counts under its own keyed hash.
    let account_key = match &account {
        Some(a) => format!("acct:{}", a.id),
        None => format!(
            "name:{}",
            vault.lookup_hash(PiiKind::LoginKey, &format!("login:{}", username.to_lowercase()))
        ),
    };
    let (account_locked, address_locked) = {
        let (a, b) = (account_key.clone(), address_key.clone());
        let now = state.now();
        state
            .db
            .run(move |c| {
                Ok::<_, DbError>((
                    throttle::locked_for(c, &a, now)?,
                    throttle::locked_for(c, &b, now)?,
                ))
            })
            .await?
    };
    if let Some(secs) = account_locked {
        audit_event(state, None, &label, "login", &address, "throttled").await?;
        return Err(throttled(secs));
    }
    let stored = account.as_ref().map(|a| a.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || {
        verify_password(&password, stored.as_deref().unwrap_or(dummy_hash()))
    })
    .await
    .map_err(|e| ApiError::failed("background task", e))?;
    let account = account.filter(|_| ok);
    match account {
        Some(a) if !a.disabled && a.role().is_some() => {
            let role = a.role().unwrap_or(Role::Citizen);
            let issued = state.tokens.issue(a.id, role, state.clock.now());
            // A busy address (a load balancer, an office behind one NAT) never keeps out a
            // right password: only the account's own lock does.
            let key = account_key.clone();
            state.db.run(move |c| throttle::reset(c, &key)).await?;
            audit_event(
                state,
                Some(a.id),
                &format!("{}#{}", role.as_str(), a.id),
                "login",
                &address,
                "success",
            )
            .await?;
            Ok((issued, role))
        }
        Some(a) => {
            audit_event(
                state,
                Some(a.id),
                &format!("{}#{}", a.role, a.id),
                "login",
                &address,
                "disabled",
            )
            .await?;
            Err(ApiError::Forbidden("该账号已停用，请联系管理员".into()))
        }
        None => {
            let now = state.now();
            let lock = state
                .db
                .run(move |c| {
                    let a = throttle::record_failure(c, &account_key, throttle::PER_ACCOUNT, now)?;
                    let b = throttle::record_failure(c, &address_key, throttle::PER_ADDRESS, now)?;
                    Ok::<_, DbError>(a.max(b))
                })
                .await?
                .or(address_locked);
            audit_event(state, None, &label, "login", &address, "failure").await?;
            match lock {
                Some(secs) => Err(throttled(secs)),
                None => Err(ApiError::Unauthorized {
                    code: "invalid_credentials",
                    message: "账号或密码错误".into(),
                }),
            }
        }
    }
}

fn throttled(secs: i64) -> ApiError {
    ApiError::TooManyRequests {
        retry_after: secs,
        message: format!("登录失败次数过多，请 {} 分钟后再试", (secs + 59) / 60),
    }
}

pub async fn audit_event(
    state: &AppState,
    actor_id: Option<i64>,
    actor: &str,
    action: &'static str,
    address: &str,
    outcome: &'static str,
) -> Result<(), ApiError> {
    audit_detail(
        state,
        actor_id,
        actor,
        action,
        actor,
        address,
        outcome,
        String::new(),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
pub async fn audit_detail(
    state: &AppState,
    actor_id: Option<i64>,
    actor: &str,
    action: &'static str,
    target: &str,
    address: &str,
    outcome: &'static str,
    detail: String,
) -> Result<(), ApiError> {
    let (actor, target, address) = (actor.to_owned(), target.to_owned(), address.to_owned());
    let at = state.now();
    state
        .db
        .run(move |c| {
            audit::record(
                c,
                &AuditEvent {
                    at,
                    actor_id,
                    actor: &actor,
                    action,
                    target: &target,
                    address: &address,
                    outcome,
                    detail: &detail,
                },
            )
        })
        .await?;
    Ok(())
}

pub async fn logout(state: &AppState, user: &CurrentUser, address: &str) -> Result<(), ApiError> {
    let (jti, exp, now) = (user.jti.clone(), user.expires_at.naive_utc(), state.now());
    state
        .db
        .run(move |c| accounts::revoke_token(c, &jti, exp, now))
        .await?;
    audit_event(state, Some(user.id), &user.label(), "logout", address, "success").await
}

pub async fn change_password(
    state: &AppState,
    user: &CurrentUser,
    current: &str,
    new: &str,
    address: &str,
) -> Result<(), ApiError> {
    if let Err(e) = identity::check_password(new) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "new_password",
            e.code,
            e.message,
        )]));
    }
    let id = user.id;
    let account = state
        .db
        .run(move |c| accounts::get(c, id))
        .await?
        .ok_or_else(|| ApiError::Unauthorized {
            code: "invalid_token",
            message: "账号不存在".into(),
        })?;
    let (current, new) = (current.to_owned(), new.to_owned());
    let stored = account.password_hash.clone();
    let hashed =
        tokio::task::spawn_blocking(move || verify_password(&current, &stored).then(|| hash_password(&new)))
            .await
            .map_err(|e| ApiError::failed("background task", e))?;
    let Some(hash) = hashed else {
        audit_event(
            state,
            Some(user.id),
            &user.label(),
            "password_change",
            address,
            "failure",
        )
        .await?;
        return Err(ApiError::Validation(vec![FieldError::new(
            "current_password",
            "wrong_password",
            "当前密码不正确",
        )]));
    };
    let now = state.now();
    state
        .db
        .run(move |c| accounts::set_password(c, id, &hash, now))
        .await?;
    audit_event(
        state,
        Some(user.id),
        &user.label(),
        "password_change",
        address,
        "success",
    )
    .await
}

#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
pub struct StaffInput {
    pub username: Option<String>,
    pub password: Option<String>,
    pub role: Option<String>,
    pub department: Option<String>,
    pub display_name: Option<String>,
}

/// The fields every staff account needs.
#[derive(Validate)]
struct StaffFields {
    #[validate(
        required(code = "required", message = "请填写用户名"),
        custom(function = "username_format")
    )]
    username: Option<String>,
    #[validate(
        required(code = "required", message = "请填写初始密码"),
        custom(function = "validate::password")
    )]
    password: Option<String>,
    #[validate(custom(function = "staff_role"))]
    role: String,
}

fn username_format(u: &str) -> Result<(), validator::ValidationError> {
    let ok = (3..=32).contains(&u.chars().count())
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
        && u.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if ok {
        Ok(())
    } else {
        Err(validate::problem(
            "invalid_format",
            "用户名为 3–32 位字母、数字、下划线、点或横线，以字母开头",
        ))
    }
}

fn staff_role(r: &str) -> Result<(), validator::ValidationError> {
    match Role::parse(r) {
        Some(r) if r.is_staff() => Ok(()),
        _ => Err(validate::problem(
            "invalid_choice",
            "角色应为 window（综窗）、reviewer（部门审批）、admin（管理员）或 policy_editor（政策编辑）",
        )),
    }
}

/// A department is bound to reviewers and to nobody else.
impl Validate for StaffInput {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let fields = StaffFields {
            username: given(&self.username),
            password: given(&self.password),
            role: text(&self.role).to_owned(),
        };
        let mut errors = fields.validate().err().unwrap_or_default();
        match (Role::parse(&fields.role), given(&self.department)) {
            (Some(Role::Reviewer), None) => errors.add(
                "department",
                validate::problem("required", "部门审批人员必须绑定一个部门"),
            ),
            (Some(r), Some(_)) if r != Role::Reviewer => errors.add(
                "department",
                validate::problem("not_applicable", "只有部门审批人员需要绑定部门"),
            ),
            _ => {}
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

pub async fn create_staff(
    state: &AppState,
    actor: &CurrentUser,
    input: StaffInput,
    address: &str,
) -> Result<i64, ApiError> {
    input
        .validate()
        .map_err(|e| ApiError::Validation(validate::field_errors(&e)))?;
    let username = text(&input.username).to_owned();
    let password = text(&input.password).to_owned();
    let role = Role::parse(text(&input.role))
        .ok_or_else(|| ApiError::failed("staff role", "validated role did not parse"))?;
    let department = given(&input.department);
    if let Some(code) = department.clone() {
        // Whether the department exists is a lookup, not a rule of the request.
        if !state
            .db
            .run(move |c| crate::store::catalogue::department_exists(c, &code))
            .await?
        {
            return Err(ApiError::Validation(vec![FieldError::new(
                "department",
                "unknown_department",
                "部门编码不存在",
            )]));
        }
    }
    let display = Some(text(&input.display_name).to_owned())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| username.clone());
    let id = create_staff_account(state, &username, &display, &password, role, department.clone()).await?;
    audit_detail(
        state,
        Some(actor.id),
        &actor.label(),
        "account_create",
        &format!("{}#{id} {username}", role.as_str()),
        address,
        "success",
        department.map(|d| format!("department={d}")).unwrap_or_default(),
    )
    .await?;
    Ok(id)
}

pub async fn create_staff_account(
    state: &AppState,
    username: &str,
    display: &str,
    password: &str,
    role: Role,
    department: Option<String>,
) -> Result<i64, ApiError> {
    let now = state.now();
    let pw = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .map_err(|e| ApiError::failed("background task", e))?;
    let new = staff_account(username, display, hash, role, department, now);
    state
        .db
        .run(move |c| accounts::create(c, new).map_err(create_error))
        .await
}

pub fn staff_account(
    username: &str,
    display: &str,
    password_hash: String,
    role: Role,
    department: Option<String>,
    now: chrono::NaiveDateTime,
) -> NewAccount {
    NewAccount {
        username: Some(username.to_owned()),
        department_code: department,
        ..NewAccount::blank("staff", role, display.to_owned(), password_hash, now)
    }
}

pub async fn set_disabled(
    state: &AppState,
    actor: &CurrentUser,
    id: i64,
    disabled: bool,
    address: &str,
) -> Result<(), ApiError> {
    if id == actor.id && disabled {
        return Err(ApiError::BadRequest {
            code: "cannot_disable_self",
            message: "不能停用自己的账号".into(),
        });
    }
    let target = state.db.run(move |c| accounts::get(c, id)).await?;
    match target {
        Some(t) if t.kind == "staff" => {}
        _ => return Err(ApiError::NotFound("未找到该工作人员账号".into())),
    }
    let now = state.now();
    state
        .db
        .run(move |c| accounts::set_disabled(c, id, disabled, now))
        .await?;
    let action = if disabled {
        "account_disable"
    } else {
        "account_enable"
    };
    audit_detail(
        state,
        Some(actor.id),
        &actor.label(),
        action,
        &format!("account#{id}"),
        address,
        "success",
        String::new(),
    )
    .await
}

/// What an account looks like to its owner (unmasked) or to others (masked).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    pub id: i64,
    pub kind: String,
    pub role: Role,
    pub role_label: &'static str,
    pub name: String,
    pub username: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub uscc: Option<String>,
    pub legal_representative: Option<String>,
    pub contact_name: Option<String>,
    pub industry: Option<String>,
    pub industry_name: Option<String>,
    pub scale: Option<String>,
    pub department: Option<String>,
    pub disabled: bool,
    #[serde(with = "crate::clock::rfc3339")]
    pub created_at: chrono::NaiveDateTime,
}

impl AccountView {
    pub fn build(state: &AppState, a: &AccountRow, unmasked: bool) -> Self {
        let id_number = a
            .id_number_enc
            .as_deref()
            .map(|e| match state.vault.decrypt(PiiKind::IdNumber, e) {
                Ok(v) if unmasked => v,
                Ok(v) => mask_id_number(&v),
                Err(_) => "（无法解密）".into(),
            });
        let phone = a
            .phone_enc
            .as_deref()
            .map(|e| match state.vault.decrypt(PiiKind::Phone, e) {
                Ok(v) if unmasked => v,
                Ok(v) => mask_phone(&v),
                Err(_) => "（无法解密）".into(),
            });
        let role = a.role().unwrap_or(Role::Citizen);
        Self {
            id: a.id,
            kind: a.kind.clone(),
            role,
            role_label: role.label(),
            name: a.display_name.clone(),
            username: a.username.clone(),
            id_number,
            phone,
            uscc: a.uscc.clone(),
            legal_representative: a.legal_representative.clone(),
            contact_name: a.contact_name.clone(),
            industry_name: a
                .industry
                .as_deref()
                .and_then(|c| identity::industries().get(c))
                .map(|i| i.name.clone()),
            industry: a.industry.clone(),
            scale: a.scale.clone(),
            department: a.department_code.clone(),
            disabled: a.disabled,
            created_at: a.created_at,
        }
    }
}
