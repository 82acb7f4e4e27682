//! Phone numbers in E.164 (`+` country code, national number), so that `+1 (123) 456-7890`,
//! `11234567890` (in a country whose code is 1) and `+11234567890` are the same number.

use phonenumber::metadata::{Metadata, DATABASE};
use phonenumber::Mode;

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

/// The country code and the national significant number of an E.164 number
/// (`+447700900123` → `(44, "7700900123")`), or `None` when `e164` is not one.
pub fn split_e164(e164: &str) -> Option<(u16, &str)> {
    let digits = e164.strip_prefix('+')?;
    if digits.len() > MAX_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Country codes are prefix-free: at most one of the first three lengths is one.
    (1..=3).filter(|n| *n < digits.len()).find_map(|n| {
        let code: u16 = digits[..n].parse().ok()?;
        DATABASE.by_code(&code)?;
        Some((code, &digits[n..]))
    })
}

/// How people commonly write the number `e164` by hand, for a CRM that keeps numbers as free
/// text (Dynamics 365). No repeats, in this order:
/// - E.164 and its digits alone: `+447700900123`, `447700900123`;
/// - grouped as the phone metadata formats it internationally, and that grouping without the
///   country code: `+44 7700 900123`, `7700 900123`;
/// - with `default_region`'s international prefix instead of `+`: `00447700900123`,
///   `0044 7700 900123`, `00 44 7700 900123`;
/// - for a number of `default_region`'s country, its national format and its national
///   digits with the trunk prefix: `07700 900123`, `07700900123` (`(650) 555-1234` in `US`);
/// - the national significant number alone: `7700900123`.
///
/// Empty when `e164` is not an E.164 number.
pub fn written_forms(e164: &str, default_region: &str) -> Vec<String> {
    let Some((code, national)) = split_e164(e164) else {
        return Vec::new();
    };
    let digits = &e164[1..];
    let mut forms = vec![e164.to_string(), digits.to_string()];
    // The library's grouping, only when it reads the number as we do (it may not for a
    // number of an unassigned range).
    let parsed = phonenumber::parse(None, e164)
        .ok()
        .filter(|n| n.code().value() == code && n.format().mode(Mode::E164).to_string() == e164);
    let international = parsed
        .as_ref()
        .map(|n| n.format().mode(Mode::International).to_string());
    if let Some(grouped) = &international {
        forms.push(grouped.clone());
        if let Some(rest) = grouped.strip_prefix(&format!("+{code} ")) {
            forms.push(rest.to_string());
        }
    }
    let region = DATABASE.by_id(default_region.trim().to_ascii_uppercase().as_str());
    if let Some(idd) = region.and_then(dialling_prefix) {
        forms.push(format!("{idd}{digits}"));
        if let Some(grouped) = &international {
            forms.push(format!("{idd}{}", &grouped[1..]));
            forms.push(format!("{idd} {}", &grouped[1..]));
        }
    }
    if let Some(region) = region.filter(|m| m.country_code() == code) {
        if let Some(n) = &parsed {
            forms.push(n.format().mode(Mode::National).to_string());
        }
        if let Some(trunk) = region.national_prefix() {
            forms.push(format!("{trunk}{national}"));
        }
    }
    forms.push(national.to_string());
    let mut seen = std::collections::HashSet::new();
    forms.retain(|f| seen.insert(f.clone()));
    forms
}

