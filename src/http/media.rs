//! R22 over HTTP: `GET /api/v1/media/{id}` serves a stored file to those who may see its
//! conversation; `POST /api/v1/interactions/{id}/attachments` takes an agent's file (multipart
//! `file`, optional `caption`), judges it by its bytes, stores it and has the conversation
//! queue it for the outbox.

use super::roles::AnyUser;
use super::settings::{customer_data_view, CustomerDataView};
use super::Data;
use crate::actors::interaction::{CheckAttachment, SendAttachment, StoredAttachment};
use crate::domain::media::{
    check_upload_size, classify_upload, clean_filename, serving, LARGEST_UPLOAD,
};
use crate::domain::time::now_ms;
use crate::domain::{MediaState, Role};
use crate::error::{ApiError, ErrorCode};
use crate::media_files::{Incoming, MediaFiles, HEAD_BYTES};
use crate::store::{history, interactions, media};
use crate::ws::masking::mask_message;
use crate::ws::protocol::{CommandError, Message};
use actix_multipart::{Field, Multipart, MultipartError};
use actix_web::body::SizedStream;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Serialize;
use utoipa::ToSchema;

/// A refused upload's body is still read (and dropped) up to this much, so the client sees the
/// answer rather than a reset connection.
const DRAIN_LIMIT: u64 = LARGEST_UPLOAD + 16 * 1024 * 1024;
/// Longest caption field read, in bytes (the characters are checked by the rules).
const MAX_CAPTION_BYTES: usize = 16 * 1024;
/// A served file's own policy: nothing in it runs, even if a browser were to render it.
const MEDIA_CSP: &str =
    "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/media/{id}").route(web::get().to(get)))
        .service(web::resource("/interactions/{id}/attachments").route(web::post().to(attach)));
}

#[utoipa::path(
    get, path = "/api/v1/media/{id}", operation_id = "get_media", tag = "media", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The media id (a message's `media.id`)")),
    responses(
        (status = 200, description = "The file: images, audio and video inline, anything else as an attachment; active types (HTML, SVG, XML, JavaScript) only as `application/octet-stream`; always `X-Content-Type-Options: nosniff`", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, description = "`invalid_path`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden`: an agent who was not in the conversation", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
        (status = 409, description = "`media_not_ready`: still `pending`, or `failed`", body = super::openapi::ErrorResponse),
    )
)]
pub async fn get(user: AnyUser, state: Data, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let found = state.store.read(move |db| media::load(db, id)).await?;
    let (file, _message_id) = found.ok_or(ApiError::NotFound("media"))?;
    // Participants of the conversation (now or before), supervisors and admins.
    if !user.role.at_least(Role::Supervisor) {
        let (interaction_id, me) = (file.interaction_id, user.id);
        let took_part = state
            .store
            .read(move |db| history::took_part(db, interaction_id, me))
            .await?;
        if !took_part {
            return Err(ApiError::Forbidden);
        }
    }
    serve(&state, id, file).await
}

/// The file of a media row, safely: images, audio and video inline, everything else as an
/// attachment, `nosniff`, never an active type (R22). The caller decided who may see it.
pub async fn serve(
    state: &Data,
    id: i64,
    file: media::MediaFile,
) -> Result<HttpResponse, ApiError> {
    if file.media.state != MediaState::Ready {
        let why = file.media.error.as_deref().unwrap_or("not fetched yet");
        return Err(ApiError::conflict(
            ErrorCode::MediaNotReady,
            format!("the file is {}: {why}", file.media.state),
        ));
    }
    let stored = file
        .file
        .as_deref()
        .ok_or(ApiError::NotFound("media file"))?;
    let opened = match state.registry.files.open(stored).await {
        Ok(Some(opened)) => opened,
        Ok(None) => {
            tracing::error!(
                media_id = id,
                file = stored,
                "a ready media file is missing"
            );
            return Err(ApiError::NotFound("media file"));
        }
        Err(e) => {
            tracing::error!(media_id = id, file = stored, error = %e, "a ready media file cannot be read");
            return Err(ApiError::Unavailable(format!(
                "the file cannot be read now: {e}"
            )));
        }
    };
    let length = opened.len;
    let how = serving(file.media.mime_type.as_deref());
    let name = file
        .media
        .filename
        .clone()
        .unwrap_or_else(|| default_name(id, &how.content_type));
    let chunks = opened.chunks;
    Ok(HttpResponse::Ok()
        .content_type(how.content_type.as_str())
        .insert_header(disposition(how.inline, &name))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, MEDIA_CSP))
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
        .body(SizedStream::new(length, chunks.boxed_local())))
}

