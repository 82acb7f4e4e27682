//! R27 sticky routing: a new conversation from a customer whose previous conversation in the
//! queue closed less than `sticky_window_hours` ago is offered first to the agent who owned
//! it, for at most `sticky_agent_secs`; then to everyone. An ineligible or offline last agent
//! never delays it (the queue, which knows the agents, decides that when it arrives).

use super::input::{check_range, InvalidInput};

pub const MAX_STICKY_AGENT_SECS: i64 = 3600;
pub const DEFAULT_WINDOW_HOURS: u32 = 72;
pub const MAX_WINDOW_HOURS: i64 = 720;

/// A queue's sticky routing settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StickySettings {
    /// 0: off.
    pub agent_secs: u32,
    pub window_hours: u32,
}

impl Default for StickySettings {
    fn default() -> Self {
        StickySettings {
            agent_secs: 0,
            window_hours: DEFAULT_WINDOW_HOURS,
        }
    }
}

impl StickySettings {
    /// 0 to 3,600 seconds; 1 to 720 hours.
    pub fn checked(agent_secs: i64, window_hours: i64) -> Result<StickySettings, InvalidInput> {
        check_range("sticky_agent_secs", agent_secs, 0, MAX_STICKY_AGENT_SECS)?;
        check_range("sticky_window_hours", window_hours, 1, MAX_WINDOW_HOURS)?;
        Ok(StickySettings {
            agent_secs: agent_secs as u32,
            window_hours: window_hours as u32,
        })
    }

    /// Previous conversations that closed at or after this instant count (None: off).
    pub fn window_start(&self, now: i64) -> Option<i64> {
        (self.agent_secs > 0).then(|| now - i64::from(self.window_hours) * 3_600_000)
    }

    /// The reservation of a conversation created at `now` whose customer's previous
    /// conversation was owned by `last_agent`.
    pub fn reservation(&self, last_agent: Option<i64>, now: i64) -> Option<Sticky> {
        let agent_id = last_agent?;
        (self.agent_secs > 0).then(|| Sticky {
            agent_id,
            until: now + i64::from(self.agent_secs) * 1000,
        })
    }
}

/// A waiting conversation offered only to `agent_id` until `until` (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sticky {
    pub agent_id: i64,
    pub until: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default() {
        let s = StickySettings::default();
        assert_eq!(s.window_start(10), None);
        assert_eq!(s.reservation(Some(4), 10), None);
    }

    #[test]
    fn a_reservation_lasts_sticky_agent_secs() {
        let s = StickySettings::checked(30, 2).unwrap();
        assert_eq!(s.window_start(10_000_000), Some(10_000_000 - 7_200_000));
        assert_eq!(
            s.reservation(Some(4), 1_000),
            Some(Sticky {
                agent_id: 4,
                until: 31_000
            })
        );
        assert_eq!(s.reservation(None, 1_000), None);
    }

    #[test]
    fn ranges() {
        assert!(StickySettings::checked(-1, 72).is_err());
        assert!(StickySettings::checked(3601, 72).is_err());
        assert!(StickySettings::checked(0, 0).is_err());
        assert!(StickySettings::checked(0, 721).is_err());
        assert!(StickySettings::checked(3600, 720).is_ok());
    }
}
