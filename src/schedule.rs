//! When to send: an invitation's preferred send time as a delay after the order's date
//! (`--send-after`, `--date-column`, `--date-format`, `--timezone`), and the durations of
//! `--send-after` and `--cooldown`.
//!
//! Dates are read as shop exports write them (see [`DateReader::read`]). A date whose day and
//! month could be either way round (`03/11/2026`) is read only when `--date-format` says
//! which: a wrong guess would invite a customer weeks early or late, and no one would notice.

use std::fmt;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::input::header::normalise;
use crate::text::Count;
use crate::validate::{iso_chrono, iso_parts, write_utc};

/// The longest duration taken, in days: ten years. Anything longer is a typo.
const MAX_DURATION_DAYS: u64 = 3650;

const DURATION_EXAMPLES: &str = "e.g. 7d, 36h, 2w, 90m or 1d12h";

/// The years an order date may fall in. Outside them the value is a wrong column, a wrong
/// `--date-format` or a typo, not an order: reading it would silently send at once (or in a
/// century).
pub(crate) const YEARS: std::ops::RangeInclusive<i32> = 1970..=2199;

/// A duration for `--send-after` or `--cooldown`.
///
/// The grammar: one or more parts, each a whole number and a unit, with or without spaces
/// between them and between the parts (a comma may separate parts too). Units, in any case:
/// `w`, `wk`, `week`, `weeks`; `d`, `day`, `days`; `h`, `hr`, `hrs`, `hour`, `hours`; `m`,
/// `min`, `mins`, `minute`, `minutes`. So `7d`, `36h`, `2w`, `90m`, `1d12h`, ` 7 days `,
/// `2 weeks`, `1 day, 12 hours`.
///
/// Refused, each with a message that names the value and shows examples: a number without a
/// unit (`7`: days or hours?), a lone capital `M` (minutes or months?), months and years
/// (their length varies: write `30d`, `365d`), seconds, fractions (`1.5d`: write `36h`),
/// negative durations, and anything over ten years (3650 days) or overflowing.
///
/// Zero is taken: `--send-after 0d` sends at the date itself (a delivery date ahead);
/// `--cooldown` refuses it (see `config::rules`).
pub fn parse_duration(text: &str) -> Result<TimeDelta, String> {
    let value = text.trim();
    let not_a_duration = || format!("'{value}' is not a duration; write a number and a unit, {DURATION_EXAMPLES}.");
    if value.is_empty() {
        return Err(format!("The duration is empty; write a number and a unit, {DURATION_EXAMPLES}."));
    }
    let too_long = || {
        format!(
            "'{value}' is longer than 10 years ({MAX_DURATION_DAYS} days), which cannot be meant; write a shorter \
             duration, {DURATION_EXAMPLES}."
        )
    };
    let mut minutes: u64 = 0;
    let mut parts = 0;
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        if rest.is_empty() {
            break;
        }
        parts += 1;
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(match rest.chars().next() {
                Some('-' | '−') if parts == 1 => {
                    format!("'{value}' is negative; a duration counts forward, {DURATION_EXAMPLES}.")
                }
                Some('-' | '−') => format!("'{value}': parts of a duration only add up (write 23h for 1d-1h)."),
                Some('.') => fraction(value),
                Some(c) if c.is_numeric() => wide_digit(value, c),
                _ => not_a_duration(),
            });
        }
        let (number, after) = rest.split_at(digits);
        if let Some(c) = after.chars().next().filter(|c| c.is_numeric()) {
            return Err(wide_digit(value, c));
        }
        if after.starts_with(['.', ',']) && after[1..].starts_with(|c: char| c.is_ascii_digit()) {
            return Err(fraction(value));
        }
        let after = after.trim_start();
        let unit_len = after.find(|c: char| !c.is_alphabetic()).unwrap_or(after.len());
        let (unit, tail) = after.split_at(unit_len);
        let per_unit = unit_minutes(value, number, unit)?;
        // More digits than any u64 holds are too long too.
        let number: u64 = number.parse().map_err(|_| too_long())?;
        minutes = number.checked_mul(per_unit).and_then(|m| minutes.checked_add(m)).ok_or_else(too_long)?;
        rest = tail;
    }
    if parts == 0 {
        return Err(not_a_duration());
    }
    if minutes > MAX_DURATION_DAYS * 24 * 60 {
        return Err(too_long());
    }
    // At most ten years of minutes: fits an i64.
    Ok(TimeDelta::minutes(minutes as i64))
}

/// A digit that is not 0-9 (a full-width `６` typed on a CJK keyboard).
fn wide_digit(value: &str, c: char) -> String {
    format!("'{value}': '{c}' (U+{:04X}) is not a digit 0-9; type the number again with 0-9.", u32::from(c))
}

fn fraction(value: &str) -> String {
    format!(
        "'{value}' has a fraction; write whole numbers in a smaller unit (36h for a day and a half), {DURATION_EXAMPLES}."
    )
}

/// How many minutes one `unit` is, or why it is refused.
fn unit_minutes(value: &str, number: &str, unit: &str) -> Result<u64, String> {
    if unit == "M" {
        return Err(format!(
            "'{value}': 'M' could be minutes or months; write {number}min for minutes, or days for months (30d)."
        ));
    }
    Ok(match unit.to_lowercase().as_str() {
        "w" | "wk" | "wks" | "week" | "weeks" => 7 * 24 * 60,
        "d" | "day" | "days" => 24 * 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 60,
        "m" | "min" | "mins" | "minute" | "minutes" => 1,
        "" => {
            return Err(format!(
                "'{value}': the number {number} has no unit; write {number}d for {number} days or {number}h for \
                 {number} hours ({DURATION_EXAMPLES})."
            ));
        }
        "mo" | "mon" | "mth" | "month" | "months" => {
            return Err(format!("'{value}': months differ in length; write days instead, e.g. 30d."));
        }
        "y" | "yr" | "yrs" | "year" | "years" => {
            return Err(format!("'{value}': years differ in length; write days instead, e.g. 365d."));
        }
        "s" | "sec" | "secs" | "second" | "seconds" => {
            return Err(format!(
                "'{value}': seconds are finer than this needs; use minutes or more, {DURATION_EXAMPLES}."
            ));
        }
        _ => {
            return Err(format!(
                "'{value}': '{unit}' is not a unit; use w (weeks), d (days), h (hours) or m (minutes), \
                 {DURATION_EXAMPLES}."
            ));
        }
    })
}

/// A duration in words for messages: `7 days`, `1 day 12 hours`, `1 hour 30 minutes`,
/// `0 minutes`.
pub fn describe_duration(duration: TimeDelta) -> String {
    let total = duration.num_minutes().unsigned_abs();
    let parts = [(total / (24 * 60), "day"), (total / 60 % 24, "hour"), (total % 60, "minute")];
    let words: Vec<String> =
        parts.iter().filter(|(n, _)| *n > 0).map(|&(n, unit)| Count(n, unit).to_string()).collect();
    let sign = if duration < TimeDelta::zero() { "-" } else { "" };
    match words.is_empty() {
        true => "0 minutes".to_string(),
        false => format!("{sign}{}", words.join(" ")),
    }
}

/// When to send an invitation: `date + after` as Trustpilot's UTC `YYYY-MM-DDTHH:MM:SS`, or
/// `None` when that time is not after `now` (Trustpilot then sends at once).
///
/// Never panics: a sum past chrono's range is taken as its end, and a time past the year 9999
/// (which no date [`DateReader`] reads plus a [`parse_duration`] can reach) is written as
/// `9999-12-31T23:59:59`.
pub fn send_time(date: DateTime<Utc>, after: TimeDelta, now: DateTime<Utc>) -> Option<String> {
    let end = if after < TimeDelta::zero() { DateTime::<Utc>::MIN_UTC } else { DateTime::<Utc>::MAX_UTC };
    let at = date.checked_add_signed(after).unwrap_or(end);
    if at <= now {
        return None;
    }
    let last = NaiveDate::from_ymd_opt(9999, 12, 31).and_then(|d| d.and_hms_opt(23, 59, 59));
    let at = match last {
        Some(last) if at.naive_utc() > last => last,
        _ => at.naive_utc(),
    };
    let mut text = String::with_capacity(19);
    write_utc(at, &mut text);
    Some(text)
}

/// Why a date could not be read: a line of the row's error report, the field being the date
/// column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateProblem {
    /// Stable: `date.required` (empty), `date.invalid`, `date.ambiguous` (day and month could
    /// be either way round), `date.out_of_range` (read, but no order's date).
    pub code: &'static str,
    /// A sentence for a shop owner naming the value and the flag that fixes it.
    pub message: String,
}

impl fmt::Display for DateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DateProblem {}

impl DateProblem {
    fn new(code: &'static str, message: String) -> DateProblem {
        DateProblem { code, message }
    }
}

