//! Queues: routing settings, disposition codes and members.

use super::Actors;
use crate::domain::business_hours::BusinessHours;
use crate::domain::csat::CsatSettings;
use crate::domain::input::{
    changed_ids, check_disposition_codes, check_queue_timers, unique_ids, InvalidInput, Name,
};
use crate::domain::overflow::Overflow;
use crate::domain::priority::check_priority;
use crate::domain::reports::check_service_level_secs;
use crate::domain::routing::{check_arrival_message, QueueRouting};
use crate::domain::skills::{check_required, RequiredSkill};
use crate::domain::sticky::StickySettings;
use crate::domain::time::now_ms;
use crate::domain::{DispositionCode, Strategy};
use crate::error::{ApiError, ErrorCode};
use crate::store::queues::{self, QueueRecord, QueueSettings};
use crate::store::{channels, queue_members, users, Db, Store};

/// A queue's settings as asked for, unchecked (defaults already applied).
#[derive(Debug, Clone)]
pub struct QueueFields {
    pub name: String,
    pub offer_timeout_secs: i64,
    pub wrap_up_secs: i64,
    pub disposition_codes: Vec<DispositionCode>,
    pub disposition_required: bool,
    pub strategy: Strategy,
    pub alert_warn_secs: i64,
    pub alert_critical_secs: i64,
    pub csat_enabled: bool,
    pub csat_question: String,
    pub csat_timeout_hours: i64,
    /// 8.8: accepted within this many seconds of arrival is within the service level.
    pub service_level_secs: i64,
    pub routing: RoutingFields,
}

/// A queue's R27 settings as asked for, unchecked.
#[derive(Debug, Clone)]
pub struct RoutingFields {
    pub required_skills: Vec<RequiredSkill>,
    pub default_priority: i64,
    pub sticky_agent_secs: i64,
    pub sticky_window_hours: i64,
    /// The API's JSON object; None: always open.
    pub hours: Option<serde_json::Value>,
    pub closed_message: Option<String>,
    pub greeting_message: Option<String>,
    pub max_wait_secs: Option<i64>,
    pub overflow_queue_id: Option<i64>,
}

impl Default for RoutingFields {
    /// The defaults: no skill required, priority 0, no sticky agent, always open, no message,
    /// no overflow.
    fn default() -> Self {
        RoutingFields::of(&QueueRouting::default())
    }
}

impl RoutingFields {
    /// The fields of stored settings.
    fn of(r: &QueueRouting) -> Self {
        RoutingFields {
            required_skills: r.required_skills.clone(),
            default_priority: i64::from(r.default_priority),
            sticky_agent_secs: i64::from(r.sticky.agent_secs),
            sticky_window_hours: i64::from(r.sticky.window_hours),
            hours: r.hours.as_ref().map(BusinessHours::to_json),
            closed_message: r.closed_message.clone(),
            greeting_message: r.greeting_message.clone(),
            max_wait_secs: r.overflow.map(|o| i64::from(o.max_wait_secs)),
            overflow_queue_id: r.overflow.map(|o| o.queue_id),
        }
    }

    /// The settings to store, once every rule holds; `own_id` is the queue's (None when it
    /// is being created). Whether the overflow queue exists is checked with the store.
    pub fn validate(self, own_id: Option<i64>) -> Result<QueueRouting, InvalidInput> {
        Ok(QueueRouting {
            required_skills: check_required(self.required_skills)?,
            default_priority: check_priority("default_priority", self.default_priority)?,
            sticky: StickySettings::checked(self.sticky_agent_secs, self.sticky_window_hours)?,
            hours: self.hours.as_ref().map(BusinessHours::parse).transpose()?,
            closed_message: check_arrival_message("closed_message", self.closed_message)?,
            greeting_message: check_arrival_message("greeting_message", self.greeting_message)?,
            overflow: Overflow::checked(self.max_wait_secs, self.overflow_queue_id, own_id)?,
        })
    }
}

