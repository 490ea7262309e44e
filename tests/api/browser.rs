//! End to end in headless Chromium (Debian's chromium and chromium-driver): a citizen and
//! an enterprise each register, answer the situation questions, fill one merged form,
//! upload the materials, review, submit and get a receipt; a walk-in case from the counter
//! to its e-certificate; the rating loop from a 不满意 rating to the dashboard. Skipped
//! with a message where chromedriver is missing, except in CI, where it is required.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::applications::PDF;
use crate::helpers::{spawn_app, spawn_app_on, Backend, TestApp, CITIZEN_PHONE, PASSWORD};

fn chromedriver_path() -> Option<String> {
    let path = std::env::var("ONETHING_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    if std::path::Path::new(&path).exists() {
        return Some(path);
    }
    let required = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !required,
        "CI requires chromedriver at {path} (Debian packages chromium and chromium-driver)"
    );
    eprintln!(
        "SKIPPED browser test: no chromedriver at {path}; install Debian's chromium and chromium-driver"
    );
    None
}

struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A test that fails mid-session leaves Chromium running after chromedriver is gone;
        // its profile folder is this test's own, so it identifies exactly those processes.
        let _ = Command::new("pkill").arg("-f").arg(self._profile.path()).status();
    }
}

async fn start_browser() -> Option<(Driver, Client)> {
    let path = chromedriver_path()?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().expect("profile dir");
    let driver = Driver {
        child,
        port,
        _profile: profile,
    };
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": std::env::var("ONETHING_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=412,915", format!("--user-data-dir={}", driver._profile.path().display())]
        }
    });
    let caps = match caps {
        serde_json::Value::Object(m) => m,
        _ => unreachable!("a JSON object"),
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    for _ in 0..50 {
        let mut builder = ClientBuilder::new(connector.clone());
        builder.capabilities(caps.clone());
        match builder
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
        {
            Ok(c) => return Some((driver, c)),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    panic!("could not open a Chromium session through chromedriver");
}

/// axe-core's source, from `ONETHING_AXE_CORE` or where `.ci/run` installs it
/// (`<target>/axe/node_modules/axe-core/axe.min.js`). Required in CI; elsewhere a journey
/// without it runs without the accessibility checks and says so.
fn axe_source() -> Option<String> {
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .to_path_buf();
    let path = std::env::var("ONETHING_AXE_CORE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| target.join("axe/node_modules/axe-core/axe.min.js"));
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) => {
            let required = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(!required, "CI requires axe-core at {}: {e}", path.display());
            eprintln!(
                "axe-core not found at {}: pages are not checked for accessibility",
                path.display()
            );
            None
        }
    }
}

/// What a journey has seen: each page it looks at is kept as a screenshot under
/// `target/tmp/browser-shots/<journey>/` (a CI artefact) and checked with axe-core
/// (WCAG 2 A/AA and best practices), which must find nothing.
struct Journey {
    dir: std::path::PathBuf,
    axe: Option<String>,
    seen: std::cell::Cell<u32>,
}

impl Journey {
    fn new(name: &str) -> Self {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("browser-shots")
            .join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        Self {
            dir,
            axe: axe_source(),
            seen: std::cell::Cell::new(0),
        }
    }

    /// Looks at the page now shown, at the window's width and again at `width` if given.
    async fn look(&self, c: &Client, name: &str) {
        let n = self.seen.get() + 1;
        self.seen.set(n);
        let png = c.screenshot().await.expect("screenshot");
        std::fs::write(self.dir.join(format!("{n:02}-{name}.png")), png).expect("write screenshot");
        let Some(axe) = &self.axe else { return };
        let script = format!(
            "{axe}\nconst done = arguments[arguments.length - 1];\n\
             axe.run(document, {{ runOnly: ['wcag2a', 'wcag2aa', 'best-practice'] }})\n\
               .then(r => done(r.violations.map(v => v.id + ' (' + v.help + '): ' + \
                 v.nodes.slice(0, 3).map(x => x.target.join(' ')).join(' | '))))\n\
               .catch(e => done(['axe failed: ' + e]));"
        );
        let found = c.execute_async(&script, vec![]).await.expect("axe runs");
        let violations: Vec<String> = serde_json::from_value(found).expect("a list");
        assert!(
            violations.is_empty(),
            "axe-core on {name} ({}):\n{}",
            c.current_url().await.map(|u| u.to_string()).unwrap_or_default(),
            violations.join("\n")
        );
    }

    /// Looks at the page at a desktop width too, then returns to the phone width.
    async fn look_wide(&self, c: &Client, name: &str) {
        self.look(c, name).await;
        c.set_window_size(1366, 900).await.expect("desktop width");
        self.look(c, &format!("{name}-desktop")).await;
        c.set_window_size(412, 915).await.expect("phone width");
    }
}

async fn fill(c: &Client, name: &str, value: &str) {
    let e = c
        .find(Locator::Css(&format!("[name='{name}']")))
        .await
        .unwrap_or_else(|e| panic!("field {name}: {e}"));
    e.clear().await.expect("clear");
    e.send_keys(value).await.expect("type");
}

/// Clicks and, when the click leaves the page, waits until the next page has loaded.
async fn click(c: &Client, css: &str) {
    c.execute("window.__leaving = true;", vec![])
        .await
        .expect("mark page");
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .expect("click");
    for _ in 0..100 {
        let state = c
            .execute(
                "return window.__leaving === true ? 'old' : document.readyState;",
                vec![],
            )
            .await
            .unwrap_or_default();
        if state == "complete" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{css}: the next page did not load");
}

async fn path(c: &Client) -> String {
    c.current_url().await.expect("url").path().to_owned()
}

/// Fills the merged form the way a person would, guided by each field's type.
const FILL_FORM: &str = r#"
for (const div of document.querySelectorAll('#apply-form [data-type]')) {
  const key = div.dataset.key, type = div.dataset.type;
  const input = div.querySelector('input:not([type=radio]):not([type=checkbox]), select');
  if (type === 'address') {
    // The picker starts at 长乐区; the street is written.
    const d = div.querySelector('input[name$=".detail"]'); if (!d.value) d.value = '吴航街道郑和中路99号';
    continue;
  }
  if (type === 'boolean') {
    const box = div.querySelector('input[type=checkbox]'); if (box) { box.checked = true; continue; }
    const yes = div.querySelector('input[type=radio][value=true]'); if (yes) yes.checked = true; continue;
  }
  if (!input || input.value) continue;
  const samples = {
    id_number: key.includes('spouse') || key.includes('father') ? '44030419851231002X' : '110101199003071233',
    uscc: '91350100M000100Y43', mobile: '13800138000', phone: '0591-28921110',
    date: key.includes('end') ? '2026-06-30' : key.includes('birth') ? '1990-03-07' : '2020-03-01', integer: '5', money: '100.00', text: '测试内容'
  };
  if (type === 'enum') { input.selectedIndex = 1; continue; }
  if (type === 'integer' && input.dataset.min) { input.value = input.dataset.min; continue; }
  input.value = samples[type] || '测试内容';
}
"#;

async fn apply(c: &Client, app: &TestApp, bundle: &str, pdf: &std::path::Path, j: &Journey) -> String {
    c.goto(&format!("{}/apply/{bundle}", app.address))
        .await
        .expect("apply");
    // Answer the situation questions until the form appears.
    for _ in 0..6 {
        if path(c).await.ends_with("/form") {
            break;
        }
        let here = path(c).await;
        assert!(
            here.starts_with("/apply/"),
            "{bundle}: expected the questions page, got {here}: {}",
            c.source().await.unwrap_or_default()
        );
        for fieldset in c
            .find_all(Locator::Css("fieldset.question"))
            .await
            .expect("questions")
        {
            let radios = fieldset
                .find_all(Locator::Css("input[type=radio]"))
                .await
                .expect("options");
            let mut answered = false;
            for r in &radios {
                answered |= r
                    .prop("checked")
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|v| v == "true");
            }
            if !answered {
                radios[0].click().await.expect("choose an option");
            }
        }
        j.look(c, &format!("{bundle}-questions")).await;
        click(c, "form[action$='/answers'] button[type=submit]").await;
    }
    assert!(
        path(c).await.ends_with("/form"),
        "{bundle}: reached the merged form"
    );
    let prefilled = c
        .find_all(Locator::Css(".prefilled"))
        .await
        .expect("prefill marks")
        .len();
    assert!(prefilled >= 1, "{bundle}: account data is prefilled and marked");
    j.look(c, &format!("{bundle}-form")).await;
    // Sent empty, the form comes back with a summary of every problem, each a link.
    click(c, "button[value=next]").await;
    let summary = text_of(c, "#error-summary h2").await;
    assert!(summary.contains("处需要修改"), "{bundle}: {summary}");
    let links = c
        .find_all(Locator::Css("#error-summary li a[href^='#']"))
        .await
        .expect("summary links")
        .len();
    assert!(links >= 1, "{bundle}: the summary links to the fields");
    j.look(c, &format!("{bundle}-form-errors")).await;
    if bundle == "newborn" {
        let form = c.source().await.expect("source");
        assert!(
            form.contains("无需填写的信息") && !form.contains("name=\"child_id_number\""),
            "the child's ID number comes from the 出生登记 and is not asked"
        );
        assert!(
            form.contains("通过政务数据共享获取，无需提交"),
            "shared materials are not uploaded"
        );
    }
    c.execute(FILL_FORM, vec![]).await.expect("fill");
    for input in c
        .find_all(Locator::Css("input[type=file][data-required=true]"))
        .await
        .expect("files")
    {
        input
            .send_keys(&pdf.display().to_string())
            .await
            .expect("choose file");
    }
    click(c, "button[value=next]").await;
    let at = path(c).await;
    if !at.ends_with("/review") {
        let errors = c
            .find_all(Locator::Css(".field-error, .alert"))
            .await
            .expect("errors");
        let mut texts = Vec::new();
        for e in errors {
            texts.push(e.text().await.unwrap_or_default());
        }
        panic!("{bundle}: expected the review page, got {at}: {texts:?}");
    }
    let review = c.source().await.expect("source");
    assert!(
        review.contains("将由以下部门并联办理"),
        "{bundle}: the review shows the split"
    );
    j.look(c, &format!("{bundle}-review")).await;
    click(c, "form[action$='/submit'] button[type=submit]").await;
    let at = path(c).await;
    if let Some(receipt) = at.strip_prefix("/staff/cases/") {
        // Filed at the counter: the clerk lands on the case, ready to accept it.
        return receipt.to_owned();
    }
    assert!(at.starts_with("/applications/CL"), "{bundle}: receipt page");
    let receipt = c
        .find(Locator::Id("receipt-no"))
        .await
        .expect("receipt number")
        .text()
        .await
        .expect("text");
    assert!(receipt.len() == 16 && receipt.starts_with("CL"), "{receipt}");
    let page = c.source().await.expect("source");
    assert!(
        page.contains("<svg") && page.contains("接下来会怎样"),
        "{bundle}: QR code and next steps"
    );
    j.look(c, &format!("{bundle}-receipt")).await;
    receipt
}

async fn log_in(c: &Client, app: &TestApp, username: &str, password: &str) {
    c.goto(&format!("{}/login", app.address))
        .await
        .expect("login page");
    fill(c, "username", username).await;
    fill(c, "password", password).await;
    click(c, "form[action='/login'] button[type=submit]").await;
    assert_eq!(path(c).await, "/account", "{username} logged in");
}

async fn log_out(c: &Client, app: &TestApp) {
    c.goto(&format!("{}/account", app.address))
        .await
        .expect("account");
    click(c, "form[action='/logout'] button[type=submit]").await;
}

async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizen_and_enterprise_apply_end_to_end_in_a_browser() {
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await.expect("app");
    let dir = tempfile::tempdir().expect("dir");
    let pdf = dir.path().join("材料.pdf");
    std::fs::write(&pdf, PDF).expect("pdf");
    let j = Journey::new("citizen-and-enterprise");

    // A citizen on a phone opens the portal, registers, applies for the newborn bundle and
    // finds it in "my applications".
    c.goto(&app.address).await.expect("home");
    j.look_wide(&c, "home").await;
    c.goto(&format!("{}/bundles/newborn", app.address))
        .await
        .expect("bundle page");
    j.look(&c, "newborn-bundle").await;
    c.goto(&format!("{}/register?kind=citizen", app.address))
        .await
        .expect("register page");
    j.look(&c, "register").await;
    fill(&c, "name", "林晓明").await;
    fill(&c, "id_number", "110101199003071233").await;
    fill(&c, "phone", "13800138000").await;
    fill(&c, "password", "Secret2026pass").await;
    click(&c, "form[action='/register'] button[type=submit]").await;
    assert_eq!(path(&c).await, "/account", "registered and logged in");
    let receipt = apply(&c, &app, "newborn", &pdf, &j).await;
    c.goto(&format!("{}/applications", app.address))
        .await
        .expect("list");
    assert!(
        c.source().await.expect("source").contains(&receipt),
        "my applications lists the receipt"
    );
    j.look_wide(&c, "my-applications").await;
    c.goto(&format!("{}/account", app.address))
        .await
        .expect("account");
    click(&c, "form[action='/logout'] button[type=submit]").await;

    // An enterprise does the same for opening a restaurant.
    c.goto(&format!("{}/register?kind=enterprise", app.address))
        .await
        .expect("register page");
    fill(&c, "name", "福州长乐海丝餐饮有限公司").await;
    fill(&c, "uscc", "91350100M000100Y43").await;
    fill(&c, "legal_representative", "陈海").await;
    fill(&c, "contact_name", "王芳").await;
    fill(&c, "phone", "13900139000").await;
    c.execute(
        "document.querySelector('#industry').value = '62'; document.querySelector('#scale').value = 'micro';",
        vec![],
    )
    .await
    .expect("selects");
    fill(&c, "password", "Secret2026pass").await;
    click(&c, "form[action='/register'] button[type=submit]").await;
    assert_eq!(path(&c).await, "/account", "enterprise registered");
    let receipt = apply(&c, &app, "open-restaurant", &pdf, &j).await;
    assert!(receipt.starts_with("CL"));
    // The enterprise looks for benefit policies in everyday words.
    c.goto(&format!("{}/policies?q={}", app.address, "餐饮"))
        .await
        .expect("policy search");
    j.look_wide(&c, "policies").await;
    c.close().await.expect("close");
}

/// The staff journey in the browser: a walk-in registered at the counter, accepted, one
/// 补正 round answered by the applicant online after activating the account, parallel
/// department decisions with a result document, e-certificate delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_walk_in_case_goes_from_the_counter_to_an_e_certificate_in_a_browser() {
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await.expect("app");
    let dir = tempfile::tempdir().expect("dir");
    let pdf = dir.path().join("材料.pdf");
    std::fs::write(&pdf, PDF).expect("pdf");
    let password = "Secret2026pass";
    let window = app.staff_token("clerk", onething::auth::Role::Window, None).await;
    let j = Journey::new("window-and-reviewer");

    // The clerk verifies the walk-in, prints the activation code and files the form.
    log_in(&c, &app, "clerk", password).await;
    c.goto(&format!("{}/staff/counter", app.address))
        .await
        .expect("counter");
    j.look(&c, "counter").await;
    fill(&c, "name", "陈阿婆").await;
    fill(&c, "id_number", "11010519491231002X").await;
    fill(&c, "phone", "13512345678").await;
    click(&c, "button[value=start]").await;
    let code = text_of(&c, ".print-slip .code").await;
    assert_eq!(code.len(), 11, "activation code {code}");
    let receipt = apply(&c, &app, "newborn", &pdf, &j).await;
    assert!(receipt.starts_with("CL"), "{receipt}");
    let page = c.source().await.expect("source");
    assert!(
        page.contains("窗口　到现场 1 次"),
        "a counter submission is one trip"
    );
    j.look_wide(&c, "case-submitted").await;
    click(&c, "button[accesskey=a]").await;
    let page = c.source().await.expect("source");
    assert!(
        page.contains("分送 ") && page.contains("个部门办理：") && !page.contains("（health）"),
        "the timeline names the departments in words"
    );
    c.goto(&format!(
        "{}/staff/cases/{receipt}/documents/acceptance",
        app.address
    ))
    .await
    .expect("acceptance notice");
    let notice = c.source().await.expect("source");
    assert!(
        notice.contains("受理通知书") && notice.contains("（印章）") && notice.contains("<svg"),
        "the acceptance notice has its seal line and QR code"
    );
    j.look_wide(&c, "acceptance-notice").await;
    c.goto(&format!("{}/staff/cases", app.address))
        .await
        .expect("queue");
    assert!(
        c.source().await.expect("source").contains(&receipt),
        "the new case is in the default queue"
    );
    j.look_wide(&c, "queue").await;
    c.goto(&format!("{}/staff/cases/{receipt}", app.address))
        .await
        .expect("case");
    c.execute(
        "document.querySelectorAll('details').forEach(d => d.open = true);",
        vec![],
    )
    .await
    .expect("open the parts");
    c.find(Locator::Css("input[name='pick__child_name']"))
        .await
        .expect("the child's name among the fields")
        .click()
        .await
        .expect("tick it");
    fill(&c, "reason__child_name", "与出生医学证明不一致").await;
    c.find(Locator::Css("select[name='department']"))
        .await
        .expect("department list")
        .select_by_value("health")
        .await
        .expect("choose 卫生健康局");
    click(&c, "fieldset.notice-picker ~ button[type=submit]").await;
    assert!(
        c.source().await.expect("source").contains("待补正"),
        "the notice is recorded"
    );
    j.look(&c, "supplement-requested").await;
    log_out(&c, &app).await;

    // The applicant activates the account, reads the notice and corrects online.
    c.goto(&format!("{}/activate", app.address))
        .await
        .expect("activate");
    fill(&c, "login", "11010519491231002X").await;
    fill(&c, "code", &code).await;
    fill(&c, "password", password).await;
    click(&c, "form[action='/activate'] button[type=submit]").await;
    assert!(c.source().await.expect("source").contains("密码已设置"));
    log_in(&c, &app, "11010519491231002X", password).await;
    c.goto(&format!("{}/messages", app.address)).await.expect("inbox");
    assert!(
        c.source().await.expect("source").contains("补正"),
        "the notice reached the inbox"
    );
    j.look(&c, "inbox").await;
    c.goto(&format!("{}/applications/{receipt}", app.address))
        .await
        .expect("receipt");
    j.look(&c, "supplement-form").await;
    fill(&c, "field__child_name", "林小满").await;
    click(&c, "form[action$='/resubmit'] button[type=submit]").await;
    assert!(
        c.current_url()
            .await
            .expect("url")
            .as_str()
            .ends_with("?resubmitted=1"),
        "{}",
        c.source().await.unwrap_or_default()
    );
    log_out(&c, &app).await;

    // Each department decides its own parts; the first attaches the result document.
    let (_, case) = app.get_auth(&format!("/api/v1/cases/{receipt}"), &window).await;
    let mut departments: Vec<String> = case["sub_cases"]
        .as_array()
        .expect("parts")
        .iter()
        .filter_map(|s| s["department"].as_str().map(str::to_owned))
        .collect();
    departments.sort();
    departments.dedup();
    for (n, dept) in departments.iter().enumerate() {
        let name = format!("reviewer{n}");
        app.staff_token(&name, onething::auth::Role::Reviewer, Some(dept))
            .await;
        log_in(&c, &app, &name, password).await;
        for k in 0..10 {
            c.goto(&format!("{}/staff/cases/{receipt}", app.address))
                .await
                .expect("case");
            if c.find(Locator::Css("form[action$='/decide']")).await.is_err() {
                break;
            }
            let page = c.source().await.expect("source");
            assert!(
                page.contains("分送的申请信息") && page.contains("分送的材料"),
                "{dept}: the reviewer sees the part's values beside its materials"
            );
            j.look_wide(&c, &format!("reviewer-{n}")).await;
            c.find(Locator::Css(
                "form[action$='/decide'] input[name='decision'][value='approve']",
            ))
            .await
            .expect("the 同意 choice")
            .click()
            .await
            .expect("choose 同意");
            fill(&c, "opinion", "材料齐全，同意").await;
            // Certificate numbers are unique: each names one certificate.
            fill(&c, "result", &format!("ZS-{dept}-{k}")).await;
            if n == 0 {
                c.find(Locator::Css("form[action$='/decide'] input[type=file]"))
                    .await
                    .expect("file input")
                    .send_keys(&pdf.display().to_string())
                    .await
                    .expect("choose file");
            }
            click(&c, "form[action$='/decide'] button[type=submit]").await;
            let page = c.source().await.expect("source");
            let alert = page
                .split("role=\"alert\">")
                .nth(1)
                .and_then(|t| t.split('<').next())
                .unwrap_or("");
            assert!(page.contains("操作已完成"), "{dept}: decision not saved: {alert}");
        }
        log_out(&c, &app).await;
    }

    // Completed: the clerk delivers by e-certificate; the applicant opens it.
    log_in(&c, &app, "clerk", password).await;
    c.goto(&format!("{}/staff/cases/{receipt}", app.address))
        .await
        .expect("case");
    assert!(
        c.source().await.expect("source").contains("已办结"),
        "every part decided completes the case"
    );
    click(&c, "select[name=method] ~ button[type=submit]").await;
    log_out(&c, &app).await;
    log_in(&c, &app, "11010519491231002X", password).await;
    c.goto(&format!("{}/applications/{receipt}", app.address))
        .await
        .expect("receipt");
    let page = c.source().await.expect("source");
    assert!(page.contains("结果文件"), "the result document is offered");
    j.look(&c, "case-delivered").await;
    click(&c, "a[href*='/certificates/']").await;
    let page = c.source().await.expect("source");
    assert!(
        page.contains("证照编号") && page.contains("ZS-"),
        "the e-certificate shows its number"
    );
    j.look(&c, "certificate").await;
    // Whoever holds the paper follows its verification link (the QR code's address),
    // signed in or not.
    log_out(&c, &app).await;
    c.goto(&format!("{}/applications/{receipt}", app.address))
        .await
        .expect("receipt");
    let verify = page
        .split("href=\"/verify/")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .expect("the certificate links its verification page")
        .to_owned();
    c.goto(&format!("{}/verify/{verify}", app.address))
        .await
        .expect("verify page");
    let shown = c.source().await.expect("source");
    assert!(
        shown.contains("核验通过") && shown.contains("ZS-"),
        "a certificate signed at approval verifies"
    );
    j.look_wide(&c, "verify").await;
    // The issuing department finds the certificate was issued in error and revokes it from
    // the case page; the same verification link then says so, with the reason.
    log_in(&c, &app, "reviewer0", password).await;
    c.goto(&format!("{}/staff/cases/{receipt}", app.address))
        .await
        .expect("case");
    c.find(Locator::Css("details.revoke summary"))
        .await
        .expect("the revoke control of the department's certificate")
        .click()
        .await
        .expect("open");
    fill(&c, "reason", "出生日期登记有误，已重新核发").await;
    click(&c, "details.revoke button[type=submit]").await;
    let page = c.source().await.expect("source");
    assert!(
        page.contains("操作已完成") && page.contains("已失效"),
        "the case page shows the certificate revoked"
    );
    j.look_wide(&c, "certificate-revoked").await;
    log_out(&c, &app).await;
    c.goto(&format!("{}/verify/{verify}", app.address))
        .await
        .expect("verify page");
    let shown = c.source().await.expect("source");
    assert!(
        shown.contains("核验未通过") && shown.contains("出生日期登记有误"),
        "a revoked certificate no longer verifies"
    );
    j.look(&c, "verify-revoked").await;
    let (_, case) = app.get_auth(&format!("/api/v1/cases/{receipt}"), &window).await;
    assert_eq!(
        (case["status"].as_str(), case["trips"].as_i64()),
        (Some("delivered"), Some(1)),
        "one trip: the counter submission"
    );
    c.close().await.expect("close");
}