/// Reads the order or fulfilment dates of a column into UTC.
#[derive(Debug, Clone)]
pub struct DateReader {
    format: Option<Format>,
    /// Where a date without an offset is.
    zone: Tz,
}

impl Default for DateReader {
    /// No `--date-format`, dates without an offset in UTC.
    fn default() -> DateReader {
        DateReader { format: None, zone: Tz::UTC }
    }
}

/// A `--date-format`, checked.
#[derive(Debug, Clone)]
struct Format {
    text: String,
    items: Vec<Item<'static>>,
    /// A date written in it, for messages.
    example: String,
}

/// A date as written: the date-time on the clock, and the offset from UTC when one is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Written {
    local: NaiveDateTime,
    offset_seconds: Option<i32>,
}

impl DateReader {
    /// `format` is `--date-format` (strftime-style, e.g. `%d/%m/%Y`), checked by writing a
    /// date in it and reading it back; `zone` is `--timezone`, an IANA name such as
    /// `Europe/Copenhagen` (any case), UTC when `None`. The error names the flag, the value
    /// and what to write instead.
    pub fn new(format: Option<&str>, zone: Option<&str>) -> Result<DateReader, String> {
        let format = match format {
            Some(text) => Some(Format::new(text).map_err(|why| format!("--date-format '{}': {why}", text.trim()))?),
            None => None,
        };
        let zone = match zone {
            Some(name) => parse_zone(name).map_err(|why| format!("--timezone '{}': {why}", name.trim()))?,
            None => Tz::UTC,
        };
        Ok(DateReader { format, zone })
    }

    /// The time zone dates without an offset are in (`UTC` unless `--timezone` says).
    pub fn zone_name(&self) -> &'static str {
        self.zone.name()
    }

    /// `date + after`, whole days counted on the calendar of the time zone: an order at 10:00
    /// plus `7d` is sent at 10:00 on that clock, also across a summer-time change (in UTC
    /// that week is an hour longer or shorter). Other delays are exact. `None` past chrono's
    /// range.
    pub fn later(&self, date: DateTime<Utc>, after: TimeDelta) -> Option<DateTime<Utc>> {
        let whole_days = after.subsec_nanos() == 0 && after.num_seconds() % 86_400 == 0;
        if self.zone == Tz::UTC || !whole_days {
            return date.checked_add_signed(after);
        }
        let local = date.with_timezone(&self.zone).naive_local().checked_add_signed(after)?;
        in_zone(self.zone, local)
    }

    /// One cell of the date column, as UTC.
    ///
    /// Read: with `--date-format`, that layout first (a time of day after a date-only format
    /// is read too: `03/11/2026 14:05`); then whatever the format says, the unambiguous forms
    /// exports write:
    /// - ISO 8601 and its relatives: `2026-11-03`, `2026-11-03 14:05:09`, `2026-11-03T14:05`,
    ///   `2026-11-03T14:05:09Z`, `2026-11-03T14:05:09.123+01:00`, Shopify's
    ///   `2026-11-03 14:05:09 +0100`, `2026/11/03` and `2026.11.03` (year first), any of them
    ///   with `UTC` or `GMT` after the time;
    /// - English month names: `3 Nov 2026`, `Nov 3, 2026 2:05:09 PM` (Magento),
    ///   `Tue, 03 Nov 2026 14:05:09 +0100` (RFC 2822), `November 3rd, 2026`, with a two-digit
    ///   year too (`Mar-14-26`, eBay; `14-Mar-26`);
    /// - Excel serial numbers: `46329` (2026-11-03), `46329.5` or `46329,5` (days since 1899-12-30, the
    ///   fraction the time of day).
    ///
    /// A date or time without an offset is on the clock of the time zone (at a summer-time
    /// change, a time that occurs twice is the first, one that is skipped moves forward by the
    /// gap); a date alone is midnight there.
    ///
    /// Errors: `date.required` for an empty cell; `date.ambiguous` for `03/11/2026`,
    /// `11/03/2026`, `3.11.2026`, `3-11-26` without `--date-format`; `date.out_of_range` for a
    /// date outside 1970-2199 (an Excel serial of `12`, a year `0026` from `%Y` on `26`);
    /// `date.invalid` for anything else.
    pub fn read(&self, value: &str) -> Result<DateTime<Utc>, DateProblem> {
        let value = value.trim();
        if value.is_empty() {
            return Err(DateProblem::new(
                "date.required",
                "The date is empty, so there is no time to count --send-after from; fill it in, or name another \
                 column with --date-column."
                    .to_string(),
            ));
        }
        if let Some(format) = &self.format
            && let Some(written) = format.read(value)
        {
            return self.finish(value, written);
        }
        if let Some(serial) = excel_serial(value) {
            return serial.and_then(|written| self.finish(value, written));
        }
        let written = match iso_parts(value.as_bytes()) {
            Some((local, offset)) => Some(Written { local, offset_seconds: offset.map(|m| m as i32 * 60) }),
            None => iso_chrono(value).map(|utc| Written { local: utc, offset_seconds: Some(0) }),
        };
        let loose = match written {
            Some(written) => Loose::Read(written),
            None => read_loose(value),
        };
        let shown = crate::text::clipped(value, 60);
        match (loose, &self.format) {
            (Loose::Read(written), _) => self.finish(value, written),
            (_, Some(format)) => Err(DateProblem::new(
                "date.invalid",
                format!(
                    "The date '{shown}' does not match --date-format '{}' (such as {}); correct the date or the \
                     --date-format.",
                    format.text, format.example
                ),
            )),
            (Loose::Ambiguous { separator, long_year }, None) => {
                // Never guessed, not even when the day is over 12 (`13/11/2026`): the other
                // rows of the column may not say, and reading some rows one way and some the
                // other would send weeks off without a word.
                let year = if long_year { "%Y" } else { "%y" };
                let sep = separator as char;
                Err(DateProblem::new(
                    "date.ambiguous",
                    format!(
                        "The date '{shown}' could have its day or its month first; say which with --date-format \
                         '%d{sep}%m{sep}{year}' (day first) or --date-format '%m{sep}%d{sep}{year}' (month first)."
                    ),
                ))
            }
            (Loose::Invalid, None) => Err(DateProblem::new(
                "date.invalid",
                format!(
                    "The date '{shown}' is not a date this tool can read, such as 2026-11-03, 2026-11-03 14:05:09 or \
                     2026-11-03T14:05:09+01:00; give its layout with --date-format (e.g. --date-format \
                     '%d.%m.%Y %H:%M'), or name the right column with --date-column."
                ),
            )),
        }
    }

    /// The date written as UTC, if it is an order's.
    fn finish(&self, value: &str, written: Written) -> Result<DateTime<Utc>, DateProblem> {
        let utc = match written.offset_seconds {
            Some(offset) => {
                written.local.checked_sub_signed(TimeDelta::seconds(i64::from(offset))).map(|t| t.and_utc())
            }
            None => in_zone(self.zone, written.local),
        };
        match utc {
            Some(utc) if YEARS.contains(&utc.year()) => Ok(utc),
            Some(utc) => Err(out_of_range(value, &format!("is read as {} in UTC", utc.date_naive()))),
            None => Err(out_of_range(value, &format!("is read as {}", written.local.date()))),
        }
    }
}

fn out_of_range(value: &str, read_as: &str) -> DateProblem {
    let value = crate::text::clipped(value, 60);
    DateProblem::new(
        "date.out_of_range",
        format!(
            "The date '{value}' {read_as}, which is no order's date (dates from {} to {} are read); check that \
             --date-column names the order or fulfilment date, and the --date-format (%y for a two-digit year).",
            YEARS.start(),
            YEARS.end()
        ),
    )
}

/// The UTC time of `local` on the clock of `zone`: the earlier of a time that occurs twice,
/// a skipped time moved forward by the gap (read with the offset before it).
fn in_zone(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(time) => Some(time.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Some(earlier.with_timezone(&Utc)),
        LocalResult::None => {
            let before = local.checked_sub_signed(TimeDelta::days(1))?;
            let offset = zone.offset_from_utc_datetime(&before).fix().local_minus_utc();
            Some(local.checked_sub_signed(TimeDelta::seconds(i64::from(offset)))?.and_utc())
        }
    }
}

