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
