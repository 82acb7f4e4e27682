//! The `csat_surveys` table (R28): one survey per conversation, committed with its call log
//! and its outbox row, and the customer's answer.

use super::{messages, outbox, Db, StoreResult};
use crate::domain::csat;
use crate::domain::customer::CustomerIdentity;
use crate::domain::MessageKind;
use rusqlite::{params, OptionalExtension};

/// A survey to send as a conversation closes.
#[derive(Debug, Clone)]
pub struct NewSurvey {
    pub interaction_id: i64,
    pub channel_id: i64,
    pub queue_id: i64,
    /// The agent who owned the conversation last.
    pub agent_id: Option<i64>,
    pub question: String,
    pub timeout_hours: u32,
}

/// Stores the survey message with its outbox row and the survey row, in the caller's
/// transaction (the one that saves the call log `activity_id`): a crash after the commit
/// still sends it, and only once per conversation.
pub fn enqueue(db: &Db, s: &NewSurvey, activity_id: i64, now: i64) -> StoreResult<i64> {
    let payload = csat::survey_payload(s.interaction_id, &s.question);
    let message = messages::insert_outbound_payload(
        db,
        s.interaction_id,
        None,
        MessageKind::Interactive,
        &csat::survey_text(&s.question),
        &payload,
        now,
    )?;
    outbox::enqueue(db, message.id, s.interaction_id, now)?;
    db.0.prepare_cached(
        "INSERT INTO csat_surveys (interaction_id, activity_id, channel_id, queue_id, agent_id,
            message_id, sent_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        s.interaction_id,
        activity_id,
        s.channel_id,
        s.queue_id,
        s.agent_id,
        message.id,
        now,
        now + i64::from(s.timeout_hours) * 3_600_000,
    ])?;
    Ok(message.id)
}

/// What became of a customer's pick in a survey list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Stored on the survey (and so on the call log).
    Recorded,
    /// The same delivery again.
    Duplicate,
    /// The survey was answered already: the first answer stands.
    AlreadyAnswered,
    /// Not an answer to a survey of this customer, or too late: an ordinary message (R1).
    NotAnAnswer,
}

/// Records `score` for the survey of `interaction_id`, if that survey went to this customer
/// on this channel and the answer (at `answered_at`, the customer's time, never after `now`)
/// comes before it expires.
pub fn record_answer(
    db: &Db,
    channel_id: i64,
    customer: &CustomerIdentity,
    interaction_id: i64,
    score: u8,
    wamid: &str,
    answered_at: i64,
) -> StoreResult<Answer> {
    let repeated: bool =
        db.0.prepare_cached("SELECT EXISTS(SELECT 1 FROM csat_surveys WHERE answer_wamid = ?1)")?
            .query_row([wamid], |r| r.get(0))?;
    if repeated {
        return Ok(Answer::Duplicate);
    }
    let survey: Option<(Option<i64>, i64)> =
        db.0.prepare_cached(
            "SELECT s.score, s.expires_at FROM csat_surveys s
               JOIN interactions i ON i.id = s.interaction_id
              WHERE s.interaction_id = ?1 AND s.channel_id = ?2
                AND ((?3 IS NOT NULL AND i.customer_phone = ?3)
                  OR (?4 IS NOT NULL AND i.customer_user_id = ?4))",
        )?
        .query_row(
            params![interaction_id, channel_id, customer.phone, customer.user_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((score_before, expires_at)) = survey else {
        return Ok(Answer::NotAnAnswer);
    };
    if answered_at > expires_at {
        return Ok(Answer::NotAnAnswer);
    }
    if score_before.is_some() {
        return Ok(Answer::AlreadyAnswered);
    }
    db.0.prepare_cached(
        "UPDATE csat_surveys SET score = ?2, answered_at = ?3, answer_wamid = ?4
          WHERE interaction_id = ?1 AND score IS NULL",
    )?
    .execute(params![interaction_id, score, answered_at, wamid])?;
    Ok(Answer::Recorded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> rusqlite::Connection {
        let conn = crate::store::test_connection();
        conn.execute_batch(
            "INSERT INTO queues (id, name, offer_timeout_secs, wrap_up_secs, created_at, updated_at)
               VALUES (1, 'q', 30, 60, 0, 0);
             INSERT INTO channels (id, name, phone_number_id, display_phone_number, queue_id,
               access_token, created_at, updated_at) VALUES (1, 'c', '111', '+1', 1, 't', 0, 0);
             INSERT INTO interactions (id, channel_id, queue_id, customer_phone, customer_name,
               source_number, state, queue_position, created_at, updated_at)
               VALUES (7, 1, 1, '447700900001', 'Carla', '+1', 'closed', 0, 0, 0);",
        )
        .unwrap();
        conn
    }

    #[test]
    fn one_survey_one_answer_from_its_customer_in_time() {
        let conn = setup();
        let db = Db(&conn);
        let survey = NewSurvey {
            interaction_id: 7,
            channel_id: 1,
            queue_id: 1,
            agent_id: Some(3),
            question: "How did we do?".into(),
            timeout_hours: 1,
        };
        let message_id = enqueue(&db, &survey, 11, 1_000).unwrap();
        let queued: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM outbox WHERE message_id = ?1",
                [message_id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(queued, 1);
        // A second survey for the same conversation cannot be stored.
        assert!(enqueue(&db, &survey, 11, 1_001).is_err());

        let carla = CustomerIdentity::new(Some("447700900001"), None, None);
        let stranger = CustomerIdentity::new(Some("447700900002"), None, None);
        let answer = |who: &CustomerIdentity, wamid: &str, at: i64| {
            record_answer(&db, 1, who, 7, 4, wamid, at).unwrap()
        };
        assert_eq!(answer(&stranger, "w0", 2_000), Answer::NotAnAnswer);
        assert_eq!(answer(&carla, "w1", 1_000 + 3_600_001), Answer::NotAnAnswer);
        assert_eq!(answer(&carla, "w2", 2_000), Answer::Recorded);
        assert_eq!(answer(&carla, "w2", 2_000), Answer::Duplicate);
        assert_eq!(answer(&carla, "w3", 3_000), Answer::AlreadyAnswered);
        assert_eq!(
            record_answer(&db, 1, &carla, 8, 4, "w4", 3_000).unwrap(),
            Answer::NotAnAnswer
        );
        let (score, at): (i64, i64) = conn
            .query_row(
                "SELECT score, answered_at FROM csat_surveys WHERE interaction_id = 7",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((score, at), (4, 2_000));
    }
}
