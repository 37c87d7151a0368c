//! `/api/v1/openapi.json` is generated from the handlers. These tests tie it to what is served
//! and to what the authorization matrix checks, so a route cannot be added, documented or
//! left untested without a test failing.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::Value;
use taskflow_testkit::TestStore;

use crate::matrix::ROWS;
use crate::{call, request, state};

/// Routes anyone may call, so the matrix (which is about roles) leaves them out.
const PUBLIC: &[(&str, &str)] = &[
    ("POST", "/api/v1/auth/login"),
    ("GET", "/api/v1/auth/session"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
];

fn spec() -> Value {
    serde_json::to_value(taskflow_server::openapi()).unwrap()
}

/// (METHOD, templated path) of every documented operation.
fn documented() -> BTreeSet<(String, String)> {
    let spec = spec();
    let mut ops = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

/// Whether a concrete path (`/api/v1/tasks/OPS-1`) fits a template (`/api/v1/tasks/{key}`).
fn fits(template: &str, concrete: &str) -> bool {
    let concrete = concrete.split('?').next().unwrap_or_default();
    let (t, c): (Vec<&str>, Vec<&str>) =
        (template.split('/').collect(), concrete.split('/').collect());
    t.len() == c.len()
        && t.iter()
            .zip(&c)
            .all(|(t, c)| t == c || (t.starts_with('{') && t.ends_with('}')))
}

#[test]
fn the_document_lists_exactly_the_routes_that_are_tested() {
    let documented = documented();
    let tested: Vec<(String, String)> = ROWS
        .iter()
        .map(|(m, p, ..)| (m.to_string(), p.to_string()))
        .chain(PUBLIC.iter().map(|(m, p)| (m.to_string(), p.to_string())))
        .collect();
    for (method, template) in &documented {
        assert!(
            tested.iter().any(|(m, p)| m == method && fits(template, p)),
            "{method} {template} is documented but not in the authorization matrix"
        );
    }
    for (method, path) in &tested {
        assert!(
            documented.iter().any(|(m, t)| m == method && fits(t, path)),
            "{method} {path} is tested but missing from the OpenAPI document"
        );
    }
}

/// The checker every test's answers go through (`crate::exchange`) refuses what the document
/// does not say: so a response that drifts from the document fails the test that received it.
#[test]
fn answers_that_differ_from_the_document_are_refused() {
    let spec = taskflow_testkit::openapi::Spec::new(spec());
    let json = Some("application/json");
    let task = |due: Value, extra: Option<(&str, Value)>| {
        let mut task = serde_json::json!({
            "key": "OPS-1", "project": "OPS", "number": 1,
            "title": "t", "description": "", "status": "To do",
            "status_category": "unstarted", "position": 0,
            "priority": "none", "due_date": due,
            "assignees": [{"username": "ann", "display_name": "Ann"}],
            "labels": [{"name": "bug", "colour": "#ff0000"}],
            "parent": null, "created_by": {"username": "ann", "display_name": "Ann"},
            "created_at": "2026-12-01T00:00:00Z",
            "updated_at": "2026-12-01T00:00:00Z", "version": 1
        });
        if let Some((name, value)) = extra {
            task[name] = value;
        }
        serde_json::to_vec(&task).unwrap()
    };
    let get = |body: &[u8]| spec.check("GET", "/api/v1/tasks/OPS-1", 200, json, body);
    get(&task(Value::from("2026-12-15"), None)).expect("a task as documented");
    get(&task(Value::Null, None)).expect("no due date");
    let tuple = get(&task(serde_json::json!([2026, 349]), None)).unwrap_err();
    assert!(tuple.contains("due_date"), "{tuple}");
    let extra = get(&task(Value::Null, Some(("secret", Value::from(1))))).unwrap_err();
    assert!(
        extra.contains("\"secret\" is not in the document"),
        "{extra}"
    );
    let missing = get(br#"{"key": "OPS-1"}"#).unwrap_err();
    assert!(missing.contains("required property"), "{missing}");
    let status = spec
        .check("GET", "/api/v1/tasks/OPS-1", 302, json, b"{}")
        .unwrap_err();
    assert!(status.contains("does not document"), "{status}");
    let error = br#"{"error": {"code": "not_found", "message": "no such task"}}"#;
    spec.check("GET", "/api/v1/tasks/OPS-1", 404, json, error)
        .expect("an error as documented");
    assert!(
        spec.check("GET", "/api/v1/tasks/OPS-1", 404, json, b"{}")
            .is_err()
    );
    assert!(
        spec.check("GET", "/no/such/path", 200, json, b"{}")
            .is_err()
    );
}

#[test]
fn operation_ids_are_unique_and_every_operation_documents_its_answers() {
    let spec = spec();
    let mut ids = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path} documents no success"
            );
            if op.get("security").is_some() || op.get("requestBody").is_some() {
                assert!(
                    responses.contains_key("4XX"),
                    "{method} {path} documents no errors"
                );
            }
        }
    }
    assert!(ids.len() >= 40);
}

