//! Merge + validate + split of one application, per bundle of the shipped catalogue: from
//! scratch (`merge_validate_split`), and with the merged form reused as the server's
//! catalogue snapshot keeps it per answer set (`validate_split_premerged`).
//! `cargo bench --bench forms`

use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion};
use onething::catalogue::load_catalogue;
use onething::form::{self, example::example_data, MaterialLinks};

fn bench(c: &mut Criterion) {
    let cat = load_catalogue(&Path::new(env!("CARGO_MANIFEST_DIR")).join("forms")).expect("catalogue");
    let today = NaiveDate::from_ymd_opt(2026, 11, 27).expect("date");
    let mut group = c.benchmark_group("merge_validate_split");
    let mut premerged = Vec::new();
    for code in [
        "newborn",
        "open-restaurant",
        "second-hand-home-transfer",
        "enterprise-deregistration",
    ] {
        let Some(bundle) = cat.bundles.iter().find(|b| b.code == code) else {
            continue;
        };
        // Every question answered with its first shown option.
        let mut answers = HashMap::new();
        loop {
            let open: Vec<_> = form::visible_questions(bundle, &answers)
                .into_iter()
                .filter(|q| !answers.contains_key(&q.code))
                .map(|q| (q.code.clone(), q.options[0].value.clone()))
                .collect();
            if open.is_empty() {
                break;
            }
            answers.extend(open);
        }
        let merged = form::merge(&cat, bundle, &answers);
        let data = example_data(&cat, &merged, 7, |_| true);
        let links: MaterialLinks = merged
            .materials
            .iter()
            .map(|m| (m.code.clone(), vec![format!("u-{}", m.code)]))
            .collect();
        group.bench_function(code, |b| {
            b.iter(|| {
                let merged = form::merge(&cat, bundle, &answers);
                let clean = form::check_submission(&cat, bundle, &merged, &answers, &data, &links, today)
                    .expect("valid");
                form::split(&cat, &merged, &clean, &links)
            })
        });
        premerged.push((code, bundle, answers, merged, data, links));
    }
    group.finish();
    let mut group = c.benchmark_group("validate_split_premerged");
    for (code, bundle, answers, merged, data, links) in &premerged {
        group.bench_function(*code, |b| {
            b.iter(|| {
                let clean =
                    form::check_submission(&cat, bundle, merged, answers, data, links, today).expect("valid");
                form::split(&cat, merged, &clean, links)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