/// `media-7.jpg` for a file that came without a name.
fn default_name(id: i64, content_type: &str) -> String {
    match mime_guess::get_mime_extensions_str(content_type).and_then(|e| e.first()) {
        Some(ext) => format!("media-{id}.{ext}"),
        None => format!("media-{id}"),
    }
}

/// `inline` or `attachment`, with the file name (an ASCII one, and the UTF-8 one beside it).
fn disposition(inline: bool, name: &str) -> ContentDisposition {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut parameters = vec![DispositionParam::Filename(ascii.clone())];
    if ascii != name {
        parameters.push(DispositionParam::FilenameExt(header::ExtendedValue {
            charset: header::Charset::Ext("UTF-8".into()),
            language_tag: None,
            value: name.as_bytes().to_vec(),
        }));
    }
    ContentDisposition {
        disposition: if inline {
            DispositionType::Inline
        } else {
            DispositionType::Attachment
        },
        parameters,
    }
}

/// The attachment form.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AttachmentForm {
    /// The file. Its type is read from its bytes: images JPEG or PNG (5 MiB), video MP4 or
    /// 3GPP (16 MiB), audio AAC, AMR, MP3, M4A or OGG-Opus (16 MiB), stickers WebP (500 KiB),
    /// documents PDF, Word, Excel, PowerPoint or plain text (100 MiB).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Shown under an image, video or document (at most 1024 characters, not blank).
    caption: Option<String>,
}

/// The queued message (`kind` image, video, audio, document or sticker; `media` ready).
#[derive(Serialize, ToSchema)]
pub struct Attached {
    pub interaction_id: i64,
    pub message: Message,
}

#[utoipa::path(
    post, path = "/api/v1/interactions/{id}/attachments", operation_id = "send_attachment", tag = "media", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Interaction id")),
    request_body(content = AttachmentForm, content_type = "multipart/form-data"),
    responses(
        (status = 202, description = "Stored and queued: the outbox uploads it to WhatsApp, then sends it (R6)", body = Attached),
        (status = 400, description = "`invalid_input` (no `file`, a malformed form), `empty_message`, `message_too_long` (caption), `invalid_path`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`not_participant`", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
        (status = 409, description = "`invalid_state` (not active, closed), `interrupted`, `window_closed` (R14)", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large`: over the limit of the file's kind", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type`: not one of WhatsApp's media types (HTML, say), or not `multipart/form-data`", body = super::openapi::ErrorResponse),
        (status = 503, description = "`unavailable`: the file or the message could not be stored", body = super::openapi::ErrorResponse),
    )
)]
pub async fn attach(
    user: AnyUser,
    state: Data,
    id: web::Path<i64>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let interaction_id = id.into_inner();
    // Who may send is known before a byte of the file is read.
    let Some(conversation) = state.registry.interaction(interaction_id) else {
        let closed = state
            .store
            .read(move |db| interactions::is_closed(db, interaction_id))
            .await?;
        return Err(match closed {
            true => ApiError::conflict(ErrorCode::InvalidState, "the conversation is closed"),
            false => ApiError::NotFound("interaction"),
        });
    };
    let gone = || ApiError::conflict(ErrorCode::InvalidState, "the conversation is closed");
    conversation
        .send(CheckAttachment { agent_id: user.id })
        .await
        .map_err(|_| gone())?
        .map_err(refused)?;

    let files = state.registry.files.clone();
    let form = read_form(&req, payload, &files).await?;
    let Some(upload) = form.file else {
        return Err(ApiError::invalid("the form needs a `file` field"));
    };
    let size = upload.file.size() as i64;
    let stored = upload
        .file
        .finish(now_ms())
        .await
        .map_err(|e| ApiError::Unavailable(format!("the file could not be stored: {e}")))?;
    let relative = stored.file.clone();
    let attachment = StoredAttachment {
        kind: upload.kind.kind,
        mime_type: upload.kind.mime_type.to_string(),
        size,
        sha256_hex: hex::encode(stored.sha256),
        filename: upload.filename,
        caption: form.caption,
        file: stored.file,
    };
    let sent = conversation
        .send(SendAttachment {
            agent_id: user.id,
            attachment,
        })
        .await
        .map_err(|_| gone())
        .and_then(|r| r.map_err(refused));
    let mut message = match sent {
        Ok(m) => m,
        Err(e) => {
            // Nothing names the file: it goes.
            let _ = files.remove(&relative).await;
            return Err(e);
        }
    };
    if matches!(
        customer_data_view(user.role, &state.runtime),
        CustomerDataView::Masked
    ) {
        mask_message(&mut message);
    }
    Ok(HttpResponse::Accepted().json(Attached {
        interaction_id,
        message,
    }))
}

fn refused(e: CommandError) -> ApiError {
    ApiError::Refused(e.code, e.message)
}

