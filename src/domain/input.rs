//! Input parsed once into types at the edge (zero2prod's `SubscriberName::parse`): a value of
//! one of these types has passed its field's rules, wherever it came from (the HTTP API, the
//! command line, the demo seed). The messages are the API's `invalid_input` messages.

use super::DispositionCode;
use serde::Deserialize;

/// A field broke its rule; the message says which and how (HTTP 400 `invalid_input`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

/// For PATCH bodies: tells "absent" (`None`) from "null" (`Some(None)`).
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A text field's length in characters: `min..=max`.
pub fn check_len(field: &str, value: &str, min: usize, max: usize) -> Result<(), InvalidInput> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(InvalidInput(format!(
            "{field} must have {min} to {max} characters"
        )));
    }
    Ok(())
}

/// A number within `min..=max`.
pub fn check_range(field: &str, value: i64, min: i64, max: i64) -> Result<(), InvalidInput> {
    if value < min || value > max {
        return Err(InvalidInput(format!(
            "{field} must be between {min} and {max}"
        )));
    }
    Ok(())
}

/// `min..=max` characters, not only white space.
fn not_blank(field: &str, value: &str, min: usize, max: usize) -> Result<(), InvalidInput> {
    check_len(field, value, min, max)?;
    if value.trim().is_empty() {
        return Err(InvalidInput(format!("{field} cannot be blank")));
    }
    Ok(())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

text_type!(
    /// A login name: 1 to 64 characters of `A-Z a-z 0-9 . _ @ -`.
    Username
);
text_type!(
    /// 8 to 1024 characters.
    Password
);
text_type!(
    /// A user's name as others see it: 1 to 100 characters, not blank.
    DisplayName
);
text_type!(
    /// A queue's or a channel's name: 1 to 100 characters, not blank.
    Name
);
text_type!(
    /// Meta's id of a WhatsApp Business number: 1 to 32 digits.
    PhoneNumberId
);
text_type!(
    /// The number as people read it: 1 to 32 characters, not blank.
    DisplayPhoneNumber
);
text_type!(
    /// A WhatsApp Business Account id (R23): 1 to 32 digits.
    WabaId
);
text_type!(
    /// An access token, app secret or verify token: 1 to 4096 characters, not blank.
    Secret
);

impl Username {
    pub fn parse(s: &str) -> Result<Username, InvalidInput> {
        check_len("username", s, 1, 64)?;
        let ok = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'));
        if !ok {
            return Err(InvalidInput(
                "username may only contain letters, digits, `.`, `_`, `@` and `-`".into(),
            ));
        }
        Ok(Username(s.to_string()))
    }
}

impl Password {
    pub fn parse(s: &str) -> Result<Password, InvalidInput> {
        check_len("password", s, 8, 1024)?;
        Ok(Password(s.to_string()))
    }
}

impl DisplayName {
    pub fn parse(s: &str) -> Result<DisplayName, InvalidInput> {
        not_blank("display_name", s, 1, 100)?;
        Ok(DisplayName(s.to_string()))
    }
}

impl Name {
    pub fn parse(s: &str) -> Result<Name, InvalidInput> {
        not_blank("name", s, 1, 100)?;
        Ok(Name(s.to_string()))
    }
}

impl PhoneNumberId {
    pub fn parse(s: &str) -> Result<PhoneNumberId, InvalidInput> {
        check_len("phone_number_id", s, 1, 32)?;
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidInput("phone_number_id must be digits".into()));
        }
        Ok(PhoneNumberId(s.to_string()))
    }
}

impl WabaId {
    pub fn parse(s: &str) -> Result<WabaId, InvalidInput> {
        check_len("waba_id", s, 1, 32)?;
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidInput("waba_id must be digits".into()));
        }
        Ok(WabaId(s.to_string()))
    }
}

impl DisplayPhoneNumber {
    pub fn parse(s: &str) -> Result<DisplayPhoneNumber, InvalidInput> {
        not_blank("display_phone_number", s, 1, 32)?;
        Ok(DisplayPhoneNumber(s.to_string()))
    }
}

impl Secret {
    /// `field` names it in the message: `access_token`, `app_secret`, `verify_token`.
    pub fn parse(field: &str, s: &str) -> Result<Secret, InvalidInput> {
        not_blank(field, s, 1, 4096)?;
        Ok(Secret(s.to_string()))
    }
}

/// How many conversations an agent takes at once: 1 to 50.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxConcurrent(u32);