impl Format {
    fn new(text: &str) -> Result<Format, String> {
        let text = text.trim();
        let advice = "use %d (day), %m (month), %b (month name), %Y (year), %y (two-digit year), %H:%M:%S (time) \
                      and %z (offset), e.g. %d/%m/%Y or %m/%d/%Y %H:%M";
        if text.is_empty() {
            return Err(format!("the format is empty; {advice}."));
        }
        let items = StrftimeItems::new(text).parse_to_owned().map_err(|_| {
            format!("this is not a date format (a % is followed by a letter it does not know); {advice}.")
        })?;
        // Written and read back: a format that cannot say the whole date (no year) is refused
        // here rather than on every row. (A zone name read by `%Z` is skipped by chrono: the
        // time zone is --timezone's.)
        let sample = NaiveDate::from_ymd_opt(2026, 11, 3)
            .and_then(|d| d.and_hms_opt(14, 5, 9))
            .and_then(|t| chrono::FixedOffset::east_opt(3600).and_then(|o| o.from_local_datetime(&t).single()))
            .ok_or("the sample date 2026-11-03 14:05:09 +01:00 could not be made")?;
        let mut example = String::new();
        let written = fmt::write(&mut example, format_args!("{}", sample.format_with_items(items.iter())));
        let format = Format { text: text.to_string(), items, example };
        let back = written.ok().and_then(|()| format.read(&format.example));
        match back {
            Some(back) if back.local.date() == sample.date_naive() => Ok(format),
            _ => {
                Err(format!("this format cannot say a whole date: it needs the day, the month and the year; {advice}."))
            }
        }
    }

    /// `value` in this format, a time of day (and offset) after a date-only format included.
    fn read(&self, value: &str) -> Option<Written> {
        let mut parsed = Parsed::new();
        let rest = chrono::format::parse_and_remainder(&mut parsed, value, self.items.iter()).ok()?;
        if let Some(timestamp) = parsed.timestamp() {
            let utc = DateTime::from_timestamp(timestamp, 0)?;
            return rest.trim().is_empty().then_some(Written { local: utc.naive_utc(), offset_seconds: Some(0) });
        }
        let date = parsed.to_naive_date().ok()?;
        let mut scan = Scan::new(rest);
        let (time, offset) = match parsed.hour_div_12() {
            Some(_) => (parsed.to_naive_time().ok()?, scan.offset()?),
            None => scan.time_and_offset()?,
        };
        let offset_seconds = match (parsed.offset(), offset) {
            (Some(_), Some(_)) => return None,
            (given, None) => given,
            (None, tail) => tail,
        };
        Some(Written { local: date.and_time(time), offset_seconds })
    }
}

/// `--timezone`: an IANA name in any case, with the names it may have meant when it is none.
fn parse_zone(name: &str) -> Result<Tz, String> {
    let name = name.trim();
    if let Ok(zone) = name.parse::<Tz>() {
        return Ok(zone);
    }
    if let Some(zone) = chrono_tz::TZ_VARIANTS.iter().find(|zone| zone.name().eq_ignore_ascii_case(name)) {
        return Ok(*zone);
    }
    let examples = "use an IANA time zone name such as Europe/Copenhagen, Europe/London, America/New_York or UTC";
    let prefix = name.get(..3).unwrap_or_default();
    let after_prefix = name.get(3..).unwrap_or_default();
    if name.starts_with(['+', '-'])
        || (prefix.eq_ignore_ascii_case("utc") || prefix.eq_ignore_ascii_case("gmt"))
            && after_prefix.starts_with(['+', '-'])
    {
        return Err(format!(
            "a fixed offset does not follow summer time; {examples} (the place whose clock the dates are on)."
        ));
    }
    // `copenhagen`, `New York`: the city part of a name; else a name one or two letters off.
    let key =
        |text: &str| text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect::<String>();
    let wanted = key(name);
    let mut near: Vec<&str> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|zone| zone.name())
        .filter(|zone| zone.rsplit('/').next().is_some_and(|city| key(city) == wanted))
        .collect();
    if near.is_empty() && wanted.len() >= 4 {
        near = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|zone| zone.name())
            .filter(|zone| edit_distance(&key(zone), &wanted) <= 2)
            .collect();
    }
    near.truncate(3);
    match near.as_slice() {
        [] => Err(format!("this is not a time zone name; {examples}.")),
        names => Err(format!("this is not a time zone name; did you mean {}? ({examples})", names.join(" or "))),
    }
}

/// How many one-character edits turn `a` into `b` (for suggestions).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// An Excel serial number (`46330`, `46330.5`, `46330,5`): `None` when `value` is not a number,
/// else the date it stands for or why it is no order's date.
fn excel_serial(value: &str) -> Option<Result<Written, DateProblem>> {
    let (whole, fraction) = match value.split_once(['.', ',']) {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (value, None),
    };
    let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
        return None;
    }
    let hint = match whole.len() {
        8 if fraction.is_none() => "; if it is a date written YYYYMMDD, give --date-format %Y%m%d",
        10 if fraction.is_none() => "; if it counts seconds since 1970 (a Unix time), give --date-format %s",
        _ => "",
    };
    let refuse = |read_as: String| Some(Err(out_of_range(value, &format!("{read_as}{hint}"))));
    let days: i64 = match whole.parse() {
        Ok(days) if whole.len() <= 7 => days,
        _ => return refuse("is too large for an Excel date number".to_string()),
    };
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_hms_opt(0, 0, 0)?;
    // A fraction of a day to the nearest second.
    let seconds = match fraction {
        Some(fraction) => {
            let part: f64 = format!("0.{fraction}").parse().ok()?;
            (part * 86_400.0).round() as i64
        }
        None => 0,
    };
    let local = epoch.checked_add_signed(TimeDelta::days(days))?.checked_add_signed(TimeDelta::seconds(seconds))?;
    if !YEARS.contains(&local.year()) {
        return refuse(format!("read as an Excel date number is {}", local.date()));
    }
    Some(Ok(Written { local, offset_seconds: None }))
}

/// What a date that is not ISO 8601 turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loose {
    Read(Written),
    /// `03/11/2026`: day and month could be either way round.
    Ambiguous {
        separator: u8,
        long_year: bool,
    },
    Invalid,
}

/// The forms of [`DateReader::read`] that are not ISO 8601 (year first with `/` or `.`,
/// English month names), and the day/month forms it refuses to guess.
fn read_loose(value: &str) -> Loose {
    let mut scan = Scan::new(value);
    let date = match scan.peek() {
        Some(b'0'..=b'9') => scan.numeric_date(),
        Some(c) if c.is_ascii_alphabetic() => scan.named_date().ok_or(Loose::Invalid),
        _ => Err(Loose::Invalid),
    };
    let date = match date {
        Ok(date) => date,
        Err(shape) => return shape,
    };
    match scan.time_and_offset() {
        Some((time, offset_seconds)) => Loose::Read(Written { local: date.and_time(time), offset_seconds }),
        None => Loose::Invalid,
    }
}

