//! R22 as pure rules: what an agent's attachment may be (WhatsApp's types and sizes by kind,
//! judged from the file's bytes), how a fetched file is checked against the sha256 Meta gives
//! (hex or base64), how a stored file is served (never an active type inline), and how the
//! transcript names a media message.

use super::error_code::ErrorCode;
use super::error_code::Refusal;
use super::{MediaState, MessageKind};
use base64::Engine as _;
use serde::Serialize;
use utoipa::ToSchema;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;

/// The largest attachment of any kind (a document): a body past this is not read further.
pub const LARGEST_UPLOAD: u64 = 100 * MIB;

/// Meta's limit for a media caption, in characters.
pub const MAX_CAPTION_CHARS: usize = 1024;

/// A message's media file as agents see it, both ways.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Media {
    /// Switchboard's id of the file: `GET /api/v1/media/{id}`.
    pub id: i64,
    pub mime_type: Option<String>,
    /// Bytes (known once ready; Meta's figure while pending).
    pub size: Option<i64>,
    pub filename: Option<String>,
    pub caption: Option<String>,
    /// Hex.
    pub sha256: Option<String>,
    /// `pending`, `ready` or `failed`.
    pub state: MediaState,
    /// `/api/v1/media/{id}` once ready, else null.
    pub url: Option<String>,
    /// Why the file could not be fetched (`failed`), or why the last try failed (`pending`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Where a stored file is served.
pub fn media_url(id: i64) -> String {
    format!("/api/v1/media/{id}")
}

/// The message kinds that carry a file.
pub fn is_media_kind(kind: MessageKind) -> bool {
    matches!(
        kind,
        MessageKind::Image
            | MessageKind::Video
            | MessageKind::Audio
            | MessageKind::Document
            | MessageKind::Sticker
    )
}

/// A sha256 as Meta writes it: 64 hex digits (the media endpoint) or base64 (the webhook),
/// padded or not, standard or URL-safe alphabet.
pub fn decode_sha256(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).ok()?;
        return Some(out);
    }
    let unpadded = text.trim_end_matches('=');
    let engines = [
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    engines
        .iter()
        .find_map(|e| e.decode(unpadded).ok())
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
}

/// Whether a file whose digest is `actual` is the one `declared` names. An unreadable
/// declaration matches nothing.
pub fn sha256_matches(declared: &str, actual: &[u8; 32]) -> bool {
    decode_sha256(declared).is_some_and(|d| &d == actual)
}

/// What an accepted attachment is: its message kind, the MIME type Meta gets, its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadType {
    pub kind: MessageKind,
    pub mime_type: &'static str,
    pub max_bytes: u64,
}

impl UploadType {
    const fn new(kind: MessageKind, mime_type: &'static str, max_bytes: u64) -> Self {
        UploadType {
            kind,
            mime_type,
            max_bytes,
        }
    }
}

fn unsupported(what: &str) -> Refusal {
    Refusal::new(
        ErrorCode::UnsupportedMediaType,
        format!(
            "{what} cannot be sent on WhatsApp: images are JPEG or PNG, video MP4 or 3GPP, \
             audio AAC, AMR, MP3, M4A or OGG-Opus, stickers WebP, documents PDF, Office or \
             plain text"
        ),
    )
}

fn extension(filename: Option<&str>) -> Option<String> {
    let name = filename?.rsplit(['/', '\\']).next()?;
    let (_, ext) = name.rsplit_once('.')?;
    Some(ext.to_ascii_lowercase())
}

/// The Office formats WhatsApp takes as documents: (extension, MIME type, OOXML).
const OFFICE: &[(&str, &str, bool)] = &[
    ("doc", "application/msword", false),
    ("xls", "application/vnd.ms-excel", false),
    ("ppt", "application/vnd.ms-powerpoint", false),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        true,
    ),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        true,
    ),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        true,
    ),
];