/// Every documented operation is served: an anonymous call reaches a handler (401 for
/// protected routes, an answer of the route's own for public ones), never the 404 fallback
/// or a 405.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_route_is_served() {
    let store = TestStore::sqlite().await;
    for (method, template) in documented() {
        let path = template
            .replace(
                "{key}",
                if template.starts_with("/api/v1/tasks/") {
                    "OPS-1"
                } else {
                    "OPS"
                },
            )
            .replace("{id}", "1")
            .replace("{username}", "alice");
        let body = matches!(method.as_str(), "POST" | "PUT" | "PATCH").then_some("{}");
        let (status, _, response) = call(state(&store), request(&method, &path, None, body)).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        let fallback =
            status == StatusCode::NOT_FOUND && response["error"]["message"] == "route not found";
        assert!(!fallback, "{method} {path} is documented but not routed");
        let public = PUBLIC.iter().any(|(m, p)| *m == method && *p == template);
        if !public {
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} must require authentication"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_served() {
    let store = TestStore::sqlite().await;
    let (status, _, body) = call(
        state(&store),
        request("GET", "/api/v1/openapi.json", None, None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, spec());
    assert!(body["openapi"].as_str().unwrap().starts_with("3."));
    assert!(body["components"]["securitySchemes"]["bearer"].is_object());
    assert!(body["components"]["schemas"]["TaskView"].is_object());
}

/// The endpoint reference in `docs/api.md` — every operation's parameters, body and answers,
/// and every schema's fields — is written from the OpenAPI document, so the two cannot
/// disagree. `TASKFLOW_WRITE_DOCS=1` rewrites it after a change.
#[test]
fn the_api_reference_in_the_docs_is_the_document() {
    const START: &str =
        "<!-- reference: written from the OpenAPI document; see docs/development.md -->\n";
    const END: &str = "<!-- end of reference -->\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api.md");
    let docs = std::fs::read_to_string(&path).unwrap();
    let (before, rest) = docs
        .split_once(START)
        .expect("docs/api.md has the reference start marker");
    let (current, after) = rest
        .split_once(END)
        .expect("docs/api.md has the reference end marker");
    let written = reference(&spec());
    if std::env::var_os("TASKFLOW_WRITE_DOCS").is_some() {
        std::fs::write(&path, format!("{before}{START}{written}{END}{after}")).unwrap();
        return;
    }
    if current != written {
        let differs = current
            .lines()
            .zip(written.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(current.lines().count().min(written.lines().count()));
        panic!(
            "docs/api.md's reference is out of date (first difference at its line {}: {:?}); \
             run TASKFLOW_WRITE_DOCS=1 cargo test -p taskflow-server --test api reference",
            differs + 1,
            written.lines().nth(differs).unwrap_or("<end>")
        );
    }
}

/// The reference as Markdown: operations in the document's order, then the schemas they use.
fn reference(spec: &Value) -> String {
    let components = &spec["components"]["schemas"];
    let mut out = String::from("### Operations\n\n");
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push_str(&format!("#### `{} {path}`\n\n", method.to_uppercase()));
            for text in [&op["summary"], &op["description"]] {
                if let Some(text) = text.as_str().filter(|t| !t.is_empty()) {
                    out.push_str(&format!("{}\n\n", one_line(text)));
                }
            }
            if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
                out.push_str(
                    "| parameter | in | type | required | meaning |\n|---|---|---|---|---|\n",
                );
                for p in params {
                    out.push_str(&format!(
                        "| `{}` | {} | {} | {} | {} |\n",
                        p["name"].as_str().unwrap(),
                        p["in"].as_str().unwrap(),
                        type_of(components, &p["schema"]),
                        if p["required"] == true { "yes" } else { "no" },
                        one_line(p["description"].as_str().unwrap_or(""))
                    ));
                }
                out.push('\n');
            }
            if let Some(content) = op["requestBody"]["content"].as_object() {
                for (media, body) in content {
                    out.push_str(&format!(
                        "Body (`{media}`): {}\n\n",
                        type_of(components, &body["schema"])
                    ));
                }
            }
            out.push_str("Answers:\n\n");
            for (status, answer) in op["responses"].as_object().unwrap() {
                let body = answer["content"]
                    .as_object()
                    .and_then(|c| c.iter().next())
                    .map(|(media, c)| format!(" `{media}` {}", type_of(components, &c["schema"])))
                    .unwrap_or_default();
                let headers = answer["headers"]
                    .as_object()
                    .map(|h| {
                        let names: Vec<String> = h.keys().map(|k| format!("`{k}`")).collect();
                        format!(", with {}", names.join(", "))
                    })
                    .unwrap_or_default();
                let body = format!("{body}{headers}");
                let description = answer["description"].as_str().unwrap_or("");
                let description = if description.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", one_line(description))
                };
                out.push_str(&format!("- **{status}**{body}{description}\n"));
            }
            out.push('\n');
        }
    }
    out.push_str("### Schemas\n\n");
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        out.push_str(&format!("#### {name}\n\n"));
        if let Some(text) = schema["description"].as_str() {
            out.push_str(&format!("{}\n\n", one_line(text)));
        }
        let merged = all_of(components, schema);
        let schema = merged.as_ref().unwrap_or(schema);
        match (schema["properties"].as_object(), schema["oneOf"].as_array()) {
            (Some(fields), _) => out.push_str(&fields_table(components, schema, fields)),
            (None, Some(variants)) => {
                out.push_str("One of:\n\n");
                for variant in variants {
                    out.push_str(&format!("- {}\n", inline_object(components, variant)));
                }
                out.push('\n');
            }
            (None, None) => out.push_str(&format!("{}\n\n", type_of(components, schema))),
        }
    }
    out
}

