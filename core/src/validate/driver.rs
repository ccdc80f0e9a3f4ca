//! The drivers a v0.6.3 server knows for validation: their config schemas
//! (as each driver declares them to `helper/fields`) and signal support.

use serde_json::{Map, Value};

use super::gotext::quote_json_value;
use crate::gofmt::quote;
use crate::MultiError;

/// The value type a config field must decode to (`fields.FieldType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldType {
    String,
    Int,
    Bool,
    Array,
}

impl FieldType {
    /// `FieldType.String()`, as the type error names it.
    fn name(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Int => "integer",
            FieldType::Bool => "boolean",
            FieldType::Array => "array",
        }
    }

    /// Whether mapstructure (not weakly typed) decodes `v` into this type;
    /// a JSON number is a float64 in Go and decodes into an int.
    fn accepts(self, v: &Value) -> bool {
        matches!(
            (self, v),
            (_, Value::Null)
                | (FieldType::String, Value::String(_))
                | (FieldType::Int, Value::Number(_))
                | (FieldType::Bool, Value::Bool(_))
                | (FieldType::Array, Value::Array(_))
        )
    }
}

struct Field {
    name: &'static str,
    kind: FieldType,
    required: bool,
}

const fn field(name: &'static str, kind: FieldType) -> Field {
    Field {
        name,
        kind,
        required: false,
    }
}

const fn required(name: &'static str, kind: FieldType) -> Field {
    Field {
        name,
        kind,
        required: true,
    }
}

use FieldType::{Array, Bool, Int, String as Str};

const EXEC_FIELDS: &[Field] = &[required("command", Str), field("args", Array)];

const JAVA_FIELDS: &[Field] = &[
    field("class", Str),
    field("class_path", Str),
    field("jar_path", Str),
    field("jvm_options", Array),
    field("args", Array),
];

const QEMU_FIELDS: &[Field] = &[
    required("image_path", Str),
    field("accelerator", Str),
    field("port_map", Array),
    field("args", Array),
];

const RKT_FIELDS: &[Field] = &[
    required("image", Str),
    field("command", Str),
    field("args", Array),
    field("trust_prefix", Str),
    field("dns_servers", Array),
    field("dns_search_domains", Array),
    field("net", Array),
    field("port_map", Array),
    field("debug", Bool),
    field("volumes", Array),
    field("no_overlay", Bool),
    field("insecure_options", Array),
];

const DOCKER_FIELDS: &[Field] = &[
    required("image", Str),
    field("load", Str),
    field("command", Str),
    field("args", Array),
    field("ipc_mode", Str),
    field("network_mode", Str),
    field("network_aliases", Array),
    field("ipv4_address", Str),
    field("ipv6_address", Str),
    field("mac_address", Str),
    field("pid_mode", Str),
    field("uts_mode", Str),
    field("userns_mode", Str),
    field("port_map", Array),
    field("privileged", Bool),
    field("dns_servers", Array),
    field("dns_options", Array),
    field("dns_search_domains", Array),
    field("extra_hosts", Array),
    field("hostname", Str),
    field("labels", Array),
    field("auth", Array),
    field("auth_soft_fail", Bool),
    field("ssl", Bool),
    field("tty", Bool),
    field("interactive", Bool),
    field("shm_size", Int),
    field("work_dir", Str),
    field("logging", Array),
    field("volumes", Array),
    field("volume_driver", Str),
    field("mounts", Array),
    field("force_pull", Bool),
    field("security_opt", Array),
];

/// A driver validation can instantiate.
pub(super) struct Driver {
    /// `None` for host-registered drivers: no schema is known, any config
    /// passes (as Nomad's mock driver does).
    schema: Option<&'static [Field]>,
    /// `DriverAbilities.SendSignals`.
    pub(super) sends_signals: bool,
}

/// Looks a driver up by name: Nomad's built-in ones, then `extra` (host
/// registered; treated like Nomad's mock driver: no schema, no signals).
/// `Err` carries Nomad's text, `unknown driver '<name>'`.
pub(super) fn lookup(name: &str, extra: &[String]) -> Result<Driver, String> {
    let builtin = |schema, sends_signals| {
        Ok(Driver {
            schema: Some(schema),
            sends_signals,
        })
    };
    match name {
        "docker" => builtin(DOCKER_FIELDS, true),
        "exec" | "raw_exec" => builtin(EXEC_FIELDS, true),
        "java" => builtin(JAVA_FIELDS, true),
        "qemu" => builtin(QEMU_FIELDS, false),
        "rkt" => builtin(RKT_FIELDS, false),
        _ if extra.iter().any(|d| d == name) => Ok(Driver {
            schema: None,
            sends_signals: false,
        }),
        _ => Err(format!("unknown driver '{name}'")),
    }
}

