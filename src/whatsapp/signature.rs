//! `X-Hub-Signature-256: sha256=<hex>`: HMAC-SHA256 of the raw body, keyed with the app secret.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub const HEADER: &str = "X-Hub-Signature-256";

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature header must be `sha256=<64 hex digits>`")]
    Malformed,
    #[error("signature does not match the body")]
    Mismatch,
}

/// The digest carried by a header value, or `Malformed`.
pub fn parse_header(header: &str) -> Result<Vec<u8>, SignatureError> {
    let hex_digest = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let digest = hex::decode(hex_digest).map_err(|_| SignatureError::Malformed)?;
    if digest.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    Ok(digest)
}

/// Checks a parsed digest against `body` in constant time.
pub fn verify_digest(secret: &str, body: &[u8], digest: &[u8]) -> Result<(), SignatureError> {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(digest)
        .map_err(|_| SignatureError::Mismatch)
}

/// Checks a header value against `body`.
pub fn verify(secret: &str, body: &[u8], header: &str) -> Result<(), SignatureError> {
    verify_digest(secret, body, &parse_header(header)?)
}

/// The header value Meta would send for `body` (for the simulator and tests).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // Computed independently: `echo -n ... | openssl dgst -sha256 -hmac key`.
        assert_eq!(
            sign("key", b"The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn sign_then_verify() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let header = sign("s3cret", body);
        assert_eq!(verify("s3cret", body, &header), Ok(()));
        assert_eq!(
            verify("other", body, &header),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("s3cret", b"{}", &header),
            Err(SignatureError::Mismatch)
        );
        let upper = format!("sha256={}", header["sha256=".len()..].to_uppercase());
        assert_eq!(verify("s3cret", body, &upper), Ok(()));
    }

    #[test]
    fn malformed_headers() {
        let body = b"{}";
        let good = sign("k", body);
        let hex_part = &good["sha256=".len()..];
        for bad in [
            "",
            "sha256=",
            hex_part,
            &format!("sha1={hex_part}"),
            &format!("sha256={}", &hex_part[..62]),
            &format!("sha256={}zz", &hex_part[..62]),
        ] {
            assert_eq!(
                verify("k", body, bad),
                Err(SignatureError::Malformed),
                "{bad:?}"
            );
        }
    }
}