/// The R27 fields to change (`None`: kept; `Some(None)`: cleared); unchecked.
#[derive(Debug, Clone, Default)]
pub struct RoutingPatch {
    pub required_skills: Option<Vec<RequiredSkill>>,
    pub default_priority: Option<i64>,
    pub sticky_agent_secs: Option<i64>,
    pub sticky_window_hours: Option<i64>,
    pub hours: Option<Option<serde_json::Value>>,
    pub closed_message: Option<Option<String>>,
    pub greeting_message: Option<Option<String>>,
    pub max_wait_secs: Option<Option<i64>>,
    pub overflow_queue_id: Option<Option<i64>>,
}

impl RoutingPatch {
    fn applied(&self, old: &QueueRouting) -> RoutingFields {
        let old = RoutingFields::of(old);
        let p = self.clone();
        RoutingFields {
            required_skills: p.required_skills.unwrap_or(old.required_skills),
            default_priority: p.default_priority.unwrap_or(old.default_priority),
            sticky_agent_secs: p.sticky_agent_secs.unwrap_or(old.sticky_agent_secs),
            sticky_window_hours: p.sticky_window_hours.unwrap_or(old.sticky_window_hours),
            hours: p.hours.unwrap_or(old.hours),
            closed_message: p.closed_message.unwrap_or(old.closed_message),
            greeting_message: p.greeting_message.unwrap_or(old.greeting_message),
            max_wait_secs: p.max_wait_secs.unwrap_or(old.max_wait_secs),
            overflow_queue_id: p.overflow_queue_id.unwrap_or(old.overflow_queue_id),
        }
    }
}

/// The fields to change (`None`: kept); unchecked.
#[derive(Debug, Clone, Default)]
pub struct QueuePatch {
    pub name: Option<String>,
    pub offer_timeout_secs: Option<i64>,
    pub wrap_up_secs: Option<i64>,
    pub disposition_codes: Option<Vec<DispositionCode>>,
    pub disposition_required: Option<bool>,
    pub strategy: Option<Strategy>,
    pub alert_warn_secs: Option<i64>,
    pub alert_critical_secs: Option<i64>,
    pub csat_enabled: Option<bool>,
    pub csat_question: Option<String>,
    pub csat_timeout_hours: Option<i64>,
    pub service_level_secs: Option<i64>,
    pub routing: RoutingPatch,
    pub members: Option<Vec<i64>>,
}

impl QueueFields {
    /// `old` with the patch applied.
    fn patched(old: &QueueRecord, p: &QueuePatch) -> Self {
        QueueFields {
            name: p.name.clone().unwrap_or_else(|| old.name.clone()),
            offer_timeout_secs: p
                .offer_timeout_secs
                .unwrap_or(old.offer_timeout_secs as i64),
            wrap_up_secs: p.wrap_up_secs.unwrap_or(old.wrap_up_secs as i64),
            disposition_codes: p
                .disposition_codes
                .clone()
                .unwrap_or_else(|| old.disposition_codes.clone()),
            disposition_required: p.disposition_required.unwrap_or(old.disposition_required),
            strategy: p.strategy.unwrap_or(old.strategy),
            alert_warn_secs: p.alert_warn_secs.unwrap_or(old.alert_warn_secs as i64),
            alert_critical_secs: p
                .alert_critical_secs
                .unwrap_or(old.alert_critical_secs as i64),
            csat_enabled: p.csat_enabled.unwrap_or(old.csat.enabled),
            csat_question: p
                .csat_question
                .clone()
                .unwrap_or_else(|| old.csat.question.clone()),
            csat_timeout_hours: p
                .csat_timeout_hours
                .unwrap_or(i64::from(old.csat.timeout_hours)),
            service_level_secs: p
                .service_level_secs
                .unwrap_or(i64::from(old.service_level_secs)),
            routing: p.routing.applied(&old.routing),
        }
    }