impl Driver {
    /// `FieldData.Validate` of the task config: missing required fields
    /// first, then each given key (sorted; Go iterated a map) for being
    /// known, well typed and, if required, non-empty.
    pub(super) fn check_config(&self, config: &Map<String, Value>) -> MultiError {
        let mut errors = MultiError::new();
        let Some(schema) = self.schema else {
            return errors;
        };
        for f in schema.iter().filter(|f| f.required) {
            if !config.contains_key(f.name) {
                errors.push(format!("field {} is required", quote(f.name)));
            }
        }
        let mut keys: Vec<&String> = config.keys().collect();
        keys.sort();
        for key in keys {
            let value = &config[key];
            let Some(f) = schema.iter().find(|f| f.name == key) else {
                errors.push(format!("{} is an invalid field", quote(key)));
                continue;
            };
            if !f.kind.accepts(value) {
                errors.push(format!(
                    "field {} with input {} doesn't seem to be of type {}",
                    quote(key),
                    quote_json_value(value),
                    f.kind.name()
                ));
            } else if f.required && decodes_to_zero(value) {
                errors.push(format!(
                    "field {} is required, but no value was found",
                    quote(key)
                ));
            }
        }
        errors
    }
}

/// Required fields are all strings: `null` decodes to `""` and so does `""`.
fn decodes_to_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(driver: &str, config: Value) -> Vec<String> {
        let Value::Object(map) = config else {
            panic!("config must be an object")
        };
        lookup(driver, &[]).unwrap().check_config(&map).errors
    }

    #[test]
    fn schema_rules() {
        let cases: Vec<(&str, Value, Vec<&str>)> = vec![
            (
                "raw_exec",
                json!({"command": "/bin/sleep", "args": ["1"]}),
                vec![],
            ),
            ("raw_exec", json!({}), vec!["field \"command\" is required"]),
            (
                "exec",
                json!({"command": ""}),
                vec!["field \"command\" is required, but no value was found"],
            ),
            (
                "exec",
                json!({"command": null}),
                vec!["field \"command\" is required, but no value was found"],
            ),
            (
                "raw_exec",
                json!({"command": 5}),
                vec![
                    "field \"command\" with input %!q(float64=5) doesn't seem to be of type string",
                ],
            ),
            (
                "raw_exec",
                json!({"command": "x", "args": "a b"}),
                vec!["field \"args\" with input \"a b\" doesn't seem to be of type array"],
            ),
            (
                "raw_exec",
                json!({"command": "x", "zzz": 1, "aaa": true}),
                vec!["\"aaa\" is an invalid field", "\"zzz\" is an invalid field"],
            ),
            (
                "docker",
                json!({"image": "redis", "shm_size": 64, "privileged": true}),
                vec![],
            ),
            (
                "docker",
                json!({"image": "redis", "shm_size": "64"}),
                vec!["field \"shm_size\" with input \"64\" doesn't seem to be of type integer"],
            ),
            (
                "docker",
                json!({"image": ["redis"]}),
                vec!["field \"image\" with input [\"redis\"] doesn't seem to be of type string"],
            ),
            (
                "rkt",
                json!({"image": "x", "debug": "true"}),
                vec!["field \"debug\" with input \"true\" doesn't seem to be of type boolean"],
            ),
            (
                "qemu",
                json!({"accelerator": "kvm"}),
                vec!["field \"image_path\" is required"],
            ),
            (
                "java",
                json!({"jar_path": "a.jar", "jvm_options": ["-Xmx1g"]}),
                vec![],
            ),
            (
                "java",
                json!({"class": 1}),
                vec!["field \"class\" with input %!q(float64=1) doesn't seem to be of type string"],
            ),
        ];
        for (driver, config, want) in cases {
            assert_eq!(check(driver, config.clone()), want, "{driver} {config}");
        }
    }

    #[test]
    fn registry() {
        assert_eq!(
            lookup("mock_driver", &[]).err(),
            Some("unknown driver 'mock_driver'".to_string())
        );
        let mock = lookup("mock_driver", &["mock_driver".into()]).unwrap();
        assert!(!mock.sends_signals);
        let mut anything = Map::new();
        anything.insert("run_for".into(), json!("10s"));
        assert!(mock.check_config(&anything).is_empty());
        let signals: Vec<bool> = ["docker", "exec", "raw_exec", "java", "qemu", "rkt"]
            .iter()
            .map(|d| lookup(d, &[]).unwrap().sends_signals)
            .collect();
        assert_eq!(signals, [true, true, true, true, false, false]);
        assert_eq!(lookup("", &[]).err(), Some("unknown driver ''".to_string()));
    }
}
