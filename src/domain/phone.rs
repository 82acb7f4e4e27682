//! Phone numbers in E.164 (`+` country code, national number), so that `+1 (123) 456-7890`,
//! `11234567890` (in a country whose code is 1) and `+11234567890` are the same number.

use phonenumber::metadata::{Metadata, DATABASE};

/// Longest input we try to read as a phone number.
const MAX_RAW_CHARS: usize = 40;
/// E.164 allows at most 15 digits, country code included.
const MAX_DIGITS: usize = 15;

/// The E.164 form of `raw`, or `None` when it is not a phone number. A number written without
/// a country code is read as a number of `default_region` (ISO 3166 code, e.g. `US`, `GB`):
/// its national prefix (`0`, `1`, ...) or its international prefix (`00`, `011`, ...) may lead.
///
/// Letters are refused (no vanity numbers: `1-800-FLOWERS` is not a customer's number), and so
/// are numbers whose length no number of their country has. The area code need not be assigned:
/// the number is matched, not dialled.
///
/// The `phonenumber` crate gives the metadata (country codes, prefixes, lengths, patterns); its
/// parser is not used because it strips a leading `1` from `+1 123 456 7890`.
pub fn normalise(raw: &str, default_region: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.chars().count() > MAX_RAW_CHARS {
        return None;
    }
    if !raw
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.' | '/'))
    {
        return None;
    }
    // Only ASCII is left, so byte slicing is safe. A `+` only leads.
    if raw[1..].contains('+') {
        return None;
    }
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    if raw.starts_with('+') {
        return international(&digits);
    }
    let meta = DATABASE.by_id(default_region.trim().to_ascii_uppercase().as_str())?;
    if let Some(rest) = meta
        .international_prefix()
        .and_then(|idd| idd.find(&digits))
        .filter(|m| m.start() == 0 && m.end() < digits.len())
        .map(|m| &digits[m.end()..])
    {
        if let Some(e164) = international(rest) {
            return Some(e164);
        }
    }
    national(&digits, meta)
}

/// The E.164 form of a WhatsApp id (`wa_id`: the number's digits, no `+`), which always
/// carries its country code.
pub fn from_wa_id(wa_id: &str) -> Option<String> {
    let digits = wa_id.trim().trim_start_matches('+');
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    international(digits)
}

/// True when `region` is a region the phone metadata knows (`US`, `GB`, `DE`, ...).
pub fn is_known_region(region: &str) -> bool {
    region.len() == 2
        && DATABASE
            .by_id(region.to_ascii_uppercase().as_str())
            .is_some()
}

/// Digits that start with a country code (country codes are prefix-free: at most one fits).
fn international(digits: &str) -> Option<String> {
    if digits.len() > MAX_DIGITS {
        return None;
    }
    (1..=3).filter(|n| *n < digits.len()).find_map(|n| {
        let code: u16 = digits[..n].parse().ok()?;
        let metas = DATABASE.by_code(&code)?;
        let rest = &digits[n..];
        // `+44 (0) 7966 ...`: a national prefix written after the country code.
        let without_prefix = metas
            .iter()
            .find_map(|m| m.national_prefix().and_then(|p| rest.strip_prefix(p)));
        let national = if possible(&metas, rest) {
            rest
        } else {
            without_prefix.filter(|n| possible(&metas, n))?
        };
        Some(format!("+{code}{national}"))
    })
}

/// Digits written the way `meta`'s country writes its numbers at home.
fn national(digits: &str, meta: &Metadata) -> Option<String> {
    let code = meta.country_code();
    let metas = DATABASE.by_code(&code)?;
    let without_prefix = meta.national_prefix().and_then(|p| digits.strip_prefix(p));
    let without_code = digits.strip_prefix(code.to_string().as_str());
    // Readings in order of preference: a valid number first, then one of a possible length.
    let readings = [without_prefix, Some(digits), without_code];
    let pick = |test: &dyn Fn(&str) -> bool| readings.iter().flatten().find(|n| test(n)).copied();
    let national = pick(&|n| valid(&metas, n)).or_else(|| pick(&|n| possible(&metas, n)))?;
    if national.len() + code.to_string().len() > MAX_DIGITS {
        return None;
    }
    Some(format!("+{code}{national}"))
}

