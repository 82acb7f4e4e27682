//! A CRM contact: its id (the built-in CRM's or an external one's), as shown and as checked.

use super::time::rfc3339;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A contact's id: the built-in CRM's row id (a JSON number, as in `interactions.contact_id`
/// and `/activities?contact_id=`), or an external CRM's id (a JSON string: a Dynamics GUID).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ContactId {
    Local(i64),
    External(String),
}

impl ContactId {
    /// The built-in CRM's id, for the integer `contact_id` columns.
    pub fn local(&self) -> Option<i64> {
        match self {
            ContactId::Local(id) => Some(*id),
            ContactId::External(_) => None,
        }
    }

    /// An external CRM's id, for the `crm_contact_id` columns.
    pub fn external(&self) -> Option<&str> {
        match self {
            ContactId::Local(_) => None,
            ContactId::External(id) => Some(id),
        }
    }
}

impl std::fmt::Display for ContactId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContactId::Local(id) => write!(f, "{id}"),
            ContactId::External(id) => f.write_str(id),
        }
    }
}

/// A contact as the agent desktop and the contacts API show it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Contact {
    /// The built-in CRM's ids are numbers. (An external CRM's contacts, which only the
    /// WebSocket's `screen_pop` carries, have string ids: a Dynamics 365 GUID.)
    #[schema(value_type = i64)]
    pub id: ContactId,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// E.164, e.g. `+11234567890`.
    pub phones: Vec<String>,
    /// The customer's WhatsApp business-scoped user ids (BSUIDs, e.g.
    /// `US.13491208655302741918`): a customer whose number is withheld is found by them (R21).
    pub whatsapp_user_ids: Vec<String>,
    pub email: Option<String>,
    pub company: Option<String>,
    pub notes: Option<String>,
    /// R27: a conversation from a customer matching this contact gets at least this priority
    /// (0 to 9, higher served first); kept by the built-in CRM.
    #[schema(minimum = 0, maximum = 9)]
    pub priority: Option<u8>,
    /// RFC 3339.
    #[serde(with = "rfc3339")]
    #[schema(value_type = String)]
    pub updated_at: i64,
}

impl Contact {
    /// "First Last", or whichever part there is.
    pub fn display_name(&self) -> String {
        [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A checked contact (`crm::NewContact::validate`): text trimmed (blank is absent), numbers
/// in E.164.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidContact {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// `(e164, as written)`, without repeats.
    pub phones: Vec<(String, String)>,
    /// BSUIDs ([`is_whatsapp_user_id`]), without repeats.
    pub whatsapp_user_ids: Vec<String>,
    pub email: Option<String>,
    pub company: Option<String>,
    pub notes: Option<String>,
    /// 0 to 9 (R27).
    pub priority: Option<u8>,
}

impl ValidContact {
    pub fn e164s(&self) -> Vec<String> {
        self.phones.iter().map(|(e, _)| e.clone()).collect()
    }
}

/// Longest id part of a BSUID (after the country and the optional `ENT.`).
const MAX_USER_ID_CHARS: usize = 128;

/// True for a WhatsApp business-scoped user id (BSUID): two letters (the country), a dot, then
/// 1 to 128 letters and digits, e.g. `US.13491208655302741918`; a parent BSUID has `ENT.`
/// after the country: `US.ENT.11815799212886844830`.
pub fn is_whatsapp_user_id(s: &str) -> bool {
    let Some((country, rest)) = s.split_once('.') else {
        return false;
    };
    let id = rest.strip_prefix("ENT.").unwrap_or(rest);
    country.len() == 2
        && country.bytes().all(|b| b.is_ascii_alphabetic())
        && !id.is_empty()
        && id.len() <= MAX_USER_ID_CHARS
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::is_whatsapp_user_id;

    #[test]
    fn bsuids_are_a_country_a_dot_and_up_to_128_alphanumerics() {
        for ok in [
            "US.13491208655302741918",
            "BR.1502576394655843",
            "US.ENT.11815799212886844830",
            "GB.abcDEF123",
            &format!("IN.{}", "7".repeat(128)),
        ] {
            assert!(is_whatsapp_user_id(ok), "{ok}");
        }
        for bad in [
            "",
            "13491208655302741918",
            "USA.1349",
            "U.1349",
            "US.",
            "US.ENT.",
            "US.1349-1208",
            "US.1349 1208",
            "1S.1349",
            " US.1349",
            "US.ENT.ENT.1",
            "+16505551234",
            &format!("IN.{}", "7".repeat(129)),
        ] {
            assert!(!is_whatsapp_user_id(bad), "{bad:?}");
        }
    }
}
