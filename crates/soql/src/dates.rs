//! Relative date literals as half-open ranges of days.

use crate::ast::{DateUnit, RelativeDate};
use time::{Date, Month, OffsetDateTime};

/// The date `now` falls on in `tz`.
pub fn local_date(now: OffsetDateTime, tz: &jiff::tz::TimeZone) -> Option<Date> {
    let d = jiff::Timestamp::from_second(now.unix_timestamp()).ok()?.to_zoned(tz.clone()).date();
    Date::from_calendar_date(i32::from(d.year()), Month::try_from(d.month() as u8).ok()?, d.day() as u8).ok()
}

/// The instant `day` begins in `tz`: local midnight (or the first instant
/// after it, where daylight saving skips midnight).
pub fn local_midnight(day: Date, tz: &jiff::tz::TimeZone) -> Option<OffsetDateTime> {
    let civil = jiff::civil::date(i16::try_from(day.year()).ok()?, u8::from(day.month()) as i8, day.day() as i8).to_datetime(jiff::civil::Time::midnight());
    OffsetDateTime::from_unix_timestamp(civil.to_zoned(tz.clone()).ok()?.timestamp().as_second()).ok()
}

/// The earliest and latest days a range may reach. Ranges are clamped to
/// these so every bound formats as a fixed-width 4-digit year (text order =
/// time order) and no arithmetic can overflow.
fn min_day() -> Date {
    Date::from_calendar_date(1, Month::January, 1).unwrap_or(Date::MIN)
}

fn max_day() -> Date {
    Date::from_calendar_date(9999, Month::December, 31).unwrap_or(Date::MAX)
}

fn clamp(d: Option<Date>) -> Date {
    d.map(|d| d.clamp(min_day(), max_day()))
        .unwrap_or(max_day())
}

fn add_days(d: Date, n: i64) -> Date {
    let day = i64::from(d.to_julian_day()).saturating_add(n);
    let day = day.clamp(
        i64::from(min_day().to_julian_day()),
        i64::from(max_day().to_julian_day()),
    );
    clamp(
        i32::try_from(day)
            .ok()
            .and_then(|j| Date::from_julian_day(j).ok()),
    )
}

/// The first day of the month `n` months after the month of `d`.
fn add_months(d: Date, n: i64) -> Date {
    let index = i64::from(d.year()) * 12 + i64::from(u8::from(d.month())) - 1;
    let target = index.saturating_add(n);
    let year = target.div_euclid(12);
    if year < 1 {
        return min_day();
    }
    if year > 9999 {
        return max_day();
    }
    let month = Month::try_from((target.rem_euclid(12) + 1) as u8).unwrap_or(Month::January);
    clamp(Date::from_calendar_date(year as i32, month, 1).ok())
}

/// The first day of the `unit` that holds `today`. Weeks start on Sunday
/// (Salesforce's en_US locale).
fn start_of(today: Date, unit: DateUnit) -> Date {
    match unit {
        DateUnit::Day => today,
        DateUnit::Week => add_days(today, -i64::from(today.weekday().number_days_from_sunday())),
        DateUnit::Month => add_months(today, 0),
        DateUnit::Quarter => add_months(today, -i64::from((u8::from(today.month()) - 1) % 3)),
        DateUnit::Year => add_months(today, -i64::from(u8::from(today.month()) - 1)),
    }
}

/// `start` moved by `n` units (`start` being the first day of a unit).
fn shift(start: Date, unit: DateUnit, n: i64) -> Date {
    match unit {
        DateUnit::Day => add_days(start, n),
        DateUnit::Week => add_days(start, n.saturating_mul(7)),
        DateUnit::Month => add_months(start, n),
        DateUnit::Quarter => add_months(start, n.saturating_mul(3)),
        DateUnit::Year => add_months(start, n.saturating_mul(12)),
    }
}

/// The days a relative literal covers: `[from, until)`.
pub(crate) fn range(r: RelativeDate, today: Date) -> (Date, Date) {
    let today = clamp(Some(today));
    match r {
        RelativeDate::This(u) => {
            let s = start_of(today, u);
            (s, shift(s, u, 1))
        }
        RelativeDate::Last(u) => {
            let s = start_of(today, u);
            (shift(s, u, -1), s)
        }
        RelativeDate::Next(u) => {
            let s = start_of(today, u);
            (shift(s, u, 1), shift(s, u, 2))
        }
        // Salesforce's LAST_N_DAYS:n includes today: n + 1 days in all.
        RelativeDate::LastN(DateUnit::Day, n) => {
            (add_days(today, -i64::from(n)), add_days(today, 1))
        }
        RelativeDate::LastN(u, n) => {
            let s = start_of(today, u);
            (shift(s, u, -i64::from(n)), s)
        }
        RelativeDate::NextN(u, n) => {
            let s = start_of(today, u);
            (shift(s, u, 1), shift(s, u, i64::from(n) + 1))
        }
        RelativeDate::Ago(u, n) => {
            let s = start_of(today, u);
            (shift(s, u, -i64::from(n)), shift(s, u, 1 - i64::from(n)))
        }
    }
}
