//! `onething demo-data --cases N`: a year of demonstration cases written through the store.

/// `onething demo-data --cases N`: writes N generated cases with a progress bar.
pub fn cases(settings: &crate::config::Settings, cases: u64, seed: u64) -> anyhow::Result<()> {
    if cases == 0 {
        println!("nothing to generate (use --cases N)");
        return Ok(());
    }
    let db =
        crate::startup::prepare_database(settings, crate::clock::Clock::now_utc(&crate::clock::SystemClock))?;
    let mut conn = db.get()?;
    let bar = indicatif::ProgressBar::new(cases);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} cases {per_sec} eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let keys = crate::auth::Keys::load(settings)?;
    let empty_form = crate::auth::Vault::new(&keys.data).encrypt(crate::auth::PiiKind::FormData, "{}");
    let run = crate::store::demo::DemoRun {
        count: cases,
        seed,
        batch: 2000,
        now: crate::clock::Clock::now_utc(&crate::clock::SystemClock),
        empty_form: &empty_form,
    };
    let written = crate::store::demo::generate_cases(&mut conn, &run, |n| bar.inc(n))?;
    bar.finish();
    println!("{written} demonstration cases written on {}", db.backend().name());
    Ok(())
}
