//! A text frame from the agent WebSocket, decoded into a command as the session does; a frame
//! that is not a command becomes the `error` event the agent receives (masked, as with
//! masking on, and encoded).
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::ws::masking::mask_event;
use switchboard::ws::protocol::{self, ServerEvent};

fuzz_target!(|data: &[u8]| {
    // The socket hands the session text frames only: valid UTF-8.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match protocol::decode(text) {
        Ok(frame) => {
            // Only a JSON object decodes, and the `ref` echoed is the frame's own (an absent
            // `ref` and `"ref": null` are both echoed as `null`).
            let value: serde_json::Value =
                serde_json::from_str(text).expect("a decoded command is JSON");
            assert!(value.is_object(), "{text}");
            let null = serde_json::Value::Null;
            assert_eq!(
                frame.reference.as_ref().unwrap_or(&null),
                value.get("ref").unwrap_or(&null),
                "{text}"
            );
            let _ = format!("{:?}", frame.command);
        }
        Err(mut event) => {
            assert!(
                matches!(&*event, ServerEvent::Error { code, .. } if code == "bad_request"),
                "{event:?}"
            );
            mask_event(&mut event);
            let encoded = serde_json::to_string(&*event).expect("an error event encodes");
            assert!(serde_json::from_str::<serde_json::Value>(&encoded).is_ok());
        }
    }
});
