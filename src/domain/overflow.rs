//! R27 overflow: a conversation waiting in a queue longer than its `max_wait_secs` goes to the
//! front of the queue's `overflow_queue_id`, once (no loops), with a system message.

use super::input::{check_range, InvalidInput};

pub const MIN_MAX_WAIT_SECS: i64 = 1;
pub const MAX_MAX_WAIT_SECS: i64 = 86_400;

/// Where and after how long a queue's waiting conversations overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow {
    pub max_wait_secs: u32,
    pub queue_id: i64,
}

impl Overflow {
    /// Both or neither; 1 to 86,400 seconds; another queue than `own_id` (None when the
    /// queue is being created). Whether the target exists is the caller's to check.
    pub fn checked(
        max_wait_secs: Option<i64>,
        queue_id: Option<i64>,
        own_id: Option<i64>,
    ) -> Result<Option<Overflow>, InvalidInput> {
        match (max_wait_secs, queue_id) {
            (None, None) => Ok(None),
            (Some(secs), Some(queue_id)) => {
                check_range("max_wait_secs", secs, MIN_MAX_WAIT_SECS, MAX_MAX_WAIT_SECS)?;
                if own_id == Some(queue_id) {
                    return Err(InvalidInput(
                        "overflow_queue_id must be another queue than this one".into(),
                    ));
                }
                Ok(Some(Overflow {
                    max_wait_secs: secs as u32,
                    queue_id,
                }))
            }
            _ => Err(InvalidInput(
                "max_wait_secs and overflow_queue_id go together: give both, or neither".into(),
            )),
        }
    }

    /// When a conversation that came into the queue at `queued_at` overflows.
    pub fn deadline(&self, queued_at: i64) -> i64 {
        queued_at + i64::from(self.max_wait_secs) * 1000
    }
}

/// The system message of an overflow.
pub fn note(from: &str, to: &str, waited_ms: i64) -> String {
    let secs = (waited_ms / 1000).max(0);
    let waited = if secs >= 120 {
        format!("{} minutes", secs / 60)
    } else {
        format!("{secs} seconds")
    };
    format!("Waited {waited} in {from}: moved to the front of {to}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_or_neither() {
        assert_eq!(Overflow::checked(None, None, Some(1)), Ok(None));
        assert!(Overflow::checked(Some(60), None, None).is_err());
        assert!(Overflow::checked(None, Some(2), None).is_err());
        assert_eq!(
            Overflow::checked(Some(60), Some(2), Some(1)),
            Ok(Some(Overflow {
                max_wait_secs: 60,
                queue_id: 2
            }))
        );
    }

    #[test]
    fn never_to_itself_and_within_range() {
        assert!(Overflow::checked(Some(60), Some(1), Some(1)).is_err());
        assert!(Overflow::checked(Some(0), Some(2), None).is_err());
        assert!(Overflow::checked(Some(86_401), Some(2), None).is_err());
    }

    #[test]
    fn deadline_and_note() {
        let o = Overflow {
            max_wait_secs: 90,
            queue_id: 2,
        };
        assert_eq!(o.deadline(1_000), 91_000);
        assert_eq!(
            note("Sales", "Support", 95_000),
            "Waited 95 seconds in Sales: moved to the front of Support"
        );
        assert_eq!(
            note("Sales", "Support", 600_000),
            "Waited 10 minutes in Sales: moved to the front of Support"
        );
    }
}
