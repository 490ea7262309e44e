//! The catalogue's runtime copy on both backends: idempotent reloads, versioned changes,
//! retirement, and nothing written when a definition is broken.

use std::path::Path;

use diesel::prelude::*;
use onething::db::schema::{bundles, departments, items};
use onething::db::Db;
use onething::startup::{prepare_database, Application};
use onething::store::catalogue::sync;

use crate::helpers::{repo_forms, test_settings, Backend};
use crate::loader::copy_forms;

fn counts(db: &Db) -> (i64, i64, i64, i64) {
    let mut c = db.get().expect("connection");
    let d: i64 = departments::table.count().get_result(&mut *c).expect("count");
    let i: i64 = items::table.count().get_result(&mut *c).expect("count");
    let b: i64 = bundles::table.count().get_result(&mut *c).expect("count");
    let versions: Option<i64> = items::table
        .select(diesel::dsl::sum(items::version))
        .get_result(&mut *c)
        .expect("sum");
    (d, i, b, versions.unwrap_or(0))
}

fn restarting_twice_writes_nothing(backend: Backend) {
    let Some((settings, _db, _dir)) = test_settings(backend) else {
        return;
    };
    let first = prepare_database(&settings, crate::helpers::fixed_now()).expect("first start");
    let after_first = counts(&first);
    assert!(after_first.1 >= 150, "items loaded: {after_first:?}");
    for round in 2..=3 {
        let db = prepare_database(&settings, crate::helpers::fixed_now()).expect("restart");
        assert_eq!(
            counts(&db),
            after_first,
            "round {round}: rows or versions changed"
        );
        let mut c = db.get().expect("connection");
        let cat = onething::catalogue::load_catalogue(&repo_forms()).expect("forms");
        let report = sync(&mut c, &cat, crate::helpers::fixed_now()).expect("sync");
        assert_eq!(
            report.writes(),
            0,
            "round {round}: unchanged forms wrote {report:?}"
        );
    }
}

#[test]
fn restarting_twice_writes_nothing_sqlite() {
    restarting_twice_writes_nothing(Backend::Sqlite);
}

#[test]
fn restarting_twice_writes_nothing_postgres() {
    restarting_twice_writes_nothing(Backend::Postgres);
}

fn first_file(dir: &Path, sub: &str) -> std::path::PathBuf {
    let mut files: Vec<_> = std::fs::read_dir(dir.join(sub))
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files.into_iter().next().expect("a file")
}

fn changed_and_removed_definitions_are_versioned_and_retired(backend: Backend) {
    let Some((mut settings, _db, _dir)) = test_settings(backend) else {
        return;
    };
    let forms = copy_forms();
    settings.forms_dir = forms.path().to_path_buf();
    let db = prepare_database(&settings, crate::helpers::fixed_now()).expect("first start");

    let item_path = first_file(forms.path(), "items");
    let code = item_path
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("stem")
        .to_owned();
    let text = std::fs::read_to_string(&item_path).expect("read");
    let changed = text.replacen("summary = \"", "summary = \"（已修订）", 1);
    assert_ne!(text, changed);
    std::fs::write(&item_path, changed).expect("write");

    let bundle_path = first_file(forms.path(), "bundles");
    let bundle_code = bundle_path
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("stem")
        .to_owned();
    std::fs::remove_file(&bundle_path).expect("remove");

    let cat = onething::catalogue::load_catalogue(forms.path()).expect("forms");
    let mut c = db.get().expect("connection");
    let report = sync(&mut c, &cat, crate::helpers::fixed_now()).expect("sync");
    assert_eq!(
        (report.inserted, report.updated, report.retired),
        (0, 1, 1),
        "one item changed and one bundle removed: {report:?}"
    );
    let (version, summary_changed): (i32, bool) = items::table
        .find(&code)
        .select((items::version, items::guide.like("%（已修订）%")))
        .first(&mut *c)
        .expect("item");
    assert_eq!(version, 2, "the changed item's version is bumped");
    assert!(summary_changed);
    let active: bool = bundles::table
        .find(&bundle_code)
        .select(bundles::active)
        .first(&mut *c)
        .expect("the removed bundle's row is kept");
    assert!(!active, "the removed bundle is retired");
    let again = sync(&mut c, &cat, crate::helpers::fixed_now()).expect("sync");
    assert_eq!(
        again.writes(),
        0,
        "a second sync of the same files writes nothing"
    );
}

#[test]
fn changed_and_removed_definitions_are_versioned_and_retired_sqlite() {
    changed_and_removed_definitions_are_versioned_and_retired(Backend::Sqlite);
}

#[test]
fn changed_and_removed_definitions_are_versioned_and_retired_postgres() {
    changed_and_removed_definitions_are_versioned_and_retired(Backend::Postgres);
}

fn a_broken_definition_stops_start_up_with_nothing_written(backend: Backend) {
    let Some((mut settings, _db, _dir)) = test_settings(backend) else {
        return;
    };
    let forms = copy_forms();
    let item_path = first_file(forms.path(), "items");
    let text = std::fs::read_to_string(&item_path).expect("read");
    std::fs::write(
        &item_path,
        text.replacen("department = \"", "department = \"nowhere", 1),
    )
    .expect("write");
    settings.forms_dir = forms.path().to_path_buf();
    let err = match Application::build(&settings) {
        Ok(_) => panic!("start-up must fail on a broken definition"),
        Err(e) => format!("{e:#}"),
    };
    let file = item_path.file_name().and_then(|f| f.to_str()).expect("name");
    assert!(err.contains(file) && err.contains("unknown department"), "{err}");
    match backend {
        Backend::Sqlite => assert!(!settings.data_dir.join("onething.db").exists()),
        Backend::Postgres => {
            let url = settings.database_url.as_ref().expect("url").expose().to_owned();
            let mut conn = onething::db::DatabaseTarget::parse(&url)
                .expect("url")
                .connect()
                .expect("connect");
            assert_eq!(onething::db::dialect::table_count(&mut conn).expect("count"), 0);
        }
    }
}

#[test]
fn a_broken_definition_stops_start_up_with_nothing_written_sqlite() {
    a_broken_definition_stops_start_up_with_nothing_written(Backend::Sqlite);
}

#[test]
fn a_broken_definition_stops_start_up_with_nothing_written_postgres() {
    a_broken_definition_stops_start_up_with_nothing_written(Backend::Postgres);
}
