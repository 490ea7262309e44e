//! Both migration trees hold the same migrations, and each runs up and down.

use std::collections::BTreeSet;
use std::path::Path;

use onething::db::{dialect, revert_all_migrations, run_migrations, DatabaseTarget};

use crate::helpers::{Backend, TestDatabase};

fn tree(backend: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut names = BTreeSet::new();
    for m in std::fs::read_dir(dir)
        .expect("migrations dir")
        .filter_map(Result::ok)
    {
        for f in ["up.sql", "down.sql"] {
            assert!(m.path().join(f).exists(), "{}/{f} missing", m.path().display());
        }
        names.insert(m.file_name().to_string_lossy().into_owned());
    }
    names
}

#[test]
fn both_backends_have_the_same_migrations() {
    let sqlite = tree("sqlite");
    let postgres = tree("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres differ"
    );
}

fn migrations_run_up_and_down(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = TestDatabase::create(backend, dir.path()) else {
        return;
    };
    let target = DatabaseTarget::parse(db.url.as_deref().expect("url")).expect("url");
    let mut conn = target.connect().expect("connect");
    let applied = run_migrations(&mut conn).expect("up");
    assert_eq!(applied, tree("sqlite").len());
    let tables = dialect::table_count(&mut conn).expect("count");
    assert!(tables >= 8, "tables after up: {tables}");
    revert_all_migrations(&mut conn).expect("down");
    assert_eq!(
        dialect::table_count(&mut conn).expect("count"),
        0,
        "down leaves no table"
    );
    assert_eq!(run_migrations(&mut conn).expect("up again"), applied);
}

#[test]
fn migrations_run_up_and_down_sqlite() {
    migrations_run_up_and_down(Backend::Sqlite);
}

#[test]
fn migrations_run_up_and_down_postgres() {
    migrations_run_up_and_down(Backend::Postgres);
}