    /// The settings to store, once every rule holds; `own_id` is the queue's (None when it
    /// is being created).
    pub fn validate(self, own_id: Option<i64>) -> Result<QueueSettings, InvalidInput> {
        let name = Name::parse(&self.name)?;
        check_queue_timers(
            self.offer_timeout_secs,
            self.wrap_up_secs,
            self.alert_warn_secs,
            self.alert_critical_secs,
        )?;
        check_disposition_codes(&self.disposition_codes)?;
        if self.disposition_required && self.disposition_codes.is_empty() {
            return Err(InvalidInput(
                "disposition_required needs at least one disposition code".into(),
            ));
        }
        let csat = CsatSettings::checked(
            self.csat_enabled,
            &self.csat_question,
            self.csat_timeout_hours,
        )?;
        let service_level_secs = check_service_level_secs(self.service_level_secs)?;
        let routing = self.routing.validate(own_id)?;
        // In range (checked above): the casts cannot truncate.
        Ok(QueueSettings {
            name: name.into_inner(),
            offer_timeout_secs: self.offer_timeout_secs as u32,
            wrap_up_secs: self.wrap_up_secs as u32,
            disposition_codes: self.disposition_codes,
            disposition_required: self.disposition_required,
            strategy: self.strategy,
            alert_warn_secs: self.alert_warn_secs as u32,
            alert_critical_secs: self.alert_critical_secs as u32,
            csat,
            service_level_secs,
            routing,
        })
    }
}

/// 400 `unknown_queue` unless `id` names a live queue (channels, agents' memberships and
/// canned responses name queues).
pub fn refuse_unknown_queue(db: &Db, id: i64) -> Result<(), ApiError> {
    if !queues::exists(db, id)? {
        return Err(ApiError::bad(
            ErrorCode::UnknownQueue,
            format!("there is no queue {id}"),
        ));
    }
    Ok(())
}

/// 400 `unknown_queue` when the overflow queue is not a live queue.
fn refuse_unknown_overflow(db: &Db, routing: &QueueRouting) -> Result<(), ApiError> {
    match routing.overflow {
        Some(o) => refuse_unknown_queue(db, o.queue_id),
        None => Ok(()),
    }
}

/// 400 `unknown_agent` unless every id names a live user.
fn refuse_unknown_agents(db: &Db, ids: &[i64]) -> Result<(), ApiError> {
    for id in ids {
        if !users::exists(db, *id)? {
            return Err(ApiError::bad(
                ErrorCode::UnknownAgent,
                format!("there is no agent {id}"),
            ));
        }
    }
    Ok(())
}

fn loaded(db: &Db, id: i64) -> Result<QueueRecord, ApiError> {
    queues::load_queue(db, id)?.ok_or(ApiError::NotFound("queue"))
}

/// Creates a queue with its members; tells the queue and the members.
pub async fn create(
    store: &Store,
    actors: Actors<'_>,
    fields: QueueFields,
    members: &[i64],
) -> Result<QueueRecord, ApiError> {
    let settings = fields.validate(None)?;
    let members = unique_ids(members);

    let queue_members = members.clone();
    let queue = store
        .write(move |db| {
            refuse_unknown_agents(db, &queue_members)?;
            refuse_unknown_overflow(db, &settings.routing)?;
            let id = queues::insert(db, &settings, now_ms())?;
            for a in &queue_members {
                queue_members::set(db, id, *a, true)?;
            }
            loaded(db, id)
        })
        .await?;

    actors.queue_changed(queue.id).await;
    for a in &members {
        actors.agent_changed(*a).await;
    }
    Ok(queue)
}

/// Changes a queue; tells it and the agents that joined or left.
pub async fn update(
    store: &Store,
    actors: Actors<'_>,
    id: i64,
    patch: QueuePatch,
) -> Result<QueueRecord, ApiError> {
    // Checks that need no stored state first, so a bad request answers 400 even for an unknown id.
    if let Some(codes) = &patch.disposition_codes {
        check_disposition_codes(codes)?;
    }
    let new_members = patch.members.as_deref().map(unique_ids);

    let (queue, affected) = store
        .write(move |db| {
            let old = loaded(db, id)?;
            let settings = QueueFields::patched(&old, &patch).validate(Some(id))?;
            refuse_unknown_overflow(db, &settings.routing)?;
            if let Some(m) = &new_members {
                refuse_unknown_agents(db, m)?;
            }
            queues::update(db, id, &settings, now_ms())?;
            let mut affected = Vec::new();
            if let Some(new) = &new_members {
                affected = changed_ids(&old.members, new);
                for a in &affected {
                    queue_members::set(db, id, *a, new.contains(a))?;
                }
            }
            Ok::<_, ApiError>((loaded(db, id)?, affected))
        })
        .await?;

    actors.queue_changed(id).await;
    for a in &affected {
        actors.agent_changed(*a).await;
    }
    Ok(queue)
}

