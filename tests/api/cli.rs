//! The binary's subcommands as a deployer runs them.

use std::process::Command;

use crate::helpers::repo_forms;
use crate::loader::copy_forms;

fn onething() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onething"));
    c.env_remove("DATABASE_URL").env_remove("ONETHING_FORMS_DIR");
    c
}

#[test]
fn help_lists_the_environment_variables() {
    let out = onething().arg("--help").output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for var in [
        "ONETHING_BIND",
        "ONETHING_DATA_DIR",
        "DATABASE_URL",
        "ONETHING_LOG",
        "MEILI_URL",
        "MEILI_KEY",
    ] {
        assert!(text.contains(var), "--help lacks {var}:\n{text}");
    }
    for cmd in ["serve", "migrate", "check-forms"] {
        assert!(text.contains(cmd), "--help lacks {cmd}");
    }
}

#[test]
fn check_forms_accepts_the_catalogue_and_rejects_a_broken_one() {
    let out = onething()
        .arg("check-forms")
        .arg("--forms-dir")
        .arg(repo_forms())
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("forms OK"));

    let forms = copy_forms();
    let path = forms.path().join("materials").join("zz-broken.toml");
    std::fs::write(&path, "[[material]]\ncode = \"x\"\nname = \"\"\n").expect("write");
    let out = onething()
        .arg("check-forms")
        .arg("--forms-dir")
        .arg(forms.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("zz-broken.toml") && err.contains("missing name"),
        "{err}"
    );
}

#[test]
fn an_unsupported_database_scheme_is_a_start_up_error() {
    let dir = tempfile::tempdir().expect("dir");
    let out = onething()
        .arg("migrate")
        .env("DATABASE_URL", "mysql://root@localhost/x")
        .env("ONETHING_DATA_DIR", dir.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unsupported scheme") && err.contains("mysql"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "nothing created"
    );
}

#[test]
fn migrate_creates_the_sqlite_database_in_the_data_directory() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let out = onething()
        .arg("migrate")
        .env("ONETHING_DATA_DIR", &data)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(data.join("onething.db").exists());
    let again = onething()
        .arg("migrate")
        .env("ONETHING_DATA_DIR", &data)
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&again.stdout).starts_with("0 migration(s)"));
}

#[test]
fn create_admin_makes_a_working_administrator_once() {
    let dir = tempfile::tempdir().expect("dir");
    let run = |password: &str| {
        onething()
            .args(["create-admin", "boss"])
            .env("ONETHING_DATA_DIR", dir.path())
            .env("ONETHING_ADMIN_PASSWORD", password)
            .output()
            .expect("run")
    };
    let weak = run("short");
    assert!(!weak.status.success(), "a weak password is refused");
    let ok = run("Boss2026pass");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("administrator boss created"));
    let again = run("Boss2026pass");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("taken"));
}

/// Runs the real binary with JSON logs at debug level, registers and logs in through HTTP,
/// then reads every log line it wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_never_reaches_the_logs() {
    use crate::helpers::{CITIZEN_ID, CITIZEN_PHONE, PASSWORD};
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("dir");
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut child = onething()
        .env("ONETHING_BIND", "127.0.0.1:0")
        .env("ONETHING_DATA_DIR", dir.path().join("data"))
        .env("ONETHING_FORMS_DIR", repo_forms())
        .env("ONETHING_LOG", "json")
        .env("ONETHING_LOG_LEVEL", "debug")
        .env("ONETHING_WORKERS", "1")
        .stderr(log)
        .spawn()
        .expect("spawn");
    let mut address = None;
    for _ in 0..300 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let f = std::fs::File::open(&log_path).expect("log");
        address = std::io::BufReader::new(f)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
            .find_map(|v| v["fields"]["address"].as_str().map(str::to_owned));
        if address.is_some() {
            break;
        }
    }
    let Some(address) = address else {
        let _ = child.kill();
        panic!(
            "the server did not report its address: {}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
    };
    let client = reqwest::Client::new();
    let body = serde_json::json!({"kind": "citizen", "name": "林晓明", "id_number": CITIZEN_ID, "phone": CITIZEN_PHONE, "password": PASSWORD});
    let r = client
        .post(format!("{address}/api/v1/auth/register"))
        .json(&body)
        .send()
        .await
        .expect("register");
    assert_eq!(r.status().as_u16(), 201);
    for (user, pw) in [
        (CITIZEN_PHONE, "Wrong12345"),
        (CITIZEN_ID, PASSWORD),
        (CITIZEN_PHONE, PASSWORD),
    ] {
        client
            .post(format!("{address}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": user, "password": pw}))
            .send()
            .await
            .expect("login");
    }
    let _ = child.kill();
    let _ = child.wait();
    let logs = std::fs::read_to_string(&log_path).expect("logs");
    assert!(logs.contains("account registered"), "the run was logged");
    for secret in [CITIZEN_ID, CITIZEN_PHONE, &CITIZEN_ID[6..14], PASSWORD] {
        assert!(!logs.contains(secret), "{secret} appears in the logs");
    }
}

