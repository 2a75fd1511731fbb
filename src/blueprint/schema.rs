//! The field schema each resource kind declares: types, defaults, ranges and replacement rules.
//!
//! One schema drives parsing, validation, diffing and rendering, so a field added to a kind is
//! understood everywhere at once.

use serde_json::Value;

/// A kind-specific check of a string value; the error says what rule was broken.
pub type Check = fn(&str) -> Result<(), String>;

/// The type of a blueprint field, with the constraints the parser enforces.
#[derive(Debug, Clone, Copy)]
pub enum Type {
    Bool,
    /// An integer within `min..=max`.
    Int {
        min: i64,
        max: i64,
    },
    /// A string, optionally checked by a kind-specific rule (AWS naming rules and the like).
    Str(Option<Check>),
    /// A JSON document given as a string; stored parsed and compared semantically.
    Json,
    /// The address of another resource of the given kind.
    Ref(&'static str),
    /// A list of resource addresses: of one kind, resolved like `Ref` (`Some`), or of any
    /// kind, only ordering (`None`, as `depends_on`).
    RefList(Option<&'static str>),
    /// A list of strings, each optionally checked by a rule.
    StrList(Option<Check>),
    /// A table of string values (tags).
    StrMap,
    /// A table of named policy documents, each a JSON string or a TOML table; compared as
    /// documents.
    PolicyMap,
    /// A table with fields of its own.
    Table(&'static [Field]),
}

impl Type {
    /// Whether the value names resources of one kind, resolved to their physical values
    /// (`Ref`, `RefList(Some)`), as `depends_on` does not.
    pub fn resolves(&self) -> bool {
        matches!(self, Type::Ref(_) | Type::RefList(Some(_)))
    }

    /// The addresses a value of a type that [`resolves`](Type::resolves) names: the one of a
    /// `Ref`, each of a `RefList`; none for another type or a value of the wrong shape.
    pub fn targets<'v>(&self, value: &'v Value) -> &'v [Value] {
        match (self, value) {
            (Type::Ref(_), Value::String(_)) => std::slice::from_ref(value),
            (Type::RefList(Some(_)), Value::Array(items)) => items,
            _ => &[],
        }
    }

    /// How the type is named in error messages.
    pub fn describe(&self) -> String {
        match self {
            Type::Bool => "a boolean (true or false)".into(),
            Type::Int { min, max } => format!("an integer from {min} to {max}"),
            Type::Str(_) => "a string".into(),
            Type::Json => "a JSON document as a string".into(),
            Type::Ref(kind) => format!("the address of a {kind} (\"{kind}.NAME\")"),
            Type::RefList(None) => "a list of resource addresses".into(),
            Type::RefList(Some(kind)) => format!("a list of {kind} addresses"),
            Type::StrList(_) => "a list of strings".into(),
            Type::StrMap => "a table of strings".into(),
            Type::PolicyMap => "a table of policy documents (JSON strings or tables)".into(),
            Type::Table(_) => "a table".into(),
        }
    }
}

impl Type {
    /// How to write a value of the type, for hints.
    pub fn example(&self, name: &str) -> String {
        match self {
            Type::Bool => format!("write `{name} = true` or `{name} = false`, without quotes"),
            Type::Int { min, .. } => {
                format!("write a number without quotes, like `{name} = {min}`")
            }
            Type::Str(_) => format!("quote the value, like `{name} = \"...\"`"),
            Type::Json => {
                format!("write the document as a string, like `{name} = '''{{ ... }}'''`")
            }
            Type::Ref(kind) => {
                format!("write the address as a string, like `{name} = \"{kind}.NAME\"`")
            }
            Type::RefList(_) => {
                format!("write a list of addresses, like `{name} = [\"kms_key.NAME\"]`")
            }
            Type::StrList(_) => format!("write a list of strings, like `{name} = [\"...\"]`"),
            Type::StrMap => {
                format!("write a table of strings, like `{name} = {{ key = \"value\" }}`")
            }
            Type::PolicyMap => format!(
                "write `[KIND.NAME.{name}]` with `POLICY_NAME = '''{{ ... }}'''`, or one table per policy"
            ),
            Type::Table(fields) => format!(
                "write a table, like `{name} = {{ {} }}`",
                fields
                    .iter()
                    .map(|f| format!("{} = ...", f.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// The value a field takes when the blueprint leaves it out.
#[derive(Debug, Clone, Copy)]
pub enum Default {
    /// Left out means rampart does not manage the attribute (unless it was set before: then
    /// leaving it out unsets it).
    Unmanaged,
    /// Left out means "none", and rampart makes it so (a bucket without `kms_key` gets SSE-S3).
    Null,
    Bool(bool),
    Int(i64),
    Str(&'static str),
    StrList(&'static [&'static str]),
}

impl Default {
    pub fn value(&self) -> Option<Value> {
        match self {
            Default::Unmanaged => None,
            Default::Null => Some(Value::Null),
            Default::Bool(b) => Some(Value::Bool(*b)),
            Default::Int(i) => Some(Value::from(*i)),
            Default::Str(s) => Some(Value::from(*s)),
            Default::StrList(list) => Some(Value::from(list.to_vec())),
        }
    }
}

/// When a change of the field cannot be made in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    Never,
    /// Any change forces a new resource (a bucket's name).
    OnChange,
    /// Adding or removing the field forces a new resource; changing it is in place (object lock).
    OnPresenceChange,
}

/// Whether AWS reports the attribute back, or only rampart knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Read back from AWS on refresh.
    Aws,
    /// Used by rampart itself (a deletion window), kept in state and never read from AWS.
    Local,
}

/// The security control a field is, and which way of changing it weakens it. Drift reports a
/// weakening as critical, and an unmanaged resource is checked against the secure end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// `true` is secure (encryption on, logging on, rotation on).
    On,
    /// `false` is secure (publicly accessible).
    Off,
    /// A number that must not fall: what is expected, and at least `secure` for unmanaged
    /// resources (backup retention).
    AtLeast { secure: i64 },
    /// A number that must not grow: at most `secure` for unmanaged resources (rotation period).
    AtMost { secure: i64 },
    /// The customer-managed key that encrypts it: any change is critical, and an unmanaged
    /// resource without a key of its own is a problem.
    Key,
    /// A value whose removal switches the control off (a secret's rotation function).
    Present,
    /// A list whose expected members must all stay (GuardDuty protections, log grants).
    Includes,
    /// A document that grants access (key policy, role trust): any change is critical.
    Grants,
}

impl Control {
    /// Whether `actual` is weaker than `expected` (`None`: known only after apply).
    pub fn weakened(self, expected: Option<&Value>, actual: &Value) -> bool {
        let Some(expected) = expected else {
            return matches!(self, Control::Key | Control::Grants);
        };
        let numbers = (expected.as_i64(), actual.as_i64());
        match self {
            Control::On => expected == &Value::Bool(true) && actual != &Value::Bool(true),
            Control::Off => expected == &Value::Bool(false) && actual != &Value::Bool(false),
            Control::AtLeast { .. } => match numbers {
                (Some(e), Some(a)) => a < e,
                (Some(_), None) => true,
                _ => false,
            },
            Control::AtMost { .. } => match numbers {
                (Some(e), Some(a)) => a > e,
                (Some(_), None) => true,
                _ => false,
            },
            Control::Key | Control::Grants => true,
            Control::Present => !expected.is_null() && actual.is_null(),
            Control::Includes => {
                let have = actual.as_array().map(Vec::as_slice).unwrap_or_default();
                expected
                    .as_array()
                    .is_some_and(|want| want.iter().any(|w| !have.contains(w)))
            }
        }
    }

    /// What is wrong with `actual` measured against the secure end, for a resource no
    /// blueprint manages; `default` is the field's default (protections a list should hold).
    pub fn problem(self, actual: &Value, default: Option<&Value>) -> Option<String> {
        match self {
            Control::On if actual == &Value::Bool(false) => Some("is off".into()),
            Control::Off if actual == &Value::Bool(true) => Some("is on".into()),
            Control::AtLeast { secure } => actual
                .as_i64()
                .filter(|a| *a < secure)
                .map(|a| format!("is {a}; at least {secure} is secure")),
            Control::AtMost { secure } => actual
                .as_i64()
                .filter(|a| *a > secure)
                .map(|a| format!("is {a}; at most {secure} is secure")),
            // Readers describe what is not a customer key in words ("none (unencrypted)").
            Control::Key => match actual.as_str() {
                Some(key) if !key.contains(' ') => None,
                Some(other) => Some(format!("is {other}, not a customer-managed KMS key")),
                None => Some("is not a customer-managed KMS key".into()),
            },
            Control::Present if actual.is_null() => Some("is not set".into()),
            Control::Includes => {
                let have = actual.as_array().map(Vec::as_slice).unwrap_or_default();
                let missing: Vec<String> = default
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|w| !have.contains(w))
                    .map(|w| w.as_str().unwrap_or_default().to_string())
                    .collect();
                (!missing.is_empty()).then(|| format!("lacks {}", missing.join(", ")))
            }
            _ => None,
        }
    }
}

/// One field of a resource kind.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Type,
    pub required: bool,
    pub default: Default,
    pub replace: Replace,
    pub source: Source,
    /// No two resources of the kind may share the value (bucket names, key aliases).
    pub unique: bool,
    /// Derived by rampart from the rest of the blueprint; a blueprint may not set it.
    pub computed: bool,
    /// The security control the field is, if it is one.
    pub control: Option<Control>,
    pub doc: &'static str,
}

impl Field {
    /// An optional field rampart does not manage unless set.
    pub const fn optional(name: &'static str, ty: Type, doc: &'static str) -> Field {
        Field {
            name,
            ty,
            required: false,
            default: Default::Unmanaged,
            replace: Replace::Never,
            source: Source::Aws,
            unique: false,
            computed: false,
            control: None,
            doc,
        }
    }