/// The 好差评 loop in the browser: the applicant rates two finished cases from their
/// receipts, one 不满意; the clerk records the return visit and the outcome of the
/// follow-up it opened; the public dashboard shows the satisfaction rate and its trend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dissatisfied_rating_is_followed_up_and_counted_in_a_browser() {
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await.expect("app");
    let j = Journey::new("ratings-and-dashboard");
    let (_, created) = crate::metrics::submitted_cases(&app, "newborn", 2).await;
    let mut receipts = Vec::new();
    for case in &created {
        crate::metrics::finish_through_the_api(&app, case, "e_certificate").await;
        receipts.push(case["receipt_no"].as_str().expect("receipt").to_owned());
    }

    log_in(&c, &app, CITIZEN_PHONE, PASSWORD).await;
    for (receipt, level, comment) in [
        (&receipts[0], "dissatisfied", "材料要求写得不清楚"),
        (&receipts[1], "very_satisfied", ""),
    ] {
        c.goto(&format!("{}/applications/{receipt}", app.address))
            .await
            .expect("receipt");
        click(&c, &format!("a[href='/applications/{receipt}/rating']")).await;
        j.look(&c, "rating").await;
        c.find(Locator::Css(&format!("input[name=level][value={level}]")))
            .await
            .unwrap_or_else(|e| panic!("level {level}: {e}"))
            .click()
            .await
            .expect("choose level");
        fill(&c, "comment", comment).await;
        click(&c, "form[action$='/rating'] button[type=submit]").await;
        let page = c.source().await.expect("source");
        assert!(page.contains("您已评价"), "{receipt}: rating not saved");
    }
    log_out(&c, &app).await;

    app.staff_token("clerk", onething::auth::Role::Window, None).await;
    log_in(&c, &app, "clerk", PASSWORD).await;
    c.goto(&format!("{}/staff/follow-ups", app.address))
        .await
        .expect("follow-ups");
    let page = c.source().await.expect("source");
    assert!(
        page.contains(&receipts[0]) && !page.contains(&receipts[1]),
        "only the dissatisfied rating opens a follow-up"
    );
    j.look_wide(&c, "follow-ups").await;
    fill(&c, "text", "已电话回访，申请人反映材料清单不清楚").await;
    click(&c, "button[value=visit]").await;
    fill(&c, "text", "已修订材料清单并向申请人说明").await;
    click(&c, "button[value=resolve]").await;
    let page = c.source().await.expect("source");
    assert!(
        page.contains("整改结果：已修订材料清单并向申请人说明"),
        "the outcome is recorded"
    );
    log_out(&c, &app).await;

    c.goto(&format!("{}/dashboard", app.address))
        .await
        .expect("dashboard");
    let page = c.source().await.expect("source");
    assert!(
        page.contains("满意率（好差评）") && page.contains("50.0%") && page.contains("逐月满意率"),
        "one of two ratings is satisfied, shown with its trend"
    );
    j.look_wide(&c, "dashboard").await;
    c.close().await.expect("close");
}

