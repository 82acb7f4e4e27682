//! Every error code a client can see, over HTTP or the WebSocket, with the HTTP status it is
//! answered with: codes as data (meilisearch's `make_error_codes!` idea), one table for the
//! API's errors, the WebSocket's command errors and the domain's refusals.

use serde::Serialize;

/// The statuses the table uses, by their names in `http::StatusCode`.
mod status {
    pub const BAD_REQUEST: u16 = 400;
    pub const UNAUTHORIZED: u16 = 401;
    pub const FORBIDDEN: u16 = 403;
    pub const NOT_FOUND: u16 = 404;
    pub const METHOD_NOT_ALLOWED: u16 = 405;
    pub const CONFLICT: u16 = 409;
    pub const PAYLOAD_TOO_LARGE: u16 = 413;
    pub const UNSUPPORTED_MEDIA_TYPE: u16 = 415;
    pub const TOO_MANY_REQUESTS: u16 = 429;
    pub const INTERNAL_SERVER_ERROR: u16 = 500;
    pub const SERVICE_UNAVAILABLE: u16 = 503;
}

/// Declares [`ErrorCode`]: every code a client can see, over HTTP or the WebSocket, with the
/// HTTP status it is answered with (codes as data, meilisearch's `make_error_codes!` idea).
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $status:ident;)+) => {
        /// A stable snake_case error code (SPEC.md sections 4 and 5).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)+
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }

            /// The HTTP status an answer with this code has (`error::ErrorCode::status`).
            pub fn http_status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => status::$status,)+
                }
            }

            pub fn parse(code: &str) -> Option<ErrorCode> {
                match code {
                    $($code => Some(ErrorCode::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    // 400: the request itself is wrong.
    /// A field broke its rule (HTTP and WebSocket).
    InvalidInput = "invalid_input", BAD_REQUEST;
    InvalidJson = "invalid_json", BAD_REQUEST;
    InvalidQuery = "invalid_query", BAD_REQUEST;
    InvalidPath = "invalid_path", BAD_REQUEST;
    InvalidCursor = "invalid_cursor", BAD_REQUEST;
    InvalidPhone = "invalid_phone", BAD_REQUEST;
    /// A webhook delivery that is JSON but not Meta's shape.
    InvalidBody = "invalid_body", BAD_REQUEST;
    NotAWebsocket = "not_a_websocket", BAD_REQUEST;
    UnknownQueue = "unknown_queue", BAD_REQUEST;
    UnknownAgent = "unknown_agent", BAD_REQUEST;
    /// A WebSocket frame that is not a command.
    BadRequest = "bad_request", BAD_REQUEST;
    /// WebSocket: a status an agent cannot set.
    InvalidStatus = "invalid_status", BAD_REQUEST;
    EmptyMessage = "empty_message", BAD_REQUEST;
    MessageTooLong = "message_too_long", BAD_REQUEST;
    /// WebSocket: a transfer or conference target that is not one.
    InvalidTarget = "invalid_target", BAD_REQUEST;
    UnknownDisposition = "unknown_disposition", BAD_REQUEST;
    DispositionRequired = "disposition_required", BAD_REQUEST;
    /// R23: the values of a template send do not fit the template (count, empty, new lines).
    BadTemplateParameters = "bad_template_parameters", BAD_REQUEST;
    // 401: who is asking is not established.
    Unauthenticated = "unauthenticated", UNAUTHORIZED;
    InvalidCredentials = "invalid_credentials", UNAUTHORIZED;
    InvalidSignature = "invalid_signature", UNAUTHORIZED;
    // 403: established, not allowed.
    Forbidden = "forbidden", FORBIDDEN;
    /// WebSocket: the agent does not own the interaction.
    NotOwner = "not_owner", FORBIDDEN;
    NotParticipant = "not_participant", FORBIDDEN;
    NotConferenceParticipant = "not_conference_participant", FORBIDDEN;
    /// WebSocket: the agent may not reject offers (R4).
    RejectNotPermitted = "reject_not_permitted", FORBIDDEN;
    NotFound = "not_found", NOT_FOUND;
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED;
    // 409: the request is fine, the state is not.
    UsernameTaken = "username_taken", CONFLICT;
    CannotDemoteSelf = "cannot_demote_self", CONFLICT;
    CannotDeleteSelf = "cannot_delete_self", CONFLICT;
    PhoneNumberIdTaken = "phone_number_id_taken", CONFLICT;
    /// R26: another canned response (not deleted) has this shortcut.
    ShortcutTaken = "shortcut_taken", CONFLICT;
    QueueInUse = "queue_in_use", CONFLICT;
    NoAppSecret = "no_app_secret", CONFLICT;
    /// WebSocket: the command does not fit the interaction's state.
    InvalidState = "invalid_state", CONFLICT;
    NotOffered = "not_offered", CONFLICT;
    Interrupted = "interrupted", CONFLICT;
    /// WebSocket: the 24-hour customer service window is closed (R16).
    WindowClosed = "window_closed", CONFLICT;
    ConversationFull = "conversation_full", CONFLICT;
    /// R23: a template whose status is not APPROVED.
    TemplateNotApproved = "template_not_approved", CONFLICT;
    /// R23: the customer already has an open interaction on the channel.
    ConversationOpen = "conversation_open", CONFLICT;
    /// R23: templates cannot be synced for a channel without its WhatsApp Business Account id.
    NoWabaId = "no_waba_id", CONFLICT;
    TargetUnavailable = "target_unavailable", CONFLICT;
    /// The configured CRM cannot do this (contacts live in Dynamics 365, which has no place
    /// for it); the message says what.
    CrmUnsupported = "crm_unsupported", CONFLICT;
    /// A media file not fetched (yet, or ever): its message's `media.state` says which.
    MediaNotReady = "media_not_ready", CONFLICT;
    /// A body too large: a webhook delivery over 3 MB, an attachment over its kind's limit.
    PayloadTooLarge = "payload_too_large", PAYLOAD_TOO_LARGE;
    /// A body of a type the endpoint does not take: not JSON where JSON is read, an
    /// attachment that is not one of WhatsApp's media types (R22).
    UnsupportedMediaType = "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE;
    TooManyRequests = "too_many_requests", TOO_MANY_REQUESTS;
    InternalError = "internal_error", INTERNAL_SERVER_ERROR;
    Unavailable = "unavailable", SERVICE_UNAVAILABLE;
    /// WebSocket: the configured CRM cannot be reached, refused the request, or refused the
    /// credentials.
    CrmUnavailable = "crm_unavailable", SERVICE_UNAVAILABLE;
    CrmRejected = "crm_rejected", SERVICE_UNAVAILABLE;
    CrmAuthFailed = "crm_auth_failed", SERVICE_UNAVAILABLE;
    /// Meta's Cloud API could not be asked, or refused (a template sync).
    WhatsappUnavailable = "whatsapp_unavailable", SERVICE_UNAVAILABLE;
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Why a command is refused: a stable code (the WebSocket `error`'s) and a human message. Any
/// rule of `domain` may refuse (an interaction's transitions, an attachment's type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }
}
