//! Agents (users of every role) and their queue memberships.

use super::Actors;
use crate::domain::input::{
    changed_ids, unique_ids, DisplayName, MaxConcurrent, Password, Username,
};
use crate::domain::skills::{check_skills, Skill};
use crate::domain::time::now_ms;
use crate::domain::Role;
use crate::error::{ApiError, ErrorCode};
use crate::store::users::{self, AgentRecord, AgentUpdate, NewUser};
use crate::store::{queue_members, sessions, Db, Store};

/// A user to create; unchecked.
#[derive(Debug, Clone)]
pub struct NewAgent {
    pub username: String,
    /// `None`: the username.
    pub display_name: Option<String>,
    pub role: Role,
    pub password: String,
    pub max_concurrent: i64,
    pub can_reject: bool,
    pub auto_multi_match_pop: bool,
    pub queues: Vec<i64>,
    /// R27.
    pub skills: Vec<Skill>,
}

/// The fields to change (`None`: kept); unchecked.
#[derive(Debug, Clone, Default)]
pub struct AgentPatch {
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub password: Option<String>,
    pub max_concurrent: Option<i64>,
    pub can_reject: Option<bool>,
    pub auto_multi_match_pop: Option<bool>,
    pub queues: Option<Vec<i64>>,
    /// Replaces the skills (R27).
    pub skills: Option<Vec<Skill>>,
}

async fn hash(password: Password) -> Result<String, ApiError> {
    crate::auth::argon2_work(move || crate::auth::hash_password(password.as_str()))
        .await?
        .map_err(ApiError::Internal)
}

fn refuse_taken(db: &Db, username: &str, except: i64) -> Result<(), ApiError> {
    if users::username_taken(db, username, except)? {
        return Err(ApiError::conflict(
            ErrorCode::UsernameTaken,
            format!("username `{username}` is taken"),
        ));
    }
    Ok(())
}

/// 400 `unknown_queue` unless every id names a live queue.
fn refuse_unknown_queues(db: &Db, ids: &[i64]) -> Result<(), ApiError> {
    for id in ids {
        super::queues::refuse_unknown_queue(db, *id)?;
    }
    Ok(())
}

fn loaded(db: &Db, id: i64) -> Result<AgentRecord, ApiError> {
    users::load_agent(db, id)?.ok_or(ApiError::NotFound("agent"))
}

/// Creates a user with its memberships; tells the agent and its queues.
pub async fn create(
    store: &Store,
    actors: Actors<'_>,
    new: NewAgent,
) -> Result<AgentRecord, ApiError> {
    let username = Username::parse(&new.username)?;
    let display_name =
        DisplayName::parse(new.display_name.as_deref().unwrap_or(username.as_str()))?;
    let password = Password::parse(&new.password)?;
    let max_concurrent = MaxConcurrent::parse(new.max_concurrent)?;
    let skills = check_skills(new.skills)?;
    let queues = unique_ids(&new.queues);
    let user = NewUser {
        username: username.into_inner(),
        display_name: display_name.into_inner(),
        role: new.role,
        password_hash: hash(password).await?,
        max_concurrent: max_concurrent.get(),
        can_reject: new.can_reject,
        auto_multi_match_pop: new.auto_multi_match_pop,
    };

    let memberships = queues.clone();
    let agent = store
        .write(move |db| {
            refuse_taken(db, &user.username, 0)?;
            refuse_unknown_queues(db, &memberships)?;
            let id = users::insert(db, &user, now_ms())?;
            if !skills.is_empty() {
                users::set_skills(db, id, &skills, now_ms())?;
            }
            for q in &memberships {
                queue_members::set(db, *q, id, true)?;
            }
            loaded(db, id)
        })
        .await?;

    actors.agent_changed(agent.id).await;
    for q in &queues {
        actors.queue_changed(*q).await;
    }
    Ok(agent)
}

/// Changes a user as `admin` asked (an admin cannot take away its own admin role); tells
/// the agent and the queues it joined or left.
pub async fn update(
    store: &Store,
    actors: Actors<'_>,
    admin: i64,
    id: i64,
    patch: AgentPatch,
) -> Result<AgentRecord, ApiError> {
    let username = patch.username.as_deref().map(Username::parse).transpose()?;
    let display_name = patch
        .display_name
        .as_deref()
        .map(DisplayName::parse)
        .transpose()?;
    let max_concurrent = patch.max_concurrent.map(MaxConcurrent::parse).transpose()?;
    let skills = patch.skills.map(check_skills).transpose()?;
    if id == admin && patch.role.is_some_and(|r| r != Role::Admin) {
        return Err(ApiError::conflict(
            ErrorCode::CannotDemoteSelf,
            "an admin cannot take away its own admin role",
        ));
    }
    let password_hash = match patch.password.as_deref().map(Password::parse).transpose()? {
        Some(p) => Some(hash(p).await?),
        None => None,
    };
    let new_queues = patch.queues.as_deref().map(unique_ids);

    let (agent, affected) = store
        .write(move |db| {
            let old = loaded(db, id)?;
            if let Some(u) = &username {
                refuse_taken(db, u.as_str(), id)?;
            }
            if let Some(q) = &new_queues {
                refuse_unknown_queues(db, q)?;
            }
            let update = AgentUpdate {
                username: username.map_or(old.username, Username::into_inner),
                display_name: display_name.map_or(old.display_name, DisplayName::into_inner),
                role: patch.role.unwrap_or(old.role),
                max_concurrent: max_concurrent.map_or(old.max_concurrent, MaxConcurrent::get),
                can_reject: patch.can_reject.unwrap_or(old.can_reject),
                auto_multi_match_pop: patch
                    .auto_multi_match_pop
                    .unwrap_or(old.auto_multi_match_pop),
                password_hash,
            };
            users::update(db, id, &update, now_ms())?;
            if let Some(skills) = &skills {
                users::set_skills(db, id, skills, now_ms())?;
            }
            let mut affected = Vec::new();
            if let Some(new) = &new_queues {
                affected = changed_ids(&old.queues, new);
                for q in &affected {
                    queue_members::set(db, *q, id, new.contains(q))?;
                }
            }
            Ok::<_, ApiError>((loaded(db, id)?, affected))
        })
        .await?;

    actors.agent_changed(id).await;
    for q in &affected {
        actors.queue_changed(*q).await;
    }
    Ok(agent)
}

/// Deletes a user (soft: the username is freed), its sessions and memberships, as `admin`
/// asked (not itself); tells the agent's actor and its former queues.
pub async fn delete(
    store: &Store,
    actors: Actors<'_>,
    admin: i64,
    id: i64,
) -> Result<(), ApiError> {
    if id == admin {
        return Err(ApiError::conflict(
            ErrorCode::CannotDeleteSelf,
            "an admin cannot delete itself",
        ));
    }
    let former_queues = store
        .write(move |db| {
            let old = loaded(db, id)?;
            users::soft_delete(db, id, now_ms())?;
            sessions::close_all_of(db, id)?;
            queue_members::remove_agent(db, id)?;
            Ok::<_, ApiError>(old.queues)
        })
        .await?;

    actors.agent_deleted(id).await;
    for q in &former_queues {
        actors.queue_changed(*q).await;
    }
    Ok(())
}
