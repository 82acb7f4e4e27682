//! R21: who a customer is. Meta names a WhatsApp user by their phone number (`wa_id`), by a
//! business-scoped user id (BSUID, `US.13491208655302741918`), or both; a user who adopted a
//! username may come with no phone number at all. One person per channel is one customer,
//! whichever of these a delivery carries.

use serde::Serialize;

/// What is known of a customer's WhatsApp identity. At least one of `phone` and `user_id` is
/// set for a customer that wrote to us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerIdentity {
    /// The phone number's digits with its country code, no `+` (Meta's `wa_id`).
    pub phone: Option<String>,
    /// The business-scoped user id (BSUID).
    pub user_id: Option<String>,
    /// The WhatsApp username, without a leading `@`.
    pub username: Option<String>,
}

/// Where a reply goes: the phone number when one is known (`to`), else the BSUID
/// (`recipient`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Phone(String),
    UserId(String),
}

/// One of the keys a customer is found by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CustomerKey {
    Phone(String),
    UserId(String),
}

/// The customer as every API and event shows them: `{name, phone, username, user_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CustomerView {
    pub name: String,
    /// E.164 (`+447700900123`), or null when the customer's number is withheld.
    pub phone: Option<String>,
    /// The WhatsApp username, without `@`, when the customer has one.
    pub username: Option<String>,
    /// The business-scoped user id (BSUID), when Meta gave one.
    pub user_id: Option<String>,
}

impl CustomerIdentity {
    /// An identity from a delivery's fields: empty strings count as absent, digits are kept
    /// without `+`, a username loses its `@`.
    pub fn new(phone: Option<&str>, user_id: Option<&str>, username: Option<&str>) -> Self {
        let clean = |s: Option<&str>| {
            s.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        CustomerIdentity {
            phone: clean(phone).map(|p| p.trim_start_matches('+').to_string()),
            user_id: clean(user_id),
            username: clean(username.map(|u| u.trim().trim_start_matches('@'))),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.phone.is_none() && self.user_id.is_none()
    }

    /// The phone number in E.164, when known.
    pub fn e164(&self) -> Option<String> {
        self.phone.as_ref().map(|p| format!("+{p}"))
    }

    /// How agents see who the customer is when there is no name: the number, else
    /// `@username`, else the BSUID.
    pub fn label(&self) -> String {
        if let Some(p) = self.e164() {
            p
        } else if let Some(u) = &self.username {
            format!("@{u}")
        } else if let Some(id) = &self.user_id {
            id.clone()
        } else {
            "unknown customer".to_string()
        }
    }

    /// The keys this customer is found by, the BSUID first (it names the person even when the
    /// number is withheld).
    pub fn keys(&self) -> Vec<CustomerKey> {
        let mut keys = Vec::with_capacity(2);
        if let Some(u) = &self.user_id {
            keys.push(CustomerKey::UserId(u.clone()));
        }
        if let Some(p) = &self.phone {
            keys.push(CustomerKey::Phone(p.clone()));
        }
        keys
    }

    /// Where replies go (R21): the number when known, else the BSUID.
    pub fn recipient(&self) -> Option<Recipient> {
        match (&self.phone, &self.user_id) {
            (Some(p), _) => Some(Recipient::Phone(p.clone())),
            (None, Some(u)) => Some(Recipient::UserId(u.clone())),
            (None, None) => None,
        }
    }

    /// Takes in what a later delivery says of the same person: a number that appears, a
    /// BSUID that appears or changed, a new username. Nothing known is forgotten because a
    /// delivery leaves it out. True when something changed.
    pub fn learn(&mut self, other: &CustomerIdentity) -> bool {
        let mut changed = false;
        for (mine, theirs) in [
            (&mut self.phone, &other.phone),
            (&mut self.user_id, &other.user_id),
            (&mut self.username, &other.username),
        ] {
            if theirs.is_some() && mine != theirs {
                *mine = theirs.clone();
                changed = true;
            }
        }
        changed
    }

    pub fn view(&self, name: &str) -> CustomerView {
        CustomerView {
            name: name.to_string(),
            phone: self.e164(),
            username: self.username.clone(),
            user_id: self.user_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fields_are_absent_and_forms_are_cleaned() {
        let id = CustomerIdentity::new(Some(" +447700900123 "), Some(""), Some("@ann"));
        assert_eq!(id.phone.as_deref(), Some("447700900123"));
        assert_eq!(id.user_id, None);
        assert_eq!(id.username.as_deref(), Some("ann"));
        assert!(CustomerIdentity::new(None, Some("  "), Some("ann")).is_empty());
    }

    #[test]
    fn replies_go_to_the_number_when_known_else_the_bsuid() {
        let both = CustomerIdentity::new(Some("447700900123"), Some("GB.1"), None);
        assert_eq!(
            both.recipient(),
            Some(Recipient::Phone("447700900123".into()))
        );
        let bsuid = CustomerIdentity::new(None, Some("GB.1"), None);
        assert_eq!(bsuid.recipient(), Some(Recipient::UserId("GB.1".into())));
        assert_eq!(CustomerIdentity::default().recipient(), None);
    }

    #[test]
    fn label_prefers_number_then_username_then_bsuid() {
        assert_eq!(
            CustomerIdentity::new(Some("1650"), Some("US.1"), Some("bob")).label(),
            "+1650"
        );
        assert_eq!(
            CustomerIdentity::new(None, Some("US.1"), Some("bob")).label(),
            "@bob"
        );
        assert_eq!(
            CustomerIdentity::new(None, Some("US.1"), None).label(),
            "US.1"
        );
    }

    #[test]
    fn learning_adds_what_is_new_and_forgets_nothing() {
        let mut id = CustomerIdentity::new(None, Some("US.1"), Some("bob"));
        assert!(id.learn(&CustomerIdentity::new(
            Some("16505551234"),
            Some("US.1"),
            None
        )));
        assert_eq!(id.phone.as_deref(), Some("16505551234"));
        assert_eq!(id.username.as_deref(), Some("bob"));
        assert!(!id.learn(&CustomerIdentity::new(Some("16505551234"), None, None)));
        assert!(id.learn(&CustomerIdentity::new(None, Some("US.2"), None)));
        assert_eq!(id.user_id.as_deref(), Some("US.2"));
    }

    #[test]
    fn keys_put_the_bsuid_first() {
        let id = CustomerIdentity::new(Some("1650"), Some("US.1"), None);
        assert_eq!(
            id.keys(),
            vec![
                CustomerKey::UserId("US.1".into()),
                CustomerKey::Phone("1650".into())
            ]
        );
    }
}
