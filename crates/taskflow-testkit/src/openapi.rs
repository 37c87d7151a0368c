//! Checks answers against the OpenAPI document: the status must be documented for the
//! operation, and a JSON body must match the documented schema exactly — every required
//! property present, no property the document does not name, every value of its type.
//!
//! It understands the parts of OpenAPI 3.1 the server's generated document uses: `$ref`,
//! `allOf`, `oneOf`, `anyOf`, `type` (one or a list), `enum`, `properties`, `required`,
//! `additionalProperties`, `items`, `minimum`, and the `date` and `date-time` formats.

use serde_json::Value;

pub struct Spec {
    doc: Value,
}

impl Spec {
    pub fn new(doc: Value) -> Self {
        Self { doc }
    }

    /// Like `check`, failing the test with the reason.
    pub fn assert(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) {
        if let Err(problem) = self.check(method, path, status, content_type, body) {
            panic!("the answer does not match the OpenAPI document: {problem}");
        }
    }

    /// Checks one answer to `method path` (a query string is ignored).
    pub fn check(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), String> {
        let path = path.split('?').next().unwrap_or(path);
        let what = format!("{method} {path} answered {status}");
        let json = content_type.is_some_and(|t| t.starts_with("application/json"));
        let Some((template, operation)) = self.operation(method, path) else {
            // The router's own answers: an unknown path, or a method the path lacks.
            if !matches!(status, 404 | 405) {
                return Err(format!("{what}, but the document has no such operation"));
            }
            return self.body_matches(&what, json, body, Some(&self.error_schema()));
        };
        let responses = &operation["responses"];
        let range = format!("{}XX", status / 100);
        let response = [status.to_string(), range, "default".to_owned()]
            .iter()
            .find_map(|key| responses.get(key))
            .ok_or_else(|| format!("{what}, which `{method} {template}` does not document"))?;
        let schema = response
            .pointer("/content/application~1json/schema")
            .cloned();
        if !json {
            if schema.is_some()
                && !body.is_empty()
                && response["content"]
                    .as_object()
                    .is_some_and(|c| c.len() == 1)
            {
                return Err(format!("{what} with {content_type:?}, documented as JSON"));
            }
            return Ok(());
        }
        self.body_matches(
            &format!("{what} (`{template}`)"),
            json,
            body,
            schema.as_ref(),
        )
    }