impl MaxConcurrent {
    pub fn parse(n: i64) -> Result<MaxConcurrent, InvalidInput> {
        check_range("max_concurrent", n, 1, 50)?;
        Ok(MaxConcurrent(n as u32))
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

/// The only channel kind: `whatsapp`.
pub fn parse_channel_kind(kind: &str) -> Result<(), InvalidInput> {
    if kind != "whatsapp" {
        return Err(InvalidInput("kind must be `whatsapp`".into()));
    }
    Ok(())
}

/// A queue's disposition codes: each code 1 to 64 and each label 1 to 200 characters, not
/// blank, no code twice.
pub fn check_disposition_codes(codes: &[DispositionCode]) -> Result<(), InvalidInput> {
    for (i, d) in codes.iter().enumerate() {
        check_len("disposition code", &d.code, 1, 64)?;
        check_len("disposition label", &d.label, 1, 200)?;
        if d.code.trim().is_empty() || d.label.trim().is_empty() {
            return Err(InvalidInput(
                "disposition codes and labels cannot be blank".into(),
            ));
        }
        if codes[..i].iter().any(|o| o.code == d.code) {
            return Err(InvalidInput(format!(
                "disposition code `{}` appears twice",
                d.code
            )));
        }
    }
    Ok(())
}

/// A queue's timers: offer 5 to 600 s, wrap-up 0 to 3600 s, alerts 1 to 86400 s with the
/// critical one after the warning.
pub fn check_queue_timers(
    offer_timeout_secs: i64,
    wrap_up_secs: i64,
    alert_warn_secs: i64,
    alert_critical_secs: i64,
) -> Result<(), InvalidInput> {
    check_range("offer_timeout_secs", offer_timeout_secs, 5, 600)?;
    check_range("wrap_up_secs", wrap_up_secs, 0, 3600)?;
    check_range("alert_warn_secs", alert_warn_secs, 1, 86_400)?;
    check_range("alert_critical_secs", alert_critical_secs, 1, 86_400)?;
    if alert_critical_secs <= alert_warn_secs {
        return Err(InvalidInput(
            "alert_critical_secs must be greater than alert_warn_secs".into(),
        ));
    }
    Ok(())
}

/// Sorted, de-duplicated ids.
pub fn unique_ids(ids: &[i64]) -> Vec<i64> {
    let mut v = ids.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// Ids in `a` and not in `b`, plus ids in `b` and not in `a` (sorted, unique).
pub fn changed_ids(a: &[i64], b: &[i64]) -> Vec<i64> {
    let mut out: Vec<i64> = a
        .iter()
        .filter(|x| !b.contains(x))
        .chain(b.iter().filter(|x| !a.contains(x)))
        .copied()
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_characters() {
        assert!(check_len("name", "é", 1, 1).is_ok());
        assert!(check_len("name", "", 1, 10).is_err());
        assert!(check_len("name", "abc", 1, 2).is_err());
    }

    #[test]
    fn usernames() {
        assert!(Username::parse("ann.lee@acme-1_x").is_ok());
        assert!(Username::parse("").is_err());
        assert!(Username::parse(&"a".repeat(64)).is_ok());
        assert!(Username::parse(&"a".repeat(65)).is_err());
        assert!(Username::parse("ann lee").is_err());
        assert!(Username::parse("ann#1").is_err());
        assert!(Username::parse("anné").is_err());
        assert_eq!(
            Username::parse("").unwrap_err().0,
            "username must have 1 to 64 characters"
        );
    }

    #[test]
    fn passwords_and_capacity() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(MaxConcurrent::parse(0).is_err());
        assert_eq!(MaxConcurrent::parse(1).unwrap().get(), 1);
        assert!(MaxConcurrent::parse(50).is_ok());
        assert_eq!(
            MaxConcurrent::parse(51).unwrap_err().0,
            "max_concurrent must be between 1 and 50"
        );
    }

    #[test]
    fn names_are_not_blank() {
        assert_eq!(
            DisplayName::parse("  ").unwrap_err().0,
            "display_name cannot be blank"
        );
        assert!(DisplayName::parse("Ann").is_ok());
        assert!(Name::parse(&"q".repeat(101)).is_err());
        assert_eq!(Name::parse(" ").unwrap_err().0, "name cannot be blank");
    }

    #[test]
    fn phone_number_ids_are_digits() {
        assert!(PhoneNumberId::parse("106540352242922").is_ok());
        assert!(PhoneNumberId::parse("").is_err());
        assert!(PhoneNumberId::parse("+1555").is_err());
        assert!(PhoneNumberId::parse("12 34").is_err());
        assert!(parse_channel_kind("whatsapp").is_ok());
        assert!(parse_channel_kind("sms").is_err());
        assert_eq!(
            Secret::parse("access_token", "  ").unwrap_err().0,
            "access_token cannot be blank"
        );
        assert!(DisplayPhoneNumber::parse("+1 555 010 0000").is_ok());
    }

    #[test]
    fn queue_timers() {
        assert!(check_queue_timers(30, 60, 60, 180).is_ok());
        assert!(check_queue_timers(4, 60, 60, 180).is_err());
        assert!(check_queue_timers(30, 3601, 60, 180).is_err());
        assert!(check_queue_timers(30, 0, 60, 60).is_err());
    }

    #[test]
    fn disposition_codes() {
        let code = |c: &str| DispositionCode {
            code: c.into(),
            label: "L".into(),
        };
        assert!(check_disposition_codes(&[code("a"), code("b")]).is_ok());
        assert!(check_disposition_codes(&[code("a"), code("a")]).is_err());
        assert!(check_disposition_codes(&[code(" ")]).is_err());
    }

    #[test]
    fn changed_ids_is_the_symmetric_difference() {
        assert_eq!(changed_ids(&[1, 2, 3], &[2, 3, 4]), vec![1, 4]);
        assert!(changed_ids(&[1], &[1]).is_empty());
        assert_eq!(unique_ids(&[3, 1, 3]), vec![1, 3]);
    }
}