/// A cursor over a date's text. It moves over ASCII bytes only, so every position it stops at
/// is a character boundary.
struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    fn new(text: &'a str) -> Scan<'a> {
        Scan { b: text.as_bytes(), i: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn done(&self) -> bool {
        self.i == self.b.len()
    }

    /// Takes `c` if it is next.
    fn eat(&mut self, c: u8) -> bool {
        let next = self.peek() == Some(c);
        self.i += usize::from(next);
        next
    }

    fn spaces(&mut self) -> usize {
        let start = self.i;
        while self.peek() == Some(b' ') || self.peek() == Some(b'\t') {
            self.i += 1;
        }
        self.i - start
    }

    /// A run of `min..=max` digits (no more follow), and how many there were.
    fn number(&mut self, min: usize, max: usize) -> Option<(u32, usize)> {
        let start = self.i;
        let mut n: u32 = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            if self.i - start == max {
                return None;
            }
            n = n * 10 + u32::from(d - b'0');
            self.i += 1;
        }
        let len = self.i - start;
        (len >= min).then_some((n, len))
    }

    /// The year of a date with a month name: four digits, or two (eBay's `Mar-14-26`), read as
    /// `%y` reads them (00 to 68 in the 2000s, 69 to 99 in the 1900s). With the month named,
    /// the year's place is never in doubt.
    fn year(&mut self) -> Option<u32> {
        match self.number(2, 4)? {
            (year, 4) => Some(year),
            (year, 2) if year < 69 => Some(2000 + year),
            (year, 2) => Some(1900 + year),
            _ => None,
        }
    }

    /// Exactly two digits, whatever follows.
    fn two_digits(&mut self) -> Option<u32> {
        match self.b.get(self.i..self.i + 2)? {
            [a @ b'0'..=b'9', b @ b'0'..=b'9'] => {
                self.i += 2;
                Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
            }
            _ => None,
        }
    }

    /// A run of ASCII letters, in lower case.
    fn word(&mut self) -> String {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.i += 1;
        }
        self.b[start..self.i].iter().map(|c| char::from(c.to_ascii_lowercase())).collect()
    }

    /// `2026/11/03`, `2026.11.3`, `2026-11-3` (year first); `3 Nov 2026`, `3. November 2026`,
    /// `03-Nov-2026`; or the day/month forms that are not guessed.
    fn numeric_date(&mut self) -> Result<NaiveDate, Loose> {
        let (first, len) = self.number(1, 4).ok_or(Loose::Invalid)?;
        if len == 4 {
            let separator = self.peek().filter(|c| matches!(c, b'/' | b'.' | b'-')).ok_or(Loose::Invalid)?;
            self.i += 1;
            let (month, _) = self.number(1, 2).ok_or(Loose::Invalid)?;
            if !self.eat(separator) {
                return Err(Loose::Invalid);
            }
            let (day, _) = self.number(1, 2).ok_or(Loose::Invalid)?;
            return NaiveDate::from_ymd_opt(first as i32, month, day).ok_or(Loose::Invalid);
        }
        if len > 2 {
            return Err(Loose::Invalid);
        }
        if let Some(separator) = self.peek().filter(|c| matches!(c, b'/' | b'.' | b'-'))
            && self.b.get(self.i + 1).is_some_and(u8::is_ascii_digit)
        {
            self.i += 1;
            self.number(1, 2).ok_or(Loose::Invalid)?;
            if !self.eat(separator) {
                return Err(Loose::Invalid);
            }
            return match self.number(2, 4) {
                Some((_, 2)) => Err(Loose::Ambiguous { separator, long_year: false }),
                Some((_, 4)) => Err(Loose::Ambiguous { separator, long_year: true }),
                _ => Err(Loose::Invalid),
            };
        }
        self.eat(b'.');
        self.separators();
        let month = month_number(&self.word()).ok_or(Loose::Invalid)?;
        self.eat(b'.');
        self.separators();
        self.eat(b',');
        self.spaces();
        let year = self.year().ok_or(Loose::Invalid)?;
        NaiveDate::from_ymd_opt(year as i32, month, first).ok_or(Loose::Invalid)
    }

    /// `Nov 3, 2026`, `November 3rd 2026`, and either date form after a weekday (`Tue, 03 Nov 2026`).
    fn named_date(&mut self) -> Option<NaiveDate> {
        let word = self.word();
        if weekday(&word) {
            self.eat(b'.');
            self.eat(b',');
            self.spaces();
            return match self.peek() {
                Some(b'0'..=b'9') => self.numeric_date().ok(),
                _ => self.named_date_without_weekday(),
            };
        }
        self.i -= word.len();
        self.named_date_without_weekday()
    }

    fn named_date_without_weekday(&mut self) -> Option<NaiveDate> {
        let month = month_number(&self.word())?;
        self.eat(b'.');
        self.separators();
        let (day, _) = self.number(1, 2)?;
        let suffix = self.word();
        if !matches!(suffix.as_str(), "" | "st" | "nd" | "rd" | "th") {
            return None;
        }
        self.eat(b',');
        self.separators();
        let year = self.year()?;
        NaiveDate::from_ymd_opt(year as i32, month, day)
    }

    /// Spaces or a `-` between the parts of a date with a month name.
    fn separators(&mut self) {
        if !self.eat(b'-') {
            self.spaces();
        }
    }

    /// What may follow a date: nothing (midnight), or a time (`14:05`, `14:05:09.123`,
    /// `2:05 PM`) after spaces, a `T` or a comma, then an optional offset; all of the rest.
    fn time_and_offset(&mut self) -> Option<(NaiveTime, Option<i32>)> {
        self.eat(b',');
        let spaced = self.spaces() > 0;
        if self.done() {
            return NaiveTime::from_hms_opt(0, 0, 0).map(|midnight| (midnight, None));
        }
        if !spaced && !self.eat(b'T') && !self.eat(b't') {
            return None;
        }
        let (mut hour, _) = self.number(1, 2)?;
        if !self.eat(b':') {
            return None;
        }
        let (minute, _) = self.number(2, 2)?;
        let mut second = 0;
        if self.eat(b':') {
            second = self.number(2, 2)?.0;
            if self.eat(b'.') {
                self.number(1, 9)?;
            }
        }
        self.spaces();
        let start = self.i;
        match self.word().as_str() {
            "am" if (1..=12).contains(&hour) => hour %= 12,
            "pm" if (1..=12).contains(&hour) => hour = hour % 12 + 12,
            "" => {}
            _ => self.i = start,
        }
        let time = NaiveTime::from_hms_opt(hour, minute, second)?;
        Some((time, self.offset()?))
    }

    /// An optional offset and nothing after it: `Z`, `UTC`, `GMT`, `+01:00`, `+0100`, `+01`,
    /// `−01:00`, `UTC+01:00`. `Some(None)` when there is none.
    fn offset(&mut self) -> Option<Option<i32>> {
        self.spaces();
        if self.done() {
            return Some(None);
        }
        let word = self.word();
        if !matches!(word.as_str(), "" | "z" | "utc" | "gmt") {
            return None;
        }
        let negative = if self.eat(b'+') {
            false
        } else if self.eat(b'-') {
            true
        } else if self.b[self.i..].starts_with("−".as_bytes()) {
            self.i += "−".len();
            true
        } else {
            return (!word.is_empty() && self.done()).then_some(Some(0));
        };
        if word == "z" {
            return None;
        }
        let hours = self.two_digits()?;
        let colon = self.eat(b':');
        let minutes = match self.two_digits() {
            Some(minutes) => minutes,
            None if !colon && self.done() => 0,
            None => return None,
        };
        if hours > 23 || minutes > 59 || !self.done() {
            return None;
        }
        let seconds = (hours * 60 + minutes) as i32 * 60;
        Some(Some(if negative { -seconds } else { seconds }))
    }
}

/// `jan`, `January`, `Sept` ... (English, as export tools write them), 1 to 12.
fn month_number(word: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let word = if word == "sept" { "sep" } else { word };
    let at = MONTHS.iter().position(|m| *m == word).or_else(|| FULL.iter().position(|m| *m == word))?;
    Some(at as u32 + 1)
}