/// The kind and type of an attachment, from its first bytes (`head`, at least the first few
/// KiB) and the type a magic-number sniffer found in them (`sniffed`); the client's
/// Content-Type is not trusted. `filename` only tells the Office formats apart when the
/// sniffer saw just their container (a ZIP, an OLE file).
pub fn classify_upload(
    sniffed: Option<&str>,
    head: &[u8],
    filename: Option<&str>,
) -> Result<UploadType, Refusal> {
    use MessageKind::*;
    const DOC: u64 = 100 * MIB;
    const AV: u64 = 16 * MIB;
    if is_3gpp(head) {
        return Ok(UploadType::new(Video, "video/3gpp", AV));
    }
    let Some(sniffed) = sniffed else {
        return if looks_like_plain_text(head) {
            Ok(UploadType::new(Document, "text/plain", DOC))
        } else {
            Err(unsupported("a file of an unknown type"))
        };
    };
    Ok(match sniffed {
        "image/jpeg" => UploadType::new(Image, "image/jpeg", 5 * MIB),
        "image/png" => UploadType::new(Image, "image/png", 5 * MIB),
        "image/webp" => UploadType::new(Sticker, "image/webp", 500 * KIB),
        "video/mp4" => UploadType::new(Video, "video/mp4", AV),
        "audio/aac" => UploadType::new(Audio, "audio/aac", AV),
        "audio/amr" => UploadType::new(Audio, "audio/amr", AV),
        "audio/mpeg" => UploadType::new(Audio, "audio/mpeg", AV),
        "audio/m4a" => UploadType::new(Audio, "audio/mp4", AV),
        "audio/opus" => UploadType::new(Audio, "audio/ogg", AV),
        "audio/ogg" => return Err(unsupported("OGG audio that is not Opus")),
        "application/pdf" => UploadType::new(Document, "application/pdf", DOC),
        // Office files whose container is all the sniffer recognised: the name's extension
        // says which, if it fits the container (OOXML in a ZIP, the old formats in OLE).
        "application/zip" | "application/x-ole-storage" => {
            let ext = extension(filename).unwrap_or_default();
            match OFFICE.iter().find(|(e, ..)| *e == ext) {
                Some((_, mime, ooxml)) if *ooxml == (sniffed == "application/zip") => {
                    UploadType::new(Document, mime, DOC)
                }
                _ => return Err(unsupported(&format!("a file of type {sniffed}"))),
            }
        }
        office if OFFICE.iter().any(|(_, m, _)| *m == office) => {
            let (_, mime, _) = OFFICE.iter().find(|(_, m, _)| *m == office).expect("found");
            UploadType::new(Document, mime, DOC)
        }
        other => return Err(unsupported(&format!("a file of type {other}"))),
    })
}

/// An MP4-family file whose brand is 3GPP (`3gp*`, `3g2*`).
fn is_3gpp(head: &[u8]) -> bool {
    head.len() >= 11 && &head[4..8] == b"ftyp" && (&head[8..11] == b"3gp" || &head[8..11] == b"3g2")
}

/// UTF-8 text (the last character may be cut by the end of `head`) with no NUL and no markup:
/// text that starts with `<` (HTML, SVG, XML) is not plain text.
fn looks_like_plain_text(head: &[u8]) -> bool {
    if head.is_empty() || head.contains(&0) {
        return false;
    }
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        // Only an incomplete last character is forgiven.
        Err(e) if e.error_len().is_none() => match std::str::from_utf8(&head[..e.valid_up_to()]) {
            Ok(s) => s,
            Err(_) => return false,
        },
        Err(_) => return false,
    };
    let start = valid.trim_start_matches('\u{feff}').trim_start();
    !start.starts_with('<')
}

/// Refuses an attachment over its kind's limit (`413 payload_too_large`).
pub fn check_upload_size(t: &UploadType, size: u64) -> Result<(), Refusal> {
    if size > t.max_bytes {
        return Err(Refusal::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "{} files ({}) can have at most {}, this one has {}",
                t.kind,
                t.mime_type,
                human_size(t.max_bytes),
                human_size(size)
            ),
        ));
    }
    Ok(())
}

