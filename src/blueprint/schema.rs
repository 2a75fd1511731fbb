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

    pub const fn local(mut self) -> Field {
        self.source = Source::Local;
        self
    }
}

/// Finds a field by name in a schema.
pub fn field<'a>(fields: &'a [Field], name: &str) -> Option<&'a Field> {
    fields.iter().find(|f| f.name == name)
}