/// The national number has a length some kind of number of that country has.
fn possible(metas: &[&Metadata], national: &str) -> bool {
    let len = national.len() as u16;
    !national.is_empty()
        && metas.iter().any(|m| {
            let d = m.descriptors();
            [
                d.fixed_line(),
                d.mobile(),
                d.toll_free(),
                d.premium_rate(),
                d.shared_cost(),
                d.personal_number(),
                d.voip(),
                d.pager(),
                d.uan(),
                d.voicemail(),
            ]
            .into_iter()
            .flatten()
            .any(|t| t.possible_length().contains(&len))
        })
}

/// The national number matches the country's pattern of assigned numbers.
fn valid(metas: &[&Metadata], national: &str) -> bool {
    possible(metas, national)
        && metas.iter().any(|m| {
            m.descriptors()
                .general()
                .national_number()
                .find(national)
                .is_some_and(|f| f.start() == 0 && f.end() == national.len())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_of_one_number_match() {
        for raw in [
            "+1 (123) 456-7890",
            "11234567890",
            "+11234567890",
            "1 123 456 7890",
            "(123) 456-7890",
            "123.456.7890",
            "  +1-123-456-7890 ",
        ] {
            assert_eq!(
                normalise(raw, "US").as_deref(),
                Some("+11234567890"),
                "{raw}"
            );
        }
        assert_eq!(from_wa_id("11234567890").as_deref(), Some("+11234567890"));
    }

    #[test]
    fn default_region_applies_only_without_a_country_code() {
        assert_eq!(
            normalise("07966 197542", "GB").as_deref(),
            Some("+447966197542")
        );
        assert_eq!(
            normalise("+44 7966 197542", "US").as_deref(),
            Some("+447966197542")
        );
        assert_eq!(
            normalise("+1 650 555 1234", "GB").as_deref(),
            Some("+16505551234")
        );
        assert_eq!(
            normalise("011 44 7966 197542", "US").as_deref(),
            Some("+447966197542")
        );
        assert_eq!(
            normalise("00 1 650 555 1234", "GB").as_deref(),
            Some("+16505551234")
        );
        assert_eq!(
            normalise("447966197542", "GB").as_deref(),
            Some("+447966197542")
        );
        assert_eq!(
            normalise("+44 (0)7966 197542", "US").as_deref(),
            Some("+447966197542")
        );
        assert_eq!(
            normalise("030 1234567", "DE").as_deref(),
            Some("+49301234567")
        );
        // A wa_id always has its country code, whatever the default region.
        assert_eq!(from_wa_id("447966197542").as_deref(), Some("+447966197542"));
        assert_eq!(from_wa_id("+16505551234").as_deref(), Some("+16505551234"));
    }

    #[test]
    fn different_numbers_do_not_match() {
        let a = normalise("+1 (123) 456-7890", "US");
        for other in ["+1 (123) 456-7891", "+44 123 456 7890", "+11234567809"] {
            assert_ne!(normalise(other, "US"), a, "{other}");
        }
    }

    #[test]
    fn what_is_not_a_phone_number() {
        for raw in [
            "",
            "   ",
            "12345",
            "+1 456",
            "+1 800 FLOWERS",
            "abc",
            "123-456-789O",
            "+1 123 456 7890 ext 5",
            "1+1234567890",
            "+11234567890123456789",
            "+999 1234567",
            &"1".repeat(41),
        ] {
            assert_eq!(normalise(raw, "US"), None, "{raw:?}");
        }
        assert_eq!(from_wa_id("abc"), None);
        assert_eq!(from_wa_id(""), None);
        assert_eq!(from_wa_id("123"), None);
    }

    #[test]
    fn regions() {
        assert!(is_known_region("US"));
        assert!(is_known_region("gb"));
        assert!(!is_known_region("XX"));
        assert!(!is_known_region("USA"));
    }
}