#[test]
fn policy_commands_import_all_or_nothing_generate_demo_data_and_reindex() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        onething()
            .arg("--data-dir")
            .arg(&data)
            .arg("--forms-dir")
            .arg(repo_forms())
            .args(["--log-level", "error"])
            .args(args)
            .output()
            .expect("run")
    };
    let header = "key,status,title,issuer,published_on,effective_from,summary,body,benefits\n";
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!("{header}cli-1,published,政策一,长乐区财政局,2026-01-01,2026-01-01,摘要,正文,补助\ncli-2,published,政策二,长乐区财政局,2026-02-30,2026-01-01,摘要,正文,补助\n"),
    )
    .expect("write");
    let out = run(&["import-policies", bad.to_str().expect("path")]);
    assert!(!out.status.success(), "a file with a bad row is refused");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("第 3 行") && err.contains("nothing was imported"),
        "{err}"
    );

    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        format!("{header}cli-1,published,政策一,长乐区财政局,2026-01-01,2026-01-01,摘要,正文,补助\n"),
    )
    .expect("write");
    let out = run(&["import-policies", good.to_str().expect("path")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 inserted"));

    let out = run(&["demo-data", "--policies", "30"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("30 synthetic policies added"));
    let out = run(&["demo-data", "--policies", "30"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("0 synthetic policies added"),
        "demo data is idempotent"
    );
    let out = run(&["reindex"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("policies indexed"));
}

#[test]
fn load_registry_refuses_a_file_with_bad_rows_naming_them_and_loads_a_good_one() {
    let dir = tempfile::tempdir().expect("dir");
    let bad = dir.path().join("household.csv");
    std::fs::write(
        &bad,
        "key,name,gender,birth_date,region,hukou_type\n\
         350112194502030576,林德福,男,1945-02-03,350112,家庭户口\n\
         350112194502030577,林某,男,1945-02-03,350112,家庭户口\n\
         350112193609170208,郑玉兰,女,1936-09-31,350112,家庭户口\n",
    )
    .expect("write");
    let data = dir.path().join("data");
    let run = |file: &std::path::Path| {
        onething()
            .args(["load-registry", "household"])
            .arg(file)
            .arg("--data-dir")
            .arg(&data)
            .arg("--forms-dir")
            .arg(repo_forms())
            .output()
            .expect("run")
    };
    let out = run(&bad);
    assert!(!out.status.success(), "a file with bad rows is refused");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("第 3 行“key”列"),
        "the bad check digit is named: {err}"
    );
    assert!(
        err.contains("第 4 行“birth_date”列"),
        "the impossible date is named: {err}"
    );
    assert!(err.contains("nothing was loaded"), "{err}");
    assert!(
        !err.contains("350112194502030577"),
        "no ID number in the output: {err}"
    );

    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        "key,region,name\n350112194502030576,350112,林德福\n35011219950314042x,350112,林晓燕\n",
    )
    .expect("write");
    let out = run(&good);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 record(s) loaded into 户籍人口信息"));
}