fn human_size(bytes: u64) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// How a stored file is answered: the Content-Type sent and whether it shows inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serving {
    pub content_type: String,
    pub inline: bool,
}

/// Images, audio and video inline; everything else as an attachment; an active type (HTML,
/// SVG, XML, JavaScript, CSS) or an unreadable one as `application/octet-stream`, so a
/// browser never runs a customer's file in the page's origin.
pub fn serving(mime_type: Option<&str>) -> Serving {
    let essence = mime_type
        .and_then(|m| m.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .filter(|m| valid_mime(m));
    let Some(essence) = essence else {
        return Serving {
            content_type: "application/octet-stream".into(),
            inline: false,
        };
    };
    let (top, sub) = essence.split_once('/').unwrap_or(("", ""));
    let active = sub.ends_with("+xml")
        || sub == "xml"
        || matches!(
            essence.as_str(),
            "text/html"
                | "text/javascript"
                | "application/javascript"
                | "application/ecmascript"
                | "text/ecmascript"
                | "text/css"
                | "application/x-shockwave-flash"
                | "application/pdf+html"
        )
        || sub.contains("javascript")
        || sub.contains("html");
    if active {
        return Serving {
            content_type: "application/octet-stream".into(),
            inline: false,
        };
    }
    Serving {
        inline: matches!(top, "image" | "audio" | "video"),
        content_type: essence,
    }
}

fn valid_mime(m: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    matches!(m.split_once('/'), Some((a, b)) if token(a) && token(b))
}

/// A file name as a client or Meta gave it, made safe to keep and to show: the last path
/// component, without control characters, at most 200 characters; `None` when nothing is left.
pub fn clean_filename(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_string();
    (!cleaned.is_empty()).then_some(cleaned)
}

/// The transcript text of an agent's attachment: its caption, else a short description.
pub fn attachment_text(kind: MessageKind, caption: Option<&str>, filename: Option<&str>) -> String {
    if let Some(c) = caption.filter(|c| !c.trim().is_empty()) {
        return c.to_string();
    }
    match (kind, filename) {
        (MessageKind::Document, Some(name)) => format!("[document: {name}]"),
        (kind, _) => format!("[{kind}]"),
    }
}

/// Which media kinds take a caption when sent (WhatsApp ignores or refuses it on the others).
pub fn takes_caption(kind: MessageKind) -> bool {
    matches!(
        kind,
        MessageKind::Image | MessageKind::Video | MessageKind::Document
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn digest(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    #[test]
    fn sha256_is_read_as_hex_or_base64() {
        let d = digest(b"hello");
        let hex_lower = hex::encode(d);
        let b64 = base64::engine::general_purpose::STANDARD.encode(d);
        let b64_url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d);
        for declared in [
            hex_lower.clone(),
            hex_lower.to_uppercase(),
            b64.clone(),
            b64.trim_end_matches('=').to_string(),
            b64_url,
            format!("  {b64} "),
        ] {
            assert!(sha256_matches(&declared, &d), "{declared}");
        }
        let other = digest(b"hello!");
        assert!(!sha256_matches(&hex_lower, &other));
        assert!(!sha256_matches(&b64, &other));
        for junk in ["", "abc", "zz", &"0".repeat(63), "not base64 at all!!"] {
            assert!(!sha256_matches(junk, &d), "{junk}");
        }
        // 32 bytes in base64 that happen to be 64 characters long cannot exist (44 at most).
        assert_eq!(decode_sha256(&hex_lower), Some(d));
    }

    fn jpeg() -> Vec<u8> {
        vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0]
    }

    fn classify(bytes: &[u8], filename: Option<&str>) -> Result<UploadType, Refusal> {
        classify_upload(infer::get(bytes).map(|t| t.mime_type()), bytes, filename)
    }

    #[test]
    fn attachments_are_judged_by_their_bytes() {
        use MessageKind::*;
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        let webp = b"RIFF\0\0\0\0WEBPVP8 ".to_vec();
        let mp4 = b"\0\0\0\x18ftypmp42\0\0\0\0".to_vec();
        let gp3 = b"\0\0\0\x14ftyp3gp4\0\0\0\0".to_vec();
        let mp3 = b"ID3\x03\0\0\0\0\0\0".to_vec();
        let m4a = b"\0\0\0\x20ftypM4A \0\0\0\0".to_vec();
        let mut opus = b"OggS\0\x02".to_vec();
        opus.resize(28, 0);
        opus.extend_from_slice(b"OpusHead\x01\x02");
        let mut vorbis = b"OggS\0\x02".to_vec();
        vorbis.resize(28, 0);
        vorbis.extend_from_slice(b"\x01vorbis\0\0\0");
        let amr = b"#!AMR\n\0\0\0\0\0\0".to_vec();
        let pdf = b"%PDF-1.7\n%\xe2\xe3".to_vec();
        let jpeg = jpeg();
        let cases: Vec<(&[u8], Option<&str>, MessageKind, &str)> = vec![
            (&jpeg, None, Image, "image/jpeg"),
            (&png, None, Image, "image/png"),
            (&webp, None, Sticker, "image/webp"),
            (&mp4, None, Video, "video/mp4"),
            (&gp3, None, Video, "video/3gpp"),
            (&mp3, None, Audio, "audio/mpeg"),
            (&m4a, None, Audio, "audio/mp4"),
            (&opus, None, Audio, "audio/ogg"),
            (&amr, None, Audio, "audio/amr"),
            (&pdf, None, Document, "application/pdf"),
            (
                b"Order 1234, two boxes\n",
                Some("notes.txt"),
                Document,
                "text/plain",
            ),
            (
                b"PK\x03\x04\x14\0\0\0\x08\0",
                Some("Report.DOCX"),
                Document,
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
        ];
        for (bytes, name, kind, mime) in cases {
            let t = classify(bytes, name).unwrap_or_else(|r| panic!("{mime}: {r:?}"));
            assert_eq!((t.kind, t.mime_type), (kind, mime));
        }
        // The client's name never makes HTML (or an unknown or unwanted type) acceptable.
        for (bytes, name) in [
            (
                &b"<!DOCTYPE html><html><script>alert(1)</script>"[..],
                Some("photo.jpg"),
            ),
            (
                b"  <svg xmlns='http://www.w3.org/2000/svg'/>",
                Some("a.txt"),
            ),
            (b"<?xml version='1.0'?><a/>", None),
            (b"GIF89a\x01\0\x01\0", Some("a.gif")),
            (&vorbis, None),
            (b"PK\x03\x04\x14\0\0\0\x08\0", Some("archive.zip")),
            (b"\x7fELF\x02\x01\x01\0\0\0", None),
            (b"binary\0junk", None),
            (b"", None),
        ] {
            let r = classify(bytes, name).unwrap_err();
            assert_eq!(r.code, ErrorCode::UnsupportedMediaType, "{bytes:?}");
        }
        // The old Office formats in their OLE container, by name; a sniffed one as sniffed.
        let ole = |name| {
            classify_upload(
                Some("application/x-ole-storage"),
                b"\xd0\xcf\x11\xe0",
                Some(name),
            )
        };
        assert_eq!(
            ole("Budget.XLS").unwrap().mime_type,
            "application/vnd.ms-excel"
        );
        assert!(ole("budget.docx").is_err() && ole("budget").is_err());
        let xls = classify_upload(Some("application/vnd.ms-excel"), b"\xd0\xcf", None).unwrap();
        assert_eq!(
            (xls.kind, xls.mime_type),
            (Document, "application/vnd.ms-excel")
        );
        // Text cut in the middle of a character is still text.
        let mut text = "café ".repeat(10).into_bytes();
        text.push(0xC3);
        assert_eq!(classify(&text, None).unwrap().mime_type, "text/plain");
    }

    #[test]
    fn sizes_are_limited_by_kind() {
        let limit = |bytes: &[u8]| classify(bytes, None).unwrap();
        let image = limit(&jpeg());
        assert!(check_upload_size(&image, 5 * MIB).is_ok());
        let r = check_upload_size(&image, 5 * MIB + 1).unwrap_err();
        assert_eq!(r.code, ErrorCode::PayloadTooLarge);
        assert!(r.message.contains("5 MiB"), "{}", r.message);
        let sticker = limit(b"RIFF\0\0\0\0WEBPVP8 ");
        assert!(check_upload_size(&sticker, 500 * KIB).is_ok());
        assert!(check_upload_size(&sticker, 500 * KIB + 1).is_err());
        let video = limit(b"\0\0\0\x18ftypmp42\0\0\0\0");
        assert!(check_upload_size(&video, 16 * MIB).is_ok());
        assert!(check_upload_size(&video, 16 * MIB + 1).is_err());
        let audio = limit(b"ID3\x03\0\0\0\0\0\0");
        assert!(check_upload_size(&audio, 16 * MIB + 1).is_err());
        let doc = limit(b"%PDF-1.4\n");
        assert!(check_upload_size(&doc, LARGEST_UPLOAD).is_ok());
        assert!(check_upload_size(&doc, LARGEST_UPLOAD + 1).is_err());
    }

    #[test]
    fn only_images_audio_and_video_show_inline_and_active_types_never() {
        let s = |m: &str| serving(Some(m));
        assert_eq!(
            s("image/jpeg"),
            Serving {
                content_type: "image/jpeg".into(),
                inline: true
            }
        );
        assert!(s("audio/ogg; codecs=opus").inline);
        assert_eq!(s("audio/ogg; codecs=opus").content_type, "audio/ogg");
        assert!(s("VIDEO/MP4").inline);
        let pdf = s("application/pdf");
        assert_eq!(
            (pdf.content_type.as_str(), pdf.inline),
            ("application/pdf", false)
        );
        assert!(!s("text/plain").inline);
        for active in [
            "text/html",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/javascript",
            "application/javascript",
            "text/xml",
            "application/xml",
            "text/css",
            "text/html; charset=utf-8",
        ] {
            assert_eq!(
                s(active),
                Serving {
                    content_type: "application/octet-stream".into(),
                    inline: false
                },
                "{active}"
            );
        }
        for junk in ["", "image", "image/", "image/png\r\nX-Evil: 1", "a b/c"] {
            assert_eq!(s(junk).content_type, "application/octet-stream", "{junk:?}");
        }
        assert!(!serving(None).inline);
    }

    #[test]
    fn file_names_are_cleaned() {
        assert_eq!(
            clean_filename("invoice.pdf").as_deref(),
            Some("invoice.pdf")
        );
        assert_eq!(
            clean_filename("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(
            clean_filename("C:\\Users\\a\\scan\n.pdf").as_deref(),
            Some("scan.pdf")
        );
        assert_eq!(clean_filename("..").as_deref(), None);
        assert_eq!(clean_filename(" ").as_deref(), None);
        assert_eq!(clean_filename(&"x".repeat(500)).unwrap().len(), 200);
    }

    #[test]
    fn attachments_are_described_in_the_transcript() {
        use MessageKind::*;
        assert_eq!(
            attachment_text(Image, Some("Broken box"), None),
            "Broken box"
        );
        assert_eq!(attachment_text(Image, Some("  "), None), "[image]");
        assert_eq!(
            attachment_text(Document, None, Some("invoice.pdf")),
            "[document: invoice.pdf]"
        );
        assert_eq!(attachment_text(Sticker, None, None), "[sticker]");
        assert!(takes_caption(Document) && !takes_caption(Audio) && !takes_caption(Sticker));
        assert_eq!(media_url(7), "/api/v1/media/7");
        assert!(is_media_kind(Sticker) && !is_media_kind(Location));
    }
}
