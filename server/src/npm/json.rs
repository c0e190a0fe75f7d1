//! `package.json` text exactly as `JSON.stringify(value, null, 2) + "\n"` writes it (what `scripts/pack.js` does),
//! with keys in insertion order: serde_json's map sorts keys (the workspace does not enable `preserve_order`, on
//! which canonical JSON elsewhere relies), and a package.json reads best in npm's conventional order.
use serde_json::Value;

/// An insertion-ordered JSON object; `None` values are left out (like `undefined` in `JSON.stringify`).
#[derive(Debug, Default, Clone)]
pub struct Obj(Vec<(String, J)>);

/// A JSON value whose objects keep their order.
#[derive(Debug, Clone)]
pub enum J {
    /// Any serde_json value without objects (or whose key order does not matter: sorted).
    V(Value),
    /// An ordered object.
    O(Obj),
}

impl Obj {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds `key` (kept in this order).
    #[must_use]
    pub fn with(mut self, key: &str, v: impl Into<J>) -> Self {
        self.0.push((key.to_owned(), v.into()));
        self
    }
    /// Adds `key` if `v` is `Some`.
    #[must_use]
    pub fn with_opt(self, key: &str, v: Option<impl Into<J>>) -> Self {
        match v {
            Some(v) => self.with(key, v),
            None => self,
        }
    }
    /// `JSON.stringify(this, null, 2) + "\n"`.
    pub fn pretty(&self) -> String {
        let mut s = String::new();
        write_obj(&mut s, self, 0);
        s.push('\n');
        s
    }
    /// `JSON.stringify(this)` (no spaces), for objects of strings and arrays.
    pub fn compact(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    J::O(o) => o.compact(),
                    J::V(v) => v.to_string(),
                };
                format!("{}:{v}", Value::String(k.clone()))
            })
            .collect();
        format!("{{{}}}", parts.join(","))
    }
    /// The (key, value) pairs, in order.
    pub fn into_pairs(self) -> Vec<(String, J)> {
        self.0
    }
    /// As a serde_json value (for responses, where order does not matter).
    pub fn to_value(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), v.to_value()))
                .collect(),
        )
    }
}

impl J {
    fn to_value(&self) -> Value {
        match self {
            Self::V(v) => v.clone(),
            Self::O(o) => o.to_value(),
        }
    }
}

impl From<Obj> for J {
    fn from(o: Obj) -> Self {
        Self::O(o)
    }
}
impl From<Value> for J {
    fn from(v: Value) -> Self {
        Self::V(v)
    }
}
impl From<&str> for J {
    fn from(v: &str) -> Self {
        Self::V(Value::String(v.to_owned()))
    }
}
impl From<String> for J {
    fn from(v: String) -> Self {
        Self::V(Value::String(v))
    }
}

fn indent(s: &mut String, level: usize) {
    for _ in 0..level {
        s.push_str("  ");
    }
}

fn write_obj(s: &mut String, o: &Obj, level: usize) {
    if o.0.is_empty() {
        s.push_str("{}");
        return;
    }
    s.push_str("{\n");
    for (i, (k, v)) in o.0.iter().enumerate() {
        indent(s, level + 1);
        s.push_str(&Value::String(k.clone()).to_string());
        s.push_str(": ");
        match v {
            J::O(o) => write_obj(s, o, level + 1),
            J::V(v) => write_value(s, v, level + 1),
        }
        if i + 1 < o.0.len() {
            s.push(',');
        }
        s.push('\n');
    }
    indent(s, level);
    s.push('}');
}

fn write_value(s: &mut String, v: &Value, level: usize) {
    match v {
        Value::Array(a) if !a.is_empty() => {
            s.push_str("[\n");
            for (i, x) in a.iter().enumerate() {
                indent(s, level + 1);
                write_value(s, x, level + 1);
                if i + 1 < a.len() {
                    s.push(',');
                }
                s.push('\n');
            }
            indent(s, level);
            s.push(']');
        }
        Value::Object(m) if !m.is_empty() => {
            let o = Obj(m
                .iter()
                .map(|(k, v)| (k.clone(), J::V(v.clone())))
                .collect());
            write_obj(s, &o, level);
        }
        Value::Array(_) => s.push_str("[]"),
        Value::Object(_) => s.push_str("{}"),
        other => s.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_json_stringify() {
        let o = Obj::new()
            .with("name", "x0x")
            .with("files", serde_json::json!(["a", "b/"]))
            .with("engines", Obj::new().with("node", ">=18"))
            .with_opt("types", None::<&str>)
            .with("empty", serde_json::json!({}))
            .with("n", serde_json::json!(1));
        assert_eq!(
            o.pretty(),
            "{\n  \"name\": \"x0x\",\n  \"files\": [\n    \"a\",\n    \"b/\"\n  ],\n  \"engines\": {\n    \"node\": \">=18\"\n  },\n  \"empty\": {},\n  \"n\": 1\n}\n"
        );
    }
}
