//! Synthetic policy libraries for demonstrations and benchmarks (`onething demo-data
//! --policies N`): realistic policies made by recombining the seed library's titles,
//! paragraphs, benefits, conditions and guides across issuers, regions, industries and
//! dates. Deterministic for a given count, and idempotent by key (`demo-000001`, ...).

use chrono::{Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::seed::SeedEntry;
use super::{regions, PolicyContent, Status};
use crate::identity::{self, Scale};

const LOCAL_BODIES: [&str; 8] = [
    "人民政府",
    "人民政府办公室",
    "财政局",
    "工业和信息化局",
    "人力资源和社会保障局",
    "商务局",
    "科学技术局",
    "市场监督管理局",
];

const PREFIXES: [&str; 8] = [
    "关于进一步",
    "关于印发",
    "关于加快",
    "关于做好",
    "关于支持",
    "关于促进",
    "关于落实",
    "关于深化",
];

fn short_title(title: &str) -> &str {
    title
        .trim_start_matches("关于")
        .trim_end_matches("的通知")
        .trim_end_matches("的公告")
}

/// Makes policy number `i` (1-based) from the seed library.
pub fn make(i: usize, seeds: &[SeedEntry], rng: &mut StdRng) -> (String, Status, PolicyContent) {
    let base = &seeds[i % seeds.len()].content;
    let other = &seeds[rng.gen_range(0..seeds.len())].content;
    let places = regions::all();
    let (code, place) = places[rng.gen_range(0..places.len())];
    let body_name = LOCAL_BODIES[rng.gen_range(0..LOCAL_BODIES.len())];
    let issuer = if code == regions::NATIONWIDE {
        base.issuer.clone()
    } else {
        format!("{place}{body_name}")
    };
    let year = rng.gen_range(2019..=2026);
    let published_on =
        NaiveDate::from_ymd_opt(year, rng.gen_range(1..=12), rng.gen_range(1..=28)).unwrap_or_default();
    let effective_from = published_on + Duration::days(rng.gen_range(0..30));
    let effective_to = match rng.gen_range(0..10) {
        0..=2 => None,
        _ => Some(effective_from + Duration::days(rng.gen_range(180..1800))),
    };
    let apply_deadline = effective_to
        .filter(|_| rng.gen_bool(0.5))
        .map(|to| to - Duration::days(rng.gen_range(0..90)));
    let divisions: Vec<&String> = identity::industries()
        .values()
        .filter(|i| i.level == 2)
        .map(|i| &i.code)
        .collect();
    let industries = match rng.gen_range(0..4) {
        0 => Vec::new(),
        1 => base.industries.clone(),
        _ => {
            let mut v: Vec<String> = (0..rng.gen_range(1..=3))
                .map(|_| divisions[rng.gen_range(0..divisions.len())].clone())
                .collect();
            v.sort();
            v.dedup();
            v
        }
    };
    let mut scales: Vec<Scale> = Scale::ALL.iter().copied().filter(|_| rng.gen_bool(0.5)).collect();
    if scales.len() == Scale::ALL.len() {
        scales.clear();
    }
    let topic = short_title(&base.title);
    let title = format!(
        "{place}{}{topic}的实施细则（{year}年第{}批）",
        PREFIXES[rng.gen_range(0..PREFIXES.len())],
        i % 7 + 1
    );
    let paragraphs: Vec<&str> = base.body.split("\n\n").chain(other.body.split("\n\n")).collect();
    let mut chosen: Vec<&str> = paragraphs
        .choose_multiple(rng, paragraphs.len().min(4))
        .copied()
        .collect();
    chosen.insert(0, "为贯彻落实上级决策部署，结合本地实际，制定本细则。");
    let mut keywords = base.keywords.clone();
    keywords.extend(other.keywords.iter().take(2).cloned());
    keywords.sort();
    keywords.dedup();
    let content = PolicyContent {
        title,
        doc_number: format!(
            "{}〔{year}〕{}号",
            place.chars().take(2).collect::<String>(),
            i % 300 + 1
        ),
        issuer,
        published_on,
        effective_from,
        effective_to,
        apply_deadline,
        summary: base.summary.clone(),
        body: chosen.join("\n\n"),
        benefits: base.benefits.clone(),
        conditions: base.conditions.clone(),
        guide: base.guide.clone(),
        industries,
        excluded_industries: Vec::new(),
        scales,
        regions: vec![code.to_owned()],
        keywords,
        interpretation: format!("{}\n\n{}", base.interpretation, other.summary),
        attachments: base.attachments.clone(),
        no_application: false,
    };
    let status = match rng.gen_range(0..20) {
        0 => Status::Draft,
        1 => Status::Revoked,
        _ => Status::Published,
    };
    (format!("demo-{i:06}"), status, content)
}

/// The first `n` synthetic policies.
pub fn generate(n: usize, seeds: &[SeedEntry]) -> Vec<(String, Status, PolicyContent)> {
    let mut rng = StdRng::seed_from_u64(4754);
    (1..=n).map(|i| make(i, seeds, &mut rng)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_policies_are_valid_deterministic_and_keyed() {
        let seeds = crate::policy::seed::shipped().expect("seed");
        let a = generate(50, &seeds);
        let b = generate(50, &seeds);
        assert_eq!(a.len(), 50);
        for ((ka, sa, ca), (kb, _, cb)) in a.iter().zip(&b) {
            assert_eq!((ka, ca), (kb, cb));
            let again = crate::policy::validate(&crate::policy::PolicyInput::from(ca));
            assert!(again.is_ok(), "{ka} ({sa:?}) is not valid: {again:?}");
        }
        assert_eq!(a[0].0, "demo-000001");
    }
}