/// Deletes a queue (soft) unless a channel routes to it; tells it and its former members.
pub async fn delete(store: &Store, actors: Actors<'_>, id: i64) -> Result<(), ApiError> {
    let (former_members, overflowing) = store
        .write(move |db| {
            let old = loaded(db, id)?;
            if channels::routes_to_queue(db, id)? {
                return Err(ApiError::conflict(
                    ErrorCode::QueueInUse,
                    "a channel routes to this queue: move or delete the channel first",
                ));
            }
            queues::soft_delete(db, id, now_ms())?;
            queue_members::remove_queue(db, id)?;
            let overflowing = queues::clear_overflow_to(db, id, now_ms())?;
            Ok((old.members, overflowing))
        })
        .await?;

    actors.queue_deleted(id).await;
    // Queues that overflowed into it overflow nowhere now.
    for q in &overflowing {
        actors.queue_changed(*q).await;
    }
    for a in &former_members {
        actors.agent_changed(*a).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> QueueFields {
        QueueFields {
            name: "Sales".into(),
            offer_timeout_secs: 30,
            wrap_up_secs: 60,
            disposition_codes: vec![],
            disposition_required: false,
            strategy: Strategy::LongestIdle,
            alert_warn_secs: 60,
            alert_critical_secs: 180,
            csat_enabled: false,
            csat_question: "How did we do?".into(),
            csat_timeout_hours: 24,
            service_level_secs: 60,
            routing: RoutingFields::default(),
        }
    }

    fn code(c: &str) -> DispositionCode {
        DispositionCode {
            code: c.into(),
            label: format!("{c} label"),
        }
    }

    #[test]
    fn defaults_are_valid() {
        assert!(fields().validate(None).is_ok());
    }

    #[test]
    fn ranges() {
        let mut f = fields();
        f.offer_timeout_secs = 4;
        assert!(f.clone().validate(None).is_err());
        f.offer_timeout_secs = 601;
        assert!(f.validate(None).is_err());
        let mut f = fields();
        f.wrap_up_secs = 0;
        assert!(f.clone().validate(None).is_ok());
        f.wrap_up_secs = 3601;
        assert!(f.validate(None).is_err());
        let mut f = fields();
        f.alert_critical_secs = 60;
        assert!(f.validate(None).is_err(), "critical must exceed warn");
        let mut f = fields();
        f.name = String::new();
        assert!(f.validate(None).is_err());
        for (secs, ok) in [
            (0, false),
            (1, true),
            (86_400, true),
            (86_401, false),
            (-5, false),
        ] {
            let mut f = fields();
            f.service_level_secs = secs;
            assert_eq!(f.validate(None).is_ok(), ok, "service_level_secs {secs}");
        }
    }

    #[test]
    fn disposition_codes() {
        let mut f = fields();
        f.disposition_required = true;
        assert!(f.clone().validate(None).is_err(), "required without codes");
        f.disposition_codes = vec![code("sale"), code("no_sale")];
        assert!(f.clone().validate(None).is_ok());
        f.disposition_codes.push(code("sale"));
        assert!(f.clone().validate(None).is_err(), "duplicate");
        f.disposition_codes = vec![code(&"x".repeat(65))];
        assert!(f.clone().validate(None).is_err());
        f.disposition_codes = vec![DispositionCode {
            code: "a".into(),
            label: String::new(),
        }];
        assert!(f.validate(None).is_err());
    }
}
