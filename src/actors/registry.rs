//! Finds (and starts, and restores after a restart) the agent, queue and interaction actors.
//! All actors run on one dedicated arbiter (a queue's dispatch is a few messages back and
//! forth with agents and interactions: on one thread they cost no wake-up; docs/BENCHMARKS.md
//! measured a thread of their own for the queues, and it was slower). The registry's maps
//! are behind a mutex that is never held across an `.await`.

use super::agent::{self, AgentActor};
use super::interaction::screen_pop::LookupBreaker;
use super::interaction::{
    CustomerChanged, CustomerUpdate, Inbound, InboundOutcome, InteractionActor, MediaChanged,
    MessageStatusChanged, ResourceDeleted, StartOutbound,
};
use super::queue::{self, QueueActor};
use crate::configuration::RuntimeSettings;
use crate::configuration::Settings;
use crate::crm::Crm;
use crate::domain::customer::{CustomerIdentity, CustomerKey};
use crate::domain::error_code::ErrorCode;
use crate::domain::media::Media;
use crate::domain::message::Author;
use crate::domain::{AuthorKind, MessageStatus};
use crate::media_files::{MediaFiles, MediaHealth};
use crate::store::channels::{self, ChannelRecord};
use crate::store::queues::{self, QueueRecord};
use crate::store::users::{self, AgentRecord};
use crate::store::{csat, customers, interactions, messages, Store, StoreError};
use crate::whatsapp::media::{self as media_fetch, MediaFetcher};
use crate::whatsapp::outbox::{Kick, Outbox};
use crate::whatsapp::payload::{Delivery, IdentityChange, InboundMessage, MessageUpdate};
use crate::whatsapp::signals::{KickSignals, SignalSender};
use crate::whatsapp::templates::TemplateSync;
use crate::ws::protocol::{self, CommandError};
use actix::prelude::*;
use actix::ArbiterHandle;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

pub struct Registry {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub runtime: Arc<RuntimeSettings>,
    /// The configured CRM: screen pop lookups, contacts, call logs (R20).
    pub crm: Arc<Crm>,
    /// Remembers a CRM outage for every conversation's screen pop lookup (R20).
    pub crm_lookups: Arc<LookupBreaker>,
    /// Whether media files can be stored (R22), for `/readyz`.
    pub media_health: Arc<MediaHealth>,
    /// Where media files are kept (`media.store`): the one client every user shares.
    pub files: MediaFiles,
    arbiter: ArbiterHandle,
    inner: Mutex<Inner>,
    outbox: OnceLock<Addr<Outbox>>,
    signals: OnceLock<Addr<SignalSender>>,
    media: OnceLock<Addr<MediaFetcher>>,
    me: Weak<Registry>,
}

#[derive(Default)]
struct Inner {
    agents: HashMap<i64, (AgentRecord, Addr<AgentActor>)>,
    queues: HashMap<i64, (QueueRecord, Addr<QueueActor>)>,
    channels: HashMap<i64, ChannelRecord>,
    interactions: HashMap<i64, Addr<InteractionActor>>,
    /// The open interaction of each customer key (number, BSUID) on a channel (R1, R21).
    open_by_customer: HashMap<(i64, CustomerKey), i64>,
    /// The keys each open interaction is found by, to forget them when it closes.
    keys_of: HashMap<i64, Vec<(i64, CustomerKey)>>,
    next_interaction_id: i64,
    next_session_id: u64,
}

impl Inner {
    /// The open interaction found by the first of `keys` that names one (R1, R21).
    fn find_open(
        &self,
        channel_id: i64,
        keys: &[CustomerKey],
    ) -> Option<(i64, Addr<InteractionActor>)> {
        keys.iter().find_map(|k| {
            let id = *self.open_by_customer.get(&(channel_id, k.clone()))?;
            Some((id, self.interactions.get(&id)?.clone()))
        })
    }

    /// The interaction is found by these keys (those already there stay).
    fn remember(&mut self, id: i64, channel_id: i64, keys: Vec<CustomerKey>) {
        for key in keys {
            let key = (channel_id, key);
            if let Some(previous) = self.open_by_customer.insert(key.clone(), id) {
                if previous == id {
                    continue;
                }
                // The key moved to this conversation: the other one no longer owns it.
                if let Some(theirs) = self.keys_of.get_mut(&previous) {
                    theirs.retain(|k| k != &key);
                }
            }
            self.keys_of.entry(id).or_default().push(key);
        }
    }

