//! The one clock of the application and the one business time zone.
//!
//! Every reading of "now" goes through a [`Clock`] that the application is built with, so
//! tests (and a training instance) can put the whole platform on any day. Business dates —
//! receipt numbers, acceptance, deemed acceptance, working-day counting, KPI days, ratings
//! — are local dates in Asia/Shanghai: China Standard Time, UTC+8, with no daylight saving
//! since 1992, so a fixed offset is exact for every date this platform handles. Times are
//! stored as UTC; [`beijing`] turns one into the local time a person is shown.
//!
//! Plain domain code: std, chrono and serde only.

use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, Utc};

/// Where the application reads the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// The current instant as the naive UTC time the database stores.
    fn now_utc(&self) -> NaiveDateTime {
        self.now().naive_utc()
    }

    /// Today's business date in Beijing.
    fn today(&self) -> NaiveDate {
        beijing_date(self.now_utc())
    }
}

/// The machine's clock: what a server in production uses.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        to_micros(Utc::now())
    }
}

/// Instants to the microsecond: what PostgreSQL stores. SQLite would keep nanoseconds, and a
/// time moved between the two (an export, a restore) must stay the same time.
fn to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    chrono::SubsecRound::trunc_subsecs(at, 6)
}

/// A clock set to a chosen instant that then runs at the real pace (so durations such as
/// token lifetimes and request timings stay realistic), and that can be moved: for tests
/// and for a training instance that must show a given day.
#[derive(Debug)]
pub struct SettableClock {
    /// The instant shown at `since`.
    anchor: Mutex<(DateTime<Utc>, Instant)>,
}

impl SettableClock {
    pub fn at(instant: DateTime<Utc>) -> Self {
        Self {
            anchor: Mutex::new((instant, Instant::now())),
        }
    }

    /// A clock showing `local` Beijing time.
    pub fn at_beijing(local: NaiveDateTime) -> Self {
        Self::at(from_beijing(local).and_utc())
    }

    /// Moves the clock to `instant`; it runs on from there.
    pub fn set(&self, instant: DateTime<Utc>) {
        *self.lock() = (instant, Instant::now());
    }

    /// Moves the clock forward (or back, for a negative duration).
    pub fn advance(&self, by: Duration) {
        let now = self.now();
        self.set(now + by);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (DateTime<Utc>, Instant)> {
        // The guarded value is two plain copies: a panic elsewhere cannot leave it half set.
        self.anchor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for SettableClock {
    fn now(&self) -> DateTime<Utc> {
        let (at, since) = *self.lock();
        to_micros(at + Duration::from_std(since.elapsed()).unwrap_or_default())
    }
}

/// China Standard Time (Asia/Shanghai): UTC+8.
pub fn beijing_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!("+08:00 is a valid offset"))
}

/// The Beijing local time of a stored UTC time.
pub fn beijing(at_utc: NaiveDateTime) -> NaiveDateTime {
    at_utc + Duration::hours(8)
}

/// The UTC time of a Beijing local time.
pub fn from_beijing(local: NaiveDateTime) -> NaiveDateTime {
    local - Duration::hours(8)
}

/// The Beijing business date of a stored UTC time.
pub fn beijing_date(at_utc: NaiveDateTime) -> NaiveDate {
    beijing(at_utc).date()
}

/// The UTC time at which a Beijing date begins.
pub fn day_start_utc(day: NaiveDate) -> NaiveDateTime {
    from_beijing(day.and_time(chrono::NaiveTime::MIN))
}

/// Serde for a stored UTC time as RFC 3339 in Beijing time (`2026-12-07T20:00:00+08:00`):
/// an instant with its offset, as the API documents `date-time`, and the local time a person
/// reads. Reading accepts RFC 3339 with any offset, and the offset-less UTC form that JSON
/// written by earlier versions (stored case logs) holds.
pub mod rfc3339 {
    use chrono::{DateTime, NaiveDateTime, SecondsFormat};
    use serde::{Deserialize, Deserializer, Serializer};

    /// `at_utc` as RFC 3339 in Beijing time.
    pub fn format(at_utc: NaiveDateTime) -> String {
        at_utc
            .and_utc()
            .with_timezone(&super::beijing_offset())
            .to_rfc3339_opts(SecondsFormat::AutoSi, false)
    }