/// The digits a person in this region dials before a country code (`00`, `011`), when the
/// metadata names one.
fn dialling_prefix(meta: &Metadata) -> Option<&str> {
    meta.preferred_international_prefix().or_else(|| {
        meta.international_prefix()
            .map(|p| p.as_str())
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// The E.164 form of a number a CRM keeps as free text: as [`normalise`] reads it, else, when
/// no number of `default_region` is written that way, read as digits that start with their
/// country code (`447700900123` in `US`).
pub fn normalise_stored(raw: &str, default_region: &str) -> Option<String> {
    normalise(raw, default_region).or_else(|| {
        let raw = raw.trim();
        if raw.is_empty()
            || raw.len() > MAX_RAW_CHARS
            || !raw
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.' | '/'))
        {
            return None;
        }
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        international(&digits)
    })
}

/// True when `raw` (a number as a person wrote it in a CRM) is the number `e164`.
pub fn is_same_number(raw: &str, e164: &str, default_region: &str) -> bool {
    normalise_stored(raw, default_region).is_some_and(|n| n == e164)
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

    /// SPEC 8.1: the records people really type find the customer.
    #[test]
    fn numbers_as_people_type_them() {
        for (raw, region, e164) in [
            ("+44 7700 900123", "GB", "+447700900123"),
            ("0044 7700 900123", "GB", "+447700900123"),
            ("07700 900123", "GB", "+447700900123"),
            ("+44 7700 900123", "US", "+447700900123"),
            ("(650) 555-1234", "US", "+16505551234"),
            ("650-555-1234", "US", "+16505551234"),
            ("+1 650-555-1234", "GB", "+16505551234"),
        ] {
            assert_eq!(
                normalise(raw, region).as_deref(),
                Some(e164),
                "{raw} in {region}"
            );
            assert!(is_same_number(raw, e164, region), "{raw} in {region}");
        }
        // The region only reads numbers written without their country code.
        assert!(!is_same_number("07700 900123", "+447700900123", "US"));
        assert!(!is_same_number("(650) 555-1234", "+16505551234", "GB"));
        assert!(!is_same_number("+1 7700 900123", "+447700900123", "GB"));
    }

    #[test]
    fn e164_splits_into_country_code_and_national_number() {
        assert_eq!(split_e164("+447700900123"), Some((44, "7700900123")));
        assert_eq!(split_e164("+16505551234"), Some((1, "6505551234")));
        assert_eq!(split_e164("+390612345678"), Some((39, "0612345678")));
        for bad in ["447700900123", "+", "+44", "+44 7700", "+9991234567", ""] {
            assert_eq!(split_e164(bad), None, "{bad}");
        }
    }

    #[test]
    fn written_forms_of_a_number_of_the_default_region() {
        assert_eq!(
            written_forms("+447700900123", "GB"),
            vec![
                "+447700900123",
                "447700900123",
                "+44 7700 900123",
                "7700 900123",
                "00447700900123",
                "0044 7700 900123",
                "00 44 7700 900123",
                "07700 900123",
                "07700900123",
                "7700900123",
            ]
        );
        assert_eq!(
            written_forms("+16505551234", "US"),
            vec![
                "+16505551234",
                "16505551234",
                "+1 650-555-1234",
                "650-555-1234",
                "01116505551234",
                "0111 650-555-1234",
                "011 1 650-555-1234",
                "(650) 555-1234",
                "6505551234",
            ]
        );
    }

    #[test]
    fn written_forms_of_a_foreign_number_have_no_national_format() {
        let forms = written_forms("+447700900123", "US");
        assert!(
            forms.contains(&"011 44 7700 900123".to_string()),
            "{forms:?}"
        );
        assert!(!forms.iter().any(|f| f.starts_with("07700")), "{forms:?}");
        assert!(!forms.iter().any(|f| f.starts_with("00")), "{forms:?}");
    }

    #[test]
    fn a_stored_number_without_its_plus_is_read_with_its_country_code() {
        assert_eq!(
            normalise_stored("447700900123", "US").as_deref(),
            Some("+447700900123")
        );
        assert_eq!(normalise("447700900123", "US"), None, "typed: refused");
        // A reading in the region comes first.
        assert_eq!(
            normalise_stored("6505551234", "US").as_deref(),
            Some("+16505551234")
        );
        assert_eq!(normalise_stored("call me", "US"), None);
        assert_eq!(normalise_stored("+44 7700 900123 x", "US"), None);
    }

    #[test]
    fn every_written_form_reads_back_as_the_number() {
        for (e164, region) in [
            ("+447700900123", "GB"),
            ("+16505551234", "US"),
            ("+4930123456", "DE"),
            ("+447700900123", "US"),
        ] {
            let forms = written_forms(e164, region);
            assert!(forms.len() >= 5, "{e164}: {forms:?}");
            for form in &forms {
                // The national number alone is a tail to look for, not a whole number.
                if split_e164(e164).is_some_and(|(_, n)| n == form.replace([' ', '-'], "")) {
                    continue;
                }
                assert!(
                    is_same_number(form, e164, region),
                    "{form} in {region} is {e164}"
                );
            }
        }
        assert!(written_forms("not a number", "US").is_empty());
    }

    #[test]
    fn regions() {
        assert!(is_known_region("US"));
        assert!(is_known_region("gb"));
        assert!(!is_known_region("XX"));
        assert!(!is_known_region("USA"));
    }
}
