//! Small JSON helpers.

use serde_json::Value;

/// Shallow-merges the keys of `extra` into `base`.
pub fn merge(base: &mut Value, extra: Value) {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        for (k, v) in e {
            b.insert(k, v);
        }
    }
}

pub fn id_of(v: Value) -> i64 {
    v["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("expected an integer `id` in {v}"))
}

/// A list answer: a bare array, or an object with `items` (or `data`).
pub fn items_of(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        Value::Object(mut o) => match o.remove("items").or_else(|| o.remove("data")) {
            Some(Value::Array(a)) => a,
            _ => panic!("expected a list, got {}", Value::Object(o)),
        },
        other => panic!("expected a list, got {other}"),
    }
}

/// The texts of an interaction's `messages`, in order.
pub fn message_texts(interaction: &Value) -> Vec<String> {
    interaction["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no messages in {interaction}"))
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The item of `list` (a JSON array) whose `key` is `id`: a report's row of a queue or agent.
pub fn row_with(list: &Value, key: &str, id: i64) -> Value {
    list.as_array()
        .and_then(|rows| rows.iter().find(|r| r[key] == serde_json::json!(id)))
        .unwrap_or_else(|| panic!("no row with {key} = {id} in {list}"))
        .clone()
}