/// An `allOf` schema (a struct with a flattened one inside) as one object: the fields and
/// required fields of every part, references followed.
fn all_of(components: &Value, schema: &Value) -> Option<Value> {
    let parts = schema["allOf"].as_array()?;
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    for part in parts {
        let part = match part["$ref"].as_str() {
            Some(reference) => &components[reference.rsplit('/').next().unwrap()],
            None => part,
        };
        if let Some(fields) = part["properties"].as_object() {
            properties.extend(fields.clone());
        }
        if let Some(names) = part["required"].as_array() {
            required.extend(names.iter().cloned());
        }
    }
    Some(serde_json::json!({
        "type": "object",
        "properties": properties,
        "required": required,
    }))
}

/// Every object an answer or a request carries is described field by field in the docs, never
/// as a bare "object".
#[test]
fn every_schema_in_the_reference_names_its_fields() {
    let written = reference(&spec());
    let schemas = written.split("### Schemas\n").nth(1).unwrap();
    for section in schemas.split("#### ").skip(1) {
        let (name, body) = section.split_once('\n').unwrap();
        let is_object = {
            let schema = &spec()["components"]["schemas"][name];
            schema["type"] == "object"
                || schema["allOf"].is_array()
                || schema["properties"].is_object()
        };
        if is_object {
            assert!(
                body.contains("| field | type | required | meaning |"),
                "{name} is not described field by field:\n{body}"
            );
        }
        assert!(
            !body
                .lines()
                .any(|l| l.ends_with(" or object") || l.trim() == "object"),
            "{name} names a bare object:\n{body}"
        );
    }
}

fn fields_table(
    components: &Value,
    schema: &Value,
    fields: &serde_json::Map<String, Value>,
) -> String {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out = String::from("| field | type | required | meaning |\n|---|---|---|---|\n");
    for (field, s) in fields {
        out.push_str(&format!(
            "| `{field}` | {} | {} | {} |\n",
            type_of(components, s),
            if required.contains(&field.as_str()) {
                "yes"
            } else {
                "no"
            },
            one_line(s["description"].as_str().unwrap_or(""))
        ));
    }
    if schema["additionalProperties"] == false {
        out.push_str("\nOther fields are refused.\n");
    }
    out.push('\n');
    out
}

/// `{"type": "task", "id": integer}` for an object variant.
fn inline_object(components: &Value, variant: &Value) -> String {
    let fields: Vec<String> = variant["properties"]
        .as_object()
        .map(|f| {
            f.iter()
                .map(|(name, s)| match s["enum"].as_array() {
                    Some(values) if values.len() == 1 => format!("\"{name}\": {}", values[0]),
                    _ => format!("\"{name}\": {}", type_of(components, s).replace('`', "")),
                })
                .collect()
        })
        .unwrap_or_default();
    format!("`{{{}}}`", fields.join(", "))
}

/// A schema's type in words: `string`, `integer (int64)`, `array of [Person](#person)`,
/// `"todo" | "done"`, `… or null`.
fn type_of(components: &Value, schema: &Value) -> String {
    let link = |name: &str| format!("[{name}](#{})", name.to_lowercase());
    if let Some(reference) = schema["$ref"].as_str() {
        return link(reference.rsplit('/').next().unwrap());
    }
    // A schema written out in place (a generic list's items) is named after its component.
    if schema["properties"].is_object()
        && let Some((name, _)) = components.as_object().and_then(|c| {
            c.iter()
                .find(|(_, c)| c["properties"] == schema["properties"])
        })
    {
        return link(name);
    }
    for combined in ["oneOf", "anyOf", "allOf"] {
        if let Some(parts) = schema[combined].as_array() {
            let parts: Vec<String> = parts.iter().map(|p| type_of(components, p)).collect();
            return parts.join(" or ");
        }
    }
    if let Some(values) = schema["enum"].as_array() {
        return values
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(" \\| ");
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let mut words: Vec<String> = types
        .iter()
        .filter(|t| **t != "null")
        .map(|t| match *t {
            "array" => format!("array of {}", type_of(components, &schema["items"])),
            other => match schema["format"].as_str() {
                Some(format) => format!("{other} ({format})"),
                None => other.to_owned(),
            },
        })
        .collect();
    if words.is_empty() {
        words.push("any".to_owned());
    }
    let mut text = words.join(" or ");
    if types.contains(&"null") {
        text.push_str(" or null");
    }
    text
}

/// Text for a table cell: one line, pipes escaped.
fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}