    fn body_matches(
        &self,
        what: &str,
        json: bool,
        body: &[u8],
        schema: Option<&Value>,
    ) -> Result<(), String> {
        if !json {
            return Ok(());
        }
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| format!("{what}: the body is not JSON: {e}"))?;
        let schema = schema.ok_or_else(|| {
            format!("{what}: a JSON body the document does not describe: {value}")
        })?;
        self.matches(&value, schema, "$")
            .map_err(|e| format!("{what}: {e}\nbody: {value}"))
    }

    fn error_schema(&self) -> Value {
        serde_json::json!({ "$ref": "#/components/schemas/ErrorBody" })
    }

    /// The operation for `method` at the path template matching `path`.
    fn operation(&self, method: &str, path: &str) -> Option<(&str, &Value)> {
        let segments: Vec<&str> = path.split('/').collect();
        let paths = self.doc["paths"].as_object()?;
        let method = method.to_ascii_lowercase();
        paths
            .iter()
            .filter(|(template, _)| {
                let parts: Vec<&str> = template.split('/').collect();
                parts.len() == segments.len()
                    && parts.iter().zip(&segments).all(|(p, s)| {
                        (p.starts_with('{') && p.ends_with('}') && !s.is_empty()) || p == s
                    })
            })
            // A literal segment wins over a parameter.
            .min_by_key(|(template, _)| template.matches('{').count())
            .and_then(|(template, item)| item.get(&method).map(|op| (template.as_str(), op)))
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> Result<&'a Value, String> {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let pointer = reference
                    .strip_prefix('#')
                    .ok_or_else(|| format!("an outside reference {reference}"))?;
                let target = self
                    .doc
                    .pointer(pointer)
                    .ok_or_else(|| format!("a dangling reference {reference}"))?;
                self.resolve(target)
            }
            None => Ok(schema),
        }
    }

    /// Every property name `schema` allows on an object (through `allOf` and references), or
    /// `None` when it allows any.
    fn known_properties(&self, schema: &Value) -> Result<Option<Vec<String>>, String> {
        let schema = self.resolve(schema)?;
        let mut names: Vec<String> = Vec::new();
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for part in parts {
                match self.known_properties(part)? {
                    Some(more) => names.extend(more),
                    None => return Ok(None),
                }
            }
        }
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            names.extend(properties.keys().cloned());
        }
        match schema.get("additionalProperties") {
            Some(Value::Bool(false)) | None => Ok(Some(names)),
            Some(_) => Ok(None),
        }
    }

    fn matches(&self, value: &Value, schema: &Value, at: &str) -> Result<(), String> {
        self.fits(value, schema, at, true)
    }

    /// Whether `value` fits `schema`; with `whole`, also that an object has no property the
    /// schema does not name (an `allOf` part describes only some of them, so not for parts).
    fn fits(&self, value: &Value, schema: &Value, at: &str, whole: bool) -> Result<(), String> {
        let schema = self.resolve(schema)?;
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for part in parts {
                self.fits(value, part, at, false)?;
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(branches) = schema.get(key).and_then(Value::as_array) {
                let errors: Vec<String> = branches
                    .iter()
                    .filter_map(|b| self.fits(value, b, at, whole).err())
                    .collect();
                let matched = branches.len() - errors.len();
                if matched == 0 || (key == "oneOf" && matched > 1) {
                    return Err(format!(
                        "{at}: {value} fits {matched} of the {key} branches ({})",
                        errors.join("; ")
                    ));
                }
            }
        }
        if let Some(types) = schema.get("type") {
            let types: Vec<&str> = match types {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => {
                    return Err(format!(
                        "{at}: a schema type that is neither a name nor a list"
                    ));
                }
            };
            let fits = |t: &str| match t {
                "null" => value.is_null(),
                "boolean" => value.is_boolean(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "string" => value.is_string(),
                "array" => value.is_array(),
                "object" => value.is_object(),
                _ => false,
            };
            if !types.iter().any(|t| fits(t)) {
                return Err(format!("{at}: {value} is not {}", types.join(" or ")));
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            return Err(format!(
                "{at}: {value} is not one of {}",
                Value::from(allowed.clone())
            ));
        }
        if let (Some(minimum), Some(n)) = (
            schema.get("minimum").and_then(Value::as_f64),
            value.as_f64(),
        ) && n < minimum
        {
            return Err(format!("{at}: {n} is below the minimum {minimum}"));
        }
        if let (Some(format), Some(text)) =
            (schema.get("format").and_then(Value::as_str), value.as_str())
        {
            let fits = match format {
                "date" => is_date(text),
                "date-time" => {
                    text.len() >= 20 && is_date(&text[..10]) && text.as_bytes()[10] == b'T'
                }
                _ => true,
            };
            if !fits {
                return Err(format!("{at}: {text:?} is not a {format}"));
            }
        }
        if let Some(object) = value.as_object() {
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for name in required.iter().filter_map(Value::as_str) {
                    if !object.contains_key(name) {
                        return Err(format!("{at}: the required property {name:?} is missing"));
                    }
                }
            }
            let named = schema.get("properties").and_then(Value::as_object);
            for (name, v) in object {
                let here = format!("{at}.{name}");
                match (
                    named.and_then(|n| n.get(name)),
                    schema.get("additionalProperties"),
                ) {
                    (Some(property), _) => self.matches(v, property, &here)?,
                    (None, Some(extra)) if extra.is_object() => self.matches(v, extra, &here)?,
                    _ => {}
                }
            }
            let describes_object = named.is_some() || schema.get("allOf").is_some();
            if whole
                && describes_object
                && let Some(known) = self.known_properties(schema)?
                && let Some(extra) = object.keys().find(|k| !known.contains(k))
            {
                return Err(format!("{at}: property {extra:?} is not in the document"));
            }
        }
        if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
            for (i, item) in array.iter().enumerate() {
                self.matches(item, items, &format!("{at}[{i}]"))?;
            }
        }
        Ok(())
    }
}

fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}