fn weekday(word: &str) -> bool {
    const DAYS: [&str; 18] = [
        "mon",
        "tue",
        "tues",
        "wed",
        "weds",
        "thu",
        "thur",
        "thurs",
        "fri",
        "sat",
        "sun",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    DAYS.contains(&word)
}

/// The header names of order and fulfilment dates, [`normalise`]d, best first: a fulfilment,
/// shipping, delivery or completion date (when the parcel left or arrived: what a review is
/// about), then an order, purchase or payment date, then a creation date, then a bare `Date`.
/// English names of Shopify, WooCommerce, Magento, BigCommerce, Etsy and generic exports, and
/// the languages of the header aliases (German, French, Dutch, Danish, Norwegian, Swedish,
/// Finnish, Spanish, Italian, Polish).
pub const DATE_COLUMN_ALIASES: &[&str] = &[
    // Fulfilment, shipping, delivery, completion.
    "fulfilledat",
    "fulfillmentdate",
    "fulfilmentdate",
    "datefulfilled",
    "shippedat",
    "shippeddate",
    "dateshipped",
    "shipdate",
    "shippingdate",
    "dispatchdate",
    "dispatchedat",
    "datedispatched",
    "deliverydate",
    "deliveredat",
    "datedelivered",
    "completedat",
    "completeddate",
    "datecompleted",
    "completiondate",
    "versanddatum",
    "versendetam",
    "lieferdatum",
    "zustelldatum",
    "datedexpédition",
    "datedexpedition",
    "datedenvoi",
    "datedelivraison",
    "verzenddatum",
    "verzondenop",
    "leverdatum",
    "bezorgdatum",
    "afsendelsesdato",
    "forsendelsesdato",
    "leveringsdato",
    "sendingsdato",
    "leveransdatum",
    "avsändningsdatum",
    "toimituspäivä",
    "toimituspvm",
    "lähetyspäivä",
    "fechadeenvío",
    "fechadeenvio",
    "fechadeentrega",
    "datadispedizione",
    "dataspedizione",
    "datadiconsegna",
    "dataconsegna",
    "datawysyłki",
    "datawysylki",
    "datadostawy",
    // Order, purchase, payment.
    "orderdate",
    "dateordered",
    "orderedat",
    "orderplacedat",
    "dateplaced",
    "purchasedate",
    "purchasedat",
    "dateofpurchase",
    "saledate",
    "dateofsale",
    "transactiondate",
    "invoicedate",
    "bookingdate",
    "paidat",
    "paymentdate",
    "datepaid",
    "bestelldatum",
    "kaufdatum",
    "auftragsdatum",
    "rechnungsdatum",
    "datedecommande",
    "datedachat",
    "dated’achat",
    "datedefacture",
    "besteldatum",
    "orderdatum",
    "aankoopdatum",
    "factuurdatum",
    "ordredato",
    "bestillingsdato",
    "købsdato",
    "kjøpsdato",
    "fakturadato",
    "beställningsdatum",
    "köpdatum",
    "fakturadatum",
    "tilauspäivä",
    "tilauspäivämäärä",
    "tilauspvm",
    "ostopäivä",
    "fechadepedido",
    "fechapedido",
    "fechadecompra",
    "fechadefactura",
    "dataordine",
    "datadellordine",
    "datadiacquisto",
    "dataacquisto",
    "datafattura",
    "datazamówienia",
    "datazamowienia",
    "datazakupu",
    // Creation: an order's in an order export (Shopify, Magento `Created At`).
    "createdat",
    "createddate",
    "datecreated",
    "creationdate",
    "erstelltam",
    "datedecréation",
    "datedecreation",
    // A bare date.
    "date",
    "datum",
    "dato",
    "fecha",
    "päivämäärä",
];

/// The columns of `headers` that hold an order or fulfilment date, best first (see
/// [`DATE_COLUMN_ALIASES`]); names are compared [`normalise`]d, as header aliases are. Only
/// the first is read ([`find_date_column`]): a row whose cell there is empty (Shopify's
/// `Fulfilled at` before shipping) is an error of that row, never read from another column
/// without a word.
fn date_columns<S: AsRef<str>>(headers: &[S]) -> Vec<usize> {
    let norms: Vec<String> = headers.iter().map(|name| normalise(name.as_ref())).collect();
    let mut found = Vec::new();
    for alias in DATE_COLUMN_ALIASES {
        for (i, norm) in norms.iter().enumerate() {
            if norm == alias && !found.contains(&i) {
                found.push(i);
            }
        }
    }
    found
}

/// The column of `headers` that holds the order or fulfilment date, if a known name says so.
pub fn find_date_column<S: AsRef<str>>(headers: &[S]) -> Option<usize> {
    date_columns(headers).first().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 24 * 60;

    #[test]
    fn durations_in_every_documented_form() {
        let table: &[(&str, i64)] = &[
            ("7d", 7 * DAY),
            ("36h", 36 * 60),
            ("2w", 14 * DAY),
            ("90m", 90),
            ("1d12h", DAY + 12 * 60),
            (" 7 days ", 7 * DAY),
            ("2 weeks", 14 * DAY),
            ("1 week", 7 * DAY),
            ("1 day, 12 hours", DAY + 12 * 60),
            ("1d 12h 30m", DAY + 12 * 60 + 30),
            ("1w2d3h4m", 9 * DAY + 3 * 60 + 4),
            ("7D", 7 * DAY),
            ("3 Hours", 3 * 60),
            ("2 hrs", 2 * 60),
            ("45 min", 45),
            ("45mins", 45),
            ("10 minutes", 10),
            ("3wks", 21 * DAY),
            ("0d", 0),
            ("0m", 0),
            ("007d", 7 * DAY),
            ("3650d", 3650 * DAY),
            ("521w", 521 * 7 * DAY),
            ("7d7d", 14 * DAY),
        ];
        for &(text, minutes) in table {
            assert_eq!(parse_duration(text), Ok(TimeDelta::minutes(minutes)), "{text:?}");
        }
    }

    #[test]
    fn durations_refused_name_the_value_and_show_examples() {
        let table: &[(&str, &str)] = &[
            ("", "The duration is empty; write a number and a unit, e.g. 7d, 36h, 2w, 90m or 1d12h."),
            ("   ", "The duration is empty; write a number and a unit, e.g. 7d, 36h, 2w, 90m or 1d12h."),
            (",", "',' is not a duration; write a number and a unit, e.g. 7d, 36h, 2w, 90m or 1d12h."),
            ("days", "'days' is not a duration; write a number and a unit, e.g. 7d, 36h, 2w, 90m or 1d12h."),
            ("+7d", "'+7d' is not a duration; write a number and a unit, e.g. 7d, 36h, 2w, 90m or 1d12h."),
            ("1d-1h", "'1d-1h': parts of a duration only add up (write 23h for 1d-1h)."),
            ("3\u{ff16}5d", "'3\u{ff16}5d': '\u{ff16}' (U+FF16) is not a digit 0-9; type the number again with 0-9."),
            ("\u{ff17}d", "'\u{ff17}d': '\u{ff17}' (U+FF17) is not a digit 0-9; type the number again with 0-9."),
            (
                "7",
                "'7': the number 7 has no unit; write 7d for 7 days or 7h for 7 hours (e.g. 7d, 36h, 2w, 90m or 1d12h).",
            ),
            (
                "1d12",
                "'1d12': the number 12 has no unit; write 12d for 12 days or 12h for 12 hours (e.g. 7d, 36h, 2w, 90m or \
                 1d12h).",
            ),
            (
                "7x",
                "'7x': 'x' is not a unit; use w (weeks), d (days), h (hours) or m (minutes), e.g. 7d, 36h, 2w, 90m or \
                 1d12h.",
            ),
            (
                "7 Tage",
                "'7 Tage': 'Tage' is not a unit; use w (weeks), d (days), h (hours) or m (minutes), e.g. 7d, 36h, 2w, \
                 90m or 1d12h.",
            ),
            (
                "1.5d",
                "'1.5d' has a fraction; write whole numbers in a smaller unit (36h for a day and a half), e.g. 7d, 36h, \
                 2w, 90m or 1d12h.",
            ),
            (
                "1,5d",
                "'1,5d' has a fraction; write whole numbers in a smaller unit (36h for a day and a half), e.g. 7d, 36h, \
                 2w, 90m or 1d12h.",
            ),
            (
                ".5d",
                "'.5d' has a fraction; write whole numbers in a smaller unit (36h for a day and a half), e.g. 7d, 36h, \
                 2w, 90m or 1d12h.",
            ),
            ("-7d", "'-7d' is negative; a duration counts forward, e.g. 7d, 36h, 2w, 90m or 1d12h."),
            ("1M", "'1M': 'M' could be minutes or months; write 1min for minutes, or days for months (30d)."),
            ("1mo", "'1mo': months differ in length; write days instead, e.g. 30d."),
            ("2 months", "'2 months': months differ in length; write days instead, e.g. 30d."),
            ("1y", "'1y': years differ in length; write days instead, e.g. 365d."),
            ("1 year", "'1 year': years differ in length; write days instead, e.g. 365d."),
            ("30s", "'30s': seconds are finer than this needs; use minutes or more, e.g. 7d, 36h, 2w, 90m or 1d12h."),
            (
                "3651d",
                "'3651d' is longer than 10 years (3650 days), which cannot be meant; write a shorter duration, e.g. 7d, \
                 36h, 2w, 90m or 1d12h.",
            ),
            (
                "3650d1m",
                "'3650d1m' is longer than 10 years (3650 days), which cannot be meant; write a shorter duration, e.g. \
                 7d, 36h, 2w, 90m or 1d12h.",
            ),
        ];
        for &(text, message) in table {
            assert_eq!(parse_duration(text), Err(message.to_string()), "{text:?}");
        }
    }

    #[test]
    fn durations_that_overflow_are_too_long_not_a_panic() {
        for text in [
            "99999999999999999999999999d",
            "18446744073709551615w",
            "18446744073709551615m18446744073709551615m",
            "30000000000000w",
            "9223372036854775807m",
        ] {
            let error = parse_duration(text).unwrap_err();
            assert!(error.starts_with(&format!("'{text}' is longer than 10 years")), "{text}: {error}");
        }
    }

    #[test]
    fn durations_in_words() {
        let table: &[(i64, &str)] = &[
            (0, "0 minutes"),
            (1, "1 minute"),
            (90, "1 hour 30 minutes"),
            (7 * DAY, "7 days"),
            (DAY + 12 * 60, "1 day 12 hours"),
            (36 * 60, "1 day 12 hours"),
            (2 * DAY + 1, "2 days 1 minute"),
            (-90, "-1 hour 30 minutes"),
        ];
        for &(minutes, words) in table {
            assert_eq!(describe_duration(TimeDelta::minutes(minutes)), words, "{minutes}");
        }
        assert_eq!(describe_duration(parse_duration("2w").unwrap()), "14 days");
    }

    fn utc(text: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap().and_utc()
    }

    #[test]
    fn send_time_is_date_plus_delay_in_utc_or_none_when_past() {
        let now = utc("2026-11-10 12:00:00");
        let table: &[(&str, &str, Option<&str>)] = &[
            ("2026-11-03 11:05:09", "7d", None),
            ("2026-11-03 12:00:00", "7d", None),
            ("2026-11-03 12:00:01", "7d", Some("2026-11-10T12:00:01")),
            ("2026-11-08 09:30:00", "7d", Some("2026-11-15T09:30:00")),
            ("2026-11-09 23:59:59", "36h", Some("2026-11-11T11:59:59")),
            ("2026-12-31 20:00:00", "1d12h", Some("2027-01-02T08:00:00")),
            ("2026-12-01 00:00:00", "0d", Some("2026-12-01T00:00:00")),
            ("2026-11-10 12:00:00", "0d", None),
            ("2199-12-31 23:59:59", "3650d", Some("2209-12-29T23:59:59")),
        ];
        for &(date, after, expected) in table {
            let after = parse_duration(after).unwrap();
            assert_eq!(send_time(utc(date), after, now).as_deref(), expected, "{date} + {after}");
        }
    }

    #[test]
    fn whole_days_are_counted_on_the_time_zones_calendar() {
        let reader = |zone: Option<&str>| DateReader::new(None, zone).unwrap();
        let copenhagen = reader(Some("Europe/Copenhagen"));
        let table: &[(&DateReader, &str, &str, &str)] = &[
            // 10:00 in Copenhagen on 22 October (summer time, UTC+2) plus a week is 10:00 on
            // 29 October (winter time, UTC+1): 169 hours later.
            (&copenhagen, "2026-10-22 10:00:00", "7d", "2026-10-29T09:00:00"),
            (&copenhagen, "2026-10-22 10:00:00", "1w", "2026-10-29T09:00:00"),
            // And into summer time: 10:00 plus a week is 10:00 again, 167 hours later.
            (&copenhagen, "2026-03-27 10:00:00", "7d", "2026-04-03T08:00:00"),
            // Hours are exact, whatever the clock does.
            (&copenhagen, "2026-10-22 10:00:00", "36h", "2026-10-23T20:00:00"),
            // Onto a skipped hour: moved forward by the gap, as a date read there would be.
            (&copenhagen, "2026-03-28 02:30:00", "1d", "2026-03-29T01:30:00"),
            // In UTC a day is 24 hours.
            (&reader(None), "2026-10-22 10:00:00", "7d", "2026-10-29T10:00:00"),
        ];
        let now = utc("2026-01-01 00:00:00");
        for &(reader, date, after, expected) in table {
            let date = reader.read(date).unwrap();
            let at = reader.later(date, parse_duration(after).unwrap()).unwrap();
            assert_eq!(send_time(at, TimeDelta::zero(), now).as_deref(), Some(expected), "{date} + {after}");
        }
    }

    #[test]
    fn send_time_never_panics_at_the_ends_of_time() {
        let max = DateTime::<Utc>::MAX_UTC;
        let min = DateTime::<Utc>::MIN_UTC;
        let now = utc("2026-11-10 12:00:00");
        assert_eq!(send_time(max, TimeDelta::days(1), now).as_deref(), Some("9999-12-31T23:59:59"));
        assert_eq!(send_time(max, TimeDelta::MAX, now).as_deref(), Some("9999-12-31T23:59:59"));
        assert_eq!(send_time(now, TimeDelta::MAX, now).as_deref(), Some("9999-12-31T23:59:59"));
        assert_eq!(send_time(min, TimeDelta::MIN, now), None);
        assert_eq!(send_time(min, TimeDelta::days(1), now), None);
        assert_eq!(send_time(now, TimeDelta::MIN, now), None);
        assert_eq!(send_time(now, TimeDelta::days(1), min).as_deref(), Some("2026-11-11T12:00:00"));
    }

    fn read_with(format: Option<&str>, zone: Option<&str>, value: &str) -> Result<String, DateProblem> {
        let reader = DateReader::new(format, zone).unwrap();
        reader.read(value).map(|date| date.format("%Y-%m-%dT%H:%M:%S").to_string())
    }

    #[test]
    fn dates_as_exports_write_them_in_utc() {
        let table: &[(&str, &str)] = &[
            // Shopify
            ("2026-11-03 14:05:09 +0100", "2026-11-03T13:05:09"),
            ("2026-11-03 14:05:09 -0500", "2026-11-03T19:05:09"),
            // ISO 8601 with and without offset, date alone
            ("2026-11-03T14:05:09Z", "2026-11-03T14:05:09"),
            ("2026-11-03T14:05:09+01:00", "2026-11-03T13:05:09"),
            ("2026-11-03T14:05:09.123456+01:00", "2026-11-03T13:05:09"),
            ("2026-11-03T14:05", "2026-11-03T14:05:00"),
            ("2026-11-03T14:05:09", "2026-11-03T14:05:09"),
            ("2026-11-03", "2026-11-03T00:00:00"),
            ("  2026-11-03  ", "2026-11-03T00:00:00"),
            ("2026-11-03T00:30:00+02:00", "2026-11-02T22:30:00"),
            ("2026-11-03 14:05:09 −01:00", "2026-11-03T15:05:09"),
            // WooCommerce, Magento
            ("2026-11-03 14:05:09", "2026-11-03T14:05:09"),
            ("2026-11-03 14:05", "2026-11-03T14:05:00"),
            // With a zone's name for UTC, an hour-only offset
            ("2026-11-03 14:05:09 UTC", "2026-11-03T14:05:09"),
            ("2026-11-03 14:05:09 GMT", "2026-11-03T14:05:09"),
            ("2026-11-03 14:05:09 UTC+01:00", "2026-11-03T13:05:09"),
            ("2026-11-03 14:05 +01", "2026-11-03T13:05:00"),
            // Year first with other separators, and unpadded
            ("2026/11/03", "2026-11-03T00:00:00"),
            ("2026/11/03 14:05:09", "2026-11-03T14:05:09"),
            ("2026.11.03", "2026-11-03T00:00:00"),
            ("2026-11-3", "2026-11-03T00:00:00"),
            ("2026-1-3 9:05", "2026-01-03T09:05:00"),
            // English month names
            ("3 Nov 2026", "2026-11-03T00:00:00"),
            ("03-Nov-2026", "2026-11-03T00:00:00"),
            ("3. November 2026", "2026-11-03T00:00:00"),
            ("Nov 3, 2026", "2026-11-03T00:00:00"),
            ("November 3rd, 2026", "2026-11-03T00:00:00"),
            ("Sept 1, 2026", "2026-09-01T00:00:00"),
            ("Nov 3, 2026 2:05:09 PM", "2026-11-03T14:05:09"),
            ("Nov 3, 2026, 2:05:09 PM", "2026-11-03T14:05:09"),
            ("Nov 3, 2026 12:05 am", "2026-11-03T00:05:00"),
            ("Nov 3, 2026 12:05 PM", "2026-11-03T12:05:00"),
            ("Tue, 03 Nov 2026 14:05:09 +0100", "2026-11-03T13:05:09"),
            ("Tuesday, November 3, 2026", "2026-11-03T00:00:00"),
            // eBay, and a two-digit year after a month name anywhere
            ("Mar-14-26", "2026-03-14T00:00:00"),
            ("Nov-03-26 14:05", "2026-11-03T14:05:00"),
            ("14-Mar-26", "2026-03-14T00:00:00"),
            ("3 Nov 26", "2026-11-03T00:00:00"),
            ("Nov 3, 99", "1999-11-03T00:00:00"),
            // Excel serial numbers: days since 1899-12-30, the fraction the time of day
            ("46329", "2026-11-03T00:00:00"),
            ("46329.5", "2026-11-03T12:00:00"),
            ("46329,25", "2026-11-03T06:00:00"),
            ("46329.58680555555", "2026-11-03T14:05:00"),
            ("46329.99999999", "2026-11-04T00:00:00"),
        ];
        for &(value, expected) in table {
            assert_eq!(read_with(None, None, value).as_deref(), Ok(expected), "{value:?}");
        }
    }

    #[test]
    fn dates_without_an_offset_are_on_the_clock_of_the_time_zone() {
        let table: &[(&str, &str, &str)] = &[
            ("Europe/Copenhagen", "2026-11-03 14:05:09", "2026-11-03T13:05:09"),
            ("Europe/Copenhagen", "2026-07-03 14:05:09", "2026-07-03T12:05:09"),
            ("Europe/Copenhagen", "2026-11-03", "2026-11-02T23:00:00"),
            ("Europe/Copenhagen", "46329", "2026-11-02T23:00:00"),
            ("Europe/Copenhagen", "46329.5", "2026-11-03T11:00:00"),
            ("Europe/Copenhagen", "Nov 3, 2026 2:05:09 PM", "2026-11-03T13:05:09"),
            ("america/new_york", "2026-11-03 14:05:09", "2026-11-03T19:05:09"),
            ("Asia/Kolkata", "2026-11-03 14:05:09", "2026-11-03T08:35:09"),
            ("UTC", "2026-11-03 14:05:09", "2026-11-03T14:05:09"),
            // An offset written in the value wins over the zone.
            ("Europe/Copenhagen", "2026-11-03 14:05:09 +0000", "2026-11-03T14:05:09"),
            ("America/New_York", "2026-11-03T14:05:09Z", "2026-11-03T14:05:09"),
            ("America/New_York", "Tue, 03 Nov 2026 14:05:09 +0100", "2026-11-03T13:05:09"),
            // Summer time starts: 02:30 does not exist, it moves forward by the gap (03:30 CEST).
            ("Europe/Copenhagen", "2026-03-29 02:30:00", "2026-03-29T01:30:00"),
            // Summer time ends: 02:30 happens twice, the first (CEST) is taken.
            ("Europe/Copenhagen", "2026-10-25 02:30:00", "2026-10-25T00:30:00"),
        ];
        for &(zone, value, expected) in table {
            assert_eq!(read_with(None, Some(zone), value).as_deref(), Ok(expected), "{zone} {value:?}");
        }
        assert_eq!(DateReader::new(None, Some(" europe/copenhagen ")).unwrap().zone_name(), "Europe/Copenhagen");
        assert_eq!(DateReader::default().zone_name(), "UTC");
    }

    #[test]
    fn day_month_dates_are_read_only_as_the_date_format_says() {
        let table: &[(&str, &str, &str)] = &[
            ("%d/%m/%Y", "03/11/2026", "2026-11-03T00:00:00"),
            ("%m/%d/%Y", "11/03/2026", "2026-11-03T00:00:00"),
            ("%m/%d/%Y", "03/11/2026", "2026-03-11T00:00:00"),
            ("%d.%m.%Y", "3.11.2026", "2026-11-03T00:00:00"),
            ("%d-%m-%Y", "03-11-2026", "2026-11-03T00:00:00"),
            ("%d/%m/%y", "03/11/26", "2026-11-03T00:00:00"),
            ("%m/%d/%y", "11/3/26", "2026-11-03T00:00:00"),
            // A time of day after a date-only format is read too.
            ("%d/%m/%Y", "03/11/2026 14:05", "2026-11-03T14:05:00"),
            ("%d/%m/%Y", "03/11/2026 14:05:09", "2026-11-03T14:05:09"),
            ("%m/%d/%Y", "11/03/2026 2:05 PM", "2026-11-03T14:05:00"),
            ("%d.%m.%Y", "03.11.2026 14:05 +0100", "2026-11-03T13:05:00"),
            // A format with a time and an offset.
            ("%d/%m/%Y %H:%M", "03/11/2026 14:05", "2026-11-03T14:05:00"),
            ("%d/%m/%Y %H:%M", "03/11/2026 14:05 +01:00", "2026-11-03T13:05:00"),
            ("%d/%m/%Y %H:%M %z", "03/11/2026 14:05 +0100", "2026-11-03T13:05:00"),
            ("%d/%m/%Y %I:%M %p", "03/11/2026 02:05 PM", "2026-11-03T14:05:00"),
            ("%d %B %Y", "3 November 2026", "2026-11-03T00:00:00"),
            ("%Y%m%d", "20261103", "2026-11-03T00:00:00"),
            ("%s", "1793711109", "2026-11-03T13:05:09"),
            // Whatever the format, the unambiguous forms are still read.
            ("%d/%m/%Y", "2026-11-03 14:05:09 +0100", "2026-11-03T13:05:09"),
            ("%d/%m/%Y", "46329", "2026-11-03T00:00:00"),
            ("%d/%m/%Y", "Nov 3, 2026", "2026-11-03T00:00:00"),
        ];
        for &(format, value, expected) in table {
            assert_eq!(read_with(Some(format), None, value).as_deref(), Ok(expected), "{format} {value:?}");
        }
        assert_eq!(
            read_with(Some("%d/%m/%Y"), Some("Europe/Copenhagen"), "03/11/2026 14:05").as_deref(),
            Ok("2026-11-03T13:05:00")
        );
    }

    /// `(code, message)` of reading `value` without a format, in UTC.
    fn problem(format: Option<&str>, value: &str) -> (&'static str, String) {
        let problem = read_with(format, None, value).unwrap_err();
        (problem.code, problem.message)
    }

    #[test]
    fn day_month_dates_without_a_format_are_never_guessed() {
        // Not even with a day over 12: every row of the column is read the same way or not at all.
        let table: &[(&str, &str, &str)] = &[
            ("03/11/2026", "%d/%m/%Y", "%m/%d/%Y"),
            ("11/03/2026", "%d/%m/%Y", "%m/%d/%Y"),
            ("13/11/2026", "%d/%m/%Y", "%m/%d/%Y"),
            ("11/13/2026", "%d/%m/%Y", "%m/%d/%Y"),
            ("3.11.2026", "%d.%m.%Y", "%m.%d.%Y"),
            ("03-11-2026 14:05", "%d-%m-%Y", "%m-%d-%Y"),
            ("3/11/26", "%d/%m/%y", "%m/%d/%y"),
            ("31/12/2026 23:59:59 +0100", "%d/%m/%Y", "%m/%d/%Y"),
        ];
        for &(value, day_first, month_first) in table {
            let (code, message) = problem(None, value);
            assert_eq!(code, "date.ambiguous", "{value}");
            assert_eq!(
                message,
                format!(
                    "The date '{value}' could have its day or its month first; say which with --date-format \
                     '{day_first}' (day first) or --date-format '{month_first}' (month first)."
                )
            );
        }
    }

    #[test]
    fn dates_that_cannot_be_read_say_why_and_which_flag_helps() {
        assert_eq!(
            problem(None, ""),
            (
                "date.required",
                "The date is empty, so there is no time to count --send-after from; fill it in, or name another column \
                 with --date-column."
                    .to_string()
            )
        );
        assert_eq!(problem(None, "  ").0, "date.required");
        let invalid = |value: &str| {
            format!(
                "The date '{value}' is not a date this tool can read, such as 2026-11-03, 2026-11-03 14:05:09 or \
                 2026-11-03T14:05:09+01:00; give its layout with --date-format (e.g. --date-format '%d.%m.%Y %H:%M'), \
                 or name the right column with --date-column."
            )
        };
        for value in [
            "next tuesday",
            "2026-13-45",
            "2026-02-30",
            "2026-11-03 25:00",
            "2026-11-03 14:05:09 CET",
            "2026-11-03 14:05:09 +25:00",
            "2026-11-03 13:05 PM",
            "2026-11-03 14:05 Z+01",
            "3 Novembre 2026",
            "Nov 32, 2026",
            // A month name without a year: the time is not taken for one.
            "Nov 3 14:05",
            "3 Nov 14:05",
            "Mar-14-2",
            "Mar-14-202",
            "99999-01-01",
            "2026-11-03X14:05",
            "20261103T",
            "-46329",
            "46329.",
            "1/2",
            "1/2/3",
            "1/2/20261",
            "#1001",
            "ｊａｎ 3 2026",
        ] {
            assert_eq!(problem(None, value), ("date.invalid", invalid(value)), "{value:?}");
        }
        assert_eq!(
            problem(Some("%d/%m/%Y"), "2026/13/03"),
            (
                "date.invalid",
                "The date '2026/13/03' does not match --date-format '%d/%m/%Y' (such as 03/11/2026); correct the date or \
                 the --date-format."
                    .to_string()
            )
        );
        assert_eq!(problem(Some("%d/%m/%Y"), "11/13/2026").0, "date.invalid");
        assert_eq!(problem(Some("%d/%m/%Y"), "03/11/99999").0, "date.invalid");
        assert_eq!(problem(Some("%d/%m/%Y"), "03/11/2026 14:05 +0100 extra").0, "date.invalid");
        assert_eq!(problem(Some("%d/%m/%Y %z"), "03/11/2026 +0100 +0100").0, "date.invalid");
    }

    #[test]
    fn dates_that_are_no_order_date_are_out_of_range() {
        let table: &[(Option<&str>, &str, &str)] = &[
            (None, "12", "read as an Excel date number is 1900-01-11"),
            (None, "2026", "read as an Excel date number is 1905-07-18"),
            (None, "1969-12-31 23:59:59", "is read as 1969-12-31 in UTC"),
            (None, "2200-01-01", "is read as 2200-01-01 in UTC"),
            (None, "9999-12-31T23:59:59Z", "is read as 9999-12-31 in UTC"),
            (None, "0001-01-01", "is read as 0001-01-01 in UTC"),
            // The range is checked in UTC, and the message names the date it checked.
            (None, "2199-12-31T23:59:59-23:59", "is read as 2200-01-01 in UTC"),
            (None, "1970-01-01T00:00:00+01:00", "is read as 1969-12-31 in UTC"),
            (None, "109575", "read as an Excel date number is 2200-01-01"),
            (None, "9999999", "read as an Excel date number is +29279-01-23"),
            (None, "9999999.5", "read as an Excel date number is +29279-01-23"),
            (None, "99999999999999999999", "is too large for an Excel date number"),
            (
                None,
                "20261103",
                "is too large for an Excel date number; if it is a date written YYYYMMDD, give --date-format %Y%m%d",
            ),
            (
                None,
                "1793711109",
                "is too large for an Excel date number; if it counts seconds since 1970 (a Unix time), give \
                 --date-format %s",
            ),
            (Some("%d/%m/%Y"), "03/11/26", "is read as 0026-11-03 in UTC"),
        ];
        for &(format, value, read_as) in table {
            assert_eq!(
                problem(format, value),
                (
                    "date.out_of_range",
                    format!(
                        "The date '{value}' {read_as}, which is no order's date (dates from 1970 to 2199 are read); \
                         check that --date-column names the order or fulfilment date, and the --date-format (%y for a \
                         two-digit year)."
                    )
                ),
                "{value:?}"
            );
        }
    }

    #[test]
    fn date_formats_are_checked_when_given() {
        let table: &[(&str, &str)] = &[
            (
                "",
                "--date-format '': the format is empty; use %d (day), %m (month), %b (month name), %Y (year), %y \
                 (two-digit year), %H:%M:%S (time) and %z (offset), e.g. %d/%m/%Y or %m/%d/%Y %H:%M.",
            ),
            (
                "%d/%m/%Q",
                "--date-format '%d/%m/%Q': this is not a date format (a % is followed by a letter it does not know); \
                 use %d (day), %m (month), %b (month name), %Y (year), %y (two-digit year), %H:%M:%S (time) and %z \
                 (offset), e.g. %d/%m/%Y or %m/%d/%Y %H:%M.",
            ),
            (
                "%d/%m",
                "--date-format '%d/%m': this format cannot say a whole date: it needs the day, the month and the year; \
                 use %d (day), %m (month), %b (month name), %Y (year), %y (two-digit year), %H:%M:%S (time) and %z \
                 (offset), e.g. %d/%m/%Y or %m/%d/%Y %H:%M.",
            ),
        ];
        for &(format, message) in table {
            assert_eq!(DateReader::new(Some(format), None).unwrap_err(), message, "{format:?}");
        }
        for format in ["%m/%Y", "dd/mm/yyyy", "%H:%M", "%", "%d/%m/%Y%"] {
            let error = DateReader::new(Some(format), None).unwrap_err();
            assert!(error.starts_with(&format!("--date-format '{format}': this ")), "{format}: {error}");
        }
        for format in [
            "%d/%m/%Y",
            " %d.%m.%Y ",
            "%F",
            "%D",
            "%Y-%m-%dT%H:%M:%S%z",
            "%e %b %Y",
            "%s",
            "%d/%m/%Y %I:%M %p",
            "%d/%m/%Y %Z",
        ] {
            assert!(DateReader::new(Some(format), None).is_ok(), "{format}");
        }
    }

    #[test]
    fn time_zones_are_iana_names_and_a_wrong_one_gets_suggestions() {
        let advice = "use an IANA time zone name such as Europe/Copenhagen, Europe/London, America/New_York or UTC";
        let table: &[(&str, String)] = &[
            (
                "Europe/Copenhagn",
                format!(
                    "--timezone 'Europe/Copenhagn': this is not a time zone name; did you mean Europe/Copenhagen? ({advice})"
                ),
            ),
            (
                "copenhagen",
                format!(
                    "--timezone 'copenhagen': this is not a time zone name; did you mean Europe/Copenhagen? ({advice})"
                ),
            ),
            (
                "New York",
                format!(
                    "--timezone 'New York': this is not a time zone name; did you mean America/New_York? ({advice})"
                ),
            ),
            ("Nowhere/Land", format!("--timezone 'Nowhere/Land': this is not a time zone name; {advice}.")),
            ("", format!("--timezone '': this is not a time zone name; {advice}.")),
            (
                "+01:00",
                format!(
                    "--timezone '+01:00': a fixed offset does not follow summer time; {advice} (the place whose clock \
                     the dates are on)."
                ),
            ),
            (
                "UTC+1",
                format!(
                    "--timezone 'UTC+1': a fixed offset does not follow summer time; {advice} (the place whose clock \
                     the dates are on)."
                ),
            ),
        ];
        for (zone, message) in table {
            assert_eq!(DateReader::new(None, Some(zone)).unwrap_err(), *message, "{zone:?}");
        }
        for zone in ["UTC", "Etc/UTC", "Europe/London", "EUROPE/LONDON", "America/Argentina/Buenos_Aires", "CET"] {
            assert!(DateReader::new(None, Some(zone)).is_ok(), "{zone}");
        }
        // A name with a multi-byte character where a prefix is cut does not panic.
        assert!(DateReader::new(None, Some("Eü/x")).is_err());
    }

    #[test]
    fn date_columns_are_found_by_name_best_first() {
        type Headers<'a> = &'a [&'a str];
        let table: &[(&str, Headers, &[usize])] = &[
            (
                "Shopify orders: fulfilled, then paid, then created",
                &["Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at", "Created at"],
                &[5, 3, 6],
            ),
            ("WooCommerce: completed beats ordered", &["Order Number", "Order Date", "Date Completed"], &[2, 1]),
            ("BigCommerce", &["Order ID", "Order Date", "Date Shipped"], &[2, 1]),
            ("Magento", &["ID", "Purchase Date", "Bill-to Name"], &[1]),
            ("Magento's Created At", &["Increment ID", "Created At"], &[1]),
            ("Etsy", &["Sale Date", "Order ID"], &[0]),
            ("a bare date comes last", &["Date", "Order date", "Email"], &[1, 0]),
            ("shipped", &["Shipped date", "Delivery date"], &[0, 1]),
            ("German", &["E-Mail", "Bestelldatum", "Versanddatum"], &[2, 1]),
            ("French", &["Courriel", "Date de commande", "Date d'expédition"], &[2, 1]),
            ("Danish", &["Ordredato", "E-mail"], &[0]),
            ("Dutch", &["Besteldatum", "Verzenddatum"], &[1, 0]),
            ("Swedish", &["Orderdatum", "Datum"], &[0, 1]),
            ("Spanish", &["Fecha de pedido", "Fecha de envío"], &[1, 0]),
            ("Italian", &["Data dell'ordine"], &[0]),
            ("Polish", &["Data zamówienia", "Data wysyłki"], &[1, 0]),
            ("names compared normalised", &["  ORDER_DATE ", "\u{feff}fulfilled-at"], &[1, 0]),
            ("no date", &["Email", "Name", "Updated at", "Cancelled at", "Birth date"], &[]),
        ];
        for &(what, headers, expected) in table {
            assert_eq!(date_columns(headers), expected, "{what}");
            assert_eq!(find_date_column(headers), expected.first().copied(), "{what}");
        }
    }

    #[test]
    fn date_aliases_are_normalised_unique_and_no_field_alias() {
        use crate::input::aliases;
        let mut seen = std::collections::HashSet::new();
        for alias in DATE_COLUMN_ALIASES {
            assert_eq!(normalise(alias), *alias, "{alias} is not normalised");
            assert!(seen.insert(alias), "{alias} is listed twice");
        }
        let fields = [
            aliases::EMAIL,
            aliases::FULL_NAME,
            aliases::BARE_NAME,
            aliases::OTHER_NAME,
            aliases::REFERENCE,
            aliases::CUSTOMER_ID,
        ];
        let table = crate::fields::FIELDS.iter().flat_map(|spec| spec.aliases.iter().chain(spec.own_aliases));
        for alias in fields.iter().flat_map(|list| list.iter()).chain(table) {
            assert!(!seen.contains(alias), "{alias} is a field's alias too");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_date_reader_never_panics(value in ".{0,40}", shaped in "[0-9]{1,6}([-/., ][0-9A-Za-z]{1,9}){0,4}( [0-9:]{1,9})?( ?[+−-][0-9:]{1,6}| [APZUTCGMapm]{1,3})?") {
            let zones = [None, Some("Europe/Copenhagen"), Some("Pacific/Chatham")];
            let formats = [None, Some("%d/%m/%Y"), Some("%Y%m%d %H%M%S"), Some("%s"), Some("%d %b %Y %I:%M %p %z")];
            for zone in zones {
                for format in formats {
                    let reader = DateReader::new(format, zone).unwrap();
                    for value in [&value, &shaped] {
                        match reader.read(value) {
                            Ok(date) => proptest::prop_assert!(YEARS.contains(&date.year())),
                            Err(problem) => proptest::prop_assert!(problem.message.contains("--date-")),
                        }
                    }
                }
            }
        }

        #[test]
        fn date_formats_and_zones_never_panic(format in ".{0,24}", zone in ".{0,24}", value in ".{0,24}") {
            if let Ok(reader) = DateReader::new(Some(&format), None) {
                let _ = reader.read(&value);
            }
            let _ = DateReader::new(None, Some(&zone));
        }

        #[test]
        fn the_duration_parser_never_panics(text in ".{0,30}", shaped in "[0-9]{0,25}[.,]?[0-9]{0,3} ?[a-zA-Z]{0,7}( ?[0-9]{0,20}[a-z]{0,3}){0,3}") {
            for text in [&text, &shaped] {
                match parse_duration(text) {
                    Ok(duration) => proptest::prop_assert!(duration >= TimeDelta::zero() && duration <= TimeDelta::days(3650)),
                    Err(message) => proptest::prop_assert!(!message.is_empty()),
                }
            }
        }
    }
}
