//! R27 priority: a conversation's priority is 0 to 9, higher first. It starts at its queue's
//! `default_priority`, raised to a contact's `priority` when the customer matches one; a
//! queue serves the highest priority first, then the oldest, and a conversation that comes
//! back (a transfer, a lost owner) goes to the front of its priority.

use super::input::{check_range, InvalidInput};

pub const MAX_PRIORITY: u8 = 9;

/// A checked priority (0 to 9); `field` names it in the error.
pub fn check_priority(field: &str, value: i64) -> Result<u8, InvalidInput> {
    check_range(field, value, 0, i64::from(MAX_PRIORITY))?;
    Ok(value as u8)
}

/// The priority a new conversation gets: the queue's default, raised by the customer's
/// contact (never lowered).
pub fn initial(queue_default: u8, contact: Option<u8>) -> u8 {
    queue_default.max(contact.unwrap_or(0)).min(MAX_PRIORITY)
}

/// A conversation moving into a queue (a transfer, an overflow) keeps its priority, raised to
/// that queue's default.
pub fn entering(current: u8, queue_default: u8) -> u8 {
    current.max(queue_default).min(MAX_PRIORITY)
}

/// Where a waiting conversation stands in its queue: smaller first. Highest priority first,
/// then the position (arrival time in ms; the front of a priority is negative), then the id.
pub type QueueKey = (i64, i64, i64);

/// The [`QueueKey`] of a conversation.
pub fn queue_key(priority: u8, position: i64, interaction_id: i64) -> QueueKey {
    (-i64::from(priority), position, interaction_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_contact_raises_the_default_never_lowers_it() {
        assert_eq!(initial(0, None), 0);
        assert_eq!(initial(3, None), 3);
        assert_eq!(initial(3, Some(9)), 9);
        assert_eq!(initial(5, Some(2)), 5);
        assert_eq!(entering(7, 2), 7);
        assert_eq!(entering(1, 4), 4);
    }

    #[test]
    fn the_range_is_checked() {
        assert_eq!(check_priority("priority", 9), Ok(9));
        assert!(check_priority("priority", 10).is_err());
        assert!(check_priority("priority", -1).is_err());
    }

    #[test]
    fn a_returned_conversation_is_first_of_its_priority_only() {
        let now = 1_000_000;
        let vip_new = queue_key(9, now, 1);
        let returned = queue_key(0, -now, 2); // back to the front
        let old_normal = queue_key(0, now - 50_000, 3);
        let mut keys = [old_normal, returned, vip_new];
        keys.sort();
        assert_eq!(keys, [vip_new, returned, old_normal]);
    }

    proptest! {
        /// The order is priority first (higher first), then position, whatever the values.
        #[test]
        fn priority_then_position(
            a in (0u8..=9, -1_000_000i64..1_000_000, 0i64..1000),
            b in (0u8..=9, -1_000_000i64..1_000_000, 0i64..1000),
        ) {
            let (ka, kb) = (queue_key(a.0, a.1, a.2), queue_key(b.0, b.1, b.2));
            if a.0 != b.0 {
                prop_assert_eq!(ka < kb, a.0 > b.0);
            } else if a.1 != b.1 {
                prop_assert_eq!(ka < kb, a.1 < b.1);
            }
        }
    }
}
