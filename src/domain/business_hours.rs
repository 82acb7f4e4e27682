//! R27: a queue's business hours: openings of a week and holidays, in the queue's IANA time
//! zone. Instants are Unix milliseconds (UTC); they become local times through the tz database
//! (chrono-tz), so a daylight-saving change moves the hours in UTC the way it does on the wall
//! clock.

use super::input::InvalidInput;
use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone,
    Timelike, Weekday,
};
use chrono_tz::{GapInfo, Tz};
use serde_json::{json, Map, Value};

/// Most openings a week takes.
const MAX_OPENINGS: usize = 50;
/// Most holidays taken.
const MAX_HOLIDAYS: usize = 366;
/// How many local days after the current one `next_change` looks at.
const SEARCH_DAYS: u64 = 14;
/// Minutes in a day: an opening's `close_min` of a full day ("24:00").
const DAY_MINUTES: u16 = 24 * 60;

/// The days as the API writes them, Monday first.
const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

/// One opening of a week: `day` from `open_min` (inclusive) to `close_min` (exclusive), in
/// minutes since local midnight; `close_min` is 1440 ("24:00") for an opening that runs to the
/// end of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opening {
    pub day: Weekday,
    pub open_min: u16,
    pub close_min: u16,
}

/// A queue's business hours (R27). From `parse`: `weekly` sorted by day (Monday first) then
/// opening time, openings of a day apart or touching; `holidays` sorted, each once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    pub timezone: Tz,
    pub weekly: Vec<Opening>,
    /// Local dates on which the queue stays closed all day.
    pub holidays: Vec<NaiveDate>,
}

impl BusinessHours {
    /// Parses and checks the API's JSON: `{"timezone": "Europe/Madrid", "weekly": [{"day":
    /// "mon", "open": "09:00", "close": "17:00"}, ...], "holidays": ["2026-12-25", ...]}`.
    /// `holidays` may be left out; any other key is refused.
    pub fn parse(value: &Value) -> Result<BusinessHours, InvalidInput> {
        let fields = value.as_object().ok_or_else(|| {
            invalid(
                "hours must be an object with `timezone`, `weekly` and `holidays` \
                 (or null: always open)",
            )
        })?;
        refuse_unknown_keys(
            fields,
            "hours",
            "business hours (timezone, weekly, holidays)",
            &["timezone", "weekly", "holidays"],
        )?;
        let timezone = parse_timezone(fields.get("timezone"))?;
        let weekly = parse_weekly(fields.get("weekly"))?;
        let holidays = parse_holidays(fields.get("holidays"))?;
        Ok(BusinessHours {
            timezone,
            weekly,
            holidays,
        })
    }

    /// The same JSON shape back: days `mon`..`sun`, times "HH:MM" (the close of a full day
    /// "24:00"), holidays "YYYY-MM-DD"; `weekly` sorted by day (Monday first) then opening
    /// time, `holidays` sorted, each once.
    pub fn to_json(&self) -> Value {
        let mut weekly = self.weekly.clone();
        weekly.sort_by_key(sort_key);
        let mut holidays = self.holidays.clone();
        holidays.sort_unstable();
        holidays.dedup();
        json!({
            "timezone": self.timezone.name(),
            "weekly": weekly
                .iter()
                .map(|o| json!({
                    "day": day_name(o.day),
                    "open": hhmm(o.open_min),
                    "close": hhmm(o.close_min),
                }))
                .collect::<Vec<_>>(),
            "holidays": holidays
                .iter()
                .map(|d| d.format("%Y-%m-%d").to_string())
                .collect::<Vec<_>>(),
        })
    }

    /// Whether the queue is open at the instant `at_ms` (Unix ms, UTC): its local date (in
    /// `timezone`) is not a holiday and its local weekday and time fall inside an opening.
    /// An instant beyond the calendar's range is closed.
    pub fn is_open(&self, at_ms: i64) -> bool {
        self.local(at_ms).is_some_and(|local| self.open_at(local))
    }

    /// The first instant (Unix ms) after `at_ms` at which `is_open` changes, looking up to the
    /// end of the 14th local day after the one of `at_ms`; None if it does not change in that
    /// span (always open, never open, or holidays longer than that). The live board's "opens
    /// at ...".
    ///
    /// `is_open` can only change where the local time reaches a day's start, an opening or a
    /// closing, or where the time zone's offset changes; all of these are tried, in order. A
    /// local time that happens twice (clocks going back) counts at both instants; one that does
    /// not happen (clocks going forward) counts at the first instant after the gap.
    pub fn next_change(&self, at_ms: i64) -> Option<i64> {
        let open = self.is_open(at_ms);
        let today = self.local(at_ms)?.date();
        let end = self.search_end(today)?;
        let mut candidates = self.offset_changes(at_ms, end)?;
        // From the day before (clocks going back over midnight bring it back) to the midnight
        // that ends the span.
        let mut date = today.pred_opt()?;
        let last = today.checked_add_days(chrono::Days::new(SEARCH_DAYS + 1))?;
        while date <= last {
            for minute in self.boundaries(date.weekday()) {
                let time =
                    NaiveTime::from_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?;
                candidates.extend(self.instants_of(date.and_time(time)));
            }
            date = date.succ_opt()?;
        }
        candidates.retain(|&t| t > at_ms && t <= end);
        candidates.sort_unstable();
        candidates.dedup();
        candidates.into_iter().find(|&t| self.is_open(t) != open)
    }

    /// The local time of an instant; None beyond the calendar's range.
    fn local(&self, at_ms: i64) -> Option<NaiveDateTime> {
        let utc = DateTime::from_timestamp_millis(at_ms)?.naive_utc();
        utc.checked_add_offset(self.timezone.offset_from_utc_datetime(&utc).fix())
    }

