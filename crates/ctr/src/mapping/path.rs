//! Paths into a JSON record: a JSON pointer (`/event_params/0/value`) or
//! dotted (`user.id`, `items.0.item_id`, `items.*.item_id`), with the
//! arrays of `{key, value}` parameters that Google Analytics 4 writes read
//! by key (`event_params.search_term`).

use std::fmt;

use serde_json::Value;

/// One step of a [`JsonPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// An object's member; on an array, an index (`index`: the name is
    /// digits) or the element whose `key` member is this name (its `value`
    /// is taken).
    Name { name: String, index: Option<usize> },
    /// Every element of an array (`*`).
    Each,
}

/// Where a field is in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
}

/// The members GA4 puts a parameter's value under, by type.
const TYPED_VALUES: [&str; 4] = ["string_value", "int_value", "double_value", "float_value"];

impl JsonPath {
    /// Parses `text`: a JSON pointer when it starts with `/` (RFC 6901:
    /// `~1` is `/`, `~0` is `~`), else names separated by `.`; `*` is every
    /// element of an array. The error says what was expected.
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let names: Vec<String> = if let Some(pointer) = text.strip_prefix('/') {
            pointer
                .split('/')
                .map(|t| t.replace("~1", "/").replace("~0", "~"))
                .collect()
        } else {
            text.split('.').map(str::to_owned).collect()
        };
        if text.is_empty() || names.iter().any(String::is_empty) {
            return Err(format!(
                "{text:?} is not a path: expected names separated by `.` (user.id, items.0.item_id, \
                 items.*.item_id) or a JSON pointer (/user/id)"
            ));
        }
        let steps = names
            .into_iter()
            .map(|n| match n.as_str() {
                "*" => Step::Each,
                _ => Step::Name {
                    index: n.parse().ok(),
                    name: n,
                },
            })
            .collect();
        Ok(JsonPath {
            text: text.to_owned(),
            steps,
        })
    }

    /// Every value at this path in `root` (several only through `*`),
    /// `null`s left out. A GA4 typed value (`{"string_value": …}`) is
    /// unwrapped.
    pub fn resolve<'v>(&self, root: &'v Value, out: &mut Vec<&'v Value>) {
        walk(root, &self.steps, out);
    }

    /// Whether the part of this path before its first `*` leads to an
    /// array (perhaps empty): a list that is there, even with no items.
    pub fn reaches_list(&self, root: &Value) -> bool {
        let Some(star) = self.steps.iter().position(|s| *s == Step::Each) else {
            return false;
        };
        let mut out = Vec::new();
        walk(root, &self.steps[..star], &mut out);
        out.first().is_some_and(|v| v.is_array())
    }

    /// The first value at this path, if any (what [`JsonPath::resolve`]
    /// would give first, found without collecting the rest).
    pub fn first<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        walk_first(root, &self.steps)
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn walk<'v>(value: &'v Value, steps: &[Step], out: &mut Vec<&'v Value>) {
    let Some((step, rest)) = steps.split_first() else {
        let value = unwrap_typed(value);
        if !value.is_null() {
            out.push(value);
        }
        return;
    };
    match step {
        Step::Each => {
            if let Value::Array(items) = value {
                items.iter().for_each(|v| walk(v, rest, out));
            }
        }
        Step::Name { name, index } => {
            if let Some(v) = member(value, name, *index) {
                walk(v, rest, out);
            }
        }
    }
}

/// [`walk`]'s first value, without collecting.
fn walk_first<'v>(value: &'v Value, steps: &[Step]) -> Option<&'v Value> {
    let Some((step, rest)) = steps.split_first() else {
        let value = unwrap_typed(value);
        return (!value.is_null()).then_some(value);
    };
    match step {
        Step::Each => match value {
            Value::Array(items) => items.iter().find_map(|v| walk_first(v, rest)),
            _ => None,
        },
        Step::Name { name, index } => walk_first(member(value, name, *index)?, rest),
    }
}

/// One [`Step::Name`] from `value`: an object's member; an array's element
/// at `index`, or else its `{key: name, value}` parameter's value.
fn member<'v>(value: &'v Value, name: &str, index: Option<usize>) -> Option<&'v Value> {
    match value {
        Value::Object(members) => members.get(name),
        Value::Array(items) => match index {
            Some(i) => items.get(i),
            None => items
                .iter()
                .find(|p| p.get("key").and_then(Value::as_str) == Some(name))?
                .get("value"),
        },
        _ => None,
    }
}

/// A GA4 parameter value (`{"string_value": "shoes", "int_value": null}`)
/// as its one set member; anything else as it is.
fn unwrap_typed(value: &Value) -> &Value {
    match value {
        Value::Object(m) if !m.is_empty() && m.keys().all(|k| TYPED_VALUES.contains(&k.as_str())) => {
            TYPED_VALUES
                .iter()
                .filter_map(|k| m.get(*k))
                .find(|v| !v.is_null())
                .unwrap_or(value)
        }
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all(path: &str, v: &Value) -> Vec<Value> {
        let mut out = Vec::new();
        JsonPath::parse(path).unwrap().resolve(v, &mut out);
        out.into_iter().cloned().collect()
    }

    #[test]
    fn dotted_paths_pointers_indexes_and_stars() {
        let v = json!({"user": {"id": 7}, "a/b": 1, "items": [{"id": "x"}, {"id": "y"}, {"other": 1}]});
        assert_eq!(all("user.id", &v), [json!(7)]);
        assert_eq!(all("/user/id", &v), [json!(7)]);
        assert_eq!(all("/a~1b", &v), [json!(1)]);
        assert_eq!(all("items.1.id", &v), [json!("y")]);
        assert_eq!(all("items.*.id", &v), [json!("x"), json!("y")]);
        assert!(all("user.name", &v).is_empty());
        assert!(all("user.id.deeper", &v).is_empty());
    }

    #[test]
    fn ga4_parameters_are_read_by_key_and_unwrapped() {
        let v = json!({"event_params": [
            {"key": "page_title", "value": {"string_value": "Home", "int_value": null}},
            {"key": "search_term", "value": {"string_value": "Shoes", "int_value": null}},
            {"key": "ga_session_id", "value": {"string_value": null, "int_value": 1704067200}},
        ]});
        assert_eq!(all("event_params.search_term", &v), [json!("Shoes")]);
        assert_eq!(all("event_params.ga_session_id", &v), [json!(1704067200)]);
        assert!(all("event_params.missing", &v).is_empty());
    }

    #[test]
    fn first_is_the_first_value_resolve_gives() {
        let v = json!({"items": [{"other": 1}, {"id": null}, {"id": "y"}, {"id": "z"}],
                       "event_params": [{"key": "q", "value": {"string_value": "Shoes"}}],
                       "list": [[], [null, 3]], "n": null});
        for path in [
            "items.*.id",
            "items.2.id",
            "items.0.id",
            "items.*",
            "event_params.q",
            "event_params.x",
            "list.*.*",
            "list.1.1",
            "n",
            "missing.*",
            "items.9",
        ] {
            let p = JsonPath::parse(path).unwrap();
            assert_eq!(p.first(&v).cloned(), all(path, &v).first().cloned(), "{path}");
        }
    }

    #[test]
    fn bad_paths_say_what_was_expected() {
        for bad in ["", "a..b", "/", "a."] {
            let e = JsonPath::parse(bad).unwrap_err();
            assert!(e.contains("is not a path"), "{bad}: {e}");
        }
    }
}