/// An attachment read from the form: written to `tmp/`, judged by its first bytes.
struct Upload {
    file: Incoming,
    kind: crate::domain::media::UploadType,
    filename: Option<String>,
}

struct Form {
    file: Option<Upload>,
    caption: Option<String>,
}

fn multipart_error(e: MultipartError) -> ApiError {
    match e {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible => ApiError::Refused(
            ErrorCode::UnsupportedMediaType,
            "expected multipart/form-data".into(),
        ),
        other => ApiError::invalid(format!("malformed multipart form: {other}")),
    }
}

async fn read_form(
    req: &HttpRequest,
    payload: web::Payload,
    files: &MediaFiles,
) -> Result<Form, ApiError> {
    let mut parts = Multipart::new(req.headers(), payload);
    let mut form = Form {
        file: None,
        caption: None,
    };
    while let Some(field) = parts.next().await {
        let mut field = field.map_err(multipart_error)?;
        match field.name().unwrap_or_default() {
            "file" if form.file.is_none() => form.file = Some(read_file(&mut field, files).await?),
            "caption" if form.caption.is_none() => {
                let mut text = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(multipart_error)?;
                    if text.len() + chunk.len() > MAX_CAPTION_BYTES {
                        return Err(ApiError::bad(
                            ErrorCode::MessageTooLong,
                            "a caption has at most 1024 characters",
                        ));
                    }
                    text.extend_from_slice(&chunk);
                }
                let text = String::from_utf8(text)
                    .map_err(|_| ApiError::invalid("the caption is not UTF-8 text"))?;
                form.caption = (!text.is_empty()).then_some(text);
            }
            // Anything else is read past.
            _ => {
                while let Some(chunk) = field.next().await {
                    chunk.map_err(multipart_error)?;
                }
            }
        }
    }
    Ok(form)
}

/// Streams the `file` field to `tmp/`, judging its type from its first bytes and stopping at
/// its kind's limit (the rest is read and dropped, up to [`DRAIN_LIMIT`]).
async fn read_file(field: &mut Field, files: &MediaFiles) -> Result<Upload, ApiError> {
    let filename = field
        .content_disposition()
        .and_then(|d| d.get_filename())
        .and_then(clean_filename);
    let mut file = files
        .incoming()
        .await
        .map_err(|e| ApiError::Unavailable(format!("the file could not be stored: {e}")))?;
    let judge = |file: &Incoming| {
        let head = file.head();
        classify_upload(
            infer::get(head).map(|t| t.mime_type()),
            head,
            filename.as_deref(),
        )
    };
    let mut kind = None;
    let mut refusal = None;
    let mut seen = 0u64;
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(multipart_error)?;
        seen += chunk.len() as u64;
        if refusal.is_some() {
            if seen > DRAIN_LIMIT {
                break;
            }
            continue;
        }
        file.write(&chunk)
            .await
            .map_err(|e| ApiError::Unavailable(format!("the file could not be stored: {e}")))?;
        if kind.is_none() && file.head().len() >= HEAD_BYTES {
            match judge(&file) {
                Ok(k) => kind = Some(k),
                Err(r) => refusal = Some(r),
            }
        }
        let limit = kind.map_or(LARGEST_UPLOAD, |k| k.max_bytes);
        if refusal.is_none() && file.size() > limit {
            refusal = Some(match kind {
                Some(k) => check_upload_size(&k, seen).unwrap_err(),
                None => crate::domain::interaction::Refusal::new(
                    ErrorCode::PayloadTooLarge,
                    "an attachment has at most 100 MiB",
                ),
            });
        }
    }
    if let Some(r) = refusal {
        return Err(r.into());
    }
    if file.size() == 0 {
        return Err(ApiError::invalid("the file is empty"));
    }
    let kind = match kind {
        Some(k) => k,
        None => judge(&file)?,
    };
    check_upload_size(&kind, file.size())?;
    Ok(Upload {
        file,
        kind,
        filename,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_go_in_the_header_safely() {
        let d = disposition(true, "photo.jpg").to_string();
        assert_eq!(d, "inline; filename=\"photo.jpg\"");
        let d = disposition(false, "facture d\u{e9}c.pdf").to_string();
        assert!(
            d.starts_with("attachment; filename=\"facture d_c.pdf\"; filename*=UTF-8''"),
            "{d}"
        );
        let d = disposition(false, "a\"b.pdf").to_string();
        assert!(d.contains("filename=\"a_b.pdf\""), "{d}");
        assert_eq!(default_name(7, "image/png"), "media-7.png");
        assert_eq!(
            default_name(7, "application/octet-stream")
                .split('.')
                .next(),
            Some("media-7")
        );
    }
}