    fn open_at(&self, local: NaiveDateTime) -> bool {
        let date = local.date();
        if self.holidays.contains(&date) {
            return false;
        }
        let day = date.weekday();
        // Under 1440: fits in u16.
        let minute = (local.hour() * 60 + local.minute()) as u16;
        self.weekly
            .iter()
            .any(|o| o.day == day && o.open_min <= minute && minute < o.close_min)
    }

    /// The minutes of a day at which `is_open` may change: midnight, openings and closings
    /// (a closing at 24:00 is the next day's midnight).
    fn boundaries(&self, day: Weekday) -> impl Iterator<Item = u16> + '_ {
        std::iter::once(0)
            .chain(
                self.weekly
                    .iter()
                    .filter(move |o| o.day == day)
                    .flat_map(|o| [o.open_min, o.close_min]),
            )
            .filter(|&m| m < DAY_MINUTES)
    }

    /// The instants (Unix ms) at which the local clock shows `local`: one, two when the
    /// clocks go back over it, or the first instant after the gap when they jump over it.
    fn instants_of(&self, local: NaiveDateTime) -> Vec<i64> {
        match self.timezone.from_local_datetime(&local) {
            LocalResult::Single(t) => vec![t.timestamp_millis()],
            LocalResult::Ambiguous(a, b) => vec![a.timestamp_millis(), b.timestamp_millis()],
            LocalResult::None => self.after_gap(local).into_iter().collect(),
        }
    }

    /// The first instant at which the local clock shows `local` or, if it never does, the
    /// first instant after the gap.
    fn first_instant_of(&self, local: NaiveDateTime) -> Option<i64> {
        match self.timezone.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.timestamp_millis()),
            LocalResult::None => self.after_gap(local),
        }
    }

    fn after_gap(&self, local: NaiveDateTime) -> Option<i64> {
        GapInfo::new(&local, &self.timezone)?
            .end
            .map(|t| t.timestamp_millis())
    }

    /// Where `next_change` stops looking: the start of the local day 15 days after `today`.
    fn search_end(&self, today: NaiveDate) -> Option<i64> {
        let day = today.checked_add_days(chrono::Days::new(SEARCH_DAYS + 1))?;
        self.first_instant_of(day.and_time(NaiveTime::MIN))
    }

    /// The instants in `(from_ms, to_ms]` at which the time zone's offset from UTC changes.
    /// The offset is sampled every hour (no zone changes it twice within an hour) and a change
    /// is narrowed down to its second (offsets change on whole seconds).
    fn offset_changes(&self, from_ms: i64, to_ms: i64) -> Option<Vec<i64>> {
        const STEP_SECS: i64 = 3600;
        let offset = |secs: i64| -> Option<i32> {
            let utc = DateTime::from_timestamp(secs, 0)?.naive_utc();
            Some(
                self.timezone
                    .offset_from_utc_datetime(&utc)
                    .fix()
                    .local_minus_utc(),
            )
        };
        let mut changes = Vec::new();
        let last = to_ms.div_euclid(1000);
        let mut a = from_ms.div_euclid(1000);
        let mut offset_a = offset(a)?;
        while a < last {
            let b = (a + STEP_SECS).min(last);
            let offset_b = offset(b)?;
            if offset_b != offset_a {
                let (mut lo, mut hi) = (a, b);
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if offset(mid)? == offset_a {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                changes.push(hi * 1000);
            }
            a = b;
            offset_a = offset_b;
        }
        Some(changes)
    }
}

fn invalid(message: impl Into<String>) -> InvalidInput {
    InvalidInput(message.into())
}

/// A value echoed in a message, cut short when long.
fn shown(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}...")
    }
}

fn refuse_unknown_keys(
    fields: &Map<String, Value>,
    path: &str,
    what: &str,
    known: &[&str],
) -> Result<(), InvalidInput> {
    match fields.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(invalid(format!(
            "{path}.{} is not a field of {what}",
            shown(key)
        ))),
        None => Ok(()),
    }
}

fn parse_timezone(value: Option<&Value>) -> Result<Tz, InvalidInput> {
    let Some(name) = value.and_then(Value::as_str) else {
        return Err(invalid(
            "hours.timezone is required: an IANA time zone name such as `Europe/Madrid` or `UTC`",
        ));
    };
    name.parse::<Tz>().map_err(|_| {
        invalid(format!(
            "hours.timezone `{}` is not an IANA time zone name (such as `Europe/Madrid`, \
             `America/New_York` or `UTC`)",
            shown(name)
        ))
    })
}

fn parse_weekly(value: Option<&Value>) -> Result<Vec<Opening>, InvalidInput> {
    let Some(entries) = value.and_then(Value::as_array) else {
        return Err(invalid(
            "hours.weekly is required: a list of openings such as \
             {\"day\": \"mon\", \"open\": \"09:00\", \"close\": \"17:00\"} \
             (an empty list: closed every day)",
        ));
    };
    if entries.len() > MAX_OPENINGS {
        return Err(invalid(format!(
            "hours.weekly has at most {MAX_OPENINGS} openings, not {}",
            entries.len()
        )));
    }
    let mut weekly = entries
        .iter()
        .enumerate()
        .map(|(i, entry)| parse_opening(i, entry).map(|o| (i, o)))
        .collect::<Result<Vec<_>, _>>()?;
    weekly.sort_by_key(|(_, o)| sort_key(o));
    for pair in weekly.windows(2) {
        let ((i, a), (j, b)) = (pair[0], pair[1]);
        if a.day == b.day && b.open_min < a.close_min {
            let ((i, a), (j, b)) = if i < j {
                ((i, a), (j, b))
            } else {
                ((j, b), (i, a))
            };
            return Err(invalid(format!(
                "hours.weekly[{i}] ({}) and hours.weekly[{j}] ({}) overlap; \
                 openings of a day may touch but not overlap",
                describe(&a),
                describe(&b)
            )));
        }
    }
    Ok(weekly.into_iter().map(|(_, o)| o).collect())
}