    /// The interaction is gone: nothing finds it any more.
    fn forget(&mut self, id: i64) {
        self.interactions.remove(&id);
        for key in self.keys_of.remove(&id).unwrap_or_default() {
            if self.open_by_customer.get(&key) == Some(&id) {
                self.open_by_customer.remove(&key);
            }
        }
    }
}

/// Interaction actors handed to the arbiter at once on a restart.
const RESTORE_CHUNK: usize = 1000;

impl Registry {
    /// Loads agents, queues and channels, restores every open interaction (R10) and starts
    /// the outbound sender.
    pub async fn start(
        store: Store,
        settings: Arc<Settings>,
        runtime: Arc<RuntimeSettings>,
        crm: Arc<Crm>,
    ) -> anyhow::Result<Arc<Registry>> {
        let files = MediaFiles::from_settings(&settings.media)?;
        let arbiter = Arbiter::new().handle();
        let registry = Arc::new_cyclic(|me| Registry {
            store: store.clone(),
            settings: settings.clone(),
            runtime,
            crm,
            crm_lookups: Arc::default(),
            media_health: Arc::default(),
            files,
            arbiter,
            inner: Mutex::new(Inner::default()),
            outbox: OnceLock::new(),
            signals: OnceLock::new(),
            media: OnceLock::new(),
            me: me.clone(),
        });

        let (agents, queues, channels) = store
            .read(|db| -> Result<_, StoreError> {
                Ok((
                    users::list_agents(db)?,
                    queues::list_queues(db)?,
                    channels::list_channels(db)?,
                ))
            })
            .await?;
        let (open, max_id) = store
            .read(|db| -> Result<_, StoreError> {
                Ok((interactions::load_open(db)?, interactions::max_id(db)?))
            })
            .await?;

        {
            let mut inner = registry.lock();
            inner.next_interaction_id = max_id + 1;
            for ch in channels {
                inner.channels.insert(ch.id, ch);
            }
        }
        for a in agents {
            registry.start_agent(a);
        }
        for q in queues {
            registry.start_queue(q);
        }
        let restored = open.len();
        // Started a thousand at a time: one hand-over to the arbiter's thread (and one wake
        // of it) per thousand actors, not per actor. Each address is known, and registered,
        // before its actor runs; messages sent to it wait in its mailbox.
        let mut open = open.into_iter().peekable();
        while open.peek().is_some() {
            let mut chunk = Vec::with_capacity(RESTORE_CHUNK);
            {
                let mut inner = registry.lock();
                for (data, messages) in open.by_ref().take(RESTORE_CHUNK) {
                    let (tx, rx) = actix::dev::channel::channel::<InteractionActor>(16);
                    inner.interactions.insert(data.id, Addr::new(tx));
                    inner.remember(data.id, data.channel_id, data.customer.keys());
                    chunk.push((rx, data, messages));
                }
            }
            let reg = registry.clone();
            registry.arbiter.spawn_fn(move || {
                for (rx, data, messages) in chunk {
                    Context::with_receiver(rx).run(InteractionActor::restored(
                        reg.clone(),
                        data,
                        messages,
                    ));
                }
            });
        }
        if restored > 0 {
            tracing::info!(restored, "open interactions restored");
        }

        let weak = Arc::downgrade(&registry);
        let notify: Arc<dyn Fn(i64, i64, MessageStatus, Option<String>) + Send + Sync> =
            Arc::new(move |interaction_id, message_id, status, error| {
                if let Some(r) = weak.upgrade() {
                    r.message_status_changed(interaction_id, message_id, status, error);
                }
            });
        let outbox_store = store.clone();
        let outbox_settings = settings.clone();
        let outbox_files = registry.files.clone();
        let outbox = Outbox::start_in_arbiter(&registry.arbiter, move |_| {
            Outbox::new(outbox_store, outbox_settings, outbox_files, notify)
        });
        let _ = registry.outbox.set(outbox);
        let (signal_store, signal_settings) = (store.clone(), settings.clone());
        let signals = SignalSender::start_in_arbiter(&registry.arbiter, move |_| {
            SignalSender::new(signal_store, signal_settings)
        });
        let _ = registry.signals.set(signals);
        let (sync_store, sync_settings) = (store.clone(), settings.clone());
        TemplateSync::start_in_arbiter(&registry.arbiter, move |_| {
            TemplateSync::new(sync_store, sync_settings)
        });

        let weak = Arc::downgrade(&registry);
        let media_notify: media_fetch::MediaNotify =
            Arc::new(move |interaction_id, message_id, media| {
                if let Some(r) = weak.upgrade() {
                    r.media_changed(interaction_id, message_id, media);
                }
            });
        let (fetch_store, fetch_settings) = (store.clone(), settings.clone());
        let (health, fetch_files) = (registry.media_health.clone(), registry.files.clone());
        let fetcher = MediaFetcher::start_in_arbiter(&registry.arbiter, move |_| {
            MediaFetcher::new(
                fetch_store,
                fetch_settings,
                fetch_files,
                health,
                media_notify,
            )
        });
        let _ = registry.media.set(fetcher);
        Ok(registry)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn arc(&self) -> Arc<Registry> {
        self.me
            .upgrade()
            .expect("registry alive while its actors run")
    }

    fn start_agent(&self, rec: AgentRecord) -> Addr<AgentActor> {
        let reg = self.arc();
        let actor_rec = rec.clone();
        let addr =
            AgentActor::start_in_arbiter(&self.arbiter, move |_| AgentActor::new(actor_rec, reg));
        self.lock().agents.insert(rec.id, (rec, addr.clone()));
        addr
    }

    fn start_queue(&self, rec: QueueRecord) -> Addr<QueueActor> {
        let reg = self.arc();
        let actor_rec = rec.clone();
        let addr =
            QueueActor::start_in_arbiter(&self.arbiter, move |_| QueueActor::new(actor_rec, reg));
        self.lock().queues.insert(rec.id, (rec, addr.clone()));
        addr
    }

    pub fn agent(&self, id: i64) -> Option<Addr<AgentActor>> {
        self.lock().agents.get(&id).map(|(_, a)| a.clone())
    }

    pub fn agent_record(&self, id: i64) -> Option<AgentRecord> {
        self.lock().agents.get(&id).map(|(r, _)| r.clone())
    }

    pub fn agent_name(&self, id: i64) -> Option<String> {
        self.lock()
            .agents
            .get(&id)
            .map(|(r, _)| r.display_name.clone())
    }

    pub fn agents(&self) -> Vec<(AgentRecord, Addr<AgentActor>)> {
        self.lock().agents.values().cloned().collect()
    }

    pub fn queue(&self, id: i64) -> Option<Addr<QueueActor>> {
        self.lock().queues.get(&id).map(|(_, a)| a.clone())
    }

    pub fn queue_record(&self, id: i64) -> Option<QueueRecord> {
        self.lock().queues.get(&id).map(|(r, _)| r.clone())
    }

    /// Reads what it needs of a queue's record in place: the record holds every member's id
    /// (thousands), too much to copy for a setting on the message path.
    pub fn with_queue<R>(&self, id: i64, read: impl FnOnce(&QueueRecord) -> R) -> Option<R> {
        self.lock().queues.get(&id).map(|(r, _)| read(r))
    }

    /// A queue's R27 settings (without its members).
    pub fn queue_routing(&self, id: i64) -> Option<crate::domain::routing::QueueRouting> {
        self.with_queue(id, |r| r.routing.clone())
    }

    pub fn queues(&self) -> Vec<(QueueRecord, Addr<QueueActor>)> {
        let mut all: Vec<_> = self.lock().queues.values().cloned().collect();
        all.sort_by_key(|(r, _)| r.id);
        all
    }

    pub fn interaction(&self, id: i64) -> Option<Addr<InteractionActor>> {
        self.lock().interactions.get(&id).cloned()
    }

    pub fn channel_by_phone_number_id(&self, id: &str) -> Option<ChannelRecord> {
        self.lock()
            .channels
            .values()
            .find(|c| c.phone_number_id == id)
            .cloned()
    }

    pub fn channels(&self) -> Vec<ChannelRecord> {
        let mut all: Vec<_> = self.lock().channels.values().cloned().collect();
        all.sort_by_key(|c| c.id);
        all
    }

    pub fn next_session_id(&self) -> u64 {
        let mut inner = self.lock();
        inner.next_session_id += 1;
        inner.next_session_id
    }

    /// The open interaction of a customer on a channel, found by their BSUID or their number
    /// (R21), or a new one (not yet persisted). A key the delivery brings that the
    /// conversation was not known by yet finds it from now on.
    fn open_interaction_for(
        &self,
        channel: &ChannelRecord,
        customer: &CustomerIdentity,
    ) -> (i64, Addr<InteractionActor>) {
        let mut inner = self.lock();
        let keys = customer.keys();
        if let Some((id, addr)) = inner.find_open(channel.id, &keys) {
            // Only a key this conversation was not known by yet (a number next to the BSUID).
            let new_keys: Vec<CustomerKey> = keys
                .into_iter()
                .filter(|k| inner.open_by_customer.get(&(channel.id, k.clone())) != Some(&id))
                .collect();
            if !new_keys.is_empty() {
                inner.remember(id, channel.id, new_keys);
            }
            return (id, addr);
        }
        self.spawn_interaction(&mut inner, channel, customer)
    }

    /// A new conversation (not yet persisted) of the customer on the channel, found by their
    /// keys from now on.
    fn spawn_interaction(
        &self,
        inner: &mut Inner,
        channel: &ChannelRecord,
        customer: &CustomerIdentity,
    ) -> (i64, Addr<InteractionActor>) {
        let id = inner.next_interaction_id;
        inner.next_interaction_id += 1;
        let reg = self.arc();
        let channel_rec = channel.clone();
        let who = customer.clone();
        let addr = InteractionActor::start_in_arbiter(&self.arbiter, move |_| {
            InteractionActor::new_for_customer(reg, id, &channel_rec, &who)
        });
        inner.interactions.insert(id, addr.clone());
        inner.remember(id, channel.id, customer.keys());
        (id, addr)
    }

    /// R23: the business starts a conversation with the customer on the channel, owned by
    /// the starting agent, with a template. Refused with `conversation_open` when the customer
    /// has an open one there. Answers after the commit.
    pub async fn start_outbound(
        &self,
        channel: &ChannelRecord,
        customer: &CustomerIdentity,
        start: StartOutbound,
    ) -> Result<protocol::Interaction, CommandError> {
        let addr = {
            let mut inner = self.lock();
            if let Some((id, _)) = inner.find_open(channel.id, &customer.keys()) {
                return Err(CommandError::new(
                    ErrorCode::ConversationOpen,
                    format!(
                        "the customer already has an open conversation on this channel (interaction {id})"
                    ),
                ));
            }
            self.spawn_interaction(&mut inner, channel, customer).1
        };
        addr.send(start)
            .await
            .unwrap_or_else(|e| Err(CommandError::new(ErrorCode::Unavailable, e.to_string())))
    }

    /// Stores a customer message in its conversation, opening one if needed (R1, R12).
    /// Answers after the commit (R10).
    pub async fn deliver_inbound(
        &self,
        channel: &ChannelRecord,
        msg: InboundMessage,
    ) -> Result<Delivery, StoreError> {
        if let Some(answered) = self.survey_answer(channel, &msg).await? {
            return Ok(answered);
        }
        for _ in 0..3 {
            let (id, addr) = self.open_interaction_for(channel, &msg.customer);
            match addr.send(Inbound { msg: msg.clone() }).await {
                Ok(Ok(InboundOutcome::Stored)) => return Ok(Delivery::Stored),
                Ok(Ok(InboundOutcome::Duplicate)) => return Ok(Delivery::Duplicate),
                Ok(Err(e)) => return Err(e),
                // Closed meanwhile: forget it and open a new one.
                Ok(Ok(InboundOutcome::Closed)) | Err(_) => {
                    let mut inner = self.lock();
                    if inner.interactions.get(&id).is_some_and(|a| a == &addr) {
                        inner.forget(id);
                    }
                }
            }
        }
        Err(StoreError::Unavailable(
            "could not open a conversation for the message".into(),
        ))
    }

    /// R28: a pick in a satisfaction survey is stored on the survey and opens no
    /// conversation; None when the message is not an answer to one of this customer's
    /// surveys (or comes too late): it is an ordinary message then (R1).
    async fn survey_answer(
        &self,
        channel: &ChannelRecord,
        msg: &InboundMessage,
    ) -> Result<Option<Delivery>, StoreError> {
        let Some((interaction_id, score)) = msg
            .list_reply_id
            .as_deref()
            .and_then(crate::domain::csat::parse_answer)
        else {
            return Ok(None);
        };
        let (channel_id, customer, wamid) = (channel.id, msg.customer.clone(), msg.wamid.clone());
        let answered_at = msg.timestamp_ms.min(crate::domain::time::now_ms());
        let answer = self
            .store
            .write(move |db| {
                csat::record_answer(
                    db,
                    channel_id,
                    &customer,
                    interaction_id,
                    score,
                    &wamid,
                    answered_at,
                )
            })
            .await?;
        Ok(match answer {
            csat::Answer::Recorded | csat::Answer::AlreadyAnswered => {
                tracing::info!(
                    interaction_id,
                    score,
                    ?answer,
                    "satisfaction survey answered"
                );
                Some(Delivery::Stored)
            }
            csat::Answer::Duplicate => Some(Delivery::Duplicate),
            csat::Answer::NotAnAnswer => None,
        })
    }

    /// A customer's reaction, edit or deletion (R24): the open conversation shows it; with
    /// none open, the stored message changes. Never opens a conversation. Answers after the
    /// commit.
    pub async fn deliver_update(
        &self,
        channel: &ChannelRecord,
        update: MessageUpdate,
    ) -> Result<(), StoreError> {
        let open = {
            let inner = self.lock();
            inner
                .find_open(channel.id, &update.customer.keys())
                .map(|(_, addr)| addr)
        };
        if let Some(addr) = open {
            let sent = addr
                .send(CustomerUpdate {
                    target: update.target.clone(),
                    change: update.change.clone(),
                })
                .await;
            if let Ok(result) = sent {
                return result;
            }
        }
        let author = Author {
            kind: AuthorKind::Customer,
            id: update
                .customer
                .phone
                .clone()
                .or_else(|| update.customer.user_id.clone()),
            name: update
                .profile_name
                .clone()
                .unwrap_or_else(|| update.customer.label()),
        };
        let now = crate::domain::time::now_ms();
        self.store
            .write(move |db| {
                messages::apply_customer_change(db, &update.target, &author, &update.change, now)
            })
            .await
            .map(|_| ())
    }

    /// The interaction closed: the customer's next message opens a new one (R1).
    pub fn interaction_closed(&self, id: i64) {
        self.lock().forget(id);
    }

    /// A customer changed number or BSUID (R21): the customer stays one customer, and their
    /// open conversation, if any, goes on under the new keys. Answers after the commit.
    pub async fn identity_changed(
        &self,
        channel: &ChannelRecord,
        change: IdentityChange,
    ) -> Result<(), StoreError> {
        let open = {
            let mut inner = self.lock();
            let mut keys = change.before.keys();
            if let Some(previous) = &change.previous_user_id {
                keys.insert(0, CustomerKey::UserId(previous.clone()));
            }
            let found = inner.find_open(channel.id, &keys);
            if let Some((id, _)) = &found {
                inner.remember(*id, channel.id, change.after.keys());
            }
            found
        };
        if let Some((_, addr)) = open {
            if let Ok(result) = addr
                .send(CustomerChanged {
                    change: change.clone(),
                })
                .await
            {
                return result;
            }
        }
        let channel_id = channel.id;
        let now = crate::domain::time::now_ms();
        self.store
            .write(move |db| {
                customers::rename(
                    db,
                    channel_id,
                    change.previous_user_id.as_deref(),
                    change.before.phone.as_deref(),
                    &change.after,
                    now,
                )
            })
            .await
            .map(|_| ())
    }

    pub fn message_status_changed(
        &self,
        interaction_id: i64,
        message_id: i64,
        status: MessageStatus,
        error: Option<String>,
    ) {
        if let Some(addr) = self.interaction(interaction_id) {
            addr.do_send(MessageStatusChanged {
                message_id,
                status,
                error,
            });
        }
    }

    /// New reactions, read receipts or typing indicators were committed (R24).
    pub fn kick_signals(&self) {
        if let Some(s) = self.signals.get() {
            s.do_send(KickSignals);
        }
    }

    /// A message's media became `ready` or `failed` (R22): its conversation tells its agents.
    pub fn media_changed(&self, interaction_id: i64, message_id: i64, media: Media) {
        if let Some(addr) = self.interaction(interaction_id) {
            addr.do_send(MediaChanged { message_id, media });
        }
    }

    /// New media download jobs were committed.
    pub fn kick_media(&self) {
        if let Some(m) = self.media.get() {
            m.do_send(media_fetch::Kick);
        }
    }

    pub fn kick_outbox(&self) {
        if let Some(o) = self.outbox.get() {
            o.do_send(Kick);
        }
    }

    /// After an admin created or changed an agent (settings, queues): reload it from the store.
    pub async fn agent_changed(&self, agent_id: i64) {
        let rec = match self
            .store
            .read(move |db| users::load_agent(db, agent_id))
            .await
        {
            Ok(Some(rec)) => rec,
            Ok(None) => return self.agent_deleted(agent_id).await,
            Err(e) => return tracing::error!(error = %e, "reloading an agent"),
        };
        let existing = self.agent(agent_id);
        match existing {
            Some(addr) => {
                self.lock()
                    .agents
                    .insert(agent_id, (rec.clone(), addr.clone()));
                addr.do_send(agent::UpdateRecord(rec));
            }
            None => {
                self.start_agent(rec);
            }
        }
    }

    /// After an admin deleted an agent: its session ends, its offers are rerouted and its
    /// conversations interrupted (R15).
    pub async fn agent_deleted(&self, agent_id: i64) {
        let removed = self.lock().agents.remove(&agent_id);
        if let Some((_, addr)) = removed {
            addr.do_send(agent::Deleted);
        }
        self.broadcast(ResourceDeleted::Agent(agent_id));
    }

    /// Tells every open interaction that a resource is gone; each checks whether it used it.
    fn broadcast(&self, msg: ResourceDeleted) {
        let all: Vec<_> = self.lock().interactions.values().cloned().collect();
        for addr in all {
            addr.do_send(msg.clone());
        }
    }

    /// After an admin created or changed a queue (settings, members).
    pub async fn queue_changed(&self, queue_id: i64) {
        let rec = match self
            .store
            .read(move |db| queues::load_queue(db, queue_id))
            .await
        {
            Ok(Some(rec)) => rec,
            Ok(None) => return self.queue_deleted(queue_id).await,
            Err(e) => return tracing::error!(error = %e, "reloading a queue"),
        };
        let existing = self.queue(queue_id);
        match existing {
            Some(addr) => {
                self.lock()
                    .queues
                    .insert(queue_id, (rec.clone(), addr.clone()));
                addr.do_send(queue::SetRecord(rec));
            }
            None => {
                self.start_queue(rec);
            }
        }
    }

    /// After an admin deleted a queue.
    pub async fn queue_deleted(&self, queue_id: i64) {
        let removed = self.lock().queues.remove(&queue_id);
        if let Some((_, addr)) = removed {
            addr.do_send(queue::Stop);
        }
        self.broadcast(ResourceDeleted::Queue(queue_id));
    }

    /// After an admin created or changed a channel.
    pub async fn channel_changed(&self, channel_id: i64) {
        match self
            .store
            .read(move |db| channels::load_channel(db, channel_id))
            .await
        {
            Ok(Some(ch)) => {
                self.lock().channels.insert(channel_id, ch);
            }
            Ok(None) => self.channel_deleted(channel_id).await,
            Err(e) => tracing::error!(error = %e, "reloading a channel"),
        }
    }

    /// After an admin deleted a channel.
    pub async fn channel_deleted(&self, channel_id: i64) {
        self.lock().channels.remove(&channel_id);
        self.broadcast(ResourceDeleted::Channel(channel_id));
    }
}