    /// An instant written by [`format`], any RFC 3339 time, or a UTC time without offset.
    pub fn parse(s: &str) -> Result<NaiveDateTime, chrono::ParseError> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.naive_utc())
            .or_else(|_| s.parse::<NaiveDateTime>())
    }

    pub fn serialize<S: Serializer>(at: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }

    /// The same for an optional time (`null` when absent).
    pub mod option {
        use chrono::NaiveDateTime;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(at: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => super::serialize(at, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|s| super::parse(&s).map_err(serde::de::Error::custom))
                .transpose()
        }
    }

    /// The same for the 补正 pauses of a case: (start, end unless still open).
    pub mod pauses {
        use chrono::NaiveDateTime;
        use serde::ser::SerializeSeq;
        use serde::{Deserialize, Deserializer, Serializer};

        type Pause = (NaiveDateTime, Option<NaiveDateTime>);

        pub fn serialize<S: Serializer>(pauses: &[Pause], s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(pauses.len()))?;
            for (from, until) in pauses {
                seq.serialize_element(&(super::format(*from), until.map(super::format)))?;
            }
            seq.end()
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Pause>, D::Error> {
            Vec::<(String, Option<String>)>::deserialize(d)?
                .into_iter()
                .map(|(from, until)| {
                    Ok((
                        super::parse(&from).map_err(serde::de::Error::custom)?,
                        until
                            .map(|u| super::parse(&u).map_err(serde::de::Error::custom))
                            .transpose()?,
                    ))
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_beijing_with_their_offset_and_read_back_in_any_form() {
        let at = t("2026-12-19 16:30:00");
        assert_eq!(rfc3339::format(at), "2026-12-20T00:30:00+08:00");
        assert_eq!(rfc3339::parse("2026-12-20T00:30:00+08:00"), Ok(at));
        assert_eq!(rfc3339::parse("2026-12-19T16:30:00Z"), Ok(at));
        assert_eq!(rfc3339::parse("2026-12-19T16:30:00"), Ok(at), "older stored JSON");
        assert!(rfc3339::parse("2026-12-20 午夜").is_err());
    }

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn early_morning_in_beijing_is_already_the_next_day() {
        // 2026-12-20 00:30 Beijing is 2026-12-19 16:30 UTC.
        assert_eq!(beijing_date(t("2026-12-19 16:30:00")).to_string(), "2026-12-20");
        assert_eq!(beijing_date(t("2026-12-19 15:59:59")).to_string(), "2026-12-19");
        assert_eq!(
            day_start_utc(beijing_date(t("2026-12-19 16:30:00"))),
            t("2026-12-19 16:00:00")
        );
        assert_eq!(beijing(t("2026-12-19 16:30:00")), t("2026-12-20 00:30:00"));
        assert_eq!(from_beijing(t("2026-12-20 00:30:00")), t("2026-12-19 16:30:00"));
    }

    /// Every reading of the time goes through a [`Clock`]: outside this module (and test
    /// code) nothing calls the system time directly.
    #[test]
    fn only_the_system_clock_reads_the_system_time() {
        fn visit(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("source folder").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    visit(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("clock.rs") {
                    let text = std::fs::read_to_string(&path).expect("source file");
                    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                    for (n, line) in code.lines().enumerate() {
                        if ["Utc::now(", "Local::now(", "SystemTime::now("]
                            .iter()
                            .any(|p| line.contains(p))
                        {
                            found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        visit(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(
            found.is_empty(),
            "read the injected clock instead:\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn a_settable_clock_shows_its_day_and_moves() {
        let c = SettableClock::at_beijing(t("2031-06-01 07:59:00"));
        assert_eq!(
            c.today().to_string(),
            "2031-06-01",
            "07:59 Beijing is 23:59 UTC the day before"
        );
        assert_eq!(c.now_utc().date().to_string(), "2031-05-31");
        c.advance(Duration::days(2));
        assert_eq!(c.today().to_string(), "2031-06-03");
        c.set(t("2030-01-01 00:00:00").and_utc());
        assert_eq!(c.today().to_string(), "2030-01-01");
        let before = c.now();
        assert!(c.now() >= before, "the clock runs forward");
    }
}