fn parse_opening(i: usize, entry: &Value) -> Result<Opening, InvalidInput> {
    let path = format!("hours.weekly[{i}]");
    let fields = entry.as_object().ok_or_else(|| {
        invalid(format!(
            "{path} must be an opening such as {{\"day\": \"mon\", \"open\": \"09:00\", \"close\": \"17:00\"}}"
        ))
    })?;
    refuse_unknown_keys(
        fields,
        &path,
        "an opening (day, open, close)",
        &["day", "open", "close"],
    )?;
    let day = fields
        .get("day")
        .and_then(Value::as_str)
        .and_then(|d| DAYS.iter().find(|(name, _)| *name == d))
        .map(|(_, day)| *day)
        .ok_or_else(|| {
            invalid(format!(
                "{path}.day must be one of `mon`, `tue`, `wed`, `thu`, `fri`, `sat`, `sun`"
            ))
        })?;
    let open_min = fields
        .get("open")
        .and_then(Value::as_str)
        .and_then(minutes)
        .filter(|&m| m < DAY_MINUTES)
        .ok_or_else(|| {
            invalid(format!(
                "{path}.open must be a time \"HH:MM\" from 00:00 to 23:59"
            ))
        })?;
    let close_min = fields
        .get("close")
        .and_then(Value::as_str)
        .and_then(minutes)
        .ok_or_else(|| {
            invalid(format!(
                "{path}.close must be a time \"HH:MM\" from 00:00 to 24:00"
            ))
        })?;
    if close_min == open_min {
        return Err(invalid(format!(
            "{path}.close must be after open (a whole day is 00:00 to 24:00)"
        )));
    }
    if close_min < open_min {
        return Err(invalid(format!(
            "{path}.close must be after open; an overnight shift is two openings: \
             {} {} to 24:00 and {} 00:00 to {}",
            day_name(day),
            hhmm(open_min),
            day_name(day.succ()),
            hhmm(close_min)
        )));
    }
    Ok(Opening {
        day,
        open_min,
        close_min,
    })
}