    pub const fn required(mut self) -> Field {
        self.required = true;
        self
    }

    pub const fn default(mut self, default: Default) -> Field {
        self.default = default;
        self
    }

    pub const fn replace(mut self, replace: Replace) -> Field {
        self.replace = replace;
        self
    }

    pub const fn unique(mut self) -> Field {
        self.unique = true;
        self
    }

    pub const fn computed(mut self) -> Field {
        self.computed = true;
        self
    }

    pub const fn control(mut self, control: Control) -> Field {
        self.control = Some(control);
        self
    }

    pub const fn local(mut self) -> Field {
        self.source = Source::Local;
        self
    }
}

/// Finds a field by name in a schema.
pub fn field<'a>(fields: &'a [Field], name: &str) -> Option<&'a Field> {
    fields.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn switching_a_control_off_weakens_it_and_switching_it_on_does_not() {
        assert!(Control::On.weakened(Some(&json!(true)), &json!(false)));
        assert!(!Control::On.weakened(Some(&json!(false)), &json!(true)));
        assert!(Control::Off.weakened(Some(&json!(false)), &json!(true)));
        assert!(Control::AtLeast { secure: 7 }.weakened(Some(&json!(7)), &json!(1)));
        assert!(!Control::AtLeast { secure: 7 }.weakened(Some(&json!(7)), &json!(14)));
        assert!(Control::AtMost { secure: 90 }.weakened(Some(&json!(30)), &json!(60)));
        assert!(Control::Present.weakened(Some(&json!("arn:fn")), &Value::Null));
        assert!(Control::Key.weakened(Some(&json!("k1")), &json!("k2")));
        assert!(Control::Key.weakened(None, &json!("k2")));
        assert!(Control::Includes.weakened(Some(&json!(["A", "B"])), &json!(["A"])));
        assert!(!Control::Includes.weakened(Some(&json!(["A"])), &json!(["A", "B"])));
    }

    #[test]
    fn an_unmanaged_resource_is_measured_against_the_secure_end() {
        assert_eq!(
            Control::On.problem(&json!(false), None).as_deref(),
            Some("is off")
        );
        assert_eq!(Control::On.problem(&json!(true), None), None);
        assert_eq!(
            Control::Key
                .problem(&json!("none (unencrypted)"), None)
                .as_deref(),
            Some("is none (unencrypted), not a customer-managed KMS key")
        );
        assert_eq!(Control::Key.problem(&json!("1234abcd"), None), None);
        assert_eq!(
            Control::AtLeast { secure: 7 }
                .problem(&json!(1), None)
                .as_deref(),
            Some("is 1; at least 7 is secure")
        );
        assert_eq!(
            Control::Includes
                .problem(
                    &json!(["S3_DATA_EVENTS"]),
                    Some(&json!(["S3_DATA_EVENTS", "RDS_LOGIN_EVENTS"]))
                )
                .as_deref(),
            Some("lacks RDS_LOGIN_EVENTS")
        );
    }
}
