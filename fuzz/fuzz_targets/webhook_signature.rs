//! The `X-Hub-Signature-256` check on a delivery: an untrusted header against an untrusted
//! body. Input: `secret NUL header NUL body`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::whatsapp::signature::{self, SignatureError};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let secret = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let header = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let body = parts.next().unwrap_or_default();

    match signature::parse_header(&header) {
        Ok(digest) => assert_eq!(digest.len(), 32),
        Err(e) => assert_eq!(e, SignatureError::Malformed),
    }
    // Only the header `sign` makes (up to the case of its hex digits and white space around
    // it) is accepted.
    let expected = signature::sign(&secret, body);
    if signature::verify(&secret, body, &header).is_ok() {
        assert_eq!(header.trim().to_ascii_lowercase(), expected);
    }
    assert_eq!(signature::verify(&secret, body, &expected), Ok(()));
});