fn parse_holidays(value: Option<&Value>) -> Result<Vec<NaiveDate>, InvalidInput> {
    let entries = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(entries)) => entries,
        Some(_) => {
            return Err(invalid(
                "hours.holidays must be a list of dates \"YYYY-MM-DD\"",
            ))
        }
    };
    if entries.len() > MAX_HOLIDAYS {
        return Err(invalid(format!(
            "hours.holidays has at most {MAX_HOLIDAYS} dates, not {}",
            entries.len()
        )));
    }
    let mut holidays = entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            entry.as_str().and_then(date).ok_or_else(|| {
                invalid(format!(
                    "hours.holidays[{i}] must be a date \"YYYY-MM-DD\" such as \"2026-12-25\""
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    holidays.sort_unstable();
    holidays.dedup();
    Ok(holidays)
}

/// "HH:MM" (00:00 to 24:00) as minutes since midnight.
fn minutes(text: &str) -> Option<u16> {
    let b = text.as_bytes();
    if b.len() != 5 || b[2] != b':' || ![0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit()) {
        return None;
    }
    let digit = |i: usize| u16::from(b[i] - b'0');
    let (h, m) = (digit(0) * 10 + digit(1), digit(3) * 10 + digit(4));
    (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
}

/// "YYYY-MM-DD", a date of the calendar.
fn date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape {
        return None;
    }
    NaiveDate::from_ymd_opt(
        text[0..4].parse().ok()?,
        text[5..7].parse().ok()?,
        text[8..10].parse().ok()?,
    )
}

fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn day_name(day: Weekday) -> &'static str {
    DAYS[day.num_days_from_monday() as usize].0
}

fn sort_key(o: &Opening) -> (u32, u16, u16) {
    (o.day.num_days_from_monday(), o.open_min, o.close_min)
}

fn describe(o: &Opening) -> String {
    format!(
        "{} {} to {}",
        day_name(o.day),
        hhmm(o.open_min),
        hhmm(o.close_min)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hours(v: Value) -> BusinessHours {
        BusinessHours::parse(&v).unwrap()
    }

    fn error(v: Value) -> String {
        BusinessHours::parse(&v).unwrap_err().0
    }

    /// Unix ms of a UTC time written "YYYY-MM-DDTHH:MM:SS".
    fn utc(text: &str) -> i64 {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
            .unwrap()
            .and_utc()
            .timestamp_millis()
    }

    fn weekdays_9_to_5(timezone: &str) -> BusinessHours {
        let weekly: Vec<Value> = ["mon", "tue", "wed", "thu", "fri"]
            .iter()
            .map(|d| json!({"day": d, "open": "09:00", "close": "17:00"}))
            .collect();
        hours(json!({"timezone": timezone, "weekly": weekly}))
    }

    #[test]
    fn open_inside_a_weekday_window_only() {
        // Wednesday 3 June 2026; Madrid is UTC+2 in summer.
        let h = weekdays_9_to_5("Europe/Madrid");
        assert!(h.is_open(utc("2026-06-03T08:00:00")));
        assert!(h.is_open(utc("2026-06-03T12:30:00")));
        assert!(!h.is_open(utc("2026-06-03T06:59:00")));
        assert!(!h.is_open(utc("2026-06-03T15:00:00")));
        // Saturday.
        assert!(!h.is_open(utc("2026-06-06T10:00:00")));
        assert_eq!(
            h.next_change(utc("2026-06-03T12:30:00")),
            Some(utc("2026-06-03T15:00:00"))
        );
        // Friday evening: Monday morning.
        assert_eq!(
            h.next_change(utc("2026-06-05T16:00:00")),
            Some(utc("2026-06-08T07:00:00"))
        );
    }

    #[test]
    fn the_opening_minute_is_in_and_the_closing_minute_is_out() {
        let h = weekdays_9_to_5("UTC");
        let open = utc("2026-06-03T09:00:00");
        let close = utc("2026-06-03T17:00:00");
        assert!(!h.is_open(open - 1));
        assert!(h.is_open(open));
        assert!(h.is_open(close - 1));
        assert!(!h.is_open(close));
        assert_eq!(h.next_change(open - 1), Some(open));
        assert_eq!(h.next_change(open), Some(close));
        assert_eq!(h.next_change(close - 1), Some(close));
    }

    #[test]
    fn open_until_24_00_runs_to_the_end_of_the_day() {
        let h = hours(json!({"timezone": "UTC", "weekly": [
            {"day": "sat", "open": "20:00", "close": "24:00"},
            {"day": "sun", "open": "00:00", "close": "02:00"},
        ]}));
        // Saturday 6 June 2026.
        assert!(h.is_open(utc("2026-06-06T23:59:59") + 999));
        assert!(h.is_open(utc("2026-06-07T00:00:00")));
        // Two touching openings are one stretch: it closes on Sunday at 02:00.
        assert_eq!(
            h.next_change(utc("2026-06-06T21:00:00")),
            Some(utc("2026-06-07T02:00:00"))
        );
        let saturday_only = hours(json!({"timezone": "UTC", "weekly": [
            {"day": "sat", "open": "20:00", "close": "24:00"},
        ]}));
        assert!(!saturday_only.is_open(utc("2026-06-07T00:00:00")));
        assert_eq!(
            saturday_only.next_change(utc("2026-06-06T21:00:00")),
            Some(utc("2026-06-07T00:00:00"))
        );
    }

    #[test]
    fn the_local_day_is_not_the_utc_day() {
        // Monday 1 June 2026 12:00 UTC is Tuesday 02:00 in Kiritimati (UTC+14) and
        // Monday 01:00 in Pago Pago (UTC-11).
        let at = utc("2026-06-01T12:00:00");
        let tuesday_night = |tz: &str| {
            hours(
                json!({"timezone": tz, "weekly": [{"day": "tue", "open": "00:00", "close": "06:00"}]}),
            )
        };
        let monday_night = |tz: &str| {
            hours(
                json!({"timezone": tz, "weekly": [{"day": "mon", "open": "00:00", "close": "06:00"}]}),
            )
        };
        assert!(tuesday_night("Pacific/Kiritimati").is_open(at));
        assert!(!monday_night("Pacific/Kiritimati").is_open(at));
        assert!(monday_night("Pacific/Pago_Pago").is_open(at));
        assert!(!tuesday_night("Pacific/Pago_Pago").is_open(at));
        assert!(!monday_night("UTC").is_open(at));
        // It closes at 06:00 local: 16:00 UTC the day before in Kiritimati, 17:00 UTC in Pago Pago.
        assert_eq!(
            tuesday_night("Pacific/Kiritimati").next_change(at),
            Some(utc("2026-06-01T16:00:00"))
        );
        assert_eq!(
            monday_night("Pacific/Pago_Pago").next_change(at),
            Some(utc("2026-06-01T17:00:00"))
        );
    }

    #[test]
    fn a_holiday_closes_the_whole_local_day() {
        let always = |tz: &str, holidays: Value| {
            let weekly: Vec<Value> = DAYS
                .iter()
                .map(|(d, _)| json!({"day": d, "open": "00:00", "close": "24:00"}))
                .collect();
            hours(json!({"timezone": tz, "weekly": weekly, "holidays": holidays}))
        };
        // 2 June 2026 in Kiritimati runs from 1 June 10:00 UTC to 2 June 10:00 UTC.
        let h = always("Pacific/Kiritimati", json!(["2026-06-02"]));
        assert!(h.is_open(utc("2026-06-01T09:59:59")));
        assert!(!h.is_open(utc("2026-06-01T10:00:00")));
        assert!(!h.is_open(utc("2026-06-02T09:59:59")));
        assert!(h.is_open(utc("2026-06-02T10:00:00")));
        assert_eq!(
            h.next_change(utc("2026-06-01T00:00:00")),
            Some(utc("2026-06-01T10:00:00"))
        );
        assert_eq!(
            h.next_change(utc("2026-06-01T10:00:00")),
            Some(utc("2026-06-02T10:00:00"))
        );
        // A holiday that starts just as the span ends, and one a day later.
        let h = always("UTC", json!(["2026-06-16"]));
        assert_eq!(
            h.next_change(utc("2026-06-01T12:00:00")),
            Some(utc("2026-06-16T00:00:00"))
        );
        let h = always("UTC", json!(["2026-06-17"]));
        assert_eq!(h.next_change(utc("2026-06-01T12:00:00")), None);
        // Always open, no holiday ahead: it never changes.
        let h = always("Europe/Madrid", json!([]));
        assert_eq!(h.next_change(utc("2026-03-28T12:00:00")), None);
        assert!(h.is_open(utc("2026-03-29T01:30:00")));
        // A weekday window, closed on Christmas (a Friday in 2026).
        let h = hours(json!({"timezone": "Europe/Madrid",
            "weekly": [{"day": "fri", "open": "09:00", "close": "17:00"}],
            "holidays": ["2026-12-25"]}));
        assert!(!h.is_open(utc("2026-12-25T10:00:00")));
        assert!(h.is_open(utc("2026-12-18T10:00:00")));
        assert_eq!(
            h.next_change(utc("2026-12-24T12:00:00")),
            Some(utc("2027-01-01T08:00:00"))
        );
    }

    #[test]
    fn never_open_and_too_far_ahead_give_no_change() {
        let closed = hours(json!({"timezone": "UTC", "weekly": []}));
        assert!(!closed.is_open(utc("2026-06-03T12:00:00")));
        assert_eq!(closed.next_change(utc("2026-06-03T12:00:00")), None);
        // Open on Mondays; the next two are holidays: the third is 20 days away, beyond 14.
        let h = hours(json!({"timezone": "UTC",
            "weekly": [{"day": "mon", "open": "09:00", "close": "17:00"}],
            "holidays": ["2026-06-08", "2026-06-15"]}));
        assert_eq!(h.next_change(utc("2026-06-02T12:00:00")), None);
        // One holiday: 13 days away is found.
        let h = hours(json!({"timezone": "UTC",
            "weekly": [{"day": "mon", "open": "09:00", "close": "17:00"}],
            "holidays": ["2026-06-08"]}));
        assert_eq!(
            h.next_change(utc("2026-06-02T12:00:00")),
            Some(utc("2026-06-15T09:00:00"))
        );
    }

    #[test]
    fn new_york_9_to_5_moves_an_hour_in_utc_with_daylight_saving() {
        let h = weekdays_9_to_5("America/New_York");
        // Clocks go forward on Sunday 8 March 2026: 09:00 is 14:00 UTC on the Friday before,
        // 13:00 UTC on the Monday after.
        let friday = utc("2026-03-06T14:00:00");
        assert!(!h.is_open(friday - 1));
        assert!(h.is_open(friday));
        let monday = utc("2026-03-09T13:00:00");
        assert!(!h.is_open(monday - 1));
        assert!(h.is_open(monday));
        assert_eq!(
            h.next_change(utc("2026-03-06T18:00:00")),
            Some(utc("2026-03-06T22:00:00"))
        );
        assert_eq!(h.next_change(utc("2026-03-06T22:00:00")), Some(monday));
        assert_eq!(h.next_change(monday), Some(utc("2026-03-09T21:00:00")));
        // Clocks go back on Sunday 1 November 2026: 13:00 UTC on the Friday before, 14:00 UTC
        // on the Monday after.
        let friday = utc("2026-10-30T13:00:00");
        assert!(!h.is_open(friday - 1));
        assert!(h.is_open(friday));
        assert_eq!(h.next_change(friday), Some(utc("2026-10-30T21:00:00")));
        assert_eq!(
            h.next_change(utc("2026-10-30T21:00:00")),
            Some(utc("2026-11-02T14:00:00"))
        );
        assert!(!h.is_open(utc("2026-11-02T13:30:00")));
    }

    #[test]
    fn madrid_9_to_5_moves_an_hour_in_utc_with_daylight_saving() {
        let h = weekdays_9_to_5("Europe/Madrid");
        // Forward on Sunday 29 March 2026: 08:00 UTC before, 07:00 UTC after.
        assert_eq!(
            h.next_change(utc("2026-03-26T17:00:00")),
            Some(utc("2026-03-27T08:00:00"))
        );
        assert_eq!(
            h.next_change(utc("2026-03-27T17:00:00")),
            Some(utc("2026-03-30T07:00:00"))
        );
        // Back on Sunday 25 October 2026: 07:00 UTC before, 08:00 UTC after.
        assert_eq!(
            h.next_change(utc("2026-10-22T16:00:00")),
            Some(utc("2026-10-23T07:00:00"))
        );
        assert_eq!(
            h.next_change(utc("2026-10-23T16:00:00")),
            Some(utc("2026-10-26T08:00:00"))
        );
    }

    #[test]
    fn a_boundary_the_clocks_jump_over_falls_at_the_end_of_the_gap() {
        // New York, Sunday 8 March 2026: 02:00 EST becomes 03:00 EDT at 07:00 UTC.
        let sunday = |open: &str, close: &str| {
            hours(json!({"timezone": "America/New_York",
                "weekly": [{"day": "sun", "open": open, "close": close}]}))
        };
        let jump = utc("2026-03-08T07:00:00");
        // Closing inside the gap: it closes when the clocks jump.
        let h = sunday("01:00", "02:30");
        assert!(h.is_open(jump - 1));
        assert!(!h.is_open(jump));
        assert_eq!(h.next_change(utc("2026-03-08T06:30:00")), Some(jump));
        // Opening inside the gap: it opens when the clocks jump.
        let h = sunday("02:30", "05:00");
        assert!(!h.is_open(jump - 1));
        assert!(h.is_open(jump));
        assert_eq!(h.next_change(utc("2026-03-08T05:00:00")), Some(jump));
        assert_eq!(h.next_change(jump), Some(utc("2026-03-08T09:00:00")));
        // Wholly inside the gap: not open that Sunday; the next one opens at 06:30 UTC (EDT).
        let h = sunday("02:00", "02:30");
        assert!(!h.is_open(jump));
        assert_eq!(
            h.next_change(utc("2026-03-08T05:00:00")),
            Some(utc("2026-03-15T06:00:00"))
        );
    }

    #[test]
    fn a_time_the_clocks_go_back_over_counts_twice() {
        // New York, Sunday 1 November 2026: 02:00 EDT becomes 01:00 EST at 06:00 UTC, so
        // 01:00 to 02:00 happens from 05:00 to 06:00 UTC and again from 06:00 to 07:00 UTC.
        let sunday = |open: &str, close: &str| {
            hours(json!({"timezone": "America/New_York",
                "weekly": [{"day": "sun", "open": open, "close": close}]}))
        };
        let h = sunday("01:00", "01:30");
        let mut t = utc("2026-11-01T04:00:00");
        let mut changes = Vec::new();
        while let Some(next) = h.next_change(t) {
            if next > utc("2026-11-01T12:00:00") {
                break;
            }
            changes.push(next);
            t = next;
        }
        assert_eq!(
            changes,
            [
                utc("2026-11-01T05:00:00"),
                utc("2026-11-01T05:30:00"),
                utc("2026-11-01T06:00:00"),
                utc("2026-11-01T06:30:00"),
            ]
        );
        // 00:30 to 01:30: closed at 01:30 EDT, open again when the clocks show 01:00 EST,
        // an instant that is no opening or closing of the day.
        let h = sunday("00:30", "01:30");
        assert!(!h.is_open(utc("2026-11-01T05:45:00")));
        assert_eq!(
            h.next_change(utc("2026-11-01T05:45:00")),
            Some(utc("2026-11-01T06:00:00"))
        );
        assert_eq!(
            h.next_change(utc("2026-11-01T06:00:00")),
            Some(utc("2026-11-01T06:30:00"))
        );
    }

    #[test]
    fn parse_refuses_what_it_does_not_understand() {
        let ok = |weekly: Value| json!({"timezone": "UTC", "weekly": weekly});
        let cases: Vec<(Value, &str)> = vec![
            (json!("09:00-17:00"), "hours must be an object"),
            (json!([]), "hours must be an object"),
            (json!({"weekly": []}), "hours.timezone is required"),
            (json!({"timezone": 1, "weekly": []}), "hours.timezone is required"),
            (
                json!({"timezone": "Europe/Madird", "weekly": []}),
                "hours.timezone `Europe/Madird` is not an IANA time zone name",
            ),
            (
                json!({"timezone": "europe/madrid", "weekly": []}),
                "is not an IANA time zone name",
            ),
            (json!({"timezone": "UTC"}), "hours.weekly is required"),
            (json!({"timezone": "UTC", "weekly": {}}), "hours.weekly is required"),
            (
                json!({"timezone": "UTC", "weekley": []}),
                "hours.weekley is not a field of business hours",
            ),
            (ok(json!(["mon"])), "hours.weekly[0] must be an opening"),
            (
                ok(json!([{"day": "monday", "open": "09:00", "close": "17:00"}])),
                "hours.weekly[0].day must be one of `mon`",
            ),
            (
                ok(json!([{"day": "Mon", "open": "09:00", "close": "17:00"}])),
                "hours.weekly[0].day must be one of",
            ),
            (
                ok(json!([{"open": "09:00", "close": "17:00"}])),
                "hours.weekly[0].day must be one of",
            ),
            (
                ok(json!([{"day": "mon", "open": "25:00", "close": "26:00"}])),
                "hours.weekly[0].open must be a time \"HH:MM\" from 00:00 to 23:59",
            ),
            (
                ok(json!([{"day": "mon", "open": "24:00", "close": "24:00"}])),
                "hours.weekly[0].open must be a time",
            ),
            (
                ok(json!([{"day": "mon", "open": "9:00", "close": "17:00"}])),
                "hours.weekly[0].open must be a time",
            ),
            (
                ok(json!([{"day": "mon", "open": "09:00", "close": "17:60"}])),
                "hours.weekly[0].close must be a time \"HH:MM\" from 00:00 to 24:00",
            ),
            (
                ok(json!([{"day": "mon", "open": "09:00", "close": "24:01"}])),
                "hours.weekly[0].close must be a time",
            ),
            (
                ok(json!([{"day": "mon", "open": "09:00"}])),
                "hours.weekly[0].close must be a time",
            ),
            (
                ok(json!([{"day": "mon", "open": "09:00", "close": "09:00"}])),
                "hours.weekly[0].close must be after open",
            ),
            (
                ok(json!([
                    {"day": "mon", "open": "09:00", "close": "17:00"},
                    {"day": "fri", "open": "22:00", "close": "06:00"},
                ])),
                "hours.weekly[1].close must be after open; an overnight shift is two openings: \
                 fri 22:00 to 24:00 and sat 00:00 to 06:00",
            ),
            (
                ok(json!([{"day": "sun", "open": "22:00", "close": "02:00"}])),
                "sun 22:00 to 24:00 and mon 00:00 to 02:00",
            ),
            (
                ok(json!([
                    {"day": "mon", "open": "12:00", "close": "18:00"},
                    {"day": "tue", "open": "09:00", "close": "13:00"},
                    {"day": "mon", "open": "09:00", "close": "13:00"},
                ])),
                "hours.weekly[0] (mon 12:00 to 18:00) and hours.weekly[2] (mon 09:00 to 13:00) overlap",
            ),
            (
                ok(json!([
                    {"day": "wed", "open": "09:00", "close": "17:00"},
                    {"day": "wed", "open": "10:00", "close": "11:00"},
                ])),
                "hours.weekly[0] (wed 09:00 to 17:00) and hours.weekly[1] (wed 10:00 to 11:00) overlap",
            ),
            (
                ok(json!([{"day": "mon", "open": "09:00", "close": "17:00", "closed": true}])),
                "hours.weekly[0].closed is not a field of an opening (day, open, close)",
            ),
            (
                json!({"timezone": "UTC", "weekly": [], "holidays": "2026-12-25"}),
                "hours.holidays must be a list of dates",
            ),
            (
                json!({"timezone": "UTC", "weekly": [], "holidays": ["2026-12-25", "2026-02-30"]}),
                "hours.holidays[1] must be a date \"YYYY-MM-DD\"",
            ),
            (
                json!({"timezone": "UTC", "weekly": [], "holidays": ["25/12/2026"]}),
                "hours.holidays[0] must be a date",
            ),
            (
                json!({"timezone": "UTC", "weekly": [], "holidays": ["2026-1-5"]}),
                "hours.holidays[0] must be a date",
            ),
            (
                json!({"timezone": "UTC", "weekly": [], "holidays": [20261225]}),
                "hours.holidays[0] must be a date",
            ),
        ];
        for (input, expected) in cases {
            let message = error(input.clone());
            assert!(
                message.contains(expected),
                "{input}: {message:?} should contain {expected:?}"
            );
        }
        let many: Vec<Value> = (0..51)
            .map(|i| json!({"day": "mon", "open": hhmm(i * 20), "close": hhmm(i * 20 + 10)}))
            .collect();
        assert_eq!(
            error(ok(json!(many))),
            "hours.weekly has at most 50 openings, not 51"
        );
        let fifty = &many[..50];
        assert_eq!(hours(ok(json!(fifty))).weekly.len(), 50);
        let days: Vec<String> = (0..367)
            .map(|i| {
                (NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(i)).to_string()
            })
            .collect();
        assert_eq!(
            error(json!({"timezone": "UTC", "weekly": [], "holidays": days})),
            "hours.holidays has at most 366 dates, not 367"
        );
        // A long unknown value is cut short in the message.
        let long = "x".repeat(5000);
        assert!(error(json!({"timezone": long, "weekly": []})).len() < 200);
    }

    #[test]
    fn parse_takes_what_the_rule_allows() {
        let h = hours(json!({"timezone": "UTC", "weekly": []}));
        assert_eq!(h.timezone, Tz::UTC);
        assert!(h.weekly.is_empty() && h.holidays.is_empty());
        let h = hours(json!({"timezone": "America/New_York", "weekly": [], "holidays": null}));
        assert_eq!(h.timezone, Tz::America__New_York);
        // Touching openings, "24:00", an overnight shift as two openings.
        let h = hours(json!({"timezone": "Asia/Kathmandu", "weekly": [
            {"day": "mon", "open": "22:00", "close": "24:00"},
            {"day": "tue", "open": "00:00", "close": "06:00"},
            {"day": "mon", "open": "09:00", "close": "13:00"},
            {"day": "mon", "open": "13:00", "close": "17:00"},
        ]}));
        assert_eq!(
            h.weekly,
            [
                Opening {
                    day: Weekday::Mon,
                    open_min: 540,
                    close_min: 780
                },
                Opening {
                    day: Weekday::Mon,
                    open_min: 780,
                    close_min: 1020
                },
                Opening {
                    day: Weekday::Mon,
                    open_min: 1320,
                    close_min: 1440
                },
                Opening {
                    day: Weekday::Tue,
                    open_min: 0,
                    close_min: 360
                },
            ]
        );
    }

    #[test]
    fn to_json_sorts_deduplicates_and_reads_back() {
        let h = BusinessHours {
            timezone: Tz::Europe__Madrid,
            weekly: vec![
                Opening {
                    day: Weekday::Sun,
                    open_min: 600,
                    close_min: 1440,
                },
                Opening {
                    day: Weekday::Mon,
                    open_min: 840,
                    close_min: 1080,
                },
                Opening {
                    day: Weekday::Mon,
                    open_min: 540,
                    close_min: 780,
                },
            ],
            holidays: vec![
                NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(),
                NaiveDate::from_ymd_opt(2026, 1, 6).unwrap(),
                NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(),
            ],
        };
        let v = h.to_json();
        assert_eq!(
            v,
            json!({
                "timezone": "Europe/Madrid",
                "weekly": [
                    {"day": "mon", "open": "09:00", "close": "13:00"},
                    {"day": "mon", "open": "14:00", "close": "18:00"},
                    {"day": "sun", "open": "10:00", "close": "24:00"},
                ],
                "holidays": ["2026-01-06", "2026-12-25"],
            })
        );
        let back = BusinessHours::parse(&v).unwrap();
        assert_eq!(back.to_json(), v);
        assert_eq!(back.weekly[0].open_min, 540);
        assert_eq!(back.holidays.len(), 2);
    }

    /// Valid hours: per day, openings between sorted distinct points (some touching), in any
    /// order; holidays around `base` (some repeated); any time zone of the database.
    fn arb_hours(base: NaiveDate, zones: &'static [Tz]) -> impl Strategy<Value = BusinessHours> {
        let point = prop_oneof![
            Just(0u16),
            Just(60),
            Just(90),
            Just(120),
            Just(150),
            Just(180),
            Just(1380),
            Just(1440),
            0u16..=1440,
        ];
        let day = (
            proptest::collection::btree_set(point, 0..6),
            proptest::collection::vec(any::<bool>(), 6),
        );
        let week = proptest::collection::vec(day, 7);
        let holidays = proptest::collection::vec(-2i64..20, 0..4);
        let timezone = proptest::sample::select(zones);
        (timezone, week, holidays)
            .prop_flat_map(move |(timezone, week, offsets)| {
                let mut weekly = Vec::new();
                for (d, (points, keep)) in week.into_iter().enumerate() {
                    let points: Vec<u16> = points.into_iter().collect();
                    for (i, pair) in points.windows(2).enumerate() {
                        if keep[i] {
                            weekly.push(Opening {
                                day: DAYS[d].1,
                                open_min: pair[0],
                                close_min: pair[1],
                            });
                        }
                    }
                }
                let mut holidays: Vec<NaiveDate> = offsets
                    .into_iter()
                    .map(|o| base + chrono::TimeDelta::days(o))
                    .collect();
                if let Some(&first) = holidays.first() {
                    holidays.push(first);
                }
                (Just(timezone), Just(weekly).prop_shuffle(), Just(holidays))
            })
            .prop_map(|(timezone, weekly, holidays)| BusinessHours {
                timezone,
                weekly,
                holidays,
            })
    }

    /// An instant and hours with holidays near it, in any zone of the database.
    fn arb_case(from_ms: i64, to_ms: i64) -> impl Strategy<Value = (i64, BusinessHours)> {
        arb_case_in(&chrono_tz::TZ_VARIANTS[..], from_ms..to_ms)
    }

    fn arb_case_in(
        zones: &'static [Tz],
        instants: impl Strategy<Value = i64>,
    ) -> impl Strategy<Value = (i64, BusinessHours)> {
        instants.prop_flat_map(move |t| {
            let base = DateTime::from_timestamp_millis(t).unwrap().date_naive();
            (Just(t), arb_hours(base, zones))
        })
    }

    /// Zones whose clocks change in March-April or September-November 2026, some by half an
    /// hour (Lord Howe), some at midnight (Santiago, Havana, Asuncion), one by two hours (Troll).
    const CHANGING_ZONES: &[Tz] = &[
        Tz::America__New_York,
        Tz::Europe__Madrid,
        Tz::Europe__London,
        Tz::Australia__Lord_Howe,
        Tz::Australia__Sydney,
        Tz::Pacific__Chatham,
        Tz::America__Santiago,
        Tz::America__Havana,
        Tz::America__Asuncion,
        Tz::America__St_Johns,
        Tz::Antarctica__Troll,
        Tz::Pacific__Norfolk,
    ];

    /// Instants of those months, around the changes.
    fn around_changes() -> impl Strategy<Value = i64> {
        prop_oneof![
            utc("2026-03-01T00:00:00")..utc("2026-04-15T00:00:00"),
            utc("2026-09-01T00:00:00")..utc("2026-11-10T00:00:00"),
        ]
    }

    fn sorted(h: &BusinessHours) -> BusinessHours {
        let mut h = h.clone();
        h.weekly.sort_by_key(sort_key);
        h.holidays.sort_unstable();
        h.holidays.dedup();
        h
    }

    const YEAR_1900: i64 = -2_208_988_800_000;
    const YEAR_1975: i64 = 157_766_400_000;
    const YEAR_2080: i64 = 3_471_292_800_000;
    const YEAR_2100: i64 = 4_102_444_800_000;

    proptest! {
        /// What `to_json` writes, `parse` reads back the same.
        #[test]
        fn to_json_then_parse_is_the_same_hours((_, h) in arb_case(YEAR_1900, YEAR_2100)) {
            let back = BusinessHours::parse(&h.to_json()).unwrap();
            prop_assert_eq!(&back, &sorted(&h));
            prop_assert_eq!(back.to_json(), h.to_json());
        }

        /// Between an instant and its next change, `is_open` holds; at the change it flips.
        #[test]
        fn is_open_holds_until_next_change_and_flips_there(
            (t, h) in arb_case(YEAR_1900, YEAR_2100),
            samples in proptest::collection::vec(0.0f64..1.0, 8),
        ) {
            let open = h.is_open(t);
            let today = h.local(t).unwrap().date();
            let end = h.search_end(today).unwrap();
            match h.next_change(t) {
                Some(next) => {
                    prop_assert!(next > t && next <= end);
                    prop_assert_ne!(h.is_open(next), open);
                    prop_assert_eq!(h.is_open(next - 1), open);
                    for s in samples {
                        let u = t + ((next - t) as f64 * s) as i64;
                        prop_assert_eq!(h.is_open(u.min(next - 1)), open, "at {}", u);
                    }
                }
                None => {
                    for s in samples {
                        let u = t + ((end - t) as f64 * s) as i64;
                        prop_assert_eq!(h.is_open(u), open, "at {}", u);
                    }
                }
            }
        }

        /// Any instant, any zone, even at the ends of the calendar: an answer, never a panic.
        #[test]
        fn any_instant_is_answered(
            raw in any::<i64>(),
            near in 0i64..40 * 86_400_000,
            edge in 0u8..3,
            timezone in proptest::sample::select(&chrono_tz::TZ_VARIANTS[..]),
        ) {
            let t = match edge {
                0 => raw,
                1 => DateTime::<chrono::Utc>::MAX_UTC.timestamp_millis() - near,
                _ => DateTime::<chrono::Utc>::MIN_UTC.timestamp_millis() + near,
            };
            let h = BusinessHours {
                timezone,
                weekly: vec![Opening { day: Weekday::Mon, open_min: 0, close_min: 60 }],
                holidays: vec![],
            };
            let _ = h.is_open(t);
            if let Some(next) = h.next_change(t) {
                prop_assert!(next > t);
            }
        }

        /// Strings of any shape in the fields: an answer, never a panic.
        #[test]
        fn parse_never_panics(
            tz in ".{0,20}", day in ".{0,5}", open in ".{0,6}", close in ".{0,6}", holiday in ".{0,12}",
        ) {
            let v = json!({"timezone": tz, "weekly": [{"day": day, "open": open, "close": close}], "holidays": [holiday]});
            let _ = BusinessHours::parse(&v);
        }
    }

    proptest! {
        // Each case tries every minute of up to 16 days.
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// No change is skipped: every minute up to the next change keeps the state (since 1972
        /// offsets and their changes fall on whole minutes, so nothing lasts less than one).
        #[test]
        fn next_change_skips_no_change(
            (t, h) in arb_case(YEAR_1975, YEAR_2080),
        ) {
            no_change_skipped(t, &h)?;
        }

        /// The same around daylight-saving changes.
        #[test]
        fn next_change_skips_no_change_when_clocks_change(
            (t, h) in arb_case_in(CHANGING_ZONES, around_changes()),
        ) {
            no_change_skipped(t, &h)?;
            let next = h.next_change(t);
            if let Some(next) = next {
                prop_assert_ne!(h.is_open(next), h.is_open(t));
                prop_assert_eq!(h.is_open(next - 1), h.is_open(t));
            }
        }
    }

    fn no_change_skipped(t: i64, h: &BusinessHours) -> Result<(), TestCaseError> {
        let open = h.is_open(t);
        let end = h.search_end(h.local(t).unwrap().date()).unwrap();
        let next = h.next_change(t);
        let stop = next.unwrap_or(end);
        let mut u = (t.div_euclid(60_000) + 1) * 60_000;
        while u < stop {
            prop_assert_eq!(h.is_open(u), open, "changed at {} before {:?}", u, next);
            u += 60_000;
        }
        Ok(())
    }
}