/// Smart approval in the browser: a 90-year-old resident of the district reads the
/// published rules, applies for 老年人优待一件事 on her phone and sees 老年人优待证 and
/// 高龄津贴 decided at once, explained rule by rule, with e-certificates that verify; the
/// services that need a person wait at the window, where the clerk sees the explanation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_senior_gets_her_benefits_decided_at_once_in_a_browser() {
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    // Her age is counted on a fixed business date; she is in the shipped demonstration
    // registries.
    let app = spawn_app_on(Backend::Sqlite, "2026-12-08 10:00")
        .await
        .expect("app");
    let dir = tempfile::tempdir().expect("dir");
    let pdf = dir.path().join("材料.pdf");
    std::fs::write(&pdf, PDF).expect("pdf");
    let j = Journey::new("smart-approval");

    c.goto(&format!("{}/items/MZ-009", app.address))
        .await
        .expect("guide");
    let guide = c.source().await.expect("source");
    assert!(
        guide.contains("智能审批规则") && guide.contains("户籍人口信息") && guide.contains("长乐区"),
        "the guide publishes the rules in words"
    );
    assert!(!guide.contains("350112"), "places are named, not coded");
    j.look_wide(&c, "guide-rules").await;

    c.goto(&format!("{}/register?kind=citizen", app.address))
        .await
        .expect("register page");
    fill(&c, "name", "郑玉兰").await;
    fill(&c, "id_number", "350112193609170208").await;
    fill(&c, "phone", "13800138022").await;
    fill(&c, "password", PASSWORD).await;
    click(&c, "form[action='/register'] button[type=submit]").await;
    assert_eq!(path(&c).await, "/account", "registered and logged in");
    let receipt = apply(&c, &app, "senior-benefits", &pdf, &j).await;

    let page = c.source().await.expect("source");
    assert!(
        page.contains("智能审批"),
        "the receipt explains the automatic decisions"
    );
    assert_eq!(
        page.matches("系统自动核准").count(),
        2,
        "老年人优待证 and 高龄津贴 are approved at once"
    );
    assert!(
        page.contains("转人工审核") || page.contains("办理中"),
        "the rest waits for people"
    );
    c.find(Locator::Css(".smart-decision details summary"))
        .await
        .expect("the explanation")
        .click()
        .await
        .expect("opened");
    j.look_wide(&c, "receipt-explained").await;

    click(&c, "a[href*='/certificates/']").await;
    let certificate = c.source().await.expect("source");
    let verify = certificate
        .split("href=\"/verify/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a verification link")
        .to_owned();
    j.look(&c, "certificate").await;
    c.goto(&format!("{}/verify/{verify}", app.address))
        .await
        .expect("verify page");
    let verdict = c.source().await.expect("source");
    assert!(verdict.contains("有效"), "the automatic certificate verifies");
    j.look(&c, "verify").await;

    log_out(&c, &app).await;
    app.staff_token("clerk", onething::auth::Role::Window, None).await;
    log_in(&c, &app, "clerk", PASSWORD).await;
    c.goto(&format!("{}/staff/cases/{receipt}", app.address))
        .await
        .expect("staff case");
    let staff = c.source().await.expect("source");
    assert!(
        staff.contains("系统自动受理") && staff.contains("智能审批"),
        "the clerk sees that the system accepted and why"
    );
    j.look_wide(&c, "staff-case").await;
    c.close().await.expect("close");
}
